//! Elementwise operations on tile tensors (ciphertext-ciphertext, ciphertext-plaintext,
//! ciphertext-scalar), with broadcasting over replicated dimensions.
//!
//! Multiplication policy: every product is followed by a rescale, so the level drops by one.
//! A plaintext encoded with [`PlainTileTensor::encode_for_mul`] (scale `q_level`) and a scalar
//! (see [`Evaluator::mul_scalar_assign`]) leave the ciphertext's scale exactly unchanged.

use crate::error::{Result, TileError};
use crate::plan::{self, broadcast, BinaryOp};
use crate::tensor::{PlainTileTensor, PlainTiles, TileTensor};
use hetile_backend::{Backend, Error as BackendError, Evaluator, Meta};
use rayon::prelude::*;
use std::borrow::Cow;

/// Tile `j` of `p` as an encoded plaintext (a constant is encoded at `p`'s level and scale).
/// Errors: [`BackendError::InvalidParameters`] for an index out of range, encoding errors.
fn plain_tile<'a, B: Backend>(
    ev: &B::Evaluator,
    p: &'a PlainTileTensor<B>,
    j: usize,
) -> std::result::Result<Cow<'a, B::Plaintext>, BackendError> {
    let missing = || BackendError::InvalidParameters {
        reason: format!("plaintext tile {j} of {} is missing", p.shape),
    };
    match &p.tiles {
        PlainTiles::Encoded(t) => t.get(j).map(Cow::Borrowed).ok_or_else(missing),
        PlainTiles::Constants(c) => {
            let c = *c.get(j).ok_or_else(missing)?;
            // a metadata-only backend ignores values (its constants are all 0)
            let values = if B::METADATA_ONLY {
                Vec::new()
            } else {
                vec![c; p.shape.slots()]
            };
            Ok(Cow::Owned(ev.encode(&values, p.level, p.scale)?))
        }
    }
}

/// `x * (tile j of p)` without a rescale. A constant tile at `x`'s level is multiplied in with
/// [`Evaluator::mul_scalar`] (scale `q_level`, the same scale and level as the encoded path);
/// at another level it is encoded first, so the result is always that of the encoded path.
pub(crate) fn mul_plain_tile<B: Backend>(
    ev: &B::Evaluator,
    x: &B::Ciphertext,
    p: &PlainTileTensor<B>,
    j: usize,
) -> std::result::Result<B::Ciphertext, BackendError> {
    match p.multiplier_constants(ev, x.level()) {
        Some(c) => ev.mul_scalar(x, constant_at(p, c, j)?),
        None => ev.mul_plain(x, plain_tile(ev, p, j)?.as_ref()),
    }
}

/// Constant `j` of `c` (the constants of `p`), or the error of a missing tile.
fn constant_at<B: Backend>(
    p: &PlainTileTensor<B>,
    c: &[f64],
    j: usize,
) -> std::result::Result<f64, BackendError> {
    c.get(j)
        .copied()
        .ok_or_else(|| BackendError::InvalidParameters {
            reason: format!("plaintext tile {j} of {} is missing", p.shape),
        })
}

/// `x + sign * (tile j of p)`: a constant tile at `x`'s level and scale is added with
/// [`Evaluator::add_scalar`] (the same constant polynomial `round(c * scale)` that encoding a
/// uniform slot vector gives), anything else as an encoded plaintext.
fn add_plain_tile<B: Backend>(
    ev: &B::Evaluator,
    x: &B::Ciphertext,
    p: &PlainTileTensor<B>,
    j: usize,
    subtract: bool,
) -> std::result::Result<B::Ciphertext, BackendError> {
    let mut y = x.clone();
    add_plain_tile_assign(ev, &mut y, p, j, subtract)?;
    Ok(y)
}

/// [`add_plain_tile`] in place.
fn add_plain_tile_assign<B: Backend>(
    ev: &B::Evaluator,
    x: &mut B::Ciphertext,
    p: &PlainTileTensor<B>,
    j: usize,
    subtract: bool,
) -> std::result::Result<(), BackendError> {
    match &p.tiles {
        PlainTiles::Constants(c) if x.level() == p.level && x.scale() == p.scale => {
            let c = constant_at(p, c, j)?;
            ev.add_scalar_assign(x, if subtract { -c } else { c })
        }
        _ if subtract => ev.sub_plain_assign(x, plain_tile(ev, p, j)?.as_ref()),
        _ => ev.add_plain_assign(x, plain_tile(ev, p, j)?.as_ref()),
    }
}

/// `sum_k xs[k] * (tile js[k] of p)` without a rescale, in one fused
/// [`Evaluator::mul_plain_sum`] call (constant tiles are encoded first: constants at the
/// ciphertexts' level take the linear-map path of `mul_sum_plain` before this), so the result
/// equals [`mul_plain_tile`] then additions term by term.
pub(crate) fn mul_plain_tiles_sum<B: Backend>(
    ev: &B::Evaluator,
    xs: &[&B::Ciphertext],
    p: &PlainTileTensor<B>,
    js: &[&usize],
) -> std::result::Result<B::Ciphertext, BackendError> {
    let plains = js
        .iter()
        .map(|&&j| plain_tile(ev, p, j))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let refs: Vec<&B::Plaintext> = plains.iter().map(|q| q.as_ref()).collect();
    ev.mul_plain_sum(xs, &refs)
}

/// `sum_k xs[k] * ys[k]` (relinearized products, no rescale), term by term.
pub(crate) fn mul_tiles_sum<B: Backend>(
    ev: &B::Evaluator,
    xs: &[&B::Ciphertext],
    ys: &[&B::Ciphertext],
) -> std::result::Result<B::Ciphertext, BackendError> {
    let (first, rest) = hetile_backend::split_terms(xs, ys.len())?;
    let mut acc = ev.mul(first, ys[0])?;
    for (x, y) in rest.iter().zip(&ys[1..]) {
        let t = ev.mul(x, y)?;
        ev.add_assign(&mut acc, &t)?;
    }
    Ok(acc)
}

/// The tile indices `0..n` of a plaintext tensor, to pair with ciphertext tiles.
pub(crate) fn plain_indices<B: Backend>(p: &PlainTileTensor<B>) -> Vec<usize> {
    (0..p.num_tiles()).collect()
}

/// The element `i` of `v`, or a [`TileError::TileCountMismatch`] (never expected: indices come
/// from plans over the same shapes).
pub(crate) fn tile_at<'a, T>(v: &'a [T], i: usize, shape: &crate::TileShape) -> Result<&'a T> {
    v.get(i).ok_or_else(|| TileError::TileCountMismatch {
        shape: shape.to_string(),
        expected: i + 1,
        given: v.len(),
    })
}

impl<B: Backend> TileTensor<B> {
    /// Both operands at their common (lower) level, borrowing when no drop is needed.
    fn aligned<'a>(
        &'a self,
        ev: &B::Evaluator,
        other: &'a Self,
    ) -> Result<(Cow<'a, Self>, Cow<'a, Self>)> {
        if self.level == other.level {
            Ok((Cow::Borrowed(self), Cow::Borrowed(other)))
        } else {
            let (a, b) = Self::align_levels(ev, self, other)?;
            Ok((Cow::Owned(a), Cow::Owned(b)))
        }
    }

    /// Applies `f` to each broadcast pair of tiles of `self` and `others`.
    fn zip_with<T: Sync>(
        &self,
        other_shape: &crate::TileShape,
        others: &[T],
        multiply: bool,
        f: impl Fn(&B::Ciphertext, &T) -> std::result::Result<B::Ciphertext, BackendError> + Sync,
    ) -> Result<Self> {
        let bc = broadcast(&self.shape, other_shape, multiply)?;
        let tiles = bc
            .pairs
            .par_iter()
            .with_min_len(crate::seq_min_len::<B>())
            .map(|&(i, j)| {
                let a = tile_at(&self.tiles, i, &self.shape)?;
                let b = tile_at(others, j, other_shape)?;
                Ok(f(a, b)?)
            })
            .collect::<Result<Vec<_>>>()?;
        Self::from_tiles(bc.output, tiles)
    }

    /// Elementwise `self + other` with broadcasting; the higher operand is first dropped to the
    /// lower level. Cost: [`plan::binary`]. Errors: [`TileError::IncompatibleShapes`], backend
    /// errors (e.g. [`BackendError::ScaleMismatch`]).
    pub fn add(&self, ev: &B::Evaluator, other: &Self) -> Result<Self> {
        let (a, b) = self.aligned(ev, other)?;
        a.zip_with(&b.shape, &b.tiles, false, |x, y| ev.add(x, y))
    }

    /// Elementwise `self - other`, as [`TileTensor::add`].
    pub fn sub(&self, ev: &B::Evaluator, other: &Self) -> Result<Self> {
        let (a, b) = self.aligned(ev, other)?;
        a.zip_with(&b.shape, &b.tiles, false, |x, y| ev.sub(x, y))
    }

    /// Elementwise `self * other` (relinearized), then a rescale; levels are aligned first.
    /// The resulting scale is `scale(a) * scale(b) / q_level`. Cost: [`plan::binary`] with
    /// [`plan::Operand::Ciphertext`]. Errors: [`TileError::IncompatibleShapes`], backend errors
    /// (missing relinearization key, level 0).
    pub fn mul(&self, ev: &B::Evaluator, other: &Self) -> Result<Self> {
        let (a, b) = self.aligned(ev, other)?;
        a.zip_with(&b.shape, &b.tiles, true, |x, y| {
            let mut p = ev.mul(x, y)?;
            ev.rescale_assign(&mut p)?;
            Ok(p)
        })
    }

    /// Elementwise `self + p` with broadcasting (the plaintext must be at this scale and at or
    /// above this level). Errors: as [`TileTensor::add`].
    pub fn add_plain(&self, ev: &B::Evaluator, p: &PlainTileTensor<B>) -> Result<Self> {
        self.zip_with(&p.shape, &plain_indices(p), false, |x, &j| {
            add_plain_tile(ev, x, p, j, false)
        })
    }

    /// [`TileTensor::add_plain`] consuming `self`: when broadcasting keeps `self`'s tiles one
    /// to one (a plaintext of the same tile count, or replicated along the other dimensions)
    /// the sums are made in place, without a copy of the ciphertexts. Same errors.
    pub fn add_plain_owned(mut self, ev: &B::Evaluator, p: &PlainTileTensor<B>) -> Result<Self> {
        let bc = broadcast(&self.shape, &p.shape, false)?;
        let in_place = bc.pairs.len() == self.tiles.len()
            && bc.pairs.iter().enumerate().all(|(k, &(i, _))| i == k);
        if !in_place {
            return self.add_plain(ev, p);
        }
        self.tiles
            .par_iter_mut()
            .with_min_len(crate::seq_min_len::<B>())
            .zip(bc.pairs.par_iter())
            .try_for_each(|(t, &(_, j))| add_plain_tile_assign(ev, t, p, j, false))?;
        self.shape = bc.output;
        Ok(self)
    }

    /// Elementwise `self - p`, as [`TileTensor::add_plain`].
    pub fn sub_plain(&self, ev: &B::Evaluator, p: &PlainTileTensor<B>) -> Result<Self> {
        self.zip_with(&p.shape, &plain_indices(p), false, |x, &j| {
            add_plain_tile(ev, x, p, j, true)
        })
    }

    /// Elementwise `self * p` with broadcasting, then a rescale. With `p` from
    /// [`PlainTileTensor::encode_for_mul`] at this level the scale is unchanged; a uniform `p`
    /// (constants) is multiplied in with scalar products. Cost: [`plan::binary`] with
    /// [`plan::Operand::Plaintext`]. Errors: as [`TileTensor::mul`].
    pub fn mul_plain(&self, ev: &B::Evaluator, p: &PlainTileTensor<B>) -> Result<Self> {
        self.zip_with(&p.shape, &plain_indices(p), true, |x, &j| {
            let mut out = mul_plain_tile(ev, x, p, j)?;
            ev.rescale_assign(&mut out)?;
            Ok(out)
        })
    }

    /// Adds `c` to every element (free of levels). Padded dimensions then hold garbage.
    /// Cost: [`plan::add_scalar`].
    pub fn add_scalar(&self, ev: &B::Evaluator, c: f64) -> Result<Self> {
        let out = plan::add_scalar(&self.shape)?.output;
        self.map_tiles(out, |t| ev.add_scalar(t, c))
    }

    /// Subtracts `c` from every element, as [`TileTensor::add_scalar`].
    pub fn sub_scalar(&self, ev: &B::Evaluator, c: f64) -> Result<Self> {
        let out = plan::add_scalar(&self.shape)?.output;
        self.map_tiles(out, |t| ev.add_scalar(t, -c))
    }

    /// Multiplies every element by `c`, then rescales (level - 1, scale unchanged).
    /// Cost: [`plan::mul_scalar`]. Errors: backend errors (level 0).
    pub fn mul_scalar(&self, ev: &B::Evaluator, c: f64) -> Result<Self> {
        self.map_tiles(self.shape.clone(), |t| {
            let mut out = ev.mul_scalar(t, c)?;
            ev.rescale_assign(&mut out)?;
            Ok(out)
        })
    }

    /// Negates every element. Cost: [`plan::negate`].
    pub fn negate(&self, ev: &B::Evaluator) -> Result<Self> {
        self.map_tiles(self.shape.clone(), |t| ev.negate(t))
    }

    /// The exact plan of [`TileTensor::add`], [`TileTensor::sub`] or [`TileTensor::mul`] on these
    /// shapes (shorthand for [`plan::binary`]).
    pub fn binary_cost(
        left: &crate::TileShape,
        right: &crate::TileShape,
        op: BinaryOp,
        operand: plan::Operand,
    ) -> Result<crate::OpPlan> {
        plan::binary(left, right, op, operand)
    }
}
