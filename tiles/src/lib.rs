//! hetile-tiles: tile tensors, the packing abstraction (issue 6).
//!
//! A tensor of shape `(n1, ..., nk)` is cut into tiles of shape `(t1, ..., tk)` whose product is
//! the slot count; each tile is one ciphertext ([`TileTensor`]) or plaintext
//! ([`PlainTileTensor`]). [`TileShape`] carries the HElayers notation (`n/t`, `*/t`, `n?/t`,
//! `n~/t`), [`plan`] computes the resulting shape, the exact [`OpCost`] and the rotation keys of
//! every operation from shapes alone, and the operations on [`TileTensor`] follow those plans.
//!
//! Everything is generic over [`hetile_backend::Backend`]; no concrete backend is named here.
//!
//! Conventions: slots inside a tile are row-major over the tile dimensions, tiles are row-major
//! over the tile grid; every ciphertext product is followed by a rescale (plaintext weights and
//! masks are encoded at scale `q_level`, so the ciphertext's scale is unchanged).
//!
//! ```
//! use hetile_backend::{Client, Params};
//! use hetile_mock::MockBackend;
//! use hetile_tiles::{plan, TileShape, TileTensor};
//! use ndarray::{ArrayD, Axis, IxDyn};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let params = Params::preset("N14_L4")?; // 8192 slots
//! let shape: TileShape = "[20/8, 1000/1024]".parse()?;
//! // the plan says what summing the inner dimension costs and which keys it needs
//! let p = plan::sum(&shape, 1)?;
//! assert_eq!(p.output.to_string(), "[20/8, 1?/1024]");
//! assert_eq!(p.cost.rotations, 3 * 10); // 3 tiles, log2(1024) rotations each
//! let client = <MockBackend as hetile_backend::Backend>::Client::new(&params, &p.key_requirements())?;
//! let ev = client.evaluator()?;
//! let a = ArrayD::from_shape_fn(IxDyn(&[20, 1000]), |ix| (ix[0] + ix[1]) as f64 / 1000.0);
//! let t = TileTensor::<MockBackend>::encrypt(&client, &a, shape)?;
//! let s = t.sum(&ev, 1)?;
//! let expected = a.sum_axis(Axis(1)).insert_axis(Axis(1));
//! let got = s.decrypt(&client)?;
//! assert!(got.iter().zip(expected.iter()).all(|(x, y)| (x - y).abs() < 1e-6));
//! # Ok(())
//! # }
//! ```

pub mod cost;
pub mod error;
pub mod layout;
pub mod matmul;
mod movement;
mod ops;
pub mod plan;
mod reduce;
mod retile;
pub mod shape;
pub mod tensor;

pub use cost::{key_requirements, OpCost, OpPlan};
pub use error::{Result, TileError};
pub use matmul::{MatMulLayout, MatMulShapes, MatVecLayout, MatVecShapes, PlainMatrix};
pub use plan::{BinaryOp, Operand};
pub use shape::{TileDim, TileShape};
pub use tensor::{prime_scale, EncryptionKey, PlainTileTensor, TileTensor};

/// The smallest piece of a parallel loop over ciphertexts of `B`: `usize::MAX` on a
/// metadata-only backend (the simulator), whose operations take nanoseconds, so that the loop
/// never splits and runs inline on the calling thread (no hand-over to a thread pool, which
/// would cost more than the whole simulated pass); 1 otherwise.
pub fn seq_min_len<B: hetile_backend::Backend>() -> usize {
    if B::METADATA_ONLY {
        usize::MAX
    } else {
        1
    }
}
