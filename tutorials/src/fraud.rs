//! The fraud tutorial: score credit-card transactions (Dal Pozzolo et al., CIDM 2015) with a
//! small MLP (30 -> 32 -> square -> 16 -> square -> 1, score = logit) on encrypted data, and
//! compare with the plaintext model: ROC-AUC, PR-AUC (average precision), recall at a fixed
//! precision, decision agreement, latency per batch, throughput, and the simulator's
//! prediction beside the measurement.

use crate::dataset::{parse_fraud_csv, FraudData, FRAUD_SAMPLE_CSV};
use crate::error::{Result, TutorialError};
use crate::metrics::{self, Confusion, OperatingPoint};
use crate::plan;
use crate::run::{latency_run, run_encrypted, RunStats, LATENCY_REPEATS};
use crate::{data, BackendKind, TutorialOptions};
use hetile_ckks::CkksBackend;
use hetile_layers::onnx::{load_bytes, ImportOptions};
use hetile_layers::Model;
use hetile_mock::MockBackend;
use hetile_opt::{Plan, Prediction};
use ndarray::{Array2, ArrayD, IxDyn};
use serde::{Deserialize, Serialize};

/// The trained model (`tutorials/models/fraud_mlp.onnx`, from `training/train_fraud.py`).
pub const MODEL_ONNX: &[u8] = include_bytes!("../models/fraud_mlp.onnx");
/// Its training record: metrics, split rule and the client-side clipping bounds.
pub const MODEL_JSON: &str = include_str!("../models/fraud_mlp.json");

#[derive(Deserialize)]
struct ModelMeta {
    clip_lo: Vec<f64>,
    clip_hi: Vec<f64>,
}

/// The model and the client's clipping bounds (raw units, per feature).
/// Errors: ONNX import errors, malformed metadata.
pub fn load_model() -> Result<(Model, Vec<f64>, Vec<f64>)> {
    let model = load_bytes(MODEL_ONNX, &ImportOptions::default())?;
    let meta: ModelMeta = serde_json::from_str(MODEL_JSON)?;
    if meta.clip_lo.len() != 30 || meta.clip_hi.len() != 30 {
        return Err(TutorialError::Invalid(
            "fraud_mlp.json: clip bounds need 30 entries".into(),
        ));
    }
    Ok((model, meta.clip_lo, meta.clip_hi))
}

/// Clips each feature to `[lo, hi]` (the client's preprocessing, done in the clear before
/// encryption; the plaintext reference sees the same inputs).
pub fn clip(x: &Array2<f64>, lo: &[f64], hi: &[f64]) -> Array2<f64> {
    let mut y = x.clone();
    for mut row in y.rows_mut() {
        for (j, v) in row.iter_mut().enumerate() {
            if let (Some(&l), Some(&h)) = (lo.get(j), hi.get(j)) {
                *v = v.clamp(l, h);
            }
        }
    }
    y
}

/// Scores measured on one side (plaintext or encrypted); `None` where a metric is undefined
/// (e.g. a subset without frauds).
#[derive(Debug, Clone, Serialize)]
pub struct FraudMetrics {
    /// Area under the ROC curve.
    pub roc_auc: Option<f64>,
    /// Average precision (PR-AUC).
    pub pr_auc: Option<f64>,
    /// The highest recall at precision >= the asked precision, and its threshold.
    pub recall_at_precision: Option<OperatingPoint>,
    /// Decisions at the plaintext model's threshold.
    pub confusion: Confusion,
}

/// Everything the fraud tutorial measured.
#[derive(Debug, Clone, Serialize)]
pub struct FraudReport {
    /// Which data: the committed sample or the full test split.
    pub data: String,
    /// Transactions scored.
    pub samples: usize,
    /// Frauds among them.
    pub frauds: usize,
    /// How the plan was chosen.
    pub plan_source: String,
    /// The plan (parameters, packing, batch, keys, prediction).
    pub plan: Plan,
    /// The precision the recall is reported at.
    pub precision_target: f64,
    /// The decision threshold: midway between the plaintext operating point's score (at the
    /// precision target) and the next lower plaintext score.
    pub threshold: f64,
    /// Plaintext model.
    pub plaintext: FraudMetrics,
    /// Encrypted model.
    pub encrypted: FraudMetrics,
    /// Fraction of transactions with the same decision (plain vs encrypted, same threshold).
    pub decision_agreement: f64,
    /// Largest |encrypted score - plaintext score|.
    pub max_abs_score_error: f64,
    /// Mean server seconds per batch (measured).
    pub latency_seconds_per_batch: f64,
    /// Batch capacity per second of server time (batch size x batches / server seconds,
    /// measured; comparable to the prediction).
    pub throughput_per_second: f64,
    /// Samples actually scored per second of server time (lower when the last batch is
    /// padded).
    pub samples_per_second: f64,
    /// Batch capacity per second end to end (client encryption and decryption included).
    pub end_to_end_throughput_per_second: f64,
    /// Server seconds for one transaction with the batch-1 (latency) plan, measured.
    pub latency_seconds_batch1: f64,
    /// Client encryption + server + client decryption seconds for one transaction with the
    /// batch-1 plan, measured.
    pub latency_end_to_end_seconds_batch1: f64,
    /// The batch-1 plan (objective latency).
    pub latency_plan: Plan,
    /// The simulator's prediction of one batch (`hetile_opt::simulate`, shipped cost table).
    pub predicted: Prediction,
    /// Timings and sizes of the encrypted run.
    pub run: RunStats,
}

fn side(labels: &[bool], scores: &[f64], precision: f64, threshold: f64) -> Result<FraudMetrics> {
    Ok(FraudMetrics {
        roc_auc: metrics::roc_auc(labels, scores).ok(),
        pr_auc: metrics::average_precision(labels, scores).ok(),
        recall_at_precision: metrics::recall_at_precision(labels, scores, precision).ok(),
        confusion: Confusion::at(labels, scores, threshold)?,
    })
}

/// Loads the data the options ask for: the committed sample, or (`full`) the test split of the
/// full data set through the loader; then the first `limit` rows when given.
/// Errors: loader and CSV errors.
pub fn load_data(opts: &TutorialOptions) -> Result<(String, FraudData)> {
    let (what, mut d) = if opts.full {
        let path = data::fetch(&data::FRAUD_CSV)?;
        let all = parse_fraud_csv(&data::read_text(&path)?)?;
        let test = all.test_split()?;
        let what = format!(
            "full test split of {} ({} of {} rows)",
            path.display(),
            test.len(),
            all.len()
        );
        (what, test)
    } else {
        (
            "committed sample tutorials/data/fraud_test_sample.csv (test split, frauds enriched)"
                .to_string(),
            parse_fraud_csv(FRAUD_SAMPLE_CSV)?,
        )
    };
    if let Some(l) = opts.limit {
        let idx: Vec<usize> = (0..l.min(d.len())).collect();
        d = d.select(&idx)?;
    }
    Ok((what, d))
}

/// Runs the fraud tutorial. Errors: data, model, plan and encrypted-run errors.
pub fn run(opts: &TutorialOptions) -> Result<FraudReport> {
    let (what, d) = load_data(opts)?;
    let (model, lo, hi) = load_model()?;
    let x = clip(&d.features, &lo, &hi);
    let n = d.len();
    let xd: ArrayD<f64> = x.into_dyn();
    let plain: Vec<f64> = model.forward_plain(&xd)?.iter().copied().collect();
    let chosen = plan::choose(&model, &opts.plan)?;
    let lat_plan = plan::choose(&model, &opts.plan.for_latency())?;
    let (lat, (enc, stats)) = match opts.backend {
        BackendKind::Ckks => (
            latency_run::<CkksBackend>(&model, &lat_plan, &xd, LATENCY_REPEATS)?,
            run_encrypted::<CkksBackend>(&model, &chosen, &xd, opts.progress)?,
        ),
        BackendKind::Mock => (
            latency_run::<MockBackend>(&model, &lat_plan, &xd, LATENCY_REPEATS)?,
            run_encrypted::<MockBackend>(&model, &chosen, &xd, opts.progress)?,
        ),
    };
    let enc: Vec<f64> = enc
        .into_shape_with_order(IxDyn(&[n]))
        .map_err(|e| TutorialError::Invalid(format!("encrypted output shape: {e}")))?
        .iter()
        .copied()
        .collect();
    let precision = opts.precision_target;
    // the decision threshold: midway between the plaintext operating point's score and the
    // next lower plaintext score, so no sample sits exactly on it
    let threshold = metrics::recall_at_precision(&d.labels, &plain, precision)
        .map(|p| {
            let below = plain
                .iter()
                .copied()
                .filter(|&s| s < p.threshold)
                .fold(f64::NEG_INFINITY, f64::max);
            if below.is_finite() {
                (p.threshold + below) / 2.0
            } else {
                p.threshold - 1.0
            }
        })
        .unwrap_or(0.0);
    Ok(FraudReport {
        data: what,
        samples: n,
        frauds: d.frauds(),
        precision_target: precision,
        threshold,
        plaintext: side(&d.labels, &plain, precision, threshold)?,
        encrypted: side(&d.labels, &enc, precision, threshold)?,
        decision_agreement: metrics::decision_agreement(&plain, &enc, threshold)?,
        max_abs_score_error: plain
            .iter()
            .zip(&enc)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max),
        latency_seconds_per_batch: stats.mean_batch_seconds(),
        throughput_per_second: stats.capacity_throughput(),
        samples_per_second: stats.throughput(),
        end_to_end_throughput_per_second: stats.end_to_end_throughput(),
        latency_seconds_batch1: lat.mean_batch_seconds(),
        latency_end_to_end_seconds_batch1: lat.end_to_end_batch_seconds(),
        latency_plan: lat_plan,
        predicted: chosen.predicted.clone(),
        plan_source: opts.plan.describe(),
        plan: chosen,
        run: stats,
    })
}
