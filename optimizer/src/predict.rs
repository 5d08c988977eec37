//! [`simulate`]: run the model's real encrypted code on the metadata-only simulator, count every
//! operation per kind and level, and turn the counts and the live objects into a
//! [`Prediction`] with a [`CostTable`].

use crate::error::Result;
use crate::plan::Plan;
use hetile_backend::{Backend, Client};
use hetile_layers::Model;
use hetile_sim::{CostTable, Counting, OpCounts, SimBackend};
use hetile_tiles::TileTensor;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The predicted cost of one layer (node) of the server's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerPrediction {
    /// The node's index in the model.
    pub index: usize,
    /// The layer kind ("dense", "conv2d", ...).
    pub kind: String,
    /// Predicted seconds with the plan's thread count.
    pub seconds: f64,
    /// Homomorphic operations (rotations, products, additions, rescales).
    pub operations: u64,
    /// Levels consumed from the input up to and including this node.
    pub depth_after: usize,
}

/// The simulator's prediction for one run of a plan.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Prediction {
    /// The server's time for one batch with the plan's thread count, in seconds.
    pub latency_seconds: f64,
    /// The server's time for one batch on one thread, in seconds.
    pub latency_single_thread_seconds: f64,
    /// Samples per second at the plan's batch size (server side).
    pub throughput_per_second: f64,
    /// The client's time to encode and encrypt one batch, in seconds.
    #[serde(default)]
    pub encrypt_seconds: f64,
    /// The client's time to decrypt and decode one batch's result, in seconds.
    #[serde(default)]
    pub decrypt_seconds: f64,
    /// Peak memory of the run: live ciphertexts and plaintexts at the peak plus the evaluation
    /// keys, in bytes.
    pub peak_memory_bytes: u64,
    /// The client's peak while packing one batch: the logical input array and its packed slot
    /// values (8 bytes each; image-to-column patches make this large), in bytes.
    #[serde(default)]
    pub client_memory_bytes: u64,
    /// Bytes of the evaluation keys.
    pub key_bytes: u64,
    /// Number of evaluation (key-switching) keys.
    pub key_count: usize,
    /// Levels the run consumes.
    pub depth: usize,
    /// Ciphertexts the client sends per batch.
    #[serde(default)]
    pub input_ciphertexts: usize,
    /// Per layer, in node order.
    pub layers: Vec<LayerPrediction>,
}

impl fmt::Display for Prediction {
    /// A readable table: totals, then one line per layer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "latency {:.4} s ({:.4} s on 1 thread), throughput {:.1} samples/s",
            self.latency_seconds, self.latency_single_thread_seconds, self.throughput_per_second
        )?;
        writeln!(
            f,
            "client: encrypt {:.4} s ({} ciphertexts, {:.1} MiB of packed input), decrypt {:.4} s",
            self.encrypt_seconds,
            self.input_ciphertexts,
            mib(self.client_memory_bytes),
            self.decrypt_seconds
        )?;
        writeln!(
            f,
            "peak memory {:.1} MiB, {} keys ({:.1} MiB), depth {}",
            mib(self.peak_memory_bytes),
            self.key_count,
            mib(self.key_bytes),
            self.depth
        )?;
        writeln!(
            f,
            "{:>4}  {:<12} {:>10} {:>8} {:>6}",
            "node", "layer", "seconds", "ops", "depth"
        )?;
        for l in &self.layers {
            writeln!(
                f,
                "{:>4}  {:<12} {:>10.4} {:>8} {:>6}",
                l.index, l.kind, l.seconds, l.operations, l.depth_after
            )?;
        }
        Ok(())
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 20)
}

/// The predicted time of one node, on one thread and on the plan's threads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NodeTime {
    /// Seconds on one thread.
    pub single: f64,
    /// Seconds on the plan's threads.
    pub threaded: f64,
}

/// Per node of `mp` (input at level `top`): its planned counts at its input level priced on
/// one thread, and on `threads` threads. The tile code runs independent ciphertexts of a node
/// in parallel, so a node whose input has at least `threads` ciphertexts takes its
/// single-thread time divided by `threads`; a narrower node runs its operations one after the
/// other, each using the threads inside (the table's multi-thread latencies).
/// Errors: [`hetile_sim::SimError::MissingCost`].
pub(crate) fn node_times(
    mp: &hetile_layers::ModelPlan,
    top: usize,
    log_n: u32,
    threads: usize,
    costs: &CostTable,
) -> Result<Vec<NodeTime>> {
    let mut out = Vec::with_capacity(mp.nodes.len());
    let mut depth_before = 0usize;
    let mut width = mp.input.num_tiles();
    for node in &mp.nodes {
        let counts = OpCounts::from_op_cost(&node.plan.cost, top.saturating_sub(depth_before));
        let single = costs.predict_latency(&counts, log_n, 1)?.total_seconds;
        let threaded = if threads <= 1 {
            single
        } else if width >= threads {
            single / threads as f64
        } else {
            costs
                .predict_latency(&counts, log_n, threads)?
                .total_seconds
        };
        out.push(NodeTime { single, threaded });
        depth_before = node.depth_after;
        width = node.plan.output.num_tiles();
    }
    Ok(out)
}

/// Simulates one run of `plan` on `model` (configured with the plan's convolution strategies,
/// [`Plan::configure`]): the client packs and encrypts a batch, the server
/// runs the model's encrypted forward, the client decrypts, all on [`SimBackend`] ciphertexts
/// that carry only metadata, under the counting decorator. Counts per kind and level and the
/// live objects at the peak become seconds and bytes through `costs`.
///
/// The single-thread latency is the counted run's, priced with `costs`; per node, the planned
/// counts at the node's input level distribute it, and the multi-thread latency is the sum of
/// the nodes' times on the plan's threads (see [`node_times`]).
/// Errors: parameter, layer and simulator errors (the same the native run would raise: missing
/// keys, exhausted levels, scale mismatches) and [`hetile_sim::SimError::MissingCost`].
pub fn simulate(model: &Model, plan: &Plan, costs: &CostTable) -> Result<Prediction> {
    let configured = plan.configure(model)?;
    let model = &configured;
    let params = plan.params()?;
    let packing = plan.packing()?;
    let keys = plan.key_requirements();
    let log_n = plan.params.log_n;
    let top = params.max_level().0;
    let client = <Counting<SimBackend> as Backend>::Client::new(&params, &keys)?;
    // The simulator's ciphertexts carry no values: the input tiles are encrypted from empty
    // slot vectors at the level and scale `Model::encrypt_input` uses, so no batch of real
    // data (possibly gigabytes of image patches) is built.
    let shape = model.input_shape(&packing, plan.batch_size)?;
    let tiles = (0..shape.num_tiles())
        .map(|_| client.encrypt_values(&[]))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let client_bytes = 2 * 8 * shape.logical_shape().iter().product::<usize>() as u64;
    let ct = TileTensor::<Counting<SimBackend>>::from_tiles(shape, tiles)
        .map_err(hetile_layers::LayerError::from)?;
    let client_in = client.snapshot();
    client.counter().reset();
    let ev = client.evaluator()?;
    let out = model.forward_encrypted::<Counting<SimBackend>>(&ev, &ct)?;
    let server = client.snapshot();
    client.counter().reset();
    drop(ct);
    model.decrypt_output::<Counting<SimBackend>>(&client, &out)?;
    let client_out = client.snapshot();
    let memory = client.inner().memory();

    let threads = plan.threads;
    let counted_single = costs.predict_latency(&server, log_n, 1)?.total_seconds;
    let mem = costs.predict_memory(&memory, log_n, top);
    let mp = model.plan(&packing, plan.batch_size)?;
    let times = node_times(&mp, top, log_n, threads, costs)?;
    // The counted run is the reference for the single-thread total; the planned per-node
    // counts only distribute it (they agree with the run up to bookkeeping operations).
    let planned_single: f64 = times.iter().map(|t| t.single).sum();
    let k = if planned_single > 0.0 {
        counted_single / planned_single
    } else {
        1.0
    };
    let mut layers = Vec::with_capacity(mp.nodes.len());
    for (index, (node, t)) in mp.nodes.iter().zip(&times).enumerate() {
        let c = node.plan.cost;
        layers.push(LayerPrediction {
            index,
            kind: node.kind.to_string(),
            seconds: k * t.threaded,
            operations: (c.rotations
                + c.ct_mults
                + c.pt_mults
                + c.scalar_mults
                + c.additions
                + c.rescales) as u64,
            depth_after: node.depth_after,
        });
    }
    let latency: f64 = layers.iter().map(|l| l.seconds).sum();
    let single = counted_single;
    Ok(Prediction {
        latency_seconds: latency,
        latency_single_thread_seconds: single,
        throughput_per_second: if latency > 0.0 {
            plan.batch_size as f64 / latency
        } else {
            0.0
        },
        encrypt_seconds: costs.predict_latency(&client_in, log_n, 1)?.total_seconds,
        decrypt_seconds: costs.predict_latency(&client_out, log_n, 1)?.total_seconds,
        peak_memory_bytes: mem.total_bytes,
        client_memory_bytes: client_bytes,
        key_bytes: mem.key_bytes,
        key_count: plan.rotation_steps.len() + usize::from(plan.relinearization),
        depth: mp.depth,
        input_ciphertexts: client_in.count(hetile_sim::OpKind::Encrypt) as usize,
        layers,
    })
}
