//! Explicit re-tiling: moving every element into the slot another tile shape wants, with
//! rotations and masks.

use crate::cost::{OpCost, OpPlan};
use crate::error::{Result, TileError};
use crate::layout::expand_row_major;
use crate::shape::TileShape;
use std::collections::{BTreeMap, BTreeSet};

/// A (source tile, source slot) pair that adds component-wise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Source(usize, usize);

impl std::ops::Add for Source {
    type Output = Source;
    fn add(self, o: Source) -> Source {
        Source(self.0 + o.0, self.1 + o.1)
    }
}

/// Where the slots of each output tile come from: for output tile `k`, groups keyed by
/// (input tile, rotation step in `0..slots`) listing the output slots they fill.
#[derive(Debug, Clone)]
pub(crate) struct RetileMap {
    pub(crate) output: TileShape,
    pub(crate) slots: usize,
    pub(crate) groups: Vec<BTreeMap<(usize, usize), Vec<usize>>>,
}

impl RetileMap {
    /// The map from `from` to `to`, where dimension `d` of `to` is dimension `perm[d]` of
    /// `from` (the identity permutation for a plain re-tiling).
    ///
    /// Errors: [`TileError::InvalidPermutation`]; [`TileError::IncompatibleShapes`] when the
    /// permuted logical shapes or the slot counts differ.
    pub(crate) fn new(from: &TileShape, to: &TileShape, perm: &[usize]) -> Result<RetileMap> {
        crate::plan::check_permutation(from, perm)?;
        let permuted: Vec<usize> = perm.iter().map(|&p| from.dims()[p].size()).collect();
        if permuted != to.logical_shape() || from.slots() != to.slots() {
            return Err(TileError::IncompatibleShapes {
                left: from.to_string(),
                right: to.to_string(),
                dim: 0,
                reason: "retile needs the same (permuted) logical shape and slots per tile".into(),
            });
        }
        let slots = to.slots();
        let mut tile_strides = Vec::with_capacity(from.rank());
        let mut slot_strides = Vec::with_capacity(from.rank());
        for d in 0..from.rank() {
            tile_strides.push(from.tile_stride(d)?);
            slot_strides.push(from.slot_stride(d)?);
        }
        let mut groups = Vec::with_capacity(to.num_tiles());
        for k in 0..to.num_tiles() {
            let coords = to.tile_coords(k);
            let tables: Vec<Vec<Option<Source>>> = (0..to.rank())
                .map(|d| {
                    let (dt, ds) = (to.dims()[d], from.dims()[perm[d]]);
                    (0..dt.tile())
                        .map(|c| {
                            dt.element_at(coords[d], c).map(|i| {
                                let (tc, sc) = if ds.is_replicated() {
                                    // any copy will do: take the one in the same position
                                    (0, c % ds.tile())
                                } else {
                                    ds.position_of(i)
                                };
                                Source(tc * tile_strides[perm[d]], sc * slot_strides[perm[d]])
                            })
                        })
                        .collect()
                })
                .collect();
            let mut map: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
            for (dst, src) in expand_row_major(Source(0, 0), &tables)
                .into_iter()
                .enumerate()
            {
                if let Some(Source(tile, slot)) = src {
                    let step = (slot + slots - dst) % slots;
                    map.entry((tile, step)).or_default().push(dst);
                }
            }
            groups.push(map);
        }
        Ok(RetileMap {
            output: to.clone(),
            slots,
            groups,
        })
    }

    /// The distinct (input tile, non-zero step) rotations the map needs.
    pub(crate) fn rotations(&self) -> BTreeSet<(usize, usize)> {
        self.groups
            .iter()
            .flat_map(|g| g.keys().copied())
            .filter(|&(_, step)| step != 0)
            .collect()
    }

    /// The cost and keys of executing the map.
    pub(crate) fn plan(&self) -> OpPlan {
        let rotations = self.rotations();
        let cost = OpCost {
            rotations: rotations.len(),
            pt_mults: self.groups.iter().map(BTreeMap::len).sum(),
            additions: self.groups.iter().map(|g| g.len().saturating_sub(1)).sum(),
            rescales: self.groups.len(),
            depth: 1,
            ..OpCost::ZERO
        };
        OpPlan {
            output: self.output.clone(),
            cost,
            rotation_steps: rotations.iter().map(|&(_, s)| s as i64).collect(),
            needs_relinearization: false,
        }
    }

    /// The 0/1 mask (over output slots) of one group.
    pub(crate) fn mask(&self, dst_slots: &[usize]) -> Vec<f64> {
        let mut mask = vec![0.0; self.slots];
        for &s in dst_slots {
            mask[s] = 1.0;
        }
        mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_retile_needs_no_rotation() {
        let s = TileShape::parse("[5/2, 6/4]").unwrap();
        let p = RetileMap::new(&s, &s, &[0, 1]).unwrap().plan();
        assert_eq!(p.cost.rotations, 0);
        assert_eq!(p.cost.pt_mults, s.num_tiles());
        assert_eq!(p.cost.rescales, s.num_tiles());
    }

    #[test]
    fn swapping_tile_sizes_needs_rotations() {
        let a = TileShape::parse("[4/2, 4/4]").unwrap();
        let b = TileShape::parse("[4/4, 4/2]").unwrap();
        let p = RetileMap::new(&a, &b, &[0, 1]).unwrap().plan();
        assert!(p.cost.rotations > 0);
        assert_eq!(p.cost.rescales, 2);
        assert_eq!(p.output, b);
        let c = TileShape::parse("[4/4, 5/2]").unwrap();
        assert!(matches!(
            RetileMap::new(&a, &c, &[0, 1]),
            Err(TileError::IncompatibleShapes { .. })
        ));
    }
}
