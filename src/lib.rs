//! hetile: deep learning on CKKS-encrypted data.
//!
//! This facade re-exports the workspace crates; `hetile::prelude` brings the everyday names.
//!
//! ```
//! use hetile::ckks::CkksBackend;
//! use hetile::prelude::*;
//!
//! # fn main() -> hetile::backend::Result<()> {
//! let params = Params::preset("N14_L4")?; // 128-bit secure
//! let keys = KeyRequirements::none().with_relinearization().with_rotations([1]);
//! let client = <CkksBackend as Backend>::Client::new(&params, &keys)?; // holds the secret key
//! let server = client.evaluator()?; // public evaluation keys only
//! let x = client.encrypt_values(&[0.5, -0.25, 1.0])?;
//! let mut y = server.mul(&x, &x)?; // x^2, relinearized
//! server.rescale_assign(&mut y)?;
//! let y = server.rotate(&y, 1)?; // slot i <- slot i + 1
//! let out = client.decrypt_values(&y)?;
//! assert!((out[0] - 0.0625).abs() < 1e-6 && (out[1] - 1.0).abs() < 1e-6 && out[2].abs() < 1e-6);
//! # Ok(())
//! # }
//! ```

pub mod bench;
pub mod bench_matvec;
pub mod plan_model;

pub use hetile_backend as backend;
pub use hetile_ckks as ckks;
pub use hetile_layers as layers;
pub use hetile_mock as mock;
pub use hetile_opt as optimizer;
pub use hetile_ring as ring;
pub use hetile_sim as simulator;
pub use hetile_tiles as tiles;

/// The names most programs need.
pub mod prelude {
    pub use hetile_backend::{
        Backend, Client, Error, Evaluator, KeyRequirements, Level, Meta, Params, ParamsLiteral,
        Result, Scale, SecurityLevel, SlotCount,
    };
}
