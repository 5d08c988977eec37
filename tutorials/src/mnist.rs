//! The MNIST tutorial: CryptoNets (conv 5x5 stride 2, 5 channels -> square -> dense 845->100 ->
//! square -> dense 100->10) on encrypted images. Prints encrypted vs plaintext accuracy, the
//! argmax agreement, the latency of one image (batch 1) and the throughput at the chosen batch,
//! with the simulator's prediction beside the measurement.

use crate::dataset::{parse_mnist_csv, MnistData, MNIST_SAMPLE_CSV};
use crate::error::{Result, TutorialError};
use crate::metrics::{argmax_rows, fraction_equal};
use crate::plan;
use crate::run::{latency_run, run_encrypted, RunStats};
use crate::wire::Wire;
use crate::{data, BackendKind, TutorialOptions};
use hetile_ckks::CkksBackend;
use hetile_layers::onnx::{load_bytes, ImportOptions};
use hetile_layers::Model;
use hetile_mock::MockBackend;
use hetile_opt::Plan;
use ndarray::{ArrayD, IxDyn};
use serde::Serialize;

/// The trained model (`tutorials/models/cryptonets.onnx`, from `training/train_mnist.py`);
/// it takes pixels / 255, shape `[N, 1, 28, 28]`.
pub const MODEL_ONNX: &[u8] = include_bytes!("../models/cryptonets.onnx");
/// Its training record (accuracy, magnitudes).
pub const MODEL_JSON: &str = include_str!("../models/cryptonets.json");

/// The model. Errors: ONNX import errors.
pub fn load_model() -> Result<Model> {
    Ok(load_bytes(MODEL_ONNX, &ImportOptions::default())?)
}

/// The model's input for `d`: `[n, 1, 28, 28]`, pixels / 255.
/// Errors: [`TutorialError::Invalid`] when the pixels are not `n x 784`.
pub fn images(d: &MnistData) -> Result<ArrayD<f64>> {
    (&d.pixels / 255.0)
        .into_shape_with_order(IxDyn(&[d.len(), 1, 28, 28]))
        .map_err(|e| TutorialError::Invalid(format!("pixels: {e}")))
}

/// Everything the MNIST tutorial measured.
#[derive(Debug, Clone, Serialize)]
pub struct MnistReport {
    /// Which data.
    pub data: String,
    /// Images classified (encrypted and plaintext).
    pub samples: usize,
    /// How the plans were chosen.
    pub plan_source: String,
    /// The throughput plan (batch chosen).
    pub plan: Plan,
    /// Plaintext accuracy on these images.
    pub plaintext_accuracy: f64,
    /// Encrypted accuracy on these images.
    pub encrypted_accuracy: f64,
    /// Fraction of images with the same predicted digit.
    pub argmax_agreement: f64,
    /// Largest |encrypted logit - plaintext logit|.
    pub max_abs_logit_error: f64,
    /// Server seconds for one image with the batch-1 plan (measured).
    pub latency_seconds_batch1: f64,
    /// Client encryption + server + client decryption seconds for one image with the batch-1
    /// plan, measured.
    pub latency_end_to_end_seconds_batch1: f64,
    /// The batch-1 plan.
    pub latency_plan: Plan,
    /// Batch capacity per second end to end (client encryption and decryption included).
    pub end_to_end_throughput_per_second: f64,
    /// Mean server seconds per batch with the throughput plan (measured).
    pub seconds_per_batch: f64,
    /// Batch capacity per second of server time at the chosen batch (batch size x batches /
    /// server seconds, measured; comparable to the prediction).
    pub throughput_per_second: f64,
    /// Images actually classified per second of server time.
    pub samples_per_second: f64,
    /// Timings and sizes of the throughput run.
    pub run: RunStats,
}

/// Loads the committed sample or (`full`) the whole test set through the loader, then the
/// first `limit` images when given. Errors: loader and CSV errors.
pub fn load_data(opts: &TutorialOptions) -> Result<(String, MnistData)> {
    if opts.full {
        let path = data::fetch(&data::MNIST_TEST_CSV)?;
        let d = parse_mnist_csv(&data::read_text(&path)?, opts.limit)?;
        Ok((format!("MNIST test set {}", path.display()), d))
    } else {
        Ok((
            "committed sample tutorials/data/mnist_test_sample.csv (first 500 test images)".into(),
            parse_mnist_csv(MNIST_SAMPLE_CSV, opts.limit)?,
        ))
    }
}

fn run_on<B: Wire>(
    model: &Model,
    opts: &TutorialOptions,
    x: &ArrayD<f64>,
    lat_plan: &Plan,
    plan: &Plan,
) -> Result<(RunStats, ArrayD<f64>, RunStats)> {
    let lat = latency_run::<B>(model, lat_plan, x, crate::run::LATENCY_REPEATS)?;
    let (out, stats) = run_encrypted::<B>(model, plan, x, opts.progress)?;
    Ok((lat, out, stats))
}

/// Runs the MNIST tutorial. Errors: data, model, plan and encrypted-run errors.
pub fn run(opts: &TutorialOptions) -> Result<MnistReport> {
    let (what, d) = load_data(opts)?;
    if d.is_empty() {
        return Err(TutorialError::Invalid("no image".into()));
    }
    let model = load_model()?;
    let x = images(&d)?;
    let plain = model.forward_plain(&x)?;
    let chosen = plan::choose(&model, &opts.plan)?;
    let lat_plan = plan::choose(&model, &opts.plan.for_latency())?;
    let (lat, enc, stats) = match opts.backend {
        BackendKind::Ckks => run_on::<CkksBackend>(&model, opts, &x, &lat_plan, &chosen)?,
        BackendKind::Mock => run_on::<MockBackend>(&model, opts, &x, &lat_plan, &chosen)?,
    };
    let pv: Vec<f64> = plain.iter().copied().collect();
    let ev: Vec<f64> = enc.iter().copied().collect();
    let p_arg = argmax_rows(&pv, 10)?;
    let e_arg = argmax_rows(&ev, 10)?;
    Ok(MnistReport {
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
        latency_seconds_batch1: lat.mean_batch_seconds(),
        latency_end_to_end_seconds_batch1: lat.end_to_end_batch_seconds(),
        end_to_end_throughput_per_second: stats.end_to_end_throughput(),
        seconds_per_batch: stats.mean_batch_seconds(),
        throughput_per_second: stats.capacity_throughput(),
        samples_per_second: stats.throughput(),
        plan_source: opts.plan.describe(),
        latency_plan: lat_plan,
        plan: chosen,
        run: stats,
    })
}
