//! [`TileShape`]: how a tensor is cut into tiles, in the HElayers notation.
//!
//! A dimension is written `n/t` (logical size `n`, tile size `t`), `*/t` (size 1 replicated `t`
//! times), `n?/t` (the unused slots hold garbage instead of zeros), `n~/t` (interleaved: element
//! `i` lives in tile `i mod e`, slot `floor(i / e)`, with `e = ceil(n / t)` tiles on that
//! dimension) or `n~?/t` (both). A shape is the bracketed, comma-separated list of its
//! dimensions, e.g. `[28~/4, 3/1, 28~/8]`.

use crate::error::{Result, TileError};
use hetile_backend::SlotCount;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// One dimension of a [`TileShape`]. Build it with [`TileDim::new`] or [`TileDim::replicated`];
/// it is validated when it becomes part of a [`TileShape`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileDim {
    size: usize,
    tile: usize,
    replicated: bool,
    garbage: bool,
    interleaved: bool,
}

impl TileDim {
    /// The dimension `n/t`: logical size `size`, tile size `tile`, zeros in unused slots.
    pub fn new(size: usize, tile: usize) -> TileDim {
        TileDim {
            size,
            tile,
            replicated: false,
            garbage: false,
            interleaved: false,
        }
    }
    /// The dimension `*/t`: logical size 1, its value replicated over all `tile` slot positions.
    pub fn replicated(tile: usize) -> TileDim {
        TileDim {
            size: 1,
            tile,
            replicated: true,
            garbage: false,
            interleaved: false,
        }
    }
    /// The same dimension with garbage (not zeros) in its unused slots: `n?/t`.
    pub fn with_garbage(mut self) -> TileDim {
        self.garbage = true;
        self
    }
    /// The same dimension without the garbage flag.
    pub fn without_garbage(mut self) -> TileDim {
        self.garbage = false;
        self
    }
    /// The same dimension, interleaved: `n~/t`.
    pub fn with_interleaving(mut self) -> TileDim {
        self.interleaved = true;
        self
    }
    /// Logical size (1 for a replicated dimension).
    pub fn size(&self) -> usize {
        self.size
    }
    /// Tile size (slot positions this dimension spans inside a tile).
    pub fn tile(&self) -> usize {
        self.tile
    }
    /// Whether the dimension is `*/t`.
    pub fn is_replicated(&self) -> bool {
        self.replicated
    }
    /// Whether the unused slots of this dimension may hold garbage (`?`).
    pub fn has_garbage(&self) -> bool {
        self.garbage
    }
    /// Whether the dimension is interleaved (`~`).
    pub fn is_interleaved(&self) -> bool {
        self.interleaved
    }
    /// Number of tiles along this dimension: `ceil(n / t)`, 1 when replicated.
    pub fn tiles(&self) -> usize {
        if self.replicated {
            1
        } else {
            self.size.div_ceil(self.tile.max(1))
        }
    }
    /// Whether some slot positions of this dimension hold no element (`n < tiles * t`).
    pub fn has_padding(&self) -> bool {
        !self.replicated && self.size < self.tiles() * self.tile
    }
    /// Whether this dimension broadcasts against any size in elementwise operations: it is
    /// replicated, or it is `1/1` (one element, no slot positions).
    pub fn is_broadcastable(&self) -> bool {
        self.replicated || (self.size == 1 && self.tile == 1)
    }
    /// The element index held at tile coordinate `tile_coord`, slot coordinate `slot_coord` of this
    /// dimension, or `None` for an unused position. A replicated dimension holds element 0
    /// everywhere.
    pub fn element_at(&self, tile_coord: usize, slot_coord: usize) -> Option<usize> {
        let index = if self.replicated {
            0
        } else if self.interleaved {
            slot_coord * self.tiles() + tile_coord
        } else {
            tile_coord * self.tile + slot_coord
        };
        (index < self.size).then_some(index)
    }
    /// The (tile coordinate, slot coordinate) of element `index` (for a replicated dimension,
    /// slot coordinate 0 of its copies).
    pub fn position_of(&self, index: usize) -> (usize, usize) {
        if self.replicated {
            (0, 0)
        } else if self.interleaved {
            let e = self.tiles();
            (index % e, index / e)
        } else {
            (index / self.tile, index % self.tile)
        }
    }
}

impl fmt::Display for TileDim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.replicated {
            return write!(f, "*/{}", self.tile);
        }
        write!(f, "{}", self.size)?;
        if self.interleaved {
            f.write_str("~")?;
        }
        if self.garbage {
            f.write_str("?")?;
        }
        write!(f, "/{}", self.tile)
    }
}

/// How a tensor is cut into tiles: one [`TileDim`] per logical dimension. Tile sizes are powers
/// of two; slots inside a tile are laid out row-major over the tile dimensions, and tiles are
/// ordered row-major over the tile grid (`tiles()` per dimension).
///
/// Parse and print with the HElayers notation (`"[5/2, 6/4]"`, `"[*/8, 16/16]"`,
/// `"[28~/4, 3/1, 28~/8]"`); printing a parsed shape gives the same text back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileShape {
    dims: Vec<TileDim>,
}

impl TileShape {
    /// A validated tile shape.
    ///
    /// Errors: [`TileError::EmptyShape`] without dimensions, [`TileError::ZeroSize`] for a
    /// logical size 0, [`TileError::TileNotPowerOfTwo`], [`TileError::InvalidFlags`] for a
    /// replicated dimension that is interleaved, garbage-padded or not of size 1, and
    /// [`TileError::Overflow`] when the tile sizes, the logical sizes or the tile counts
    /// multiply past `usize`.
    pub fn new(dims: Vec<TileDim>) -> Result<TileShape> {
        if dims.is_empty() {
            return Err(TileError::EmptyShape);
        }
        let (mut product, mut elements, mut tiles) = (1usize, 1usize, 1usize);
        for (dim, d) in dims.iter().enumerate() {
            if d.size == 0 {
                return Err(TileError::ZeroSize { dim });
            }
            if !d.tile.is_power_of_two() {
                return Err(TileError::TileNotPowerOfTwo { dim, tile: d.tile });
            }
            if d.replicated && (d.interleaved || d.garbage || d.size != 1) {
                return Err(TileError::InvalidFlags {
                    dim,
                    reason: "a replicated dimension has size 1 and is neither interleaved nor \
                             garbage-padded"
                        .into(),
                });
            }
            product = product.checked_mul(d.tile).ok_or(TileError::Overflow)?;
            elements = elements.checked_mul(d.size).ok_or(TileError::Overflow)?;
            tiles = tiles.checked_mul(d.tiles()).ok_or(TileError::Overflow)?;
        }
        Ok(TileShape { dims })
    }

    /// Parses the HElayers notation (see the module docs). Whitespace around tokens is ignored.
    ///
    /// Errors: [`TileError::Parse`] for malformed text, then the errors of [`TileShape::new`].
    pub fn parse(text: &str) -> Result<TileShape> {
        let fail = |reason: &str| TileError::Parse {
            input: text.to_string(),
            reason: reason.to_string(),
        };
        let inner = text
            .trim()
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .ok_or_else(|| fail("expected '[' ... ']'"))?;
        let mut dims = Vec::new();
        for token in inner.split(',') {
            let token = token.trim();
            let (left, right) = token
                .split_once('/')
                .ok_or_else(|| fail("each dimension is written n/t"))?;
            let tile: usize = right
                .trim()
                .parse()
                .map_err(|_| fail("tile size is not an unsigned integer"))?;
            let left = left.trim();
            if left == "*" {
                dims.push(TileDim::replicated(tile));
                continue;
            }
            let (left, garbage) = match left.strip_suffix('?') {
                Some(rest) => (rest, true),
                None => (left, false),
            };
            let (left, interleaved) = match left.strip_suffix('~') {
                Some(rest) => (rest, true),
                None => (left, false),
            };
            if left.is_empty() || !left.bytes().all(|b| b.is_ascii_digit()) {
                return Err(fail("logical size must be '*' or an unsigned integer, optionally followed by '~' and/or '?'"));
            }
            let size: usize = left
                .parse()
                .map_err(|_| fail("logical size does not fit usize"))?;
            dims.push(TileDim {
                size,
                tile,
                replicated: false,
                garbage,
                interleaved,
            });
        }
        TileShape::new(dims)
    }

    /// The dimensions.
    pub fn dims(&self) -> &[TileDim] {
        &self.dims
    }
    /// Dimension `dim`. Errors with [`TileError::DimOutOfRange`].
    pub fn dim(&self, dim: usize) -> Result<&TileDim> {
        self.dims.get(dim).ok_or(TileError::DimOutOfRange {
            dim,
            rank: self.dims.len(),
        })
    }
    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.dims.len()
    }
    /// The logical shape (size 1 for replicated dimensions): the shape of the array it packs.
    pub fn logical_shape(&self) -> Vec<usize> {
        self.dims.iter().map(|d| d.size).collect()
    }
    /// The tile dimensions `t_1, ..., t_k`.
    pub fn tile_dims(&self) -> Vec<usize> {
        self.dims.iter().map(|d| d.tile).collect()
    }
    /// Tiles along each dimension.
    pub fn tiles_per_dim(&self) -> Vec<usize> {
        self.dims.iter().map(TileDim::tiles).collect()
    }
    /// Total number of tiles (ciphertexts).
    pub fn num_tiles(&self) -> usize {
        self.dims.iter().map(TileDim::tiles).product()
    }
    /// Slots per tile: the product of the tile dimensions.
    pub fn slots(&self) -> usize {
        self.dims.iter().map(|d| d.tile).product()
    }
    /// Number of logical elements.
    pub fn num_elements(&self) -> usize {
        self.dims.iter().map(|d| d.size).product()
    }
    /// Whether any dimension holds garbage.
    pub fn has_garbage(&self) -> bool {
        self.dims.iter().any(|d| d.garbage)
    }
    /// Errors with [`TileError::SlotMismatch`] unless the tiles hold exactly `slots` slots.
    pub fn check_slots(&self, slots: SlotCount) -> Result<()> {
        if self.slots() == slots.get() {
            Ok(())
        } else {
            Err(TileError::SlotMismatch {
                shape: self.to_string(),
                product: self.slots(),
                slots: slots.get(),
            })
        }
    }
    /// The slot stride of dimension `dim` inside a tile (product of the inner tile sizes): a
    /// rotation by it moves one position along `dim`. Errors with [`TileError::DimOutOfRange`].
    pub fn slot_stride(&self, dim: usize) -> Result<usize> {
        self.dim(dim)?;
        Ok(self.dims[dim + 1..].iter().map(|d| d.tile).product())
    }
    /// The stride of dimension `dim` in the row-major tile grid.
    /// Errors with [`TileError::DimOutOfRange`].
    pub fn tile_stride(&self, dim: usize) -> Result<usize> {
        self.dim(dim)?;
        Ok(self.dims[dim + 1..].iter().map(TileDim::tiles).product())
    }
    /// The grid coordinates of the tile with row-major index `index` (not range-checked: an
    /// index past the last tile wraps in the outermost dimension).
    pub fn tile_coords(&self, index: usize) -> Vec<usize> {
        let mut coords = vec![0; self.dims.len()];
        let mut rest = index;
        for (c, d) in coords.iter_mut().zip(&self.dims).rev() {
            let e = d.tiles();
            *c = rest % e;
            rest /= e;
        }
        coords
    }
    /// The row-major index of the tile at grid coordinates `coords` (one per dimension, each
    /// below that dimension's tile count; extra coordinates are ignored).
    pub fn tile_index(&self, coords: &[usize]) -> usize {
        coords
            .iter()
            .zip(&self.dims)
            .fold(0, |acc, (&c, d)| acc * d.tiles() + c)
    }
    /// The same shape with dimension `dim` replaced (validated again).
    /// Errors: [`TileError::DimOutOfRange`] and those of [`TileShape::new`].
    pub fn with_dim(&self, dim: usize, new: TileDim) -> Result<TileShape> {
        self.dim(dim)?;
        let mut dims = self.dims.clone();
        dims[dim] = new;
        TileShape::new(dims)
    }
}

impl fmt::Display for TileShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.dims.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

impl FromStr for TileShape {
    type Err = TileError;
    fn from_str(s: &str) -> Result<TileShape> {
        TileShape::parse(s)
    }
}

/// Serialized as its text form, e.g. `"[*/8, 16/16]"`.
impl Serialize for TileShape {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for TileShape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        TileShape::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_round_trip() {
        for text in [
            "[5/2, 6/4]",
            "[*/8, 16/16]",
            "[28~/4, 3/1, 28~/8]",
            "[1?/16, 7~?/4]",
        ] {
            let shape = TileShape::parse(text).unwrap();
            assert_eq!(shape.to_string(), text);
            assert_eq!(text.parse::<TileShape>().unwrap(), shape);
        }
        let spaced = TileShape::parse(" [ 5 / 2 ,6/4 ] ").unwrap();
        assert_eq!(spaced.to_string(), "[5/2, 6/4]");
    }

    #[test]
    fn counts_and_strides() {
        let s = TileShape::parse("[5/2, 6/4]").unwrap();
        assert_eq!(s.tiles_per_dim(), vec![3, 2]);
        assert_eq!(s.num_tiles(), 6);
        assert_eq!(s.slots(), 8);
        assert_eq!(s.slot_stride(0).unwrap(), 4);
        assert_eq!(s.slot_stride(1).unwrap(), 1);
        assert_eq!(s.tile_stride(0).unwrap(), 2);
        assert_eq!(s.tile_coords(5), vec![2, 1]);
        assert_eq!(s.tile_index(&[2, 1]), 5);
        assert!(s.check_slots(SlotCount(8)).is_ok());
        assert!(matches!(
            s.check_slots(SlotCount(16)),
            Err(TileError::SlotMismatch {
                product: 8,
                slots: 16,
                ..
            })
        ));
        let r = TileShape::parse("[*/8, 16/16]").unwrap();
        assert_eq!(r.logical_shape(), vec![1, 16]);
        assert_eq!(r.num_tiles(), 1);
    }

    #[test]
    fn interleaved_positions() {
        let d = TileShape::parse("[28~/4]").unwrap().dims()[0];
        assert_eq!(d.tiles(), 7);
        // element i lives in tile i mod 7, slot i / 7
        for i in 0..28 {
            assert_eq!(d.position_of(i), (i % 7, i / 7));
            assert_eq!(d.element_at(i % 7, i / 7), Some(i));
        }
        let plain = TileDim::new(5, 2);
        assert_eq!(plain.position_of(3), (1, 1));
        assert_eq!(plain.element_at(2, 1), None);
        assert!(plain.has_padding());
    }

    #[test]
    fn bad_shapes_are_refused() {
        assert!(matches!(
            TileShape::parse("[5/3]"),
            Err(TileError::TileNotPowerOfTwo { dim: 0, tile: 3 })
        ));
        assert!(matches!(
            TileShape::parse("[0/4]"),
            Err(TileError::ZeroSize { dim: 0 })
        ));
        assert!(matches!(
            TileShape::parse("[]"),
            Err(TileError::Parse { .. })
        ));
        assert!(matches!(
            TileShape::parse("5/4"),
            Err(TileError::Parse { .. })
        ));
        assert!(matches!(
            TileShape::parse("[5?~/4]"),
            Err(TileError::Parse { .. })
        ));
        assert!(matches!(
            TileShape::parse("[*?/4]"),
            Err(TileError::Parse { .. })
        ));
        assert!(matches!(TileShape::new(vec![]), Err(TileError::EmptyShape)));
        let huge = 1usize << 40;
        assert!(matches!(
            TileShape::new(vec![TileDim::new(huge, 1), TileDim::new(huge, 1)]),
            Err(TileError::Overflow)
        ));
        assert!(matches!(
            TileShape::new(vec![TileDim::replicated(4).with_garbage()]),
            Err(TileError::InvalidFlags { dim: 0, .. })
        ));
    }

    #[test]
    fn serde_uses_the_text_form() {
        let s = TileShape::parse("[28~/4, 3/1, 28~/8]").unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "\"[28~/4, 3/1, 28~/8]\"");
        let back: TileShape = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert!(serde_json::from_str::<TileShape>("\"[3/3]\"").is_err());
    }
}
