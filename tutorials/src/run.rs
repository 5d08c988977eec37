//! One encrypted tutorial run, client and server kept apart: the client generates keys for
//! exactly the plan's evaluation keys, publishes its public context as bytes, encrypts each
//! batch with its secret key (it owns the key: seeded ciphertexts, half the bytes of a
//! public-key encryption, less noise) and sends it; the server rebuilds its evaluator from the public bytes alone
//! ([`Wire::open`]), runs the model and sends the result back; the client decrypts.

use crate::error::{Result, TutorialError};
use crate::wire::{Wire, WireTensor};
use hetile_backend::Client;
use hetile_layers::Model;
use hetile_opt::Plan;
use hetile_tiles::EncryptionKey;
use indicatif::{ProgressBar, ProgressStyle};
use ndarray::{ArrayD, Axis, Dimension, IxDyn};
use serde::Serialize;
use std::time::Instant;

/// Timings and sizes of an encrypted run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunStats {
    /// The backend's name.
    pub backend: String,
    /// Whether ciphertexts travelled as bytes ([`Wire::SERIALIZED`]).
    pub serialized: bool,
    /// Samples run.
    pub samples: usize,
    /// Samples per batch.
    pub batch_size: usize,
    /// Batches run (the last one zero-padded to the batch size).
    pub batches: usize,
    /// Client key generation, seconds.
    pub keygen_seconds: f64,
    /// Bytes of the public context (parameters, public key, evaluation keys).
    pub public_context_bytes: usize,
    /// Client encryption (packing + encrypt + serialize), seconds, all batches.
    pub encrypt_seconds: f64,
    /// Server time per batch (deserialize, run the model, serialize), seconds.
    pub server_seconds_per_batch: Vec<f64>,
    /// Client decryption (deserialize + decrypt + unpack), seconds, all batches.
    pub decrypt_seconds: f64,
    /// Bytes sent client to server per batch (first batch).
    pub request_bytes: usize,
    /// Bytes sent server to client per batch (first batch).
    pub response_bytes: usize,
}

impl RunStats {
    /// Mean server seconds per batch (0 without batches).
    pub fn mean_batch_seconds(&self) -> f64 {
        if self.server_seconds_per_batch.is_empty() {
            0.0
        } else {
            self.server_seconds_per_batch.iter().sum::<f64>()
                / self.server_seconds_per_batch.len() as f64
        }
    }
    /// Batch capacity per second of server time: `batch_size x batches / server seconds`.
    pub fn capacity_throughput(&self) -> f64 {
        let total: f64 = self.server_seconds_per_batch.iter().sum();
        if total > 0.0 {
            (self.batch_size * self.batches) as f64 / total
        } else {
            0.0
        }
    }
    /// Client encryption + server + client decryption seconds of one batch (the mean over the
    /// batches run): the end-to-end latency of a batch, without the network.
    pub fn end_to_end_batch_seconds(&self) -> f64 {
        if self.batches == 0 {
            return 0.0;
        }
        (self.encrypt_seconds + self.decrypt_seconds) / self.batches as f64
            + self.mean_batch_seconds()
    }
    /// Batch capacity per second end to end (client encryption and decryption included):
    /// `batch_size / end_to_end_batch_seconds`.
    pub fn end_to_end_throughput(&self) -> f64 {
        let t = self.end_to_end_batch_seconds();
        if t > 0.0 {
            self.batch_size as f64 / t
        } else {
            0.0
        }
    }
    /// Samples actually run per second of server time.
    pub fn throughput(&self) -> f64 {
        let total: f64 = self.server_seconds_per_batch.iter().sum();
        if total > 0.0 {
            self.samples as f64 / total
        } else {
            0.0
        }
    }
}

/// Runs of the batch-1 latency measurement ([`latency_run`]) in the tutorials: the median of
/// nine requests of a few tens of milliseconds each, as the median of three still moved by
/// 1.5x between runs on a shared machine.
pub const LATENCY_REPEATS: usize = 9;

/// The batch-1 latency of `plan` on the first sample of `x`: one client and server, the
/// request encrypted, served and decrypted `repeats` times (at least once), each part's median
/// kept, so that a cold first run (page faults, caches) does not stand for the latency, as the
/// peers report medians of warm runs. Errors: those of [`run_encrypted`].
pub fn latency_run<B: Wire>(
    model: &Model,
    plan: &Plan,
    x: &ArrayD<f64>,
    repeats: usize,
) -> Result<RunStats> {
    let one = x.slice_axis(ndarray::Axis(0), (0..1).into()).to_owned();
    run_repeated::<B>(model, plan, &one, false, repeats, &mut |_, _, _| {}).map(|(_, s)| s)
}

/// The median of non-empty `v` (0 when empty).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// The server: holds the model and the evaluator rebuilt from the client's public bytes.
pub struct Server<'m, B: Wire> {
    model: &'m Model,
    evaluator: B::Evaluator,
    ctx: B::Ctx,
}

impl<'m, B: Wire> Server<'m, B> {
    /// A server from the public context bytes only. Errors: deserialization errors.
    pub fn open(model: &'m Model, public: &[u8]) -> Result<Server<'m, B>> {
        let (evaluator, ctx) = B::open(public)?;
        Ok(Server {
            model,
            evaluator,
            ctx,
        })
    }
    /// Runs the model on one encrypted request. Errors: deserialization and model errors.
    pub fn serve(&self, request: &WireTensor<B>) -> Result<WireTensor<B>> {
        self.serve_observed(request, |_, _| {})
    }
    /// [`Server::serve`], calling `on_node(i, elapsed)` after node `i` of the model.
    /// Errors: as [`Server::serve`].
    pub fn serve_observed(
        &self,
        request: &WireTensor<B>,
        on_node: impl FnMut(usize, std::time::Duration),
    ) -> Result<WireTensor<B>> {
        let x = request.unpack(&self.ctx)?;
        let y = self
            .model
            .forward_encrypted_observed::<B>(&self.evaluator, &x, on_node)?;
        drop(x);
        WireTensor::pack(&self.ctx, &y)
    }
}

fn bar(len: usize, show: bool, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:12} [{elapsed_precise}] {bar:40} {pos}/{len} batches (eta {eta})",
    ) {
        pb.set_style(style);
    }
    pb.set_message(what.to_string());
    pb
}

/// Runs `model` encrypted on `inputs` (`[n, ...model input dims]`) batch by batch with the
/// plan, and returns the decrypted outputs (`[n, ...model output dims]`) and the run's stats.
/// `progress` shows an indicatif progress bar on standard error.
/// Errors: [`TutorialError::Invalid`] for an empty input; key generation, encryption,
/// serialization and model errors.
pub fn run_encrypted<B: Wire>(
    model: &Model,
    plan: &Plan,
    inputs: &ArrayD<f64>,
    progress: bool,
) -> Result<(ArrayD<f64>, RunStats)> {
    run_repeated::<B>(model, plan, inputs, progress, 1, &mut |_, _, _| {})
}

/// [`run_encrypted`] calling `on_node(batch, node, elapsed)` after every node of the server's
/// run of every batch (per-layer timing and progress). Errors: as [`run_encrypted`].
pub fn run_encrypted_observed<B: Wire>(
    model: &Model,
    plan: &Plan,
    inputs: &ArrayD<f64>,
    on_node: &mut dyn FnMut(usize, usize, std::time::Duration),
) -> Result<(ArrayD<f64>, RunStats)> {
    run_repeated::<B>(model, plan, inputs, false, 1, on_node)
}

/// [`run_encrypted`] with every batch encrypted, served and decrypted `repeats` times (at
/// least once); the stats keep each part's median per batch; `on_node(batch, node, elapsed)`
/// after every node of every server run.
fn run_repeated<B: Wire>(
    model: &Model,
    plan: &Plan,
    inputs: &ArrayD<f64>,
    progress: bool,
    repeats: usize,
    on_node: &mut dyn FnMut(usize, usize, std::time::Duration),
) -> Result<(ArrayD<f64>, RunStats)> {
    let n = inputs.shape().first().copied().unwrap_or(0);
    if n == 0 {
        return Err(TutorialError::Invalid("no input sample".into()));
    }
    // the plan's packing and keys were chosen for its convolution strategies
    let configured = plan.configure(model)?;
    // the server answers batch after batch: it encodes the dense weights once
    configured.cache_encoded_weights(true);
    let model = &configured;
    let params = plan.params()?;
    let packing = plan.packing()?;
    let batch = plan.batch_size.max(1);
    let mut stats = RunStats {
        backend: B::NAME.to_string(),
        serialized: B::SERIALIZED,
        samples: n,
        batch_size: batch,
        batches: n.div_ceil(batch),
        ..RunStats::default()
    };

    // client: keys for exactly the plan's evaluation keys, public context out as bytes
    let t = Instant::now();
    let client = B::Client::new(&params, &plan.key_requirements())?;
    let public = B::publish(&client)?;
    stats.keygen_seconds = t.elapsed().as_secs_f64();
    stats.public_context_bytes = public.len();
    let cctx = B::client_ctx(&client);

    // server: from the public bytes only
    let server = Server::<B>::open(model, &public)?;

    let mut outputs: Vec<ArrayD<f64>> = Vec::with_capacity(stats.batches);
    let pb = bar(stats.batches, progress, "encrypted");
    for (k, start) in (0..n).step_by(batch).enumerate() {
        let end = (start + batch).min(n);
        let mut shape = inputs.shape().to_vec();
        shape[0] = batch;
        // zero-pad the last batch so every batch has the planned shape and keys
        let chunk = ArrayD::from_shape_fn(IxDyn(&shape), |ix| {
            let mut src = ix.slice().to_vec();
            src[0] += start;
            if src[0] < end {
                inputs[IxDyn(&src)]
            } else {
                0.0
            }
        });
        let (mut enc_t, mut srv_t, mut dec_t) = (Vec::new(), Vec::new(), Vec::new());
        let mut last = None;
        for _ in 0..repeats.max(1) {
            let t = Instant::now();
            let ct =
                model.encrypt_input_with::<B>(&client, &chunk, &packing, EncryptionKey::Secret)?;
            let request = WireTensor::pack(&cctx, &ct)?;
            enc_t.push(t.elapsed().as_secs_f64());

            let t = Instant::now();
            let response = server.serve_observed(&request, |i, dt| on_node(k, i, dt))?;
            srv_t.push(t.elapsed().as_secs_f64());
            if start == 0 {
                stats.request_bytes = request.len_bytes();
                stats.response_bytes = response.len_bytes();
            }

            let t = Instant::now();
            let y = response.unpack(&cctx)?;
            let out = model.decrypt_output::<B>(&client, &y)?;
            dec_t.push(t.elapsed().as_secs_f64());
            last = Some(out);
        }
        stats.encrypt_seconds += median(enc_t);
        stats.server_seconds_per_batch.push(median(srv_t));
        stats.decrypt_seconds += median(dec_t);
        let out = last.ok_or_else(|| TutorialError::Invalid("no run of the batch".into()))?;
        outputs.push(out.slice_axis(Axis(0), (0..end - start).into()).to_owned());
        pb.inc(1);
    }
    pb.finish_and_clear();
    let views: Vec<_> = outputs.iter().map(|o| o.view()).collect();
    let all = ndarray::concatenate(Axis(0), &views)
        .map_err(|e| TutorialError::Invalid(format!("joining outputs: {e}")))?;
    Ok((all, stats))
}
