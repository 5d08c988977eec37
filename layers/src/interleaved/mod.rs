//! Interleaved tile convolution as a model strategy (the HElayers tile-tensor strategy,
//! ARCHITECTURE.md "Tile tensors"): images are packed as the rank-4 interleaved form
//! `[C/1, H~/th, W~/tw, B/tb]` ([`crate::Packing::interleaved`]), so pixel `(i, j)` of channel
//! `c` and sample `b` lives in ciphertext `(c, i mod eh, j mod ew, b div tb)`, slot
//! `((i div eh) tw + j div ew) tb + b mod tb`, with `eh`, `ew` the tiles on height and width.
//!
//! - A convolution with stride `s` (`eh` and `ew` divisible by `s`) maps output tile `r` and
//!   kernel offset `a` to the input tile `(s r + a) mod eh` rotated by `(s r + a) div eh` slot
//!   rows: most shifts select a neighbouring tile instead of rotating. The output is interleaved
//!   again with `eh / s` tiles; positions outside the valid window hold garbage that no valid
//!   output reads. One level: `Cout Cin kh kw` scalar products and one rescale per output tile,
//!   one rotation per distinct (input tile, row shift). Padding is applied by the client to the
//!   image of a first convolution; a chained interleaved convolution zero-pads its valid window
//!   in place first (one mask product per tile, one level, and a rotation for the tiles whose
//!   pixels cross a tile boundary), when the padded window fits the layout.
//! - Average pooling is the depthwise convolution with uniform weights (tile additions, one
//!   scalar product and one rescale per output tile).
//! - Activations run tile by tile on the form; flatten keeps it (ONNX channel-height-width
//!   order is a property of the weights that read it).
//! - A dense layer (or an unrolled convolution, or a pool whose stride does not divide the tile
//!   grid) reads the form directly: its weights are scattered to the interleaved slot positions
//!   (zero on garbage positions); the outputs go in groups of `G`, and per group and batch tile
//!   it sums the ciphertext-plaintext products of the input tiles rotated by `0 .. G - 1` rows
//!   (hoisted, shared by all groups) with diagonal weights, rescales once and rotate-and-sums
//!   over the high slot-row bits. The result is the replicated rows form
//!   `[*/(th tw / G), F/G, B/tb]` that the dense chain accepts; `G` minimises the rotations
//!   (`G = 1`: one ciphertext per output, `log2(th tw)` rotations each).
//!
//! Every function here has a plan (output shape, exact counts, rotation steps) computed from
//! shapes alone, and a forward that does exactly that.

mod conv;
mod flow;
mod layout;
mod linear;

pub(crate) use conv::{conv_forward, conv_plan, pool_fits, pool_forward, pool_plan};
pub(crate) use flow::{assign, interleaved_values, resolved, strategy_err, window};
pub use layout::is_interleaved;
pub(crate) use layout::{pack, unpack_window};
pub(crate) use linear::{linear_forward, linear_plan};
