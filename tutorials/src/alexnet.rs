//! The AlexNet tutorial, small network: an HE-friendly AlexNet-style network trained on
//! Fashion-MNIST (`training/train_fashion.py`: conv 5x5 (8 channels) -> square -> avgpool ->
//! conv 3x3 (16 channels) -> square -> avgpool -> dense 576->100 -> square -> dense 100->10),
//! run encrypted with the optimizer's plan. Reports encrypted vs plaintext accuracy, argmax
//! agreement, logit errors, and per layer the simulator's predicted seconds beside the
//! measured ones, plus the predicted and measured peak memory.
//!
//! The full-size 224x224x3 network is in [`crate::alexnet_full`].

use crate::dataset::MnistData;
use crate::error::{Result, TutorialError};
use crate::fashion;
use crate::metrics::{argmax_rows, fraction_equal};
use crate::plan;
use crate::run::{run_encrypted_observed, RunStats};
use crate::wire::Wire;
use crate::{BackendKind, TutorialOptions};
use hetile_ckks::CkksBackend;
use hetile_layers::onnx::{load_bytes, ImportOptions};
use hetile_layers::Model;
use hetile_mock::MockBackend;
use hetile_opt::Plan;
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::ArrayD;
use serde::Serialize;

/// The trained small network (`tutorials/models/fashion_alexnet.onnx`); it takes pixels / 255,
/// shape `[N, 1, 28, 28]`.
pub const SMALL_ONNX: &[u8] = include_bytes!("../models/fashion_alexnet.onnx");
/// Its training record (accuracy, magnitudes).
pub const SMALL_JSON: &str = include_str!("../models/fashion_alexnet.json");

/// The small network. Errors: ONNX import errors.
pub fn load_small() -> Result<Model> {
    Ok(load_bytes(SMALL_ONNX, &ImportOptions::default())?)
}

/// The committed sample, or (`full`) the 10,000 test images through the loader
/// ([`fashion::fetch`]); the first `limit` images when given.
/// Errors: loader, IDX and CSV errors.
pub fn load_data(opts: &TutorialOptions) -> Result<(String, MnistData)> {
    if opts.full {
        let dir = fashion::fetch()?;
        let d = fashion::read_split(&dir, true, opts.limit)?;
        Ok((format!("Fashion-MNIST test set {}", dir.display()), d))
    } else {
        let s = fashion::parse_sample_csv(fashion::FASHION_SAMPLE_CSV, opts.limit)?;
        Ok((
            "committed sample tutorials/data/fashion_test_sample.csv (first 40 test images of each class)"
                .into(),
            s.data,
        ))
    }
}

/// One layer of a run: the prediction beside the measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerTiming {
    /// The node's index.
    pub index: usize,
    /// The layer kind.
    pub kind: String,
    /// Levels consumed up to and including this node (planned).
    pub depth_after: usize,
    /// Predicted seconds per batch (the simulator, the plan's threads).
    pub predicted_seconds: f64,
    /// Measured seconds per batch (mean over the batches).
    pub measured_seconds: f64,
}

/// Everything the small AlexNet tutorial measured.
#[derive(Debug, Clone, Serialize)]
pub struct AlexnetReport {
    /// Which data.
    pub data: String,
    /// Images classified (encrypted and plaintext).
    pub samples: usize,
    /// How the plan was chosen.
    pub plan_source: String,
    /// The plan (with the simulator's prediction).
    pub plan: Plan,
    /// Plaintext accuracy on these images.
    pub plaintext_accuracy: f64,
    /// Encrypted accuracy on these images.
    pub encrypted_accuracy: f64,
    /// Fraction of images with the same predicted class.
    pub argmax_agreement: f64,
    /// Largest |encrypted logit - plaintext logit|.
    pub max_abs_logit_error: f64,
    /// Largest |encrypted - plaintext| over the largest |plaintext| logit, per image.
    pub max_rel_logit_error: f64,
    /// Per layer: predicted and measured seconds per batch.
    pub layers: Vec<LayerTiming>,
    /// Mean server seconds per batch (measured).
    pub seconds_per_batch: f64,
    /// Images per second of server time (measured).
    pub samples_per_second: f64,
    /// Peak resident memory of this process (Linux `VmHWM`), bytes; `None` elsewhere.
    pub peak_rss_bytes: Option<u64>,
    /// Timings and sizes of the run.
    pub run: RunStats,
}

/// The peak resident set size of this process (`VmHWM` of `/proc/self/status`), bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn layer_bar(len: usize, show: bool) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len as u64);
    if let Ok(style) =
        ProgressStyle::with_template("[{elapsed_precise}] {bar:30} {pos}/{len} layers {msg}")
    {
        pb.set_style(style);
    }
    pb
}

/// Runs `model` encrypted on `inputs` (`[n, ...input dims]`) batch by batch with `plan`, client
/// and server apart (as [`crate::run::run_encrypted`]), timing every node of the server's run.
/// `progress` shows a bar advancing per layer on standard error, naming the batch and layer.
/// Returns the decrypted outputs, the run's stats and the summed seconds of each node over
/// all batches. Errors: [`TutorialError::Invalid`] for an empty input; key generation,
/// encryption, serialization and model errors.
pub fn run_observed<B: Wire>(
    model: &Model,
    plan: &Plan,
    inputs: &ArrayD<f64>,
    progress: bool,
) -> Result<(ArrayD<f64>, RunStats, Vec<f64>)> {
    let n = inputs.shape().first().copied().unwrap_or(0);
    let batches = n.div_ceil(plan.batch_size.max(1));
    let configured = plan.configure(model)?;
    let kinds: Vec<&str> = configured.nodes().iter().map(|n| n.kind()).collect();
    let mut node_seconds = vec![0.0; kinds.len()];
    let pb = layer_bar(batches * kinds.len(), progress);
    let (all, stats) = run_encrypted_observed::<B>(model, plan, inputs, &mut |k, i, dt| {
        if let Some(s) = node_seconds.get_mut(i) {
            *s += dt.as_secs_f64();
        }
        pb.set_message(format!(
            "batch {}/{batches}: node {i} {} {:.2} s",
            k + 1,
            kinds.get(i).copied().unwrap_or("?"),
            dt.as_secs_f64()
        ));
        pb.inc(1);
    })?;
    pb.finish_and_clear();
    Ok((all, stats, node_seconds))
}

/// The per-layer table of a run: the plan's predicted seconds and the measured mean per batch.
pub fn layer_timings(plan: &Plan, node_seconds: &[f64], batches: usize) -> Vec<LayerTiming> {
    let b = batches.max(1) as f64;
    plan.predicted
        .layers
        .iter()
        .map(|l| LayerTiming {
            index: l.index,
            kind: l.kind.clone(),
            depth_after: l.depth_after,
            predicted_seconds: l.seconds,
            measured_seconds: node_seconds.get(l.index).copied().unwrap_or(0.0) / b,
        })
        .collect()
}

/// Largest per-image `max |e - p| / max |p|` over rows of `width` logits (0 for empty input).
pub fn max_relative_error(plain: &[f64], enc: &[f64], width: usize) -> f64 {
    plain
        .chunks(width.max(1))
        .zip(enc.chunks(width.max(1)))
        .map(|(p, e)| {
            let scale = p.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            let err = p
                .iter()
                .zip(e)
                .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
            if scale > 0.0 {
                err / scale
            } else {
                err
            }
        })
        .fold(0.0, f64::max)
}

/// Runs the small AlexNet tutorial on Fashion-MNIST. Errors: data, model, plan and
/// encrypted-run errors.
pub fn run_small(opts: &TutorialOptions) -> Result<AlexnetReport> {
    let (what, d) = load_data(opts)?;
    if d.is_empty() {
        return Err(TutorialError::Invalid("no image".into()));
    }
    let model = load_small()?;
    let x = crate::mnist::images(&d)?;
    let plain = model.forward_plain(&x)?;
    let chosen = plan::choose(&model, &opts.plan)?;
    let (enc, stats, node_seconds) = match opts.backend {
        BackendKind::Ckks => run_observed::<CkksBackend>(&model, &chosen, &x, opts.progress)?,
        BackendKind::Mock => run_observed::<MockBackend>(&model, &chosen, &x, opts.progress)?,
    };
    let pv: Vec<f64> = plain.iter().copied().collect();
    let ev: Vec<f64> = enc.iter().copied().collect();
    let p_arg = argmax_rows(&pv, 10)?;
    let e_arg = argmax_rows(&ev, 10)?;
    Ok(AlexnetReport {
        data: what,
        samples: d.len(),
        plaintext_accuracy: fraction_equal(&p_arg, &d.labels)?,
        encrypted_accuracy: fraction_equal(&e_arg, &d.labels)?,
        argmax_agreement: fraction_equal(&p_arg, &e_arg)?,
        max_abs_logit_error: pv
            .iter()
            .zip(&ev)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max),
        max_rel_logit_error: max_relative_error(&pv, &ev, 10),
        layers: layer_timings(&chosen, &node_seconds, stats.batches),
        seconds_per_batch: stats.mean_batch_seconds(),
        samples_per_second: stats.throughput(),
        peak_rss_bytes: peak_rss_bytes(),
        plan_source: opts.plan.describe(),
        plan: chosen,
        run: stats,
    })
}

/// The wall-clock budget of the full-size run (issue 12): 30 minutes.
pub const FULL_SECONDS_BUDGET: f64 = 1800.0;
/// The memory budget of the full-size run (issue 12): 20 GB.
pub const FULL_MEMORY_BUDGET: u64 = 20_000_000_000;
