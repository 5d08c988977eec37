//! Interleaved tile convolution (the HElayers tile-tensor strategy): images are packed with
//! height and width interleaved (`H~/th`, `W~/tw`, ARCHITECTURE.md "Tile tensors"), so a shift
//! of the filter mostly selects a neighbouring tile instead of rotating, and the output keeps
//! the input's layout: convolutions (and squares) chain without repacking.
//!
//! Layout of a batch `[B, C, H, W]` in tile `[th, tw, tb]` (`th tw tb` = slots): with
//! `eh = ceil(H / th)` and `ew = ceil(W / tw)` tiles on height and width, pixel `(i, j)` of
//! channel `c` lives in ciphertext `(c, i mod eh, j mod ew)`, slot
//! `((i div eh) tw + j div ew) tb + b`. A stride-1 unpadded convolution reads, for output tile
//! `(r, s)` and kernel offset `(a, b)`, the input tile `((r + a) mod eh, (s + b) mod ew)`
//! rotated by `((r + a) div eh) tw tb + ((s + b) div ew) tb` slots (no rotation in most cases).
//! Its output has the same layout; positions outside the valid window hold garbage that no
//! later valid output reads. Cost per layer: `Cout Cin kh kw eh ew` scalar products, one level,
//! and only the distinct rotations of input tiles.

use crate::error::{LayerError, Result};
use crate::layers::{Conv2d, Layer};
use hetile_backend::{Backend, Client, Evaluator, Meta};
use ndarray::{ArrayD, IxDyn};
use std::collections::{BTreeSet, HashMap};

/// The packing of an interleaved image batch: the tile `[th, tw, tb]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterleavedPacking {
    tile: [usize; 3],
}

/// An encrypted image batch in the interleaved layout.
pub struct InterleavedTensor<B: Backend> {
    packing: InterleavedPacking,
    /// Tiles on height and width (`eh`, `ew`).
    grid: [usize; 2],
    /// The valid per-sample shape `[C, H, W]` (a window at the top-left of the layout).
    valid: [usize; 3],
    batch: usize,
    /// `tiles[c][r ew + s]`.
    tiles: Vec<Vec<B::Ciphertext>>,
}

fn bad(reason: String) -> LayerError {
    LayerError::InvalidParameter {
        layer: "interleaved",
        reason,
    }
}

impl InterleavedPacking {
    /// A packing with tile `[th, tw, tb]`. Errors: [`LayerError::InvalidParameter`] unless all
    /// are powers of two.
    pub fn new(tile: [usize; 3]) -> Result<InterleavedPacking> {
        if tile.iter().all(|t| t.is_power_of_two()) {
            Ok(InterleavedPacking { tile })
        } else {
            Err(bad(format!("tile {tile:?} entries must be powers of two")))
        }
    }

    fn grid(&self, h: usize, w: usize) -> [usize; 2] {
        [h.div_ceil(self.tile[0]), w.div_ceil(self.tile[1])]
    }

    fn slot(&self, grid: [usize; 2], i: usize, j: usize, b: usize) -> usize {
        let [_, tw, tb] = self.tile;
        ((i / grid[0]) * tw + j / grid[1]) * tb + b
    }

    /// Packs and encrypts a batch `[B, C, H, W]` (client side), `B <= tb`, at the top level.
    /// Errors: shape errors, a tile that does not fill the slots, backend errors.
    pub fn encrypt<B: Backend>(
        &self,
        client: &B::Client,
        x: &ArrayD<f64>,
    ) -> Result<InterleavedTensor<B>> {
        let &[batch, c, h, w] = x.shape() else {
            return Err(bad(format!("expected [B, C, H, W], got {:?}", x.shape())));
        };
        let slots = client.params().slots().0;
        if self.tile.iter().product::<usize>() != slots || batch > self.tile[2] || batch == 0 {
            return Err(bad(format!(
                "tile {:?} must fill {slots} slots and hold the batch {batch}",
                self.tile
            )));
        }
        let grid = self.grid(h, w);
        let params = client.params();
        let (level, scale) = (params.max_level(), params.default_scale());
        let mut tiles = Vec::with_capacity(c);
        for ch in 0..c {
            let mut row = Vec::with_capacity(grid[0] * grid[1]);
            for r in 0..grid[0] {
                for s in 0..grid[1] {
                    let mut v = vec![0.0; slots];
                    for i in (r..h).step_by(grid[0]) {
                        for j in (s..w).step_by(grid[1]) {
                            for b in 0..batch {
                                v[self.slot(grid, i, j, b)] = x[[b, ch, i, j]];
                            }
                        }
                    }
                    let pt = client.encode(&v, level, scale)?;
                    row.push(client.encrypt(&pt)?);
                }
            }
            tiles.push(row);
        }
        Ok(InterleavedTensor {
            packing: *self,
            grid,
            valid: [c, h, w],
            batch,
            tiles,
        })
    }

    /// The rotation steps a chain of stride-1 convolutions with kernels up to `kh x kw` needs
    /// on `[H, W]` images.
    pub fn rotation_steps(&self, h: usize, w: usize, kh: usize, kw: usize) -> BTreeSet<i64> {
        let grid = self.grid(h, w);
        let [_, tw, tb] = self.tile;
        let mut steps = BTreeSet::new();
        for r in 0..grid[0] {
            for a in 0..kh {
                for s in 0..grid[1] {
                    for b in 0..kw {
                        let step = ((r + a) / grid[0]) * tw * tb + ((s + b) / grid[1]) * tb;
                        if step != 0 {
                            steps.insert(step as i64);
                        }
                    }
                }
            }
        }
        steps
    }
}

impl<B: Backend> InterleavedTensor<B> {
    /// The valid per-sample shape `[C, H, W]`.
    pub fn valid_dims(&self) -> [usize; 3] {
        self.valid
    }

    /// The level of the ciphertexts.
    pub fn level(&self) -> usize {
        self.tiles
            .first()
            .and_then(|t| t.first())
            .map_or(0, |c| c.level().0)
    }

    /// Decrypts the valid window as `[B, C, H, W]` (client side). Errors: backend errors.
    pub fn decrypt(&self, client: &B::Client) -> Result<ArrayD<f64>> {
        let [c, h, w] = self.valid;
        let mut out = ArrayD::zeros(IxDyn(&[self.batch, c, h, w]));
        for (ch, row) in self.tiles.iter().enumerate() {
            for (t, ct) in row.iter().enumerate() {
                let v = client.decrypt_values(ct)?;
                let (r, s) = (t / self.grid[1], t % self.grid[1]);
                for i in (r..h).step_by(self.grid[0]) {
                    for j in (s..w).step_by(self.grid[1]) {
                        for b in 0..self.batch {
                            out[[b, ch, i, j]] = v[self.packing.slot(self.grid, i, j, b)];
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The square of every element (one level). Errors: backend errors.
    pub fn square(&self, ev: &B::Evaluator) -> Result<Self> {
        let tiles = self
            .tiles
            .iter()
            .map(|row| {
                row.iter()
                    .map(|ct| {
                        let mut sq = ev.square(ct)?;
                        ev.rescale_assign(&mut sq)?;
                        Ok(sq)
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(InterleavedTensor {
            packing: self.packing,
            grid: self.grid,
            valid: self.valid,
            batch: self.batch,
            tiles,
        })
    }

    /// The convolution `conv` (stride 1, no padding) in the interleaved layout; the output
    /// stays interleaved. One level. Errors: [`LayerError::Layout`] for a strided or padded
    /// convolution or a wrong input shape, backend errors (missing rotation keys: see
    /// [`InterleavedPacking::rotation_steps`]).
    pub fn conv(&self, ev: &B::Evaluator, conv: &Conv2d) -> Result<Self> {
        let (cout, cin, kh, kw) = conv.weights().dim();
        let layout_err = |reason: &str| LayerError::Layout {
            layer: "interleaved conv",
            shape: format!("{:?}", self.valid),
            reason: reason.into(),
        };
        if conv.stride() != [1, 1] || conv.padding() != [0, 0] {
            return Err(layout_err("only stride 1 without padding is supported"));
        }
        let out_dims = conv.output_dims(&self.valid)?;
        if cin != self.valid[0] {
            return Err(layout_err("input channels differ"));
        }
        let [_, tw, tb] = self.packing.tile;
        let [eh, ew] = self.grid;
        // rotated input tiles, by (channel, tile, step)
        let mut rotated: HashMap<(usize, usize, usize), B::Ciphertext> = HashMap::new();
        for ci in 0..cin {
            for r in 0..eh {
                for s in 0..ew {
                    for a in 0..kh {
                        for b in 0..kw {
                            let t = ((r + a) % eh) * ew + (s + b) % ew;
                            let step = ((r + a) / eh) * tw * tb + ((s + b) / ew) * tb;
                            if let std::collections::hash_map::Entry::Vacant(e) =
                                rotated.entry((ci, t, step))
                            {
                                let src = &self.tiles[ci][t];
                                e.insert(if step == 0 {
                                    src.clone()
                                } else {
                                    ev.rotate(src, step as i64)?
                                });
                            }
                        }
                    }
                }
            }
        }
        let mut tiles = Vec::with_capacity(cout);
        for co in 0..cout {
            let mut row = Vec::with_capacity(eh * ew);
            for r in 0..eh {
                for s in 0..ew {
                    let mut acc: Option<B::Ciphertext> = None;
                    for ci in 0..cin {
                        for a in 0..kh {
                            for b in 0..kw {
                                let t = ((r + a) % eh) * ew + (s + b) % ew;
                                let step = ((r + a) / eh) * tw * tb + ((s + b) / ew) * tb;
                                let src = rotated
                                    .get(&(ci, t, step))
                                    .ok_or_else(|| layout_err("internal: missing tile"))?;
                                let term = ev.mul_scalar(src, conv.weights()[[co, ci, a, b]])?;
                                match acc.as_mut() {
                                    None => acc = Some(term),
                                    Some(x) => ev.add_assign(x, &term)?,
                                }
                            }
                        }
                    }
                    let mut ct = acc.ok_or_else(|| layout_err("empty kernel"))?;
                    ev.rescale_assign(&mut ct)?;
                    ev.add_scalar_assign(&mut ct, conv.bias()[co])?;
                    row.push(ct);
                }
            }
            tiles.push(row);
        }
        let valid = match out_dims.as_slice() {
            [c, h, w] => [*c, *h, *w],
            _ => return Err(layout_err("unexpected output shape")),
        };
        Ok(InterleavedTensor {
            packing: self.packing,
            grid: self.grid,
            valid,
            batch: self.batch,
            tiles,
        })
    }
}
