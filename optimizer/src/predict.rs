//! [`simulate`]: run the model's real encrypted code on the metadata-only simulator, count every
//! operation per kind and level, and turn the counts and the live objects into a
//! [`Prediction`] with a [`CostTable`].

use crate::error::Result;
use crate::plan::Plan;
use hetile_backend::{Backend, Client};
use hetile_layers::Model;
use hetile_sim::{CostTable, Counting, NominalSizes, OpCounts, OpKind, SimBackend};
use hetile_tiles::TileTensor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

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
    /// Calls per operation kind (fused sums of products per term and per output).
    #[serde(default)]
    pub counts: BTreeMap<OpKind, u64>,
    /// Predicted seconds per operation kind with the plan's thread count.
    #[serde(default)]
    pub by_kind: BTreeMap<OpKind, f64>,
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
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NodeTime {
    /// Seconds on one thread.
    pub single: f64,
    /// Seconds on the plan's threads.
    pub threaded: f64,
    /// Seconds on the plan's threads per operation kind.
    pub by_kind: BTreeMap<OpKind, f64>,
}

/// Prices one node's operation counts on one thread and on `threads` threads, for a node whose
/// input has `width` ciphertexts and whose output has `outputs`. The tile code runs a wide
/// node's independent ciphertexts in parallel: with `width >= threads` its calls are priced at
/// the table's parallel per-call times ([`CostTable::predict_parallel`], memory-bandwidth
/// contention included), stretched by the imbalance of `width` jobs over `threads` workers
/// (`ceil(width / threads) * threads / width`); a narrower node runs its calls one after the
/// other, each using the threads inside (the table's multi-thread latencies). Fused linear maps
/// use every thread inside one call either way. A node whose input and output ciphertexts fit
/// the calibration machine's cache ([`CostTable::cache_bytes`]) has the calls that switch no key
/// priced warm ([`CostTable::warm_factor`]). The quick prediction ([`node_times`]) and the full
/// simulation ([`simulate`]) both price through this function.
/// Errors: [`hetile_sim::SimError::MissingCost`].
pub(crate) fn price_node(
    counts: &OpCounts,
    width: usize,
    outputs: usize,
    sizes: &NominalSizes,
    threads: usize,
    costs: &CostTable,
) -> Result<NodeTime> {
    let log_n = sizes.degree.trailing_zeros();
    let ct_bytes = 2 * 8 * sizes.degree as u64 * sizes.q_primes as u64;
    let live = (width as u64).saturating_add(outputs as u64);
    let warm = costs.cache_bytes > 0 && live.saturating_mul(ct_bytes) <= costs.cache_bytes;
    let sizes = Some(sizes);
    let one = costs.predict_latency_in(counts, log_n, 1, sizes, warm)?;
    let single = one.total_seconds;
    let (threaded, by_kind) = if threads <= 1 {
        (single, one.by_kind)
    } else if width >= threads {
        let imbalance = width.div_ceil(threads) as f64 * threads as f64 / width as f64;
        let p = costs.predict_parallel_in(counts, log_n, threads, sizes, warm)?;
        let by_kind = p.by_kind.iter().map(|(k, s)| (*k, s * imbalance)).collect();
        (p.total_seconds * imbalance, by_kind)
    } else {
        let p = costs.predict_latency_in(counts, log_n, threads, sizes, warm)?;
        (p.total_seconds, p.by_kind)
    };
    Ok(NodeTime {
        single,
        threaded,
        by_kind,
    })
}

/// Per node of `mp` (input at level `top`): its planned counts at its input level, as the fused
/// evaluator runs them ([`OpCounts::from_op_cost_fused`]), priced by [`price_node`].
/// Errors: [`hetile_sim::SimError::MissingCost`].
pub(crate) fn node_times(
    mp: &hetile_layers::ModelPlan,
    sizes: &NominalSizes,
    threads: usize,
    costs: &CostTable,
) -> Result<Vec<NodeTime>> {
    let top = sizes.q_primes.saturating_sub(1);
    let mut out = Vec::with_capacity(mp.nodes.len());
    let mut depth_before = 0usize;
    let mut width = mp.input.num_tiles();
    for node in &mp.nodes {
        let outputs = node.plan.output.num_tiles();
        let level = top.saturating_sub(depth_before);
        let mut counts = OpCounts::from_op_cost_fused(&node.plan.cost, level, outputs);
        // a fused map reads its inputs at least once (a planned lower bound)
        let maps = node.plan.cost.scalar_mults;
        if maps > 0 {
            let reads = width.min(maps) as u64;
            counts.record(OpKind::LinearMapInput, level, reads, Duration::ZERO);
        }
        out.push(price_node(
            &counts,
            width.min(outputs),
            outputs,
            sizes,
            threads,
            costs,
        )?);
        depth_before = node.depth_after;
        width = outputs;
    }
    Ok(out)
}

/// Homomorphic operations of a node's counts: every server-side call, a fused sum of products
/// counted once per output (not per term).
fn operations(counts: &OpCounts) -> u64 {
    counts
        .iter()
        .filter(|(k, _)| {
            k.kind.in_op_cost()
                && !matches!(k.kind, OpKind::LinearMapTerm | OpKind::MulPlainSumTerm)
        })
        .map(|(_, s)| s.count)
        .sum()
}

/// Simulates one run of `plan` on `model` (configured with the plan's convolution strategies,
/// [`Plan::configure`]): the client packs and encrypts a batch, the server
/// runs the model's encrypted forward, the client decrypts, all on [`SimBackend`] ciphertexts
/// that carry only metadata, under the counting decorator. Counts per kind and level and the
/// live objects at the peak become seconds and bytes through `costs`.
///
/// Each node's counted operations (fused linear maps as their own kinds) are priced by
/// [`price_node`] on one thread and on the plan's threads; the latencies are their sums.
/// Errors: parameter, layer and simulator errors (the same the native run would raise: missing
/// keys, exhausted levels, scale mismatches) and [`hetile_sim::SimError::MissingCost`].
pub fn simulate(model: &Model, plan: &Plan, costs: &CostTable) -> Result<Prediction> {
    simulate_timed(model, plan, costs).map(|(p, _)| p)
}

/// As [`simulate`], also returning the wall time of the simulated server pass in seconds (the
/// encrypted forward on metadata-only ciphertexts under the counting decorator: what compares
/// with a real run's server time; the model's configuration, the parameters and the client's
/// side are not in it).
/// Errors: as [`simulate`].
pub fn simulate_timed(model: &Model, plan: &Plan, costs: &CostTable) -> Result<(Prediction, f64)> {
    let configured = plan.configure(model)?;
    let model = &configured;
    let params = plan.params()?;
    let packing = plan.packing()?;
    let keys = plan.key_requirements();
    let log_n = plan.params.log_n;
    let top = params.max_level().0;
    let mp = model.plan(&packing, plan.batch_size)?;
    let client = <Counting<SimBackend> as Backend>::Client::new(&params, &keys)?;
    // The simulator's ciphertexts carry no values: the input tiles are encrypted from empty
    // slot vectors at the level and scale `Model::encrypt_input` uses, so no batch of real
    // data (possibly gigabytes of image patches) is built.
    let shape = mp.input.clone();
    let tiles = (0..shape.num_tiles())
        .map(|_| client.encrypt_values(&[]))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let client_bytes = 2 * 8 * shape.logical_shape().iter().product::<usize>() as u64;
    let ct = TileTensor::<Counting<SimBackend>>::from_tiles(shape, tiles)
        .map_err(hetile_layers::LayerError::from)?;
    let client_in = client.snapshot();
    client.counter().reset();
    let ev = client.evaluator()?;
    let mut per_node: Vec<OpCounts> = Vec::with_capacity(mp.nodes.len());
    let counter = client.counter();
    // the model's plan on this input is `mp` (made above for the prediction): not made again
    let mut run = || {
        model.forward_encrypted_planned::<Counting<SimBackend>>(&ev, &ct, &mp, |_, _| {
            // the operations of this node: the counts since the previous node (or the reset)
            per_node.push(counter.take_since_last());
        })
    };
    // metadata-only operations take nanoseconds: the tile and layer loops never split on
    // this backend (`hetile_tiles::seq_min_len`), so the pass runs inline on this thread, with
    // no hand-over to a pool (the counts do not depend on it)
    let started = Instant::now();
    let out = run();
    let simulation_seconds = started.elapsed().as_secs_f64();
    let out = out?;
    client.counter().reset();
    drop(ct);
    model.decrypt_output::<Counting<SimBackend>>(&client, &out)?;
    let client_out = client.snapshot();
    let memory = client.inner().memory();

    let threads = plan.threads;
    let sizes = NominalSizes::of(&params);
    let mem = costs.predict_memory(&memory, log_n, top);
    let mut layers = Vec::with_capacity(mp.nodes.len());
    let mut single = 0.0;
    let mut width = mp.input.num_tiles();
    for (index, (node, counts)) in mp.nodes.iter().zip(&per_node).enumerate() {
        let outputs = node.plan.output.num_tiles();
        let t = price_node(counts, width, outputs, &sizes, threads, costs)?;
        single += t.single;
        width = outputs;
        layers.push(LayerPrediction {
            index,
            kind: node.kind.to_string(),
            seconds: t.threaded,
            operations: operations(counts),
            depth_after: node.depth_after,
            counts: counts.iter().fold(BTreeMap::new(), |mut m, (k, s)| {
                *m.entry(k.kind).or_default() += s.count;
                m
            }),
            by_kind: t.by_kind,
        });
    }
    let latency: f64 = layers.iter().map(|l| l.seconds).sum();
    let prediction = Prediction {
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
        input_ciphertexts: client_in.count(OpKind::Encrypt) as usize,
        layers,
    };
    Ok((prediction, simulation_seconds))
}
