//! The interleaved form's tile grid, client packing and unpacking of the valid window.

use crate::error::{LayerError, Result};
use hetile_tiles::{TileDim, TileShape};
use ndarray::{ArrayD, IxDyn};

/// Whether `shape` is the interleaved form: rank 4, height and width interleaved, channels
/// with tile 1 and a plain batch dimension.
pub fn is_interleaved(shape: &TileShape) -> bool {
    match shape.dims() {
        [c, h, w, b] => {
            c.tile() == 1
                && !c.is_replicated()
                && h.is_interleaved()
                && w.is_interleaved()
                && !b.is_interleaved()
                && !b.is_replicated()
        }
        _ => false,
    }
}

pub(crate) fn layout_err(layer: &'static str, shape: &TileShape, reason: String) -> LayerError {
    LayerError::Layout {
        layer,
        shape: shape.to_string(),
        reason,
    }
}

/// The grid of an interleaved shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grid {
    /// Channels (tiles on dimension 0).
    pub c: usize,
    /// Logical extents of height and width (at least the valid window).
    pub h: usize,
    pub w: usize,
    /// Tiles on height, width and batch.
    pub eh: usize,
    pub ew: usize,
    pub eb: usize,
    /// Tile sizes.
    pub th: usize,
    pub tw: usize,
    pub tb: usize,
    /// Batch size and whether its unused slots hold garbage.
    pub batch: usize,
    pub batch_garbage: bool,
}

impl Grid {
    /// The grid of `shape`. Errors: [`LayerError::Layout`] unless it is the interleaved form.
    pub fn of(layer: &'static str, shape: &TileShape) -> Result<Grid> {
        match shape.dims() {
            [c, h, w, b] if is_interleaved(shape) => Ok(Grid {
                c: c.size(),
                h: h.size(),
                w: w.size(),
                eh: h.tiles(),
                ew: w.tiles(),
                eb: b.tiles(),
                th: h.tile(),
                tw: w.tile(),
                tb: b.tile(),
                batch: b.size(),
                batch_garbage: b.has_garbage() && b.has_padding(),
            }),
            _ => Err(layout_err(
                layer,
                shape,
                "expected the interleaved form [C/1, H~/th, W~/tw, B/tb]".into(),
            )),
        }
    }

    /// The row-major index of tile `(c, r, s, bt)`.
    pub fn tile(&self, c: usize, r: usize, s: usize, bt: usize) -> usize {
        ((c * self.eh + r) * self.ew + s) * self.eb + bt
    }

    /// The rotation moving `dh` slot rows on height and `dw` on width, reduced modulo the
    /// slots (a full turn is no rotation).
    pub fn step(&self, dh: usize, dw: usize) -> usize {
        ((dh * self.tw + dw) * self.tb) % (self.rows() * self.tb)
    }

    /// Slot rows per tile (`th tw`).
    pub fn rows(&self) -> usize {
        self.th * self.tw
    }

    /// The interleaved shape with `c` channels on a grid of `eh x ew` tiles (full extents),
    /// the same tiles and batch, and batch garbage as given.
    pub fn shape(&self, c: usize, eh: usize, ew: usize, batch_garbage: bool) -> Result<TileShape> {
        let b = TileDim::new(self.batch, self.tb);
        let b = if batch_garbage && b.has_padding() {
            b.with_garbage()
        } else {
            b
        };
        Ok(TileShape::new(vec![
            TileDim::new(c, 1),
            TileDim::new(eh * self.th, self.th).with_interleaving(),
            TileDim::new(ew * self.tw, self.tw).with_interleaving(),
            b,
        ])?)
    }

    /// Checks that a valid window `[C, H, W]` fits the layout.
    pub fn check_window(
        &self,
        layer: &'static str,
        shape: &TileShape,
        window: [usize; 3],
    ) -> Result<()> {
        if window[0] != self.c || window[1] > self.h || window[2] > self.w {
            return Err(layout_err(
                layer,
                shape,
                format!("the valid window {window:?} does not fit the layout"),
            ));
        }
        Ok(())
    }
}

/// The logical `[C, H + 2p, W + 2p, B]` array of a batch `[B, C, H, W]` zero-padded by
/// `pad = [ph, pw]` on each side (client side, before [`crate::Packing::interleaved`]).
/// Errors: [`LayerError::ArrayShape`] unless `x` has rank 4.
pub(crate) fn pack(x: &ArrayD<f64>, pad: [usize; 2]) -> Result<ArrayD<f64>> {
    let &[b, c, h, w] = x.shape() else {
        return Err(LayerError::ArrayShape {
            given: x.shape().to_vec(),
            expected: vec![0, 0, 0, 0],
        });
    };
    let [ph, pw] = pad;
    Ok(ArrayD::from_shape_fn(
        IxDyn(&[c, h + 2 * ph, w + 2 * pw, b]),
        |ix| {
            let (i, j) = (ix[1].checked_sub(ph), ix[2].checked_sub(pw));
            match (i, j) {
                (Some(i), Some(j)) if i < h && j < w => x[[ix[3], ix[0], i, j]],
                _ => 0.0,
            }
        },
    ))
}

/// The valid window `[B, C, H, W]` of a decrypted logical interleaved array `[C, H', W', B]`.
/// Errors: [`LayerError::ArrayShape`] when the window does not fit.
pub(crate) fn unpack_window(a: &ArrayD<f64>, window: [usize; 3]) -> Result<ArrayD<f64>> {
    let [c, h, w] = window;
    match a.shape() {
        &[ac, ah, aw, b] if ac == c && ah >= h && aw >= w => {
            Ok(ArrayD::from_shape_fn(IxDyn(&[b, c, h, w]), |ix| {
                a[[ix[1], ix[2], ix[3], ix[0]]]
            }))
        }
        other => Err(LayerError::ArrayShape {
            given: other.to_vec(),
            expected: vec![c, h, w, 0],
        }),
    }
}
