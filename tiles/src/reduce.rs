//! Sums over a dimension, multiply-then-sum (matrix products), replication and garbage
//! clearing.

use crate::cost::OpPlan;
use crate::error::Result;
use crate::layout::valid_mask;
use crate::ops::tile_at;
use crate::plan::{self, broadcast_grid, Operand};
use crate::shape::TileShape;
use crate::tensor::{prime_scale, PlainTileTensor, TileTensor};
use hetile_backend::{Backend, Error as BackendError, Evaluator, Level, Meta};
use rayon::prelude::*;

/// The jobs of a multiply-then-sum (see `TileTensor::sum_jobs`), each term a `T` made from a
/// `(self tile, other tile)` pair.
struct SumJobs<T> {
    plan: OpPlan,
    summed: bool,
    slices: usize,
    jobs: Vec<Vec<T>>,
}

/// Adds the tiles of `shape` along `dim` into the tiles of `out` (where `dim` has one tile).
fn add_along<B: Backend>(
    ev: &B::Evaluator,
    shape: &TileShape,
    tiles: &[B::Ciphertext],
    dim: usize,
    out: &TileShape,
) -> Result<Vec<B::Ciphertext>> {
    let e = shape.dim(dim)?.tiles();
    (0..out.num_tiles())
        .into_par_iter()
        .with_min_len(crate::seq_min_len::<B>())
        .map(|k| {
            let mut coords = out.tile_coords(k);
            coords[dim] = 0;
            let mut acc = tile_at(tiles, shape.tile_index(&coords), shape)?.clone();
            for g in 1..e {
                coords[dim] = g;
                ev.add_assign(&mut acc, tile_at(tiles, shape.tile_index(&coords), shape)?)?;
            }
            Ok(acc)
        })
        .collect()
}

/// Rotate-and-adds every tile by each of `steps` in turn.
fn rotate_and_add<B: Backend>(
    ev: &B::Evaluator,
    tiles: &mut [B::Ciphertext],
    steps: &[i64],
) -> Result<()> {
    tiles
        .par_iter_mut()
        .with_min_len(crate::seq_min_len::<B>())
        .try_for_each(|acc| {
            for &s in steps {
                let r = ev.rotate(acc, s)?;
                ev.add_assign(acc, &r)?;
            }
            Ok(())
        })
}

/// The rotation steps of a plan in the order they are applied (any order gives the same sum).
fn ordered_steps(p: &OpPlan) -> Vec<i64> {
    let mut steps: Vec<i64> = p.rotation_steps.iter().copied().collect();
    steps.sort_by_key(|s| s.unsigned_abs());
    steps
}

/// Errors with [`BackendError::LevelExhausted`] at level 0 (no rescale can follow a mask).
fn need_level(op: &'static str, level: Level) -> Result<()> {
    if level.0 == 0 {
        Err(BackendError::LevelExhausted { op, level }.into())
    } else {
        Ok(())
    }
}

impl<B: Backend> TileTensor<B> {
    /// Sums over dimension `dim`: adds the tiles along it, then `log2(t)` rotate-and-adds in
    /// each tile. The outermost dimension ends replicated (`*/t`), an inner one garbage-padded
    /// (`1?/t`). Cost: [`plan::sum`] (no level used).
    ///
    /// Errors: [`crate::TileError::DimOutOfRange`], [`crate::TileError::GarbageOnDim`] (clear
    /// the garbage first), backend errors (a missing rotation key).
    pub fn sum(&self, ev: &B::Evaluator, dim: usize) -> Result<Self> {
        let p = plan::sum(&self.shape, dim)?;
        if p.output == self.shape {
            return Ok(self.clone());
        }
        let mut tiles = add_along::<B>(ev, &self.shape, &self.tiles, dim, &p.output)?;
        rotate_and_add::<B>(ev, &mut tiles, &ordered_steps(&p))?;
        Self::from_tiles(p.output, tiles)
    }

    /// The exact plan of [`TileTensor::sum`] (shorthand for [`plan::sum`]).
    pub fn sum_cost(shape: &TileShape, dim: usize) -> Result<OpPlan> {
        plan::sum(shape, dim)
    }

    /// The plan of a multiply-then-sum and its jobs: for each output tile in order, `slices`
    /// consecutive jobs (slices of the sum along `dim`, more than one only when there are fewer
    /// output tiles than threads), each the terms `term(self tile, other tile)` to multiply and
    /// add. The pairs come from the operands' tile strides (no list of every broadcast pair).
    fn sum_jobs<T>(
        &self,
        other_shape: &TileShape,
        operand: Operand,
        dim: usize,
        threads: usize,
        term: impl Fn(usize, usize) -> Result<T>,
    ) -> Result<SumJobs<T>> {
        let grid = broadcast_grid(&self.shape, other_shape, true)?;
        let p = plan::mul_sum_of_product(&grid.output, other_shape, operand, dim)?;
        let summed = p.output != grid.output;
        let e = if summed {
            grid.output.dim(dim)?.tiles()
        } else {
            1
        };
        let outputs = p.output.num_tiles();
        let wanted = if outputs >= threads {
            1
        } else {
            e.min(threads.div_ceil(outputs))
        };
        let per_slice = e.div_ceil(wanted.max(1));
        let slices = e.div_ceil(per_slice);
        // the pair moves by these strides per step along `dim`
        let (step_a, step_b) = (
            grid.left.get(dim).copied().unwrap_or(0),
            grid.right.get(dim).copied().unwrap_or(0),
        );
        let mut jobs = Vec::with_capacity(outputs * slices);
        for k in 0..outputs {
            let mut coords = p.output.tile_coords(k);
            if summed {
                if let Some(c) = coords.get_mut(dim) {
                    *c = 0;
                }
            }
            let (a0, b0) = grid.pair(&coords);
            for slice in 0..slices {
                let range = slice * per_slice..((slice + 1) * per_slice).min(e);
                let mut terms = Vec::with_capacity(range.len());
                // without a sum `e` is 1: only g = 0
                for g in range {
                    terms.push(term(a0 + g * step_a, b0 + g * step_b)?);
                }
                jobs.push(terms);
            }
        }
        Ok(SumJobs {
            plan: p,
            summed,
            slices,
            jobs,
        })
    }

    /// Adds the slices of each output tile, rescales once per output tile, then the
    /// rotate-and-adds: the end of every multiply-then-sum.
    fn finish_sum<T>(ev: &B::Evaluator, sj: SumJobs<T>, parts: Vec<B::Ciphertext>) -> Result<Self> {
        let mut tiles = Vec::with_capacity(parts.len() / sj.slices.max(1));
        let mut parts = parts.into_iter();
        while let Some(mut acc) = parts.next() {
            for t in parts.by_ref().take(sj.slices - 1) {
                ev.add_assign(&mut acc, &t)?;
            }
            tiles.push(acc);
        }
        tiles
            .par_iter_mut()
            .with_min_len(crate::seq_min_len::<B>())
            .try_for_each(|t| ev.rescale_assign(t))?;
        if sj.summed {
            rotate_and_add::<B>(ev, &mut tiles, &ordered_steps(&sj.plan))?;
        }
        Self::from_tiles(sj.plan.output, tiles)
    }

    /// Products of broadcast tile pairs (no rescale) summed along `dim` by `sum_products` (one
    /// fused backend call per job of [`Self::sum_jobs`]; no product tensor is materialized),
    /// then [`Self::finish_sum`]: the sum is at the product's scale, rescaled once, then rotated
    /// at the lower level (cheaper key switching; same counts as rotating first).
    fn mul_then_sum<T: Sync>(
        &self,
        ev: &B::Evaluator,
        other_shape: &TileShape,
        others: &[T],
        operand: Operand,
        dim: usize,
        sum_products: impl Fn(&[&B::Ciphertext], &[&T]) -> std::result::Result<B::Ciphertext, BackendError>
            + Sync,
    ) -> Result<Self> {
        let sj = self.sum_jobs(
            other_shape,
            operand,
            dim,
            rayon::current_num_threads(),
            |i, j| Ok((i, j)),
        )?;
        let parts = sj
            .jobs
            .par_iter()
            .with_min_len(crate::seq_min_len::<B>())
            .map(|pairs| -> Result<B::Ciphertext> {
                let mut xs = Vec::with_capacity(pairs.len());
                let mut ys = Vec::with_capacity(pairs.len());
                for &(i, j) in pairs {
                    xs.push(tile_at(&self.tiles, i, &self.shape)?);
                    ys.push(tile_at(others, j, other_shape)?);
                }
                Ok(sum_products(&xs, &ys)?)
            })
            .collect::<Result<Vec<_>>>()?;
        Self::finish_sum(ev, sj, parts)
    }

    /// Multiply-then-sum with constant weights at this tensor's level: every output tile is a
    /// linear combination of input tiles, all made by one [`Evaluator::linear_maps`] call (each
    /// input read once for all outputs).
    fn linear_map_sum(
        &self,
        ev: &B::Evaluator,
        weights: &PlainTileTensor<B>,
        constants: &[f64],
        dim: usize,
    ) -> Result<Self> {
        let mut sj = self.sum_jobs(&weights.shape, Operand::Plaintext, dim, 1, |i, j| {
            Ok((i, *tile_at(constants, j, &weights.shape)?))
        })?;
        let rows = std::mem::take(&mut sj.jobs);
        let inputs: Vec<&B::Ciphertext> = self.tiles.iter().collect();
        let parts = ev.linear_maps(&inputs, &rows)?;
        Self::finish_sum(ev, sj, parts)
    }

    /// Multiply-then-sum with a plaintext (a matrix product): elementwise product with
    /// broadcasting, sum over `dim`, one rescale per output tile. With `weights` from
    /// [`PlainTileTensor::encode_for_mul`] at this level, the scale is unchanged; uniform weights
    /// (constants, see [`plan::is_uniform`]) are multiplied in with scalar products.
    /// Cost: [`plan::mul_sum`] with [`Operand::Plaintext`].
    ///
    /// Errors: those of [`TileTensor::mul_plain`] and [`TileTensor::sum`].
    pub fn mul_sum_plain(
        &self,
        ev: &B::Evaluator,
        weights: &PlainTileTensor<B>,
        dim: usize,
    ) -> Result<Self> {
        if let Some(c) = weights.multiplier_constants(ev, self.level) {
            if !self.tiles.is_empty() {
                return self.linear_map_sum(ev, weights, c, dim);
            }
        }
        self.mul_then_sum(
            ev,
            &weights.shape,
            &crate::ops::plain_indices(weights),
            Operand::Plaintext,
            dim,
            |xs, js| crate::ops::mul_plain_tiles_sum(ev, xs, weights, js),
        )
    }

    /// Multiply-then-sum with another ciphertext tensor (levels aligned first).
    /// Cost: [`plan::mul_sum`] with [`Operand::Ciphertext`]. Errors: as
    /// [`TileTensor::mul_sum_plain`], plus a missing relinearization key.
    pub fn mul_sum(&self, ev: &B::Evaluator, other: &Self, dim: usize) -> Result<Self> {
        let (a, b) = Self::align_levels(ev, self, other)?;
        a.mul_then_sum(
            ev,
            &b.shape,
            &b.tiles,
            Operand::Ciphertext,
            dim,
            |xs, ys| crate::ops::mul_tiles_sum::<B>(ev, xs, ys),
        )
    }

    /// Zeroes the garbage slots: one 0/1 mask product (mask at scale `q_level`) and one rescale
    /// per tile, so the level drops by one and the scale is unchanged. Free (no level used)
    /// when no padded dimension holds garbage. Cost: [`plan::clear_garbage`].
    ///
    /// Errors: [`BackendError::LevelExhausted`] at level 0, backend errors.
    pub fn clear_garbage(&self, ev: &B::Evaluator) -> Result<Self> {
        let p = plan::clear_garbage(&self.shape)?;
        if p.cost.pt_mults == 0 {
            return Self::from_tiles(p.output, self.tiles.clone());
        }
        need_level("clear_garbage", self.level)?;
        let scale = prime_scale(ev.params(), self.level)?;
        let tiles = self
            .tiles
            .par_iter()
            .with_min_len(crate::seq_min_len::<B>())
            .enumerate()
            .map(|(k, t)| {
                // a metadata-only backend ignores values: no mask to build
                let values = if B::METADATA_ONLY {
                    Vec::new()
                } else {
                    valid_mask(&self.shape, k)
                };
                let mask = ev.encode(&values, t.level(), scale)?;
                let mut out = ev.mul_plain(t, &mask)?;
                ev.rescale_assign(&mut out)?;
                Ok(out)
            })
            .collect::<Result<Vec<_>>>()?;
        Self::from_tiles(p.output, tiles)
    }

    /// Replicates a clean size-1 dimension `1/t` into `*/t` with `log2(t)` rotate-and-adds per
    /// tile (no level used). Free when the dimension is already `*/t` or `1/1`.
    /// Cost: [`plan::replicate`].
    ///
    /// Errors: [`crate::TileError::NotReplicable`], [`crate::TileError::GarbageOnDim`],
    /// backend errors.
    pub fn replicate(&self, ev: &B::Evaluator, dim: usize) -> Result<Self> {
        let p = plan::replicate(&self.shape, dim)?;
        if p.output == self.shape {
            return Ok(self.clone());
        }
        let steps = ordered_steps(&p);
        self.map_tiles(p.output, |t| {
            let mut acc = t.clone();
            for &s in &steps {
                let r = ev.rotate(&acc, s)?;
                ev.add_assign(&mut acc, &r)?;
            }
            Ok(acc)
        })
    }
}
