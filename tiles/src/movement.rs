//! Transpose and reshape without data movement, and explicit re-tiling with rotations.

use crate::error::Result;
use crate::ops::tile_at;
use crate::plan;
use crate::retile::RetileMap;
use crate::shape::TileShape;
use crate::tensor::{prime_scale, TileTensor};
use hetile_backend::{Backend, Error as BackendError, Evaluator};
use rayon::prelude::*;
use std::collections::BTreeMap;

impl<B: Backend> TileTensor<B> {
    /// Transposes (output dimension `i` is input dimension `perm[i]`) by reordering tiles only.
    /// Free. Errors: [`crate::TileError::InvalidPermutation`],
    /// [`crate::TileError::NeedsRetiling`] when dimensions with tile size above 1 would change
    /// their order (use [`TileTensor::transpose_retile`] then).
    pub fn transpose(&self, perm: &[usize]) -> Result<Self> {
        let p = plan::transpose(&self.shape, perm)?;
        let order = plan::transpose_tile_order(&self.shape, &p.output, perm);
        let tiles = order
            .iter()
            .map(|&i| tile_at(&self.tiles, i, &self.shape).cloned())
            .collect::<Result<Vec<_>>>()?;
        Self::from_tiles(p.output, tiles)
    }

    /// Reinterprets the tiles under another shape holding the same elements in the same slots
    /// (e.g. `[6/2, 4/4]` as `[24/8]`). Free. Errors: [`crate::TileError::IncompatibleShapes`],
    /// [`crate::TileError::NeedsRetiling`] (see [`plan::reshape`]).
    pub fn reshape(&self, to: &TileShape) -> Result<Self> {
        let p = plan::reshape(&self.shape, to)?;
        Self::from_tiles(p.output, self.tiles.clone())
    }

    /// Moves every element into the slot the shape `to` (same logical shape) wants: hoisted
    /// rotations of each input tile, one 0/1 mask product per (output tile, input tile, step)
    /// group, one rescale per output tile (level - 1, scale unchanged). The result is clean.
    /// Cost: [`plan::retile`].
    ///
    /// Errors: [`crate::TileError::IncompatibleShapes`], [`crate::TileError::SlotMismatch`],
    /// [`BackendError::LevelExhausted`] at level 0, backend errors (missing rotation keys).
    pub fn retile(&self, ev: &B::Evaluator, to: &TileShape) -> Result<Self> {
        let identity: Vec<usize> = (0..self.shape.rank()).collect();
        self.transpose_retile(ev, &identity, to)
    }

    /// Transposes with data movement: dimension `d` of the result (tiled as `to`) is dimension
    /// `perm[d]` of `self`. Works like [`TileTensor::retile`], with the same cost rules
    /// ([`plan::transpose_retile`]).
    ///
    /// Errors: as [`TileTensor::retile`], plus [`crate::TileError::InvalidPermutation`].
    pub fn transpose_retile(
        &self,
        ev: &B::Evaluator,
        perm: &[usize],
        to: &TileShape,
    ) -> Result<Self> {
        to.check_slots(ev.slots())?;
        let map = RetileMap::new(&self.shape, to, perm)?;
        if self.level.0 == 0 {
            return Err(BackendError::LevelExhausted {
                op: "retile",
                level: self.level,
            }
            .into());
        }
        let scale = prime_scale(ev.params(), self.level)?;
        // Hoisted rotations: every input tile rotated once by each step it is needed at.
        let mut by_tile: BTreeMap<usize, Vec<i64>> = BTreeMap::new();
        for (tile, step) in map.rotations() {
            by_tile.entry(tile).or_default().push(step as i64);
        }
        let rotated: BTreeMap<(usize, usize), B::Ciphertext> = by_tile
            .into_iter()
            .collect::<Vec<_>>()
            .into_par_iter()
            .with_min_len(crate::seq_min_len::<B>())
            .map(|(tile, steps)| {
                let src = tile_at(&self.tiles, tile, &self.shape)?;
                let cts = ev.rotate_many(src, &steps)?;
                Ok(steps
                    .into_iter()
                    .zip(cts)
                    .map(|(s, ct)| ((tile, s as usize), ct))
                    .collect::<Vec<_>>())
            })
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        let tiles = map
            .groups
            .par_iter()
            .with_min_len(crate::seq_min_len::<B>())
            .map(|groups| {
                let mut acc: Option<B::Ciphertext> = None;
                for (&(tile, step), dst) in groups {
                    let ct = if step == 0 {
                        tile_at(&self.tiles, tile, &self.shape)?
                    } else {
                        rotated
                            .get(&(tile, step))
                            .ok_or(BackendError::MissingRotationKey { step: step as i64 })?
                    };
                    // a metadata-only backend ignores values: no mask to build
                    let values = if B::METADATA_ONLY {
                        Vec::new()
                    } else {
                        map.mask(dst)
                    };
                    let mask = ev.encode(&values, self.level, scale)?;
                    let prod = ev.mul_plain(ct, &mask)?;
                    match acc.as_mut() {
                        None => acc = Some(prod),
                        Some(a) => ev.add_assign(a, &prod)?,
                    }
                }
                let mut out = acc.ok_or_else(|| BackendError::Internal {
                    backend: B::NAME,
                    reason: "retile: an output tile has no source".into(),
                })?;
                ev.rescale_assign(&mut out)?;
                Ok(out)
            })
            .collect::<Result<Vec<_>>>()?;
        Self::from_tiles(to.clone(), tiles)
    }
}
