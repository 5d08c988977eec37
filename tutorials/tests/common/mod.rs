//! Helpers shared by the tutorial test files.

use hetile_tutorials::plan::PlanChoice;
use hetile_tutorials::{BackendKind, TutorialOptions};

/// Options for a run on the first `limit` samples with a manual, insecure plan at ring degree
/// `2^log_n`, `batch` samples per batch, one thread.
pub fn manual(log_n: u32, batch: usize, backend: BackendKind, limit: usize) -> TutorialOptions {
    TutorialOptions {
        limit: Some(limit),
        backend,
        plan: PlanChoice::Manual {
            log_n,
            batch,
            spare_levels: 0,
            secure: false,
            threads: 1,
        },
        ..TutorialOptions::default()
    }
}
