//! `hetile tutorial fraud|mnist|alexnet [--full] [--small] [--json]`: the runnable tutorials of
//! `hetile-tutorials` on real data, client and server apart (the server runs from the
//! deserialized public context only), with the optimizer's plan and its simulated prediction
//! beside the measurement.

use super::CliError;
use clap::{Args, ValueEnum};
use hetile_tutorials::alexnet_full::{self, AlexnetSpec};
use hetile_tutorials::plan::PlanChoice;
use hetile_tutorials::{alexnet, alexnet_packed, fraud, mnist, BackendKind, TutorialOptions};
use std::fmt::Write as _;

/// Which tutorial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Which {
    /// Credit-card fraud scoring with a small square-activation MLP.
    Fraud,
    /// CryptoNets on MNIST.
    Mnist,
    /// HE-friendly AlexNet: full size (224x224x3 with torchvision's geometry, seeded weights,
    /// one image channel-packed; the plan fits the memory cap, 20 GB by default, and runs when
    /// predicted within 30 min), or `--small`: trained on Fashion-MNIST.
    Alexnet,
}

/// Arguments of `hetile tutorial`.
#[derive(Debug, Args)]
pub struct TutorialArgs {
    /// The tutorial to run.
    which: Which,
    /// Use the full data (fraud: the whole test split; MNIST: the 10,000 test images), fetched
    /// once with pip into the cache; default: the committed sample.
    #[arg(long)]
    full: bool,
    /// Only the first N samples.
    #[arg(long)]
    limit: Option<usize>,
    /// The backend: ckks (native, encrypted) or mock (plaintext bookkeeping, fast check).
    #[arg(long, default_value = "ckks")]
    backend: String,
    /// Memory cap of the plan search, in GiB (default: the machine's available memory).
    #[arg(long)]
    max_memory_gib: Option<f64>,
    /// Fraud: the precision at which recall is reported.
    #[arg(long, default_value_t = 0.9)]
    precision: f64,
    /// Print one JSON object instead of text (and no progress bars).
    #[arg(long)]
    json: bool,
    /// AlexNet: the small network trained on Fashion-MNIST (default: the full-size network).
    #[arg(long)]
    small: bool,
    /// AlexNet full size: the weight seed.
    #[arg(long, default_value_t = alexnet_full::FULL_SEED)]
    seed: u64,
    /// AlexNet full size: run encrypted even when the prediction exceeds 30 min.
    #[arg(long)]
    force: bool,
}

fn err(e: impl std::fmt::Display) -> CliError {
    CliError::new(e.to_string())
}

fn opt(v: Option<f64>) -> String {
    v.map_or("n/a".to_string(), |x| format!("{x:.4}"))
}

fn plan_line(out: &mut String, p: &hetile::optimizer::Plan) {
    let _ = writeln!(
        out,
        "plan: N = 2^{}, {} levels (scale 2^{}), tile {:?}, batch {}, {} rotation keys, {} threads",
        p.params.log_n,
        p.params.log_q.len().saturating_sub(1),
        p.params.log_scale,
        p.packing,
        p.batch_size,
        p.rotation_steps.len(),
        p.threads
    );
}

fn fraud_text(r: &fraud::FraudReport) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "data: {} -- {} transactions, {} frauds",
        r.data, r.samples, r.frauds
    );
    let _ = writeln!(o, "plan source: {}", r.plan_source);
    plan_line(&mut o, &r.plan);
    let _ = writeln!(o, "                      plaintext   encrypted");
    let _ = writeln!(
        o,
        "ROC-AUC               {:>9}   {:>9}",
        opt(r.plaintext.roc_auc),
        opt(r.encrypted.roc_auc)
    );
    let _ = writeln!(
        o,
        "PR-AUC (avg prec.)    {:>9}   {:>9}",
        opt(r.plaintext.pr_auc),
        opt(r.encrypted.pr_auc)
    );
    let rec = |m: &fraud::FraudMetrics| opt(m.recall_at_precision.map(|p| p.recall));
    let _ = writeln!(
        o,
        "recall @ precision {:.2} {:>8}   {:>9}",
        r.precision_target,
        rec(&r.plaintext),
        rec(&r.encrypted)
    );
    let c = |m: &fraud::FraudMetrics| {
        format!(
            "TP {} FP {} TN {} FN {}",
            m.confusion.true_positives,
            m.confusion.false_positives,
            m.confusion.true_negatives,
            m.confusion.false_negatives
        )
    };
    let _ = writeln!(
        o,
        "at threshold {:.4}: plaintext {} | encrypted {}",
        r.threshold,
        c(&r.plaintext),
        c(&r.encrypted)
    );
    let _ = writeln!(
        o,
        "decision agreement {:.4}, max |score error| {:.2e}",
        r.decision_agreement, r.max_abs_score_error
    );
    let _ = writeln!(
        o,
        "server latency per batch: measured {:.3} s, predicted {:.3} s (hetile_opt::simulate, shipped cost table)",
        r.latency_seconds_per_batch, r.predicted.latency_seconds
    );
    let _ = writeln!(
        o,
        "throughput (batch capacity): measured {:.1} /s, predicted {:.1} /s ({:.1} samples/s scored); keygen {:.2} s, public context {:.1} MiB, request {:.1} MiB/batch ({})",
        r.throughput_per_second,
        r.predicted.throughput_per_second,
        r.samples_per_second,
        r.run.keygen_seconds,
        r.run.public_context_bytes as f64 / 1048576.0,
        r.run.request_bytes as f64 / 1048576.0,
        if r.run.serialized { "serialized" } else { "mock: in memory" }
    );
    let _ = writeln!(
        o,
        "end to end (encrypt + server + decrypt): {:.1} /s at batch {}; batch 1 (tile {:?}, N = 2^{}): server {:.4} s (predicted {:.4} s), end to end {:.4} s",
        r.end_to_end_throughput_per_second,
        r.plan.batch_size,
        r.latency_plan.packing,
        r.latency_plan.params.log_n,
        r.latency_seconds_batch1,
        r.latency_plan.predicted.latency_seconds,
        r.latency_end_to_end_seconds_batch1
    );
    o
}

fn mnist_text(r: &mnist::MnistReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "data: {} -- {} images", r.data, r.samples);
    let _ = writeln!(o, "plan source: {}", r.plan_source);
    plan_line(&mut o, &r.plan);
    let _ = writeln!(o, "accuracy: plaintext {:.4}, encrypted {:.4}; argmax agreement {:.4}; max |logit error| {:.2e}", r.plaintext_accuracy, r.encrypted_accuracy, r.argmax_agreement, r.max_abs_logit_error);
    let _ = writeln!(
        o,
        "latency (batch 1, tile {:?}, N = 2^{}): measured {:.3} s, predicted {:.3} s; end to end {:.3} s",
        r.latency_plan.packing,
        r.latency_plan.params.log_n,
        r.latency_seconds_batch1,
        r.latency_plan.predicted.latency_seconds,
        r.latency_end_to_end_seconds_batch1
    );
    let _ = writeln!(
        o,
        "throughput (batch {}): measured {:.2} images/s ({:.3} s/batch), predicted {:.2} images/s ({:.3} s/batch); end to end {:.2} images/s",
        r.plan.batch_size, r.throughput_per_second, r.seconds_per_batch, r.plan.predicted.throughput_per_second, r.plan.predicted.latency_seconds, r.end_to_end_throughput_per_second
    );
    let _ = writeln!(
        o,
        "keygen {:.2} s, public context {:.1} MiB, request {:.1} MiB/batch ({}); predictions: hetile_opt::simulate with the shipped cost table",
        r.run.keygen_seconds,
        r.run.public_context_bytes as f64 / 1048576.0,
        r.run.request_bytes as f64 / 1048576.0,
        if r.run.serialized { "serialized" } else { "mock: in memory" }
    );
    o
}

fn layers_text(o: &mut String, layers: &[alexnet::LayerTiming]) {
    let _ = writeln!(
        o,
        "{:>4}  {:<10} {:>5} {:>12} {:>12}",
        "node", "layer", "depth", "predicted s", "measured s"
    );
    for l in layers {
        let _ = writeln!(
            o,
            "{:>4}  {:<10} {:>5} {:>12.4} {:>12.4}",
            l.index, l.kind, l.depth_after, l.predicted_seconds, l.measured_seconds
        );
    }
}

fn gib(b: u64) -> f64 {
    b as f64 / 1073741824.0
}

fn alexnet_text(r: &alexnet::AlexnetReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "data: {} -- {} images", r.data, r.samples);
    let _ = writeln!(o, "plan source: {}", r.plan_source);
    plan_line(&mut o, &r.plan);
    let _ = writeln!(o, "accuracy: plaintext {:.4}, encrypted {:.4}; argmax agreement {:.4}; max |logit error| {:.2e} (relative {:.2e})", r.plaintext_accuracy, r.encrypted_accuracy, r.argmax_agreement, r.max_abs_logit_error, r.max_rel_logit_error);
    layers_text(&mut o, &r.layers);
    let _ = writeln!(
        o,
        "per batch of {}: measured {:.3} s, predicted {:.3} s; {:.2} images/s; peak memory measured {} (process), predicted {:.2} GiB",
        r.plan.batch_size,
        r.seconds_per_batch,
        r.plan.predicted.latency_seconds,
        r.samples_per_second,
        r.peak_rss_bytes.map_or("n/a".into(), |b| format!("{:.2} GiB", gib(b))),
        gib(r.plan.predicted.peak_memory_bytes)
    );
    o
}

fn alexnet_full_text(r: &alexnet_packed::PackedReport) -> String {
    let c = &r.plan.chosen;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "AlexNet {:?} (paddings {:?}): {} parameters, seed {}; channel-packed, one image",
        r.spec.input, r.spec.pads, r.parameters, r.spec.seed
    );
    let _ = writeln!(
        o,
        "plan: N = 2^{}, {} levels at scale 2^{}, {} special primes ({:?} digits), {} rotation keys; {} candidates searched in {:.2} s",
        c.params.log_n,
        c.params.log_q.len() - 1,
        c.params.log_scale,
        c.params.log_p.len(),
        c.params.digits,
        c.rotation_keys,
        r.plan.candidates.len(),
        r.plan.search_seconds
    );
    let _ = writeln!(
        o,
        "predicted: {:.1} s on {} threads, peak memory {:.2} GB (keys {:.2} GB)",
        c.latency_seconds,
        rayon::current_num_threads(),
        c.peak_memory_bytes as f64 / 1e9,
        c.key_bytes as f64 / 1e9
    );
    let _ = writeln!(
        o,
        "{:>5}  {:<10} {:>6} {:>9} {:>9} {:>12} {:>12}",
        "layer", "kind", "level", "pt mults", "rotations", "predicted s", "measured s"
    );
    for s in &r.stages {
        let _ = writeln!(
            o,
            "{:>5}  {:<10} {:>6} {:>9} {:>9} {:>12.2} {:>12.2}",
            s.index + 1,
            s.kind,
            s.level_after,
            s.pt_mults,
            s.rotations,
            s.predicted_seconds,
            s.measured_seconds
        );
    }
    match &r.measured {
        Some(m) => {
            let _ = writeln!(
                o,
                "measured: server {:.1} s, keygen {:.1} s, encrypt {:.1} s, decrypt {:.2} s; peak memory {}; max relative logit error {:.2e}; top-1 plaintext {} encrypted {}",
                m.server_seconds,
                m.keygen_seconds,
                m.encrypt_seconds,
                m.decrypt_seconds,
                m.peak_rss_bytes.map_or("n/a".into(), |b| format!("{:.2} GB", b as f64 / 1e9)),
                m.max_rel_logit_error,
                m.plaintext_top1,
                m.encrypted_top1
            );
        }
        None => {
            let _ = writeln!(o, "not run: {}", r.skipped.as_deref().unwrap_or(""));
        }
    }
    o
}

/// Runs `hetile tutorial`.
pub fn run(a: TutorialArgs) -> Result<(), CliError> {
    let backend: BackendKind = a.backend.parse().map_err(err)?;
    let cap = match a.max_memory_gib {
        Some(g) if g.is_finite() && g > 0.0 => Some((g * 1073741824.0) as u64),
        Some(g) => {
            return Err(CliError::new(format!(
                "--max-memory-gib {g} must be positive"
            )))
        }
        None => None,
    };
    let opts = TutorialOptions {
        full: a.full,
        limit: a.limit,
        backend,
        plan: PlanChoice::throughput(cap),
        progress: !a.json,
        precision_target: a.precision,
    };
    let (json, text) = match a.which {
        Which::Fraud => {
            let r = fraud::run(&opts).map_err(err)?;
            (
                serde_json::to_string_pretty(&r).map_err(err)?,
                fraud_text(&r),
            )
        }
        Which::Alexnet if a.small => {
            let r = alexnet::run_small(&opts).map_err(err)?;
            (
                serde_json::to_string_pretty(&r).map_err(err)?,
                alexnet_text(&r),
            )
        }
        Which::Alexnet => {
            let opts = alexnet_packed::PackedOptions {
                cap: cap.unwrap_or(alexnet::FULL_MEMORY_BUDGET),
                force: a.force,
                progress: !a.json,
                ..alexnet_packed::PackedOptions::full()
            };
            let r = alexnet_packed::run(&AlexnetSpec::torchvision(a.seed), &opts).map_err(err)?;
            (
                serde_json::to_string_pretty(&r).map_err(err)?,
                alexnet_full_text(&r),
            )
        }
        Which::Mnist => {
            let r = mnist::run(&opts).map_err(err)?;
            (
                serde_json::to_string_pretty(&r).map_err(err)?,
                mnist_text(&r),
            )
        }
    };
    println!("{}", if a.json { json } else { text });
    Ok(())
}
