//! Elementwise operations on tile tensors (ciphertext-ciphertext, ciphertext-plaintext,
//! ciphertext-scalar), with broadcasting over replicated dimensions.
//!
//! Multiplication policy: every product is followed by a rescale, so the level drops by one.
//! A plaintext encoded with [`PlainTileTensor::encode_for_mul`] (scale `q_level`) and a scalar
//! (see [`Evaluator::mul_scalar_assign`]) leave the ciphertext's scale exactly unchanged.

use crate::error::{Result, TileError};
use crate::plan::{self, broadcast, BinaryOp};
use crate::tensor::{PlainTileTensor, TileTensor};
use hetile_backend::{Backend, Error as BackendError, Evaluator};
use rayon::prelude::*;
use std::borrow::Cow;

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
        self.zip_with(&p.shape, &p.tiles, false, |x, y| ev.add_plain(x, y))
    }

    /// Elementwise `self - p`, as [`TileTensor::add_plain`].
    pub fn sub_plain(&self, ev: &B::Evaluator, p: &PlainTileTensor<B>) -> Result<Self> {
        self.zip_with(&p.shape, &p.tiles, false, |x, y| ev.sub_plain(x, y))
    }

    /// Elementwise `self * p` with broadcasting, then a rescale. With `p` from
    /// [`PlainTileTensor::encode_for_mul`] at this level the scale is unchanged. Cost:
    /// [`plan::binary`] with [`plan::Operand::Plaintext`]. Errors: as [`TileTensor::mul`].
    pub fn mul_plain(&self, ev: &B::Evaluator, p: &PlainTileTensor<B>) -> Result<Self> {
        self.zip_with(&p.shape, &p.tiles, true, |x, y| {
            let mut out = ev.mul_plain(x, y)?;
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
