//! Where each value of a channel-packed tensor lives: ciphertext and slot.

use crate::error::{LayerError, Result};

/// A `[C, H, W]` tensor in channel blocks.
///
/// Every ciphertext is cut into `slots / block` blocks. A block holds `mux^2` channels: channel
/// `c` sits at phase `(py, px)` (offset `py * pitch + px`) of its block, and its value `(y, x)` at
/// `offset + stride * (y * pitch + x)`. With `stride = mux = 1` this is one image per block, row
/// by row; after a pooling of stride 2 the values sit two slots apart and a second channel can
/// fill each gap (`mux = 2`, the "multiplexed" layout). Slots that hold no value may hold
/// anything: every layer reads only valid positions (its weights are zero elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// Slots per ciphertext.
    pub slots: usize,
    /// Slots per block (a power of two dividing `slots`).
    pub block: usize,
    /// Slots between two rows.
    pub pitch: usize,
    /// Grid positions between two neighbouring values.
    pub stride: usize,
    /// Channels per block along each axis (1 or 2; `mux <= stride`).
    pub mux: usize,
    /// Channels.
    pub channels: usize,
    /// Rows of valid values.
    pub h: usize,
    /// Columns of valid values.
    pub w: usize,
}

impl Grid {
    /// Checks that every value fits its block and phases do not collide.
    /// Errors: [`LayerError::InvalidParameter`] naming the layout.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| {
            Err(LayerError::InvalidParameter {
                layer: "packed layout",
                reason,
            })
        };
        if self.block == 0
            || !self.block.is_power_of_two()
            || !self.slots.is_multiple_of(self.block)
            || self.pitch == 0
            || self.stride == 0
            || self.mux == 0
            || self.channels == 0
            || self.h == 0
            || self.w == 0
        {
            return bad(format!("degenerate layout {self:?}"));
        }
        if self.mux > self.stride {
            return bad(format!(
                "{} channels per block axis need values at least {} apart (stride {})",
                self.mux, self.mux, self.stride
            ));
        }
        let last = (self.mux - 1) * (self.pitch + 1)
            + self.stride * ((self.h - 1) * self.pitch + (self.w - 1));
        if last >= self.block || self.stride * (self.w - 1) + self.mux > self.pitch {
            return bad(format!(
                "a {}x{} image at stride {} does not fit a block of {} slots with rows {} apart",
                self.h, self.w, self.stride, self.block, self.pitch
            ));
        }
        Ok(())
    }

    /// Blocks per ciphertext.
    pub fn blocks(&self) -> usize {
        self.slots / self.block
    }

    /// Channels per ciphertext.
    pub fn per_ct(&self) -> usize {
        self.blocks() * self.mux * self.mux
    }

    /// Ciphertexts holding the tensor.
    pub fn cts(&self) -> usize {
        self.channels.div_ceil(self.per_ct())
    }

    /// The channel at (ciphertext, block, phase), if any.
    pub fn channel_at(&self, ct: usize, block: usize, phase: usize) -> Option<usize> {
        let m = self.mux * self.mux;
        let c = ct * self.per_ct() + block * m + phase;
        (block < self.blocks() && phase < m && c < self.channels).then_some(c)
    }

    /// The slot offset of a phase within its block.
    pub fn phase_offset(&self, phase: usize) -> usize {
        (phase / self.mux) * self.pitch + phase % self.mux
    }

    /// Ciphertext and first slot of channel `c`.
    pub fn place(&self, c: usize) -> (usize, usize) {
        let m = self.mux * self.mux;
        let (ct, r) = (c / self.per_ct(), c % self.per_ct());
        (ct, (r / m) * self.block + self.phase_offset(r % m))
    }

    /// The slot of `(y, x)` relative to its channel's first slot.
    pub fn offset(&self, y: usize, x: usize) -> usize {
        self.stride * (y * self.pitch + x)
    }

    /// Ciphertext and slot of value `(c, y, x)`.
    pub fn slot(&self, c: usize, y: usize, x: usize) -> (usize, usize) {
        let (ct, base) = self.place(c);
        (ct, base + self.offset(y, x))
    }
}

/// The layout of a tensor between layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Channel blocks (see [`Grid`]).
    Grid(Grid),
    /// A vector of `len` values in slots `0..len` of one ciphertext, repeated every `period`
    /// slots.
    Vector {
        /// Slots per ciphertext.
        slots: usize,
        /// Number of values.
        len: usize,
        /// The repetition period (a power of two, at least `len`).
        period: usize,
    },
}

impl Layout {
    /// Ciphertexts holding the tensor.
    pub fn cts(&self) -> usize {
        match self {
            Layout::Grid(g) => g.cts(),
            Layout::Vector { .. } => 1,
        }
    }

    /// Number of values (the flattened length).
    pub fn len(&self) -> usize {
        match self {
            Layout::Grid(g) => g.channels * g.h * g.w,
            Layout::Vector { len, .. } => *len,
        }
    }

    /// Whether the tensor has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Per ciphertext, per slot: the flattened index (`c * H * W + y * W + x`) of the value the
    /// slot holds, or -1. A repeated vector lists its first copy only.
    pub fn feature_table(&self) -> Vec<Vec<i32>> {
        match self {
            Layout::Grid(g) => {
                let mut t = vec![vec![-1i32; g.slots]; g.cts()];
                for c in 0..g.channels {
                    for y in 0..g.h {
                        for x in 0..g.w {
                            let (ct, s) = g.slot(c, y, x);
                            t[ct][s] = ((c * g.h + y) * g.w + x) as i32;
                        }
                    }
                }
                t
            }
            Layout::Vector { slots, len, .. } => {
                vec![(0..*slots)
                    .map(|s| if s < *len { s as i32 } else { -1 })
                    .collect()]
            }
        }
    }
}
