//! hetile: deep learning on CKKS-encrypted data.
//!
//! This facade re-exports the workspace crates; `hetile::prelude` brings the everyday names.

pub mod bench;
pub mod bench_matvec;

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
