//! hetile-sim: the metadata-only simulator, the counting decorator and the calibrated cost model
//! (issue 8).
//!
//! - [`SimBackend`]: a backend whose ciphertexts and plaintexts hold only their level, exact
//!   scale and parameter fingerprint. The real tile and layer code runs on it unchanged and
//!   raises exactly the errors of the mock and native backends (the same shared checks of
//!   `hetile_backend`, in the same order). Decryption and decoding return zeros: there are no
//!   values. Live ciphertexts and plaintexts are tracked per level ([`MemoryTracker`],
//!   [`MemoryProfile`]) for memory prediction.
//! - [`Counting<B>`]: a decorator backend over any `B` that forwards every operation and records,
//!   per [`OpKind`] and level, the count and the wall time in a shared, thread-safe, lock-free
//!   [`OpCounter`]. Fused sums of products (`linear_maps`, `linear_combination`,
//!   `mul_plain_sum`) are counted as their own kinds, per term and per output.
//! - [`CostTable`]: per-operation latency by kind, ring degree, level and thread count, and object
//!   sizes, as YAML; measured by `hetile calibrate`, with a default table shipped
//!   ([`DEFAULT_TABLE_YAML`]). [`CostTable::predict_latency`] turns [`OpCounts`] (from a counted
//!   simulation or [`OpCounts::from_op_cost`]) into seconds, [`CostTable::predict_memory`] turns
//!   a [`MemoryProfile`] into bytes.
//!
//! ```
//! use hetile_backend::{Backend, Client, Evaluator, KeyRequirements, Params};
//! use hetile_sim::{CostTable, Counting, OpKind, SimBackend};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let params = Params::preset("N14_L4")?;
//! let keys = KeyRequirements::none().with_relinearization().with_rotations([1]);
//! let client = <Counting<SimBackend> as Backend>::Client::new(&params, &keys)?;
//! let ev = client.evaluator()?;
//! let a = client.encrypt_values(&[1.0, 2.0])?;
//! let b = ev.rotate(&ev.mul(&a, &a)?, 1)?;
//! let _c = ev.rescale(&b)?;
//! let counts = client.snapshot();
//! assert_eq!(counts.count(OpKind::Mul), 1);
//! assert_eq!(counts.count(OpKind::Rotate), 1);
//! let table = CostTable::default_table()?;
//! let predicted = table.predict_latency(&counts, 14, 1)?;
//! assert!(predicted.total_seconds > 0.0);
//! # Ok(())
//! # }
//! ```

mod backend;
mod client;
mod cost;
mod counting;
mod error;
mod evaluator;
mod memory;
mod ops;

pub use backend::{SimBackend, SimCiphertext, SimPlaintext};
pub use client::SimClient;
pub use cost::{
    key_switch_work, ChainEntry, CostEntry, CostTable, KeySizeEntry, LatencyPrediction,
    MemoryPrediction, SizeEntry, DEFAULT_TABLE_YAML, SCRATCH_POOL_BYTES,
};
pub use counting::{Counting, CountingClient, CountingEvaluator, OpCounter};
pub use error::{Result, SimError};
pub use evaluator::SimEvaluator;
pub use memory::{MemoryProfile, MemoryTracker, NominalSizes, POOLED_POLY_BYTES};
pub use ops::{OpCounts, OpKey, OpKind, OpStat};
