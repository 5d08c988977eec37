//! Plans for the channel-packed executor ([`hetile_layers::packed`], one sample): the
//! simulator runs the lowered network on metadata-only ciphertexts for each ring degree and
//! chain, the cost table prices each stage, and the fastest candidate under the memory cap wins.

use crate::chain::chains;
use crate::error::{OptError, Result};
use crate::predict::price_node;
use hetile_backend::{Backend, Client, KeyRequirements, Params, ParamsLiteral, SecurityLevel};
use hetile_layers::packed::{PackedNet, Stage};
use hetile_layers::Model;
use hetile_sim::{CostTable, Counting, NominalSizes, OpCounts, SimBackend};
use serde::Serialize;
use std::time::Instant;

/// The prediction of one stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackedStagePrediction {
    /// Stage index.
    pub index: usize,
    /// The stage kind ("conv", "square", ...).
    pub kind: String,
    /// Predicted seconds on the plan's threads.
    pub seconds: f64,
    /// Level after the stage.
    pub level_after: usize,
    /// Plaintext products (diagonals) in the stage.
    pub pt_mults: u64,
    /// Rotations in the stage.
    pub rotations: u64,
}

/// What the simulator predicts for one packed run (one sample).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackedPrediction {
    /// The parameters.
    pub params: ParamsLiteral,
    /// Rotation keys the server holds.
    pub rotation_keys: usize,
    /// Server seconds on `threads` threads.
    pub latency_seconds: f64,
    /// Server seconds on one thread.
    pub latency_single_thread_seconds: f64,
    /// Client seconds to encrypt the input.
    pub encrypt_seconds: f64,
    /// Peak memory of the whole run (ciphertexts, plaintexts, keys, runtime), bytes.
    pub peak_memory_bytes: u64,
    /// Of which evaluation keys.
    pub key_bytes: u64,
    /// Levels used.
    pub depth: usize,
    /// Per stage.
    pub stages: Vec<PackedStagePrediction>,
    /// Wall seconds of the simulated server pass.
    pub simulation_seconds: f64,
}

/// Simulates `net` with `params` on `threads` threads, priced by `costs`.
/// Errors: the layer's and simulator's (missing keys, exhausted levels: as a native run
/// would raise them) and [`hetile_sim::SimError::MissingCost`].
pub fn simulate_packed(
    net: &PackedNet<'_>,
    params: &Params,
    threads: usize,
    costs: &CostTable,
) -> Result<PackedPrediction> {
    type Sim = Counting<SimBackend>;
    let keys: KeyRequirements = net.key_requirements();
    let client = <Sim as Backend>::Client::new(params, &keys)?;
    let input = net.encrypt_input::<Sim>(&client, &[])?;
    let client_in = client.snapshot();
    let counter = client.counter().clone();
    counter.reset();
    let _ = counter.take_since_last();
    let ev = client.evaluator()?;
    let mut per_stage: Vec<(OpCounts, usize)> = Vec::new();
    let started = Instant::now();
    // metadata-only loops never split (`hetile_tiles::seq_min_len`): the pass runs inline,
    // in the same order, hence to the same memory peak, every time
    let (out, _) = net.forward::<Sim>(&ev, input, &mut |r| {
        per_stage.push((counter.take_since_last(), r.level));
    })?;
    let simulation_seconds = started.elapsed().as_secs_f64();
    drop(out);
    let log_n = params.literal().log_n;
    let sizes = NominalSizes::of(params);
    let memory = client.inner().memory();
    let mem = costs.predict_memory(&memory, log_n, params.max_level().0);
    let mut stages = Vec::with_capacity(per_stage.len());
    let (mut total, mut single) = (0.0, 0.0);
    for (index, ((counts, level), stage)) in per_stage.iter().zip(net.stages()).enumerate() {
        // a linear stage computes its giant steps in parallel; the others run their
        // operations one after the other, each using the threads inside
        let width = match stage {
            Stage::Conv { output, .. } => output.blocks(),
            Stage::Dense { period, .. } => period.isqrt().max(1),
            _ => 1,
        };
        // a stage reads and writes its blocks' ciphertexts (many megabytes each): never warm
        let t = price_node(counts, width, 2 * width, &sizes, threads, costs)?;
        total += t.threaded;
        single += t.single;
        let count = |k: hetile_sim::OpKind| -> u64 {
            counts
                .iter()
                .filter(|(key, _)| key.kind == k)
                .map(|(_, s)| s.count)
                .sum()
        };
        stages.push(PackedStagePrediction {
            index,
            kind: stage.kind().to_string(),
            seconds: t.threaded,
            level_after: *level,
            pt_mults: count(hetile_sim::OpKind::MulPlainSumTerm)
                + count(hetile_sim::OpKind::MulPlain),
            rotations: count(hetile_sim::OpKind::Rotate),
        });
    }
    Ok(PackedPrediction {
        params: params.literal().clone(),
        rotation_keys: keys.normalized_rotations(params.slots()).len(),
        latency_seconds: total,
        latency_single_thread_seconds: single,
        encrypt_seconds: costs.predict_latency(&client_in, log_n, 1)?.total_seconds,
        peak_memory_bytes: mem.total_bytes,
        key_bytes: mem.key_bytes,
        depth: net.depth()?,
        stages,
        simulation_seconds,
    })
}

/// The packed plan chosen for a model, with every candidate considered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackedChoice {
    /// The fastest candidate under the memory cap.
    pub chosen: PackedPrediction,
    /// Every simulated candidate (the chosen one included).
    pub candidates: Vec<PackedPrediction>,
    /// Ring degrees or candidates left out, with the reason.
    pub rejected: Vec<String>,
    /// Seconds the search took.
    pub search_seconds: f64,
}

/// Searches the ring degree (`log_ns`) and the chain ([`chains`]: every count of special primes
/// at scale `2^log_scale` and `security`) for the packed run of `model`, simulating each
/// candidate; the fastest whose predicted peak memory is at most `memory_cap` bytes wins.
/// Errors: [`OptError::NoValidPlan`] with the reasons when nothing fits.
pub fn plan_packed(
    model: &Model,
    log_ns: &[u32],
    log_scale: u32,
    security: SecurityLevel,
    threads: usize,
    memory_cap: u64,
    costs: &CostTable,
) -> Result<PackedChoice> {
    let started = Instant::now();
    let mut rejected = Vec::new();
    let mut candidates = Vec::new();
    for &log_n in log_ns {
        let slots = 1usize << log_n.saturating_sub(1);
        let net = match PackedNet::new(model, slots) {
            Ok(n) => n,
            Err(e) => {
                rejected.push(format!("N = 2^{log_n}: {e}"));
                continue;
            }
        };
        let depth = net.depth()?;
        let options = chains(log_n, depth, log_scale, security);
        if options.is_empty() {
            rejected.push(format!(
                "N = 2^{log_n}: no chain of {depth} levels at {security:?}"
            ));
        }
        for params in options {
            let p = simulate_packed(&net, &params, threads, costs)?;
            if p.peak_memory_bytes > memory_cap {
                rejected.push(format!(
                    "N = 2^{log_n}, {} digits: predicted peak {:.1} GB above the cap of {:.1} GB",
                    params.digits(),
                    p.peak_memory_bytes as f64 / 1e9,
                    memory_cap as f64 / 1e9
                ));
            }
            candidates.push(p);
        }
    }
    let chosen = candidates
        .iter()
        .filter(|p| p.peak_memory_bytes <= memory_cap)
        .min_by(|a, b| a.latency_seconds.total_cmp(&b.latency_seconds))
        .cloned()
        .ok_or_else(|| OptError::NoValidPlan {
            reasons: rejected.join("; "),
        })?;
    Ok(PackedChoice {
        chosen,
        candidates,
        rejected,
        search_seconds: started.elapsed().as_secs_f64(),
    })
}
