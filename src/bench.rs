//! A micro-benchmark of the backend operations, generic over any [`Backend`], printed as JSON by
//! `hetile bench <backend>`. Its operation names and parameter sets match the peers' scripts
//! (`../shared/peers`) so that hetile and SEAL/OpenFHE are compared like with like.

use hetile_backend::{Backend, Client, Error, Evaluator, KeyRequirements, Params, Result};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// Rotation steps whose keys the timed key generation makes (as in the peers' scripts).
pub const KEYGEN_ROTATIONS: [i64; 4] = [1, 2, 4, 8];
/// Steps rotated at once by the `rotate_hoisted_8` measurement.
pub const HOISTED_STEPS: [i64; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
/// The operations measured, in output order.
pub const OPS: [&str; 9] = [
    "keygen",
    "encrypt",
    "decrypt",
    "add",
    "mul_plain",
    "mul_relin",
    "rescale",
    "rotate",
    "rotate_hoisted_8",
];

/// Median, minimum and maximum of a set of timings, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OpStats {
    /// Median time.
    pub median_ms: f64,
    /// Fastest run.
    pub min_ms: f64,
    /// Slowest run.
    pub max_ms: f64,
}

impl OpStats {
    /// Statistics of a set of timings given in seconds.
    pub fn from_seconds(mut ts: Vec<f64>) -> OpStats {
        ts.sort_by(f64::total_cmp);
        let n = ts.len();
        let median = if n == 0 {
            0.0
        } else if n % 2 == 1 {
            ts[n / 2]
        } else {
            (ts[n / 2 - 1] + ts[n / 2]) / 2.0
        };
        OpStats {
            median_ms: median * 1e3,
            min_ms: ts.first().copied().unwrap_or(0.0) * 1e3,
            max_ms: ts.last().copied().unwrap_or(0.0) * 1e3,
        }
    }
}

/// Precision in bits (mean over slots of -log2 |error|, inputs uniform in [-1, 1]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PrecisionBits {
    /// Fresh secret-key encryption, decrypted.
    pub fresh_sk: f64,
    /// Fresh public-key encryption, decrypted.
    pub fresh_pk: f64,
    /// Public-key ciphertexts multiplied, relinearized and rescaled.
    pub mul_rescale: f64,
    /// A public-key ciphertext rotated by one slot.
    pub rotate: f64,
}

/// Largest absolute error over the slots, for the same four measurements as [`PrecisionBits`]
/// (the peers' scripts print this figure for `x * y`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MaxAbsError {
    /// Fresh secret-key encryption, decrypted.
    pub fresh_sk: f64,
    /// Fresh public-key encryption, decrypted.
    pub fresh_pk: f64,
    /// Public-key ciphertexts multiplied, relinearized and rescaled.
    pub mul_rescale: f64,
    /// A public-key ciphertext rotated by one slot.
    pub rotate: f64,
}

/// Largest `|got - want|` over the common length (0 for empty inputs).
pub fn max_abs_error(got: &[f64], want: &[f64]) -> f64 {
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max)
}

/// Fresh encryptions of `x` and `y` whose product's errors [`TrialErrors`] summarizes: one
/// encryption's largest error is a noisy figure (peers are compared on the median of many).
pub const PRECISION_TRIALS: usize = 25;

/// The errors of `x * y` (public-key encryptions multiplied, relinearized, rescaled and
/// decrypted) over [`PRECISION_TRIALS`] independent encryptions of the same inputs, uniform in
/// `[-1, 1]` (`scripts/peer_precision.py` measures SEAL and OpenFHE the same way).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialErrors {
    /// Number of trials.
    pub trials: usize,
    /// Median over the trials of the largest absolute error over the slots.
    pub max_abs_error_median: f64,
    /// Largest absolute error over all trials and slots.
    pub max_abs_error_max: f64,
    /// Median over the trials of the root-mean-square error over the slots.
    pub rms_error_median: f64,
}

impl TrialErrors {
    /// Summarizes per-trial `(largest error, rms error)` pairs (zeros for no trials).
    pub fn of(mut trials: Vec<(f64, f64)>) -> TrialErrors {
        let n = trials.len();
        let median = |v: &mut Vec<f64>| -> f64 {
            v.sort_by(f64::total_cmp);
            match v.len() {
                0 => 0.0,
                k if k % 2 == 1 => v[k / 2],
                k => 0.5 * (v[k / 2 - 1] + v[k / 2]),
            }
        };
        let mut max: Vec<f64> = trials.iter().map(|t| t.0).collect();
        let mut rms: Vec<f64> = trials.drain(..).map(|t| t.1).collect();
        TrialErrors {
            trials: n,
            max_abs_error_max: max.iter().copied().fold(0.0, f64::max),
            max_abs_error_median: median(&mut max),
            rms_error_median: median(&mut rms),
        }
    }
}

/// Root-mean-square of `got - want` over the common length (0 for empty inputs).
pub fn rms_error(got: &[f64], want: &[f64]) -> f64 {
    let n = got.len().min(want.len());
    if n == 0 {
        return 0.0;
    }
    let sum: f64 = got.iter().zip(want).map(|(g, w)| (g - w) * (g - w)).sum();
    (sum / n as f64).sqrt()
}

/// What the bench prints for one parameter set: the concrete chain it ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamsSummary {
    /// log2 N.
    pub log_n: u32,
    /// Bit sizes of the ciphertext primes.
    pub log_q: Vec<u32>,
    /// Bit sizes of the special primes.
    pub log_p: Vec<u32>,
    /// The ciphertext primes.
    pub q: Vec<u64>,
    /// The special primes.
    pub p: Vec<u64>,
    /// Key-switching digits.
    pub digits: usize,
    /// log2 of the scale.
    pub log_scale: u32,
    /// Total bits of Q*P.
    pub log_qp: u32,
    /// Security level checked.
    pub security: String,
}

impl ParamsSummary {
    /// The summary of a parameter set.
    pub fn of(params: &Params) -> ParamsSummary {
        let lit = params.literal();
        ParamsSummary {
            log_n: lit.log_n,
            log_q: lit.log_q.clone(),
            log_p: lit.log_p.clone(),
            q: params.q().to_vec(),
            p: params.p().to_vec(),
            digits: params.digits(),
            log_scale: lit.log_scale,
            log_qp: params.log_qp(),
            security: params.security().to_string(),
        }
    }
}

/// The whole report, in the JSON shape the issue specifies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Backend name.
    pub backend: String,
    /// Threads used.
    pub threads: usize,
    /// Parameter sets by name.
    pub params: BTreeMap<String, ParamsSummary>,
    /// Timings by parameter set, then by operation.
    pub results: BTreeMap<String, BTreeMap<String, OpStats>>,
    /// Precision by parameter set.
    pub precision_bits: BTreeMap<String, PrecisionBits>,
    /// Largest absolute error by parameter set.
    pub max_abs_error: BTreeMap<String, MaxAbsError>,
    /// Errors of `x * y` over many encryptions, by parameter set.
    pub mul_rescale_trials: BTreeMap<String, TrialErrors>,
    /// Size of a fresh top-level ciphertext in memory (2 polynomials x limbs x N x 8 bytes).
    pub ct_bytes: BTreeMap<String, usize>,
}

fn time_it<T>(reps: usize, mut f: impl FnMut() -> Result<T>) -> Result<OpStats> {
    // One warm-up run, as the peers do.
    f()?;
    let mut ts = Vec::with_capacity(reps);
    for _ in 0..reps.max(1) {
        let t0 = Instant::now();
        let out = f()?;
        ts.push(t0.elapsed().as_secs_f64());
        drop(out);
    }
    Ok(OpStats::from_seconds(ts))
}

/// Mean over slots of -log2 |got - want| (errors below 2^-60 count as 60 bits).
pub fn precision_bits(got: &[f64], want: &[f64]) -> f64 {
    let n = want.len().min(got.len()).max(1);
    got.iter()
        .zip(want)
        .map(|(g, w)| -((g - w).abs().max(2f64.powi(-60))).log2())
        .sum::<f64>()
        / n as f64
}

fn uniform_values(rng: &mut ChaCha20Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0)
        .collect()
}

/// Timings by operation, precision in bits, largest errors and the errors of `x * y` over many
/// encryptions of one parameter set.
pub type ParamsMeasurement = (
    BTreeMap<String, OpStats>,
    PrecisionBits,
    MaxAbsError,
    TrialErrors,
);

/// Measures every operation of [`OPS`], the precision and the largest errors on one parameter
/// set. The caller picks the thread count (run this inside a rayon pool's `install`).
pub fn bench_params<B: Backend>(params: &Params, reps: usize) -> Result<ParamsMeasurement> {
    let mut out = BTreeMap::new();
    let keygen_req = KeyRequirements::none()
        .with_relinearization()
        .with_rotations(KEYGEN_ROTATIONS);
    out.insert(
        "keygen".to_string(),
        time_it(reps.div_ceil(4).max(3), || {
            B::Client::new(params, &keygen_req)
        })?,
    );
    let req = KeyRequirements::none()
        .with_relinearization()
        .with_rotations(HOISTED_STEPS);
    let client = B::Client::new(params, &req)?;
    let eval = client.evaluator()?;
    let slots = params.slots().get();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let x = uniform_values(&mut rng, slots);
    let y = uniform_values(&mut rng, slots);
    let top = params.max_level();
    let scale = params.default_scale();
    out.insert(
        "encrypt".into(),
        // Encode at the top level and default scale, then encrypt: `encrypt_values`, which a
        // backend may fuse (the native one folds the message into the encryption's NTTs).
        time_it(reps, || client.encrypt_values(&x))?,
    );
    let ca = client.encrypt(&client.encode(&x, top, scale)?)?;
    let cb = client.encrypt(&client.encode(&y, top, scale)?)?;
    out.insert(
        "decrypt".into(),
        time_it(reps, || client.decrypt_values(&ca))?,
    );
    out.insert("add".into(), time_it(reps, || eval.add(&ca, &cb))?);
    let pb = eval.encode(&y, top, scale)?;
    out.insert(
        "mul_plain".into(),
        time_it(reps, || eval.mul_plain(&ca, &pb))?,
    );
    out.insert("mul_relin".into(), time_it(reps, || eval.mul(&ca, &cb))?);
    let prod = eval.mul(&ca, &cb)?;
    out.insert("rescale".into(), time_it(reps, || eval.rescale(&prod))?);
    out.insert("rotate".into(), time_it(reps, || eval.rotate(&ca, 1))?);
    out.insert(
        "rotate_hoisted_8".into(),
        time_it(reps, || eval.rotate_many(&ca, &HOISTED_STEPS))?,
    );

    let fresh_sk =
        client.decrypt_values(&client.encrypt_symmetric(&client.encode(&x, top, scale)?)?)?;
    let fresh_pk = client.decrypt_values(&ca)?;
    let mut prod = eval.mul(&ca, &cb)?;
    eval.rescale_assign(&mut prod)?;
    let prod_vals = client.decrypt_values(&prod)?;
    let xy: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
    let rot = client.decrypt_values(&eval.rotate(&ca, 1)?)?;
    let mut x_rot = x.clone();
    x_rot.rotate_left(1);
    let precision = PrecisionBits {
        fresh_sk: precision_bits(&fresh_sk, &x),
        fresh_pk: precision_bits(&fresh_pk, &x),
        mul_rescale: precision_bits(&prod_vals, &xy),
        rotate: precision_bits(&rot, &x_rot),
    };
    let max_error = MaxAbsError {
        fresh_sk: max_abs_error(&fresh_sk, &x),
        fresh_pk: max_abs_error(&fresh_pk, &x),
        mul_rescale: max_abs_error(&prod_vals, &xy),
        rotate: max_abs_error(&rot, &x_rot),
    };
    let mut trials = Vec::with_capacity(PRECISION_TRIALS);
    for _ in 0..PRECISION_TRIALS {
        let a = client.encrypt(&client.encode(&x, top, scale)?)?;
        let b = client.encrypt(&client.encode(&y, top, scale)?)?;
        let mut p = eval.mul(&a, &b)?;
        eval.rescale_assign(&mut p)?;
        let got = client.decrypt_values(&p)?;
        trials.push((max_abs_error(&got, &xy), rms_error(&got, &xy)));
    }
    Ok((out, precision, max_error, TrialErrors::of(trials)))
}

/// Runs [`bench_params`] on each named parameter set with `threads` threads.
pub fn bench_backend<B: Backend>(
    param_names: &[String],
    threads: usize,
    reps: usize,
) -> Result<BenchReport> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| Error::Internal {
            backend: "bench",
            reason: format!("cannot build a thread pool: {e}"),
        })?;
    let mut report = BenchReport {
        backend: B::NAME.to_string(),
        threads: threads.max(1),
        params: BTreeMap::new(),
        results: BTreeMap::new(),
        precision_bits: BTreeMap::new(),
        max_abs_error: BTreeMap::new(),
        mul_rescale_trials: BTreeMap::new(),
        ct_bytes: BTreeMap::new(),
    };
    for name in param_names {
        let params = Params::preset(name)?;
        let (ops, precision, max_error, trials) =
            pool.install(|| bench_params::<B>(&params, reps))?;
        let limbs = params.max_level().0 + 1;
        report
            .params
            .insert(name.clone(), ParamsSummary::of(&params));
        report.results.insert(name.clone(), ops);
        report.precision_bits.insert(name.clone(), precision);
        report.max_abs_error.insert(name.clone(), max_error);
        report.mul_rescale_trials.insert(name.clone(), trials);
        report
            .ct_bytes
            .insert(name.clone(), 2 * limbs * params.degree().get() * 8);
    }
    Ok(report)
}
