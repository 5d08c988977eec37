//! The optimizer's error type.

use thiserror::Error;

/// Everything the optimizer can fail with.
#[derive(Debug, Error)]
pub enum OptError {
    /// No candidate plan met the requirements; `reasons` says why the main groups were rejected.
    #[error("no valid plan: {reasons}")]
    NoValidPlan {
        /// A summary of the rejection reasons (most frequent first).
        reasons: String,
    },
    /// A requirement is malformed (zero threads, zero batch, unknown objective, ...).
    #[error("invalid requirement: {0}")]
    InvalidRequirement(String),
    /// The model cannot run with the asked packing or strategies.
    #[error(transparent)]
    Layer(#[from] hetile_layers::LayerError),
    /// The simulator failed (missing cost entry, ...).
    #[error(transparent)]
    Sim(#[from] hetile_sim::SimError),
    /// The backend contract refused something (insecure or malformed parameters, ...).
    #[error(transparent)]
    Backend(#[from] hetile_backend::Error),
    /// A plan could not be written or read (YAML or JSON).
    #[error("plan serialization: {0}")]
    Serialization(String),
}

/// The optimizer's result type.
pub type Result<T> = std::result::Result<T, OptError>;
