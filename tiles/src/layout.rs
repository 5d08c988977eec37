//! Slot maps: which logical element each slot of each tile holds.
//!
//! Elements are named by their row-major offset into the logical array (replicated dimensions
//! count as size 1). These maps drive packing, unpacking, garbage masks and re-tiling.

use crate::shape::TileShape;

/// Expands per-dimension tables into one value per slot, row-major over the dimensions:
/// `tables[d][c]` is the contribution of slot coordinate `c` of dimension `d` (`None` for an
/// unused position); contributions add up, and a slot with any `None` yields `None`.
pub(crate) fn expand_row_major<T: Copy + std::ops::Add<Output = T>>(
    zero: T,
    tables: &[Vec<Option<T>>],
) -> Vec<Option<T>> {
    let mut out: Vec<Option<T>> = vec![Some(zero)];
    for table in tables {
        let mut next = Vec::with_capacity(out.len() * table.len());
        for prev in &out {
            for entry in table {
                next.push(match (prev, entry) {
                    (Some(p), Some(e)) => Some(*p + *e),
                    _ => None,
                });
            }
        }
        out = next;
    }
    out
}

/// Row-major strides of a logical shape.
pub(crate) fn row_major_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    strides
}

/// For tile `tile` (row-major index) of `shape`: the row-major offset into the logical array of
/// the element each slot holds, or `None` for an unused slot. Replicated dimensions map every
/// slot position to their single element.
pub fn slot_elements(shape: &TileShape, tile: usize) -> Vec<Option<usize>> {
    let coords = shape.tile_coords(tile);
    let strides = row_major_strides(&shape.logical_shape());
    let tables: Vec<Vec<Option<usize>>> = shape
        .dims()
        .iter()
        .zip(&coords)
        .zip(&strides)
        .map(|((d, &g), &stride)| {
            (0..d.tile())
                .map(|c| d.element_at(g, c).map(|i| i * stride))
                .collect()
        })
        .collect();
    expand_row_major(0usize, &tables)
}

/// For tile `tile` of `shape`: the row-major offset of the element slot 0 holds (`None` for an
/// unused slot): the first entry of [`slot_elements`] without building the others.
pub fn first_slot_element(shape: &TileShape, tile: usize) -> Option<usize> {
    let coords = shape.tile_coords(tile);
    let strides = row_major_strides(&shape.logical_shape());
    shape
        .dims()
        .iter()
        .zip(&coords)
        .zip(&strides)
        .map(|((d, &g), &stride)| d.element_at(g, 0).map(|i| i * stride))
        .sum()
}

/// For tile `tile` of `shape`: whether each slot may hold garbage, i.e. it is an unused position
/// of some dimension flagged `?`.
pub fn garbage_slots(shape: &TileShape, tile: usize) -> Vec<bool> {
    let coords = shape.tile_coords(tile);
    let tables: Vec<Vec<Option<u8>>> = shape
        .dims()
        .iter()
        .zip(&coords)
        .map(|(d, &g)| {
            (0..d.tile())
                .map(|c| {
                    // `None` marks a garbage position of this dimension.
                    if d.has_garbage() && d.element_at(g, c).is_none() {
                        None
                    } else {
                        Some(0u8)
                    }
                })
                .collect()
        })
        .collect();
    expand_row_major(0u8, &tables)
        .into_iter()
        .map(|v| v.is_none())
        .collect()
}

/// The 0/1 mask of tile `tile`: 1 at slots holding an element, 0 at unused slots.
pub fn valid_mask(shape: &TileShape, tile: usize) -> Vec<f64> {
    slot_elements(shape, tile)
        .into_iter()
        .map(|e| if e.is_some() { 1.0 } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_major_slots_of_a_plain_shape() {
        // logical 3x3 in tiles of 2x2: tile (1, 0) holds rows 2.., cols 0..2
        let s = TileShape::parse("[3/2, 3/2]").unwrap();
        assert_eq!(s.num_tiles(), 4);
        assert_eq!(
            slot_elements(&s, 0),
            vec![Some(0), Some(1), Some(3), Some(4)]
        );
        assert_eq!(slot_elements(&s, 2), vec![Some(6), Some(7), None, None]);
        assert_eq!(slot_elements(&s, 3), vec![Some(8), None, None, None]);
        assert_eq!(valid_mask(&s, 3), vec![1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn replicated_and_interleaved_slots() {
        let s = TileShape::parse("[*/2, 3~/2]").unwrap();
        // e = 2 tiles on dim 1; tile 0 holds elements 0, 2; tile 1 holds 1 and nothing.
        assert_eq!(
            slot_elements(&s, 0),
            vec![Some(0), Some(2), Some(0), Some(2)]
        );
        assert_eq!(slot_elements(&s, 1), vec![Some(1), None, Some(1), None]);
    }

    #[test]
    fn garbage_positions_follow_the_flags() {
        let s = TileShape::parse("[3?/2, 1/2]").unwrap();
        // tile 1 of dim 0 has slot coordinate 1 unused (garbage); dim 1 pads with zeros.
        assert_eq!(garbage_slots(&s, 0), vec![false, false, false, false]);
        assert_eq!(garbage_slots(&s, 1), vec![false, false, true, true]);
    }
}
