//! The plan of a tutorial run, from the plan optimizer (`hetile-opt`): CKKS parameters, packing
//! tile, batch size, exactly the rotation keys the run needs, and the simulator's prediction
//! ([`hetile_opt::simulate`] with the shipped cost table), which the tutorials print beside
//! their measurements.
//!
//! - [`PlanChoice::Optimize`]: [`hetile_opt::optimize`] under the given requirements (the
//!   tutorials ask for throughput with the batch chosen and a memory cap; MNIST's latency run
//!   asks for latency at batch 1).
//! - [`PlanChoice::Manual`]: [`hetile_opt::Plan::manual`] at a fixed ring degree, the tile with
//!   the lowest predicted latency among those the model accepts ([`manual_search`]); tests use
//!   it with small insecure rings (the optimizer only searches secure parameters).

use crate::error::{Result, TutorialError};
use hetile_backend::{ParamsLiteral, SecurityLevel};
use hetile_layers::{Model, Packing};
use hetile_opt::{optimize, BatchSize, Objective, Plan, Requirements};

/// How a tutorial gets its plan.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanChoice {
    /// Search with the optimizer under these requirements.
    Optimize(Requirements),
    /// A manual plan: ring degree `2^log_n`, `batch` samples packed along the batch dimension
    /// (a power of two), the chain for the model's depth plus `spare_levels` (scale 2^40), the
    /// best tile by predicted latency; `secure: false` is the explicit insecure opt-out.
    Manual {
        /// log2 of the ring degree.
        log_n: u32,
        /// Samples per run (and per ciphertext along the batch dimension).
        batch: usize,
        /// Levels kept above the model's depth.
        spare_levels: usize,
        /// 128-bit security, or the insecure opt-out.
        secure: bool,
        /// Server threads the prediction is priced for.
        threads: usize,
    },
}

impl PlanChoice {
    /// The tutorials' default: objective throughput, batch chosen, memory capped at
    /// `max_memory_bytes` (`None`: the machine's available memory), rayon's thread count.
    pub fn throughput(max_memory_bytes: Option<u64>) -> PlanChoice {
        PlanChoice::Optimize(Requirements {
            objective: Objective::Throughput,
            batch: BatchSize::Choose,
            max_memory_bytes,
            ..Requirements::default()
        })
    }

    /// The same choice for a latency run of one sample: objective latency, batch 1 for the
    /// optimizer; batch 1 for a manual plan.
    pub fn for_latency(&self) -> PlanChoice {
        match self {
            PlanChoice::Optimize(r) => PlanChoice::Optimize(Requirements {
                objective: Objective::Latency,
                batch: BatchSize::Fixed(1),
                ..r.clone()
            }),
            PlanChoice::Manual {
                log_n,
                spare_levels,
                secure,
                threads,
                ..
            } => PlanChoice::Manual {
                log_n: *log_n,
                batch: 1,
                spare_levels: *spare_levels,
                secure: *secure,
                threads: *threads,
            },
        }
    }

    /// A one-line description of where the plan comes from.
    pub fn describe(&self) -> String {
        match self {
            PlanChoice::Optimize(r) => format!(
                "hetile_opt::optimize (objective {}, batch {}, {} threads, memory cap {})",
                r.objective,
                r.batch,
                r.threads,
                r.max_memory_bytes
                    .map_or("available memory".to_string(), |b| format!("{b} bytes"))
            ),
            PlanChoice::Manual {
                log_n,
                batch,
                secure,
                ..
            } => format!(
                "hetile_opt::Plan::manual (N = 2^{log_n}, batch {batch}{})",
                if *secure {
                    ""
                } else {
                    ", INSECURE test parameters"
                }
            ),
        }
    }
}

/// The plan for `model`. Errors: [`TutorialError::Plan`] when no plan fits (the optimizer's
/// rejection reasons, or no tile at the manual ring degree).
pub fn choose(model: &Model, choice: &PlanChoice) -> Result<Plan> {
    match choice {
        PlanChoice::Optimize(req) => optimize(model, req)
            .map(|o| o.best)
            .map_err(|e| TutorialError::Plan(e.to_string())),
        PlanChoice::Manual {
            log_n,
            batch,
            spare_levels,
            secure,
            threads,
        } => manual_search(model, *log_n, *batch, *spare_levels, *secure, *threads),
    }
}

/// The chain for `levels` levels at scale 2^40: the optimizer's ([`hetile_opt::chain::chain`]),
/// which also serves the insecure opt-out (no security bound, same shape).
/// Errors: [`TutorialError::Plan`] when no chain is valid.
pub fn chain(log_n: u32, levels: usize, security: SecurityLevel) -> Result<ParamsLiteral> {
    hetile_opt::chain::chain(log_n, levels, 40, security)
        .map(|p| p.literal().clone())
        .map_err(|e| TutorialError::Plan(format!("N = 2^{log_n}, {levels} levels: {e}")))
}

/// The manual plan with the lowest predicted latency at ring degree `2^log_n` and `batch`
/// samples (see [`PlanChoice::Manual`]).
/// Errors: [`TutorialError::Plan`] when no tile fits or no chain is valid.
pub fn manual_search(
    model: &Model,
    log_n: u32,
    batch: usize,
    spare_levels: usize,
    secure: bool,
    threads: usize,
) -> Result<Plan> {
    let security = if secure {
        SecurityLevel::Classical128
    } else {
        SecurityLevel::Insecure
    };
    let slots = 1usize << log_n.saturating_sub(1);
    let mut best: Option<Plan> = None;
    let mut last = format!("no tile of {slots} slots with batch {batch}");
    // no tile when the batch is not a power of two or exceeds the slots
    let tiles = Packing::enumerate(slots, batch).unwrap_or_default();
    for tile in tiles.iter().map(Packing::tile) {
        let depth = match Packing::new(tile).and_then(|p| model.plan(&p, batch)) {
            Ok(p) => p.depth,
            Err(e) => {
                last = format!("tile {tile:?}: {e}");
                continue;
            }
        };
        let params = chain(log_n, depth + spare_levels, security)?;
        match Plan::manual(model, params, tile, batch, threads) {
            Ok(p) => {
                let better = best
                    .as_ref()
                    .is_none_or(|b| p.predicted.latency_seconds < b.predicted.latency_seconds);
                if better {
                    best = Some(p);
                }
            }
            Err(e) => last = format!("tile {tile:?}: {e}"),
        }
    }
    best.ok_or(TutorialError::Plan(last))
}
