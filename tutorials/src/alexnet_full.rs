//! The full-size HE-friendly AlexNet (Krizhevsky et al. 2012, torchvision's layout): input
//! `3 x 224 x 224`, five convolutions (11x11 stride 4 -> 64, 5x5 -> 192, 3x3 -> 384, 256,
//! 256), three dense layers (9216 -> 4096 -> 4096 -> 1000), each max pool (3, stride 2)
//! replaced by an average pool and each ReLU by a degree-2 activation.
//!
//! Paddings: torchvision pads the convolutions by 2, 2, 1, 1, 1 ([`TORCHVISION_PADS`]); the
//! encrypted tutorial ([`crate::alexnet_packed`], channel-packed, one image) runs that network.
//! The batched interleaved convolutions of `hetile-layers` ([`predict`]) need the interleaving
//! grid divisible by the product of the strides (4 x 2 x 2 x 2 = 32) and each padded window
//! inside the layout, which the padded 228x228 input cannot give. [`HE_PADS`] (16, 1, 1, 1, 1)
//! can: the client's padded image is 256x256 (grid 32 with 8x8
//! tiles), conv1 gives 62x62, pool 30, conv2 28, pool 13, conv3..5 13, pool 6, so the flatten
//! is 9216 as in AlexNet and every weight shape (61.1M parameters) is unchanged.
//!
//! The weights are not trained: they are drawn from a seed, He-scaled (uniform on
//! `±sqrt(6 / fan_in)`, biases on `±0.05`), by a counter-based generator ([`weight_value`])
//! that `tutorials/training/make_alexnet.py` implements identically, so the ONNX file that
//! script writes and the model [`build`] makes agree (weights rounded to `f32` in both).
//!
//! The activation is the square of an affine map, `act(x) = (ALPHA x + BETA)^2`, with the map
//! folded into the preceding layer (so the encrypted network runs plain squares). `ALPHA` and
//! `BETA` are chosen so that under He scaling the mean square of the activations has the
//! stable fixed point 1: with `s` the variance of a layer's output, the next one is about
//! `2 (3 a^4 s^2 + 6 a^2 b^2 s + b^4)`, which maps 1 to 1 with slope about 0.54 for
//! `a^2 = (sqrt(4/3) - 1) / 2`, `b^2 = 1/2`. Values stay bounded through all seven
//! activations (no trained network needed to keep CKKS in range).
//!
//! [`AlexnetSpec::tiny`] is the same network shrunk (64x64 input, channels / 16, hidden 64,
//! 10 classes) for tests.

use crate::error::{Result, TutorialError};
use crate::split::splitmix64;
use hetile_backend::SecurityLevel;
use hetile_layers::{ConvStrategy, Model, Packing};
use ndarray::{Array1, Array2, Array4, ArrayD, IxDyn};
use serde::Serialize;
use std::collections::BTreeMap;

/// The default seed of the full network.
pub const FULL_SEED: u64 = 2012;

/// The input seed's tensor id (the seeded test image).
pub const INPUT_TENSOR: u64 = 200;

/// The shape of an AlexNet-style network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlexnetSpec {
    /// The per-sample input `[C, H, W]`.
    pub input: [usize; 3],
    /// Output channels of the five convolutions.
    pub channels: [usize; 5],
    /// Width of the two hidden dense layers.
    pub hidden: usize,
    /// Number of classes (outputs of the last dense layer).
    pub classes: usize,
    /// The paddings of the five convolutions.
    pub pads: [usize; 5],
    /// The weight seed (below `2^28`).
    pub seed: u64,
}

impl AlexnetSpec {
    /// The full-size network: `3 x 224 x 224`, channels 64, 192, 384, 256, 256, hidden 4096,
    /// 1000 classes, paddings [`HE_PADS`].
    pub fn full(seed: u64) -> AlexnetSpec {
        AlexnetSpec {
            input: [3, 224, 224],
            channels: [64, 192, 384, 256, 256],
            hidden: 4096,
            classes: 1000,
            pads: HE_PADS,
            seed,
        }
    }
    /// The full-size network with torchvision's paddings ([`TORCHVISION_PADS`]; no
    /// interleaved layout fits it).
    pub fn torchvision(seed: u64) -> AlexnetSpec {
        AlexnetSpec {
            pads: TORCHVISION_PADS,
            ..AlexnetSpec::full(seed)
        }
    }
    /// The test-size network: `3 x 96 x 96`, channels 4, 12, 24, 16, 16, hidden 64, 10
    /// classes, paddings [`HE_PADS`] (padded input 128x128: grid 32 with 4x4 tiles).
    pub fn tiny(seed: u64) -> AlexnetSpec {
        AlexnetSpec {
            input: [3, 96, 96],
            channels: [4, 12, 24, 16, 16],
            hidden: 64,
            classes: 10,
            pads: HE_PADS,
            seed,
        }
    }
}

/// The convolutions' kernel and stride (AlexNet's).
pub const CONV_GEOMETRY: [(usize, usize); 5] = [(11, 4), (5, 1), (3, 1), (3, 1), (3, 1)];
/// torchvision's convolution paddings.
pub const TORCHVISION_PADS: [usize; 5] = [2, 2, 1, 1, 1];
/// The paddings that fit the interleaved layout (see the module doc).
pub const HE_PADS: [usize; 5] = [16, 1, 1, 1, 1];
/// The average pools (kernel 3, stride 2) follow these convolutions (0-based).
pub const POOL_AFTER: [usize; 3] = [0, 1, 4];

/// `a` of the activation `(a x + b)^2`: `sqrt((sqrt(4/3) - 1) / 2)`.
pub fn alpha() -> f64 {
    (((4.0f64 / 3.0).sqrt() - 1.0) / 2.0).sqrt()
}
/// `b` of the activation `(a x + b)^2`: `sqrt(1/2)`.
pub fn beta() -> f64 {
    0.5f64.sqrt()
}

/// The uniform value in `[0, 1)` at position `i` of tensor `tensor` for `seed`:
/// `(splitmix64((seed << 36) ^ (tensor << 28) ^ i) >> 11) * 2^-53` (wrapping; `i < 2^28`).
pub fn weight_value(seed: u64, tensor: u64, i: u64) -> f64 {
    let h = splitmix64((seed << 36) ^ (tensor << 28) ^ i);
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Tensor `tensor` of `n` values: `(2 u - 1) * bound`, then (when `fold`) `ALPHA * w + shift`,
/// rounded to `f32` (as the ONNX file stores them).
fn draw(seed: u64, tensor: u64, n: usize, bound: f64, fold: Option<f64>) -> Vec<f64> {
    (0..n as u64)
        .map(|i| {
            let w = (2.0 * weight_value(seed, tensor, i) - 1.0) * bound;
            let v = match fold {
                Some(shift) => alpha() * w + shift,
                None => w,
            };
            v as f32 as f64
        })
        .collect()
}

fn shape_err(e: impl std::fmt::Display) -> TutorialError {
    TutorialError::Invalid(format!("alexnet weights: {e}"))
}

/// The weights `[Cout, Cin, k, k]` and bias of convolution `index` (tensor ids `2 index` and
/// `2 index + 1`), activation folded in. Errors: [`TutorialError::Invalid`] (never for valid
/// sizes).
pub fn conv_weights(
    spec: &AlexnetSpec,
    index: usize,
    cin: usize,
) -> Result<(Array4<f64>, Array1<f64>)> {
    let (k, _) = CONV_GEOMETRY[index];
    let cout = spec.channels[index];
    let fan_in = cin * k * k;
    let bound = (6.0 / fan_in as f64).sqrt();
    let t = 2 * index as u64;
    let w = draw(spec.seed, t, cout * fan_in, bound, Some(0.0));
    let b = draw(spec.seed, t + 1, cout, 0.05, Some(beta()));
    Ok((
        Array4::from_shape_vec((cout, cin, k, k), w).map_err(shape_err)?,
        Array1::from(b),
    ))
}

/// The weights `[out, in]` and bias of dense layer `index` (0..3; tensor ids `10 + 2 index`,
/// `11 + 2 index`), activation folded in except for the last.
/// Errors: [`TutorialError::Invalid`] (never for valid sizes).
pub fn dense_weights(
    spec: &AlexnetSpec,
    index: usize,
    fan_in: usize,
) -> Result<(Array2<f64>, Array1<f64>)> {
    let out = if index < 2 { spec.hidden } else { spec.classes };
    let bound = (6.0 / fan_in as f64).sqrt();
    let t = 10 + 2 * index as u64;
    let (wf, bf) = if index < 2 {
        (Some(0.0), Some(beta()))
    } else {
        (None, None)
    };
    let w = draw(spec.seed, t, out * fan_in, bound, wf);
    let b = draw(spec.seed, t + 1, out, 0.05, bf);
    Ok((
        Array2::from_shape_vec((out, fan_in), w).map_err(shape_err)?,
        Array1::from(b),
    ))
}

/// The network of `spec` built directly (no ONNX): conv -> square [-> avgpool 3/2] five times,
/// flatten, dense -> square twice, dense. Errors: [`TutorialError::Layer`] when the input is
/// too small for the layers (the builder's message).
pub fn build(spec: &AlexnetSpec) -> Result<Model> {
    let mut b = Model::sequential(&spec.input);
    let mut cin = spec.input[0];
    for (i, &(_, stride)) in CONV_GEOMETRY.iter().enumerate() {
        let (w, bias) = conv_weights(spec, i, cin)?;
        b = b.conv2d(w, bias, stride, spec.pads[i]).square();
        if POOL_AFTER.contains(&i) {
            b = b.avg_pool(3, 2);
        }
        cin = spec.channels[i];
    }
    b = b.flatten();
    let mut fan_in: usize = b.current_dims().iter().product();
    for i in 0..3 {
        let (w, bias) = dense_weights(spec, i, fan_in)?;
        b = b.dense(w, bias);
        if i < 2 {
            b = b.square();
        }
        fan_in = if i < 2 { spec.hidden } else { spec.classes };
    }
    Ok(b.build()?)
}

/// The seeded test image of `spec`: `[1, C, H, W]`, values uniform in `[0, 1)` (tensor
/// [`INPUT_TENSOR`], rounded to `f32`).
/// Errors: [`TutorialError::Invalid`] (never for valid sizes).
pub fn seeded_input(spec: &AlexnetSpec) -> Result<ArrayD<f64>> {
    let [c, h, w] = spec.input;
    let v: Vec<f64> = (0..(c * h * w) as u64)
        .map(|i| weight_value(spec.seed, INPUT_TENSOR, i) as f32 as f64)
        .collect();
    ArrayD::from_shape_vec(IxDyn(&[1, c, h, w]), v).map_err(shape_err)
}

/// Number of weights (and biases) of the network of `spec`.
pub fn parameter_count(model: &Model) -> usize {
    model
        .nodes()
        .iter()
        .map(|n| match n {
            hetile_layers::Node::Dense(d) => d.weights().len() + d.bias().len(),
            hetile_layers::Node::Conv2d(c) => c.weights().len() + c.bias().len(),
            _ => 0,
        })
        .sum()
}

/// What the optimizer and the simulator say about a network (no encrypted run).
#[derive(Debug, Clone, Serialize)]
pub struct FullPrediction {
    /// The network's shape.
    pub spec: AlexnetSpec,
    /// Number of weights and biases.
    pub parameters: usize,
    /// Number of nodes.
    pub nodes: usize,
    /// Seconds the plan search took.
    pub search_seconds: f64,
    /// The chosen plan, with the simulator's prediction (per layer in `plan.predicted.layers`).
    pub plan: hetile_opt::Plan,
    /// Valid candidates considered.
    pub candidates: usize,
    /// Rejected candidates by reason (layout, precision, security, memory), with counts.
    pub rejections: Vec<(String, usize)>,
}

/// The convolution strategies the full-size search tries: all interleaved. (An
/// image-to-column first convolution cannot feed interleaved ones, and unrolled convolutions
/// are out: their Toeplitz matrices would take tens of GB at this size. The optimizer's
/// exhaustive search, `3^5` strategy variants each a copy of the 61M-weight model, does not
/// fit in memory either.)
pub fn strategy_candidates() -> Vec<[ConvStrategy; 5]> {
    vec![[ConvStrategy::Interleaved; 5]]
}

/// A rough cost of a planned run, to rank candidates before the full simulations: the
/// operation counts weighted by their usual relative cost, times the ring degree.
fn rough_cost(mp: &hetile_layers::ModelPlan, log_n: u32) -> f64 {
    let c = &mp.cost;
    let ops = 10.0 * (c.rotations + c.ct_mults) as f64
        + c.pt_mults as f64
        + 2.0 * c.rescales as f64
        + 0.1 * (c.additions + c.scalar_mults) as f64;
    ops * f64::from(1u32 << (log_n - 13))
}

/// How many of the best roughly-ranked candidates [`predict`] simulates in full (at most).
pub const SIMULATED: usize = 6;

/// Searches a plan for `model` (built from `spec`) and predicts it: for each of
/// [`strategy_candidates`], ring degree `2^log_n` in `log_ns` and packing tile `[t0, t1, t2]`
/// (batch `t2`, at most `max_batch`), the model's plan gives the depth and counts; the chain
/// is the optimizer's for that depth (scale 2^40, 128-bit security); candidates whose input
/// ciphertexts alone exceed `cap` are dropped; memory being the binding constraint at this
/// size, candidates are ranked by the bytes of their input ciphertexts, then by
/// [`rough_cost`] per image; the first are simulated in full ([`hetile_opt::Plan::manual`],
/// at most [`SIMULATED`], stopping after two fit), and the one with the highest predicted
/// throughput under `cap` wins.
/// Errors: [`TutorialError::Plan`] when no candidate fits (the reasons, counted).
pub fn predict(
    spec: &AlexnetSpec,
    model: &Model,
    log_ns: &[u32],
    max_batch: usize,
    threads: usize,
    cap: u64,
) -> Result<FullPrediction> {
    let t = std::time::Instant::now();
    let mut rejected: BTreeMap<String, usize> = BTreeMap::new();
    let mut reject = |r: String| *rejected.entry(r).or_default() += 1;
    type Ranked = (
        u64,
        f64,
        usize,
        u32,
        [usize; 3],
        hetile_backend::ParamsLiteral,
    );
    let mut ranked: Vec<Ranked> = Vec::new();
    let mut variants = Vec::new();
    for combo in strategy_candidates() {
        let mut m = model.clone();
        if let Err(e) = m.with_conv_strategies(&combo) {
            reject(format!("strategy: {}", first_words(&e.to_string())));
            continue;
        }
        let v = variants.len();
        for &log_n in log_ns {
            let slots = 1usize << (log_n - 1);
            let mut batch = 1;
            while batch <= max_batch.min(slots) {
                for p in Packing::enumerate(slots, batch).unwrap_or_default() {
                    let mp = match m.plan(&p, batch) {
                        Ok(mp) => mp,
                        Err(e) => {
                            reject(format!("layout: {}", first_words(&e.to_string())));
                            continue;
                        }
                    };
                    let params =
                        match crate::plan::chain(log_n, mp.depth, SecurityLevel::Classical128) {
                            Ok(params) => params,
                            Err(_) => {
                                reject(format!("security: depth {} at N = 2^{log_n}", mp.depth));
                                continue;
                            }
                        };
                    // the input ciphertexts alone: 2 polynomials of N words per prime
                    let primes = params.log_q.len() as u64;
                    let floor = mp.input.num_tiles() as u64 * 2 * 8 * (1u64 << log_n) * primes;
                    if floor > cap {
                        reject("memory: the input ciphertexts alone are above the cap".into());
                        continue;
                    }
                    let per_image = rough_cost(&mp, log_n) / batch as f64;
                    ranked.push((floor, per_image, v, log_n, p.tile(), params));
                }
                batch *= 2;
            }
        }
        variants.push(m);
    }
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let candidates = ranked.len();
    let mut best: Option<hetile_opt::Plan> = None;
    let mut fitting = 0;
    for (_, _, v, _, tile, params) in ranked.into_iter().take(SIMULATED) {
        let plan = hetile_opt::Plan::manual(&variants[v], params, tile, tile[2], threads)?;
        let pred = &plan.predicted;
        if pred.peak_memory_bytes.max(pred.client_memory_bytes) > cap {
            reject(format!(
                "memory: simulated peak above the cap of {:.1} GB",
                cap as f64 / 1e9
            ));
            continue;
        }
        fitting += 1;
        if best
            .as_ref()
            .is_none_or(|b| pred.throughput_per_second > b.predicted.throughput_per_second)
        {
            best = Some(plan);
        }
        if fitting >= 2 {
            break;
        }
    }
    let mut rejections: Vec<(String, usize)> = rejected.into_iter().collect();
    rejections.sort_by_key(|r| std::cmp::Reverse(r.1));
    let plan = best.ok_or_else(|| {
        TutorialError::Plan(
            rejections
                .iter()
                .map(|(r, n)| format!("{n} x {r}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    Ok(FullPrediction {
        spec: spec.clone(),
        parameters: parameter_count(model),
        nodes: model.nodes().len(),
        search_seconds: t.elapsed().as_secs_f64(),
        candidates,
        rejections,
        plan,
    })
}

/// The first words of an error message (to group rejections).
fn first_words(s: &str) -> String {
    s.split_whitespace().take(16).collect::<Vec<_>>().join(" ")
}
