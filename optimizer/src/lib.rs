//! hetile-opt: choose the packing and CKKS parameters of an encrypted run (issue 9).
//!
//! Given a [`hetile_layers::Model`] and [`Requirements`] (objective latency, throughput or
//! memory; batch size or "choose"; security; output precision; memory cap; threads), the
//! optimizer enumerates ring degrees `2^13..2^17`, packing tiles and scales, builds the prime
//! chain from the model's depth ([`chain`]), rejects what violates security, precision or the
//! memory cap (recording why), and ranks the rest by the simulator's prediction ([`simulate`],
//! which runs the model's real encrypted code on metadata-only ciphertexts). The result is a
//! [`Plan`] (YAML or JSON) holding the parameters literal, the packing, the batch size, the
//! exact rotation steps for key generation and the predicted costs.
//!
//! ```
//! use hetile_layers::Model;
//! use hetile_opt::{optimize, BatchSize, Objective, Plan, Requirements};
//! use ndarray::{Array1, Array2};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let w1 = Array2::from_shape_fn((8, 30), |(o, i)| ((o + i) % 5) as f64 * 0.05 - 0.1);
//! let w2 = Array2::from_shape_fn((1, 8), |(_, i)| i as f64 * 0.1 - 0.3);
//! let model = Model::sequential(&[30])
//!     .dense(w1, Array1::zeros(8))
//!     .square()
//!     .dense(w2, Array1::zeros(1))
//!     .build()?;
//! let req = Requirements {
//!     objective: Objective::Throughput,
//!     batch: BatchSize::Choose,
//!     ..Requirements::default()
//! };
//! let found = optimize(&model, &req)?;
//! let plan = &found.best;
//! assert!(plan.batch_size > 1);
//! assert!(plan.predicted.throughput_per_second > 0.0);
//! let again = Plan::from_yaml(&plan.to_yaml()?)?;
//! assert_eq!(&again, plan);
//! # Ok(())
//! # }
//! ```

pub mod chain;
mod error;
pub mod packed;
mod plan;
mod predict;
mod requirements;
mod search;

pub use error::{OptError, Result};
pub use plan::{ModelSource, Plan};
pub use predict::{simulate, simulate_timed, LayerPrediction, Prediction};
pub use requirements::{available_memory_bytes, BatchSize, Objective, Requirements};
pub use search::{optimize, optimize_with, Candidate, Optimized, Rejected, FULL_SIMULATIONS};
