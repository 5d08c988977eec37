//! The search: every ring degree, packing tile and scale, ranked by the simulator.
//!
//! 1. For each ring degree `2^13..2^17` and each packing tile `[t0, t1, t2]` of powers of two
//!    filling the slots, the batch is the caller's or (batch "choose") one per latency run or
//!    `t2` samples for throughput and memory. The model's plan gives the depth and the counts.
//! 2. The chain for that depth takes the largest scale whose estimated precision meets the
//!    requirement and whose log2(QP) the security table allows ([`crate::chain`]).
//! 3. Every valid candidate gets a quick latency from its planned counts; the best ones (in
//!    objective order) are simulated in full ([`crate::simulate`]) for their latency and peak
//!    memory, and those above the memory cap are rejected. The best simulated plan wins.
//!
//! Deterministic: candidates are enumerated in a fixed order and ties are broken by ring
//! degree, then tile.

use crate::chain::{chain, estimated_precision_bits, LOG_NS, LOG_SCALES};
use crate::error::{OptError, Result};
use crate::plan::Plan;
use crate::predict::{node_times, simulate};
use crate::requirements::{BatchSize, Objective, Requirements};
use hetile_layers::{ConvStrategy, Model, Packing};
use hetile_sim::{CostTable, NominalSizes};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many of the best quick-ranked candidates are simulated in full (more when the best are
/// rejected for memory).
pub const FULL_SIMULATIONS: usize = 12;

/// A valid candidate plan and its predicted cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The plan, with its full prediction when `simulated`, else a quick one (latency from the
    /// planned counts, no memory).
    pub plan: Plan,
    /// Whether the plan was simulated in full.
    pub simulated: bool,
    /// The estimated output precision in bits.
    pub precision_bits: f64,
}

impl Candidate {
    /// The candidate's value under `objective` (smaller is better): latency in seconds, minus
    /// the throughput, or peak memory in bytes.
    pub fn score(&self, objective: Objective) -> f64 {
        let p = &self.plan.predicted;
        match objective {
            Objective::Latency => p.latency_seconds,
            Objective::Throughput => -p.throughput_per_second,
            Objective::Memory => p.peak_memory_bytes as f64,
        }
    }

    /// A one-line description: ring degree, tile, batch, chain and prediction.
    pub fn describe(&self) -> String {
        let p = &self.plan.predicted;
        let conv = if self.plan.conv_strategies.is_empty() {
            String::new()
        } else {
            format!(" conv {}", self.plan.conv_strategies.join("+"))
        };
        format!(
            "N=2^{} tile {:?}{conv} batch {} levels {} scale 2^{} | latency {:.4} s, {:.1}/s, {}{:.2} bits",
            self.plan.params.log_n,
            self.plan.packing,
            self.plan.batch_size,
            self.plan.params.log_q.len() - 1,
            self.plan.params.log_scale,
            p.latency_seconds,
            p.throughput_per_second,
            if self.simulated {
                format!("memory {:.1} MiB, ", p.peak_memory_bytes as f64 / 1048576.0)
            } else {
                String::new()
            },
            self.precision_bits
        )
    }
}

/// A rejected candidate and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// The candidate (ring degree, tile, batch).
    pub candidate: String,
    /// The reason: layout, depth, security, precision or memory.
    pub reason: String,
}

/// The search's result: the best plan, the valid candidates ranked best first, and the
/// rejected ones with their reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Optimized {
    /// The chosen plan (simulated in full).
    pub best: Plan,
    /// Valid candidates, best first (the fully simulated ones first).
    pub candidates: Vec<Candidate>,
    /// Rejected candidates with their reasons.
    pub rejected: Vec<Rejected>,
}

impl Optimized {
    /// Rejection reasons grouped by kind (layout, precision, security, memory), most frequent
    /// first, with counts.
    pub fn rejection_summary(&self) -> Vec<(String, usize)> {
        summarize(&self.rejected)
    }
}

fn summarize(rejected: &[Rejected]) -> Vec<(String, usize)> {
    {
        let mut groups: BTreeMap<String, usize> = BTreeMap::new();
        for r in rejected {
            let key: String = r.reason.split(':').next().unwrap_or("").to_string();
            *groups.entry(key).or_default() += 1;
        }
        let mut v: Vec<(String, usize)> = groups.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

/// Searches with the default cost table ([`CostTable::default_table`]).
/// Errors: as [`optimize_with`].
pub fn optimize(model: &Model, req: &Requirements) -> Result<Optimized> {
    optimize_with(model, req, &CostTable::default_table()?)
}

/// The packing tiles `[t0, t1, t2]` of powers of two whose product is `slots` (every batch
/// tile `t2`, each with [`Packing::enumerate`]'s splits of the rest).
fn tiles(slots: usize) -> Result<Vec<[usize; 3]>> {
    let mut out = Vec::new();
    for k in 0..=slots.trailing_zeros() {
        out.extend(Packing::enumerate(slots, 1 << k)?.iter().map(Packing::tile));
    }
    Ok(out)
}

/// Searches the plans of `model` under `req`, predicting with `costs`.
/// Errors: [`OptError::InvalidRequirement`] for bad requirements, [`OptError::NoValidPlan`]
/// when every candidate is rejected (the reasons summarized), simulator errors.
pub fn optimize_with(model: &Model, req: &Requirements, costs: &CostTable) -> Result<Optimized> {
    let (security, cap) = req.resolve()?;
    let mut rejected = Vec::new();
    let mut valid: Vec<Candidate> = Vec::new();
    for variant in strategy_variants(model, &mut rejected) {
        search_variant(
            &variant,
            req,
            costs,
            security,
            cap,
            &mut valid,
            &mut rejected,
        )?;
    }
    finish(model, req, costs, cap, valid, rejected)
}

/// Every assignment of strategies to the model's convolutions that the model accepts (one
/// model copy each; the model itself when it has no convolution). The refused ones are
/// recorded.
fn strategy_variants(model: &Model, rejected: &mut Vec<Rejected>) -> Vec<Model> {
    let n = model.conv_strategies().len();
    let mut combos: Vec<Vec<ConvStrategy>> = vec![Vec::new()];
    for _ in 0..n {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                ConvStrategy::ALL.iter().map(move |s| {
                    let mut c = c.clone();
                    c.push(*s);
                    c
                })
            })
            .collect();
    }
    let mut out = Vec::new();
    for combo in combos {
        let mut m = model.clone();
        match m.with_conv_strategies(&combo) {
            Ok(()) => out.push(m),
            Err(e) => rejected.push(Rejected {
                candidate: format!("conv strategies {combo:?}"),
                reason: format!("strategy: {e}"),
            }),
        }
    }
    out
}

/// The candidates of one strategy assignment over every ring degree, tile and scale.
#[allow(clippy::too_many_arguments)]
fn search_variant(
    model: &Model,
    req: &Requirements,
    costs: &CostTable,
    security: hetile_backend::SecurityLevel,
    cap: u64,
    valid: &mut Vec<Candidate>,
    rejected: &mut Vec<Rejected>,
) -> Result<()> {
    let strategies: Vec<&str> = model.conv_strategies().iter().map(|c| c.name()).collect();
    for log_n in LOG_NS {
        let slots = 1usize << (log_n - 1);
        for tile in tiles(slots)? {
            let batch = match req.batch {
                BatchSize::Fixed(b) => b,
                BatchSize::Choose if req.objective == Objective::Latency => 1,
                BatchSize::Choose => tile[2],
            };
            let name = if strategies.is_empty() {
                format!("N=2^{log_n} tile {tile:?} batch {batch}")
            } else {
                format!("N=2^{log_n} tile {tile:?} batch {batch} conv {strategies:?}")
            };
            let reject = |rejected: &mut Vec<Rejected>, reason: String| {
                rejected.push(Rejected {
                    candidate: name.clone(),
                    reason,
                })
            };
            let packing = Packing::new(tile)?;
            let mp = match model.plan(&packing, batch) {
                Ok(mp) => mp,
                Err(e) => {
                    reject(rejected, format!("layout: {e}"));
                    continue;
                }
            };
            let client_bytes = 2 * 8 * mp.input.logical_shape().iter().product::<usize>() as u64;
            if client_bytes > cap {
                reject(
                    rejected,
                    format!(
                        "memory: the client's packed input takes {:.1} MiB, above the cap of {:.1} MiB",
                        client_bytes as f64 / 1048576.0,
                        cap as f64 / 1048576.0
                    ),
                );
                continue;
            }
            let mut last = String::new();
            let mut found = None;
            for log_scale in LOG_SCALES {
                let precision = estimated_precision_bits(log_scale, log_n, mp.depth);
                if precision < req.min_precision_bits {
                    last = format!(
                        "precision: scale 2^{log_scale} gives about {precision:.1} bits < {}",
                        req.min_precision_bits
                    );
                    continue;
                }
                match chain(log_n, mp.depth, log_scale, security) {
                    Ok(checked) => {
                        found = Some((checked, precision));
                        break;
                    }
                    Err(e) => last = format!("security: {e}"),
                }
            }
            let Some((checked, precision_bits)) = found else {
                reject(rejected, last);
                continue;
            };
            // the chain holds the depth and the tile fills its slots by construction
            let mut plan = Plan::assemble(
                model,
                checked.literal().clone(),
                tile,
                batch,
                req.threads,
                &mp,
                cap,
            );
            // A lower bound of the server's memory: the input ciphertexts and the keys.
            let sizes = NominalSizes::of(&checked);
            let floor = mp.input.num_tiles() as u64 * sizes.ciphertext_bytes(mp.depth)
                + (plan.rotation_steps.len() as u64 + u64::from(plan.relinearization))
                    * sizes.switching_key_bytes();
            if floor > cap {
                reject(
                    rejected,
                    format!(
                        "memory: the input ciphertexts and keys alone take {:.1} MiB, above the cap of {:.1} MiB",
                        floor as f64 / 1048576.0,
                        cap as f64 / 1048576.0
                    ),
                );
                continue;
            }
            quick_predict(&mut plan, &mp, &sizes, costs)?;
            valid.push(Candidate {
                plan,
                simulated: false,
                precision_bits,
            });
        }
    }
    Ok(())
}

/// Ranks the candidates by their quick prediction, simulates the best in full, rejects those
/// above the memory cap and returns the result.
fn finish(
    model: &Model,
    req: &Requirements,
    costs: &CostTable,
    cap: u64,
    mut valid: Vec<Candidate>,
    mut rejected: Vec<Rejected>,
) -> Result<Optimized> {
    let objective = req.objective;
    let rank = |v: &mut Vec<Candidate>| {
        v.sort_by(|a, b| {
            a.score(objective)
                .total_cmp(&b.score(objective))
                .then_with(|| a.plan.params.log_n.cmp(&b.plan.params.log_n))
                .then_with(|| a.plan.packing.cmp(&b.plan.packing))
        })
    };
    rank(&mut valid);
    // Memory is only known after a full simulation: for the memory objective (whose quick
    // rank is by latency) four times as many are simulated.
    let budget = if objective == Objective::Memory {
        4 * FULL_SIMULATIONS
    } else {
        FULL_SIMULATIONS
    };
    let mut simulated = Vec::new();
    let mut rest = Vec::new();
    for mut c in valid {
        if simulated.len() >= budget {
            rest.push(c);
            continue;
        }
        c.plan.predicted = simulate(model, &c.plan, costs)?;
        c.simulated = true;
        let need = c
            .plan
            .predicted
            .peak_memory_bytes
            .max(c.plan.predicted.client_memory_bytes);
        if need > cap {
            rejected.push(Rejected {
                candidate: c.describe(),
                reason: format!(
                    "memory: {:.1} MiB above the cap of {:.1} MiB",
                    need as f64 / 1048576.0,
                    cap as f64 / 1048576.0
                ),
            });
            continue;
        }
        simulated.push(c);
    }
    rank(&mut simulated);
    let Some(best) = simulated.first().map(|c| c.plan.clone()) else {
        let reasons = summarize(&rejected)
            .iter()
            .map(|(r, n)| format!("{n} x {r}"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(OptError::NoValidPlan {
            reasons: if reasons.is_empty() {
                "no candidate".into()
            } else {
                reasons
            },
        });
    };
    simulated.extend(rest);
    Ok(Optimized {
        best,
        candidates: simulated,
        rejected,
    })
}

/// A quick prediction from the model plan's counts per node at the node's input level (no
/// memory): used to rank before the full simulations.
fn quick_predict(
    plan: &mut Plan,
    mp: &hetile_layers::ModelPlan,
    sizes: &NominalSizes,
    costs: &CostTable,
) -> Result<()> {
    let times = node_times(mp, sizes, plan.threads, costs)?;
    let latency: f64 = times.iter().map(|t| t.threaded).sum();
    let p = &mut plan.predicted;
    p.latency_seconds = latency;
    p.latency_single_thread_seconds = times.iter().map(|t| t.single).sum();
    p.throughput_per_second = if latency > 0.0 {
        plan.batch_size as f64 / latency
    } else {
        0.0
    };
    p.depth = mp.depth;
    p.key_count = plan.rotation_steps.len() + usize::from(plan.relinearization);
    Ok(())
}
