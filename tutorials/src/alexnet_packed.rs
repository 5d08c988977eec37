//! The full-size HE-friendly AlexNet on one image, channel-packed
//! ([`hetile_layers::packed`]): the optimizer picks the ring degree and chain by simulating
//! the lowered network under the memory cap ([`hetile_opt::packed::plan_packed`]), the client
//! generates keys and encrypts the image, the server runs every layer with the evaluation keys
//! only, and the client decrypts the 1000 logits and compares them with the plaintext network.

use crate::alexnet::peak_rss_bytes;
use crate::alexnet_full::{self, AlexnetSpec};
use crate::error::{Result, TutorialError};
use hetile_backend::{Backend, Client, Params, SecurityLevel};
use hetile_ckks::CkksBackend;
use hetile_layers::packed::PackedNet;
use hetile_opt::packed::{plan_packed, PackedChoice};
use serde::Serialize;
use std::time::Instant;

/// Ring degrees the plan search tries.
pub const LOG_NS: [u32; 2] = [15, 16];
/// The scale of the chains (bits).
pub const LOG_SCALE: u32 = 40;

/// One stage: what the simulator predicted and what the run took.
#[derive(Debug, Clone, Serialize)]
pub struct StageTiming {
    /// Stage index.
    pub index: usize,
    /// Stage kind ("conv", "square", "pool", "phase-pool", "dense").
    pub kind: String,
    /// Predicted seconds.
    pub predicted_seconds: f64,
    /// Measured seconds (0 when not run).
    pub measured_seconds: f64,
    /// Level after the stage.
    pub level_after: usize,
    /// Plaintext-ciphertext products (diagonals).
    pub pt_mults: u64,
    /// Rotations.
    pub rotations: u64,
}

/// The measurement of the encrypted run.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    /// Client: key generation seconds.
    pub keygen_seconds: f64,
    /// Client: packing and encryption seconds.
    pub encrypt_seconds: f64,
    /// Server: seconds for the whole network.
    pub server_seconds: f64,
    /// Client: decryption seconds.
    pub decrypt_seconds: f64,
    /// Peak resident memory of the process (client and server together), bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Largest |encrypted - plaintext| logit over the largest |plaintext| logit.
    pub max_rel_logit_error: f64,
    /// The plaintext top-1 class.
    pub plaintext_top1: usize,
    /// The encrypted top-1 class.
    pub encrypted_top1: usize,
}

/// The full-size tutorial's report.
#[derive(Debug, Clone, Serialize)]
pub struct PackedReport {
    /// The network.
    pub spec: AlexnetSpec,
    /// Weights and biases.
    pub parameters: usize,
    /// The plan search: chosen candidate and all candidates.
    pub plan: PackedChoice,
    /// Per stage, predicted and measured.
    pub stages: Vec<StageTiming>,
    /// The encrypted run, when it was made.
    pub measured: Option<Measured>,
    /// Why it was not made.
    pub skipped: Option<String>,
}

/// How [`run`] plans and runs.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedOptions {
    /// Ring degrees (`log2 N`) the plan search tries.
    pub log_ns: Vec<u32>,
    /// The security level of the chains.
    pub security: SecurityLevel,
    /// The memory cap of the plan, bytes.
    pub cap: u64,
    /// Run even when the prediction exceeds [`crate::alexnet::FULL_SECONDS_BUDGET`].
    pub force: bool,
    /// One line per layer on standard error.
    pub progress: bool,
}

impl PackedOptions {
    /// The full-size tutorial's: [`LOG_NS`], 128-bit security, the 20 GB budget.
    pub fn full() -> PackedOptions {
        PackedOptions {
            log_ns: LOG_NS.to_vec(),
            security: SecurityLevel::Classical128,
            cap: crate::alexnet::FULL_MEMORY_BUDGET,
            force: false,
            progress: false,
        }
    }
}

/// Runs the seeded image of `spec` through the encrypted network: the plan search under the
/// cap on rayon's threads, then (when predicted within
/// [`crate::alexnet::FULL_SECONDS_BUDGET`], or forced) the encrypted run, one line per layer on
/// standard error when asked.
/// Errors: [`TutorialError::Plan`] when no plan fits; layer and backend errors.
pub fn run(spec: &AlexnetSpec, opts: &PackedOptions) -> Result<PackedReport> {
    let (force, progress) = (opts.force, opts.progress);
    let model = alexnet_full::build(spec)?;
    let threads = rayon::current_num_threads();
    let costs =
        hetile_sim::CostTable::default_table().map_err(|e| TutorialError::Plan(e.to_string()))?;
    let plan = plan_packed(
        &model,
        &opts.log_ns,
        LOG_SCALE,
        opts.security,
        threads,
        opts.cap,
        &costs,
    )
    .map_err(|e| TutorialError::Plan(e.to_string()))?;
    let chosen = &plan.chosen;
    let mut stages: Vec<StageTiming> = chosen
        .stages
        .iter()
        .map(|s| StageTiming {
            index: s.index,
            kind: s.kind.clone(),
            predicted_seconds: s.seconds,
            measured_seconds: 0.0,
            level_after: s.level_after,
            pt_mults: s.pt_mults,
            rotations: s.rotations,
        })
        .collect();
    let mut report = PackedReport {
        spec: spec.clone(),
        parameters: alexnet_full::parameter_count(&model),
        plan: plan.clone(),
        stages: Vec::new(),
        measured: None,
        skipped: None,
    };
    if chosen.latency_seconds > crate::alexnet::FULL_SECONDS_BUDGET && !force {
        report.skipped = Some(format!(
            "predicted {:.0} s, above the budget of {:.0} s (--force runs it anyway)",
            chosen.latency_seconds,
            crate::alexnet::FULL_SECONDS_BUDGET
        ));
        report.stages = stages;
        return Ok(report);
    }
    let params = Params::new(chosen.params.clone())?;
    let net = PackedNet::new(&model, params.slots().get())?;
    let x = alexnet_full::seeded_input(spec)?;
    let image: Vec<f64> = x.iter().copied().collect();
    let say = |s: String| {
        if progress {
            eprintln!("{s}");
        }
    };
    say(format!(
        "AlexNet {:?}: N = 2^{}, {} levels, {} special primes, {} digits, {} rotation keys; predicted {:.0} s, {:.1} GB",
        spec.input,
        chosen.params.log_n,
        chosen.params.log_q.len() - 1,
        chosen.params.log_p.len(),
        params.digits(),
        chosen.rotation_keys,
        chosen.latency_seconds,
        chosen.peak_memory_bytes as f64 / 1e9
    ));
    // the client: keys (OS randomness) and the encrypted image
    let t = Instant::now();
    let keys = net.key_requirements();
    let client = if opts.security == SecurityLevel::Insecure {
        // test-size runs only: reproducible keys
        <CkksBackend as Backend>::Client::new_insecure_seeded_for_tests(&params, &keys, spec.seed)?
    } else {
        <CkksBackend as Backend>::Client::new(&params, &keys)?
    };
    let keygen_seconds = t.elapsed().as_secs_f64();
    say(format!("client: keys generated in {keygen_seconds:.1} s"));
    let t = Instant::now();
    let input = net.encrypt_input::<CkksBackend>(&client, &image)?;
    let encrypt_seconds = t.elapsed().as_secs_f64();
    // the server: evaluation keys only
    let server = client.evaluator()?;
    let n = stages.len();
    let (out, run) = net.forward::<CkksBackend>(&server, input, &mut |r| {
        let predicted = stages.get(r.index).map_or(0.0, |s| s.predicted_seconds);
        say(format!(
            "layer {:>2}/{n} {:<10} {:>7.1} s (predicted {:>6.1} s), level {}, {} ciphertexts",
            r.index + 1,
            r.kind,
            r.seconds,
            predicted,
            r.level,
            r.ciphertexts
        ));
    })?;
    drop(server);
    for (s, r) in stages.iter_mut().zip(&run.stages) {
        s.measured_seconds = r.seconds;
    }
    let t = Instant::now();
    let logits = net.decrypt_output::<CkksBackend>(&client, &out)?;
    let decrypt_seconds = t.elapsed().as_secs_f64();
    let plain: Vec<f64> = model.forward_plain(&x)?.iter().copied().collect();
    let top1 = |v: &[f64]| -> Result<usize> {
        Ok(crate::metrics::argmax_rows(v, spec.classes)?
            .first()
            .copied()
            .unwrap_or(0))
    };
    report.measured = Some(Measured {
        keygen_seconds,
        encrypt_seconds,
        server_seconds: run.seconds,
        decrypt_seconds,
        peak_rss_bytes: peak_rss_bytes(),
        max_rel_logit_error: crate::alexnet::max_relative_error(&plain, &logits, spec.classes),
        plaintext_top1: top1(&plain)?,
        encrypted_top1: top1(&logits)?,
    });
    report.stages = stages;
    Ok(report)
}
