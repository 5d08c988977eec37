//! The simulator's error type.

use crate::ops::OpKind;
use thiserror::Error;

/// Every way a simulator, cost-table or prediction call can fail.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum SimError {
    /// A cost table could not be read from or written to YAML.
    #[error("cost table YAML: {reason}")]
    Yaml {
        /// What the YAML library reported.
        reason: String,
    },
    /// The cost table has no latency at all for an operation kind that was counted.
    #[error("the cost table has no latency for {op} (recalibrate with hetile calibrate)")]
    MissingCost {
        /// The operation kind.
        op: OpKind,
    },
    /// A cost table entry is malformed (negative or non-finite latency, zero threads, ...).
    #[error("invalid cost table: {reason}")]
    InvalidTable {
        /// What is wrong.
        reason: String,
    },
    /// A backend error raised while simulating.
    #[error(transparent)]
    Backend(#[from] hetile_backend::Error),
}

/// Result alias of the simulator.
pub type Result<T> = std::result::Result<T, SimError>;
