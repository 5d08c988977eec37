//! Channel-packed execution of a convolutional network on one sample (batch 1).
//!
//! The tile-tensor layouts of this crate batch samples along the slots, which is what makes a
//! 224x224 AlexNet cost hours per batch: every slot of every ciphertext carries one sample of one
//! pixel. Here the slots carry the channels of one image instead ([`Grid`]): each ciphertext is
//! cut into blocks, one channel image per block, so a convolution is a linear map on slots
//! evaluated by generalized diagonals with baby-step giant-step (see `transform`): the kernel
//! taps are baby steps (hoisted), the block shifts between channels are the giant steps
//! (Horner's rule, one key). Weights are encoded per diagonal on the fly and dropped.
//!
//! The lowering ([`PackedNet::new`]) handles `conv -> activation -> [avgpool]`* `-> flatten ->
//! (dense -> activation)* -> dense`, the shape of CryptoNets and AlexNet:
//! - The first convolution may have any stride. The client packs the padded image
//!   space-to-depth by `stride * pool stride` (the pooling after that convolution), so that the
//!   first convolution is a stride-1 convolution of small kernel whose outputs come in
//!   `pool stride^2` phases; the pooling then combines whole phase ciphertexts, and its output is
//!   compact (one value per slot, not one per `stride^2`).
//! - Later convolutions have stride 1; a pooling of stride `s` leaves values `s` slots apart,
//!   and the next convolution writes two channels into the gaps of each block axis (`mux`), so
//!   the blocks stay full.
//! - Dense layers read any layout through a slot-to-feature table and write a vector repeated
//!   along the slots.
//!
//! Every linear layer takes one level, a square one, an average pooling none (its `1/k^2` is
//! folded into the next linear layer).

mod diag;
mod layout;
mod transform;

pub use layout::{Grid, Layout};

use crate::error::{LayerError, Result};
use crate::layers::{Activation, Conv2d};
use crate::model::{Model, Node};
use crate::poly::ChebyshevSeries;
use diag::{ConvDiagonals, DenseDiagonals};
use hetile_backend::KeyRequirements;
use ndarray::{Array1, Array2, Array4};
use std::borrow::Cow;

/// An invalid-parameter error of the packed executor.
pub(crate) fn param_err(reason: String) -> LayerError {
    LayerError::InvalidParameter {
        layer: "packed",
        reason,
    }
}

/// One step of a [`PackedNet`].
#[derive(Debug, Clone)]
pub enum Stage<'m> {
    /// A stride-1 convolution between grids (weights times `factor`).
    Conv {
        /// `[Cout, Cin, k, k]`.
        weights: Cow<'m, Array4<f64>>,
        /// Per output channel.
        bias: Cow<'m, Array1<f64>>,
        /// Zero padding on each side.
        pad: usize,
        /// The pending factor of preceding average poolings.
        factor: f64,
        /// The input layout.
        input: Grid,
        /// The output layout.
        output: Grid,
    },
    /// `x^2` on every ciphertext.
    Square,
    /// A polynomial on every ciphertext.
    Poly(ChebyshevSeries),
    /// A sum over a `kernel x kernel` window every `stride` values (the average's `1/k^2` is
    /// folded into the next linear layer).
    Pool {
        /// The window.
        kernel: usize,
        /// The step.
        stride: usize,
        /// The input layout.
        input: Grid,
        /// The output layout.
        output: Grid,
    },
    /// The pooling after the first convolution: its input holds `stride^2` phases of each
    /// channel (phase `(py, px)` holds the values at `(stride y + py, stride x + px)`), ciphertext
    /// `phase * phase_cts + k`.
    PhasePool {
        /// The window.
        kernel: usize,
        /// The step (phases per axis).
        stride: usize,
        /// Ciphertexts per phase.
        phase_cts: usize,
        /// The input layout (all phases).
        input: Grid,
        /// The output layout.
        output: Grid,
    },
    /// A dense layer; its output is a vector repeated every `period` slots.
    Dense {
        /// `[out, in]`.
        weights: &'m Array2<f64>,
        /// Per output.
        bias: &'m Array1<f64>,
        /// The pending factor of preceding average poolings.
        factor: f64,
        /// The input layout.
        input: Layout,
        /// The output repetition period.
        period: usize,
    },
}

impl Stage<'_> {
    /// The diagonals of a convolution stage.
    pub(crate) fn conv_diagonals(&self) -> Option<ConvDiagonals<'_>> {
        match self {
            Stage::Conv {
                weights,
                bias,
                pad,
                factor,
                input,
                output,
            } => Some(ConvDiagonals::new(
                weights, bias, *factor, *pad, *input, *output,
            )),
            _ => None,
        }
    }

    /// The diagonals of a dense stage.
    pub(crate) fn dense_diagonals(&self) -> Option<DenseDiagonals<'_>> {
        match self {
            Stage::Dense {
                weights,
                factor,
                input,
                period,
                ..
            } => Some(DenseDiagonals::new(weights, *factor, input, *period)),
            _ => None,
        }
    }

    /// A short name ("conv", "square", "pool", "dense", ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Stage::Conv { .. } => "conv",
            Stage::Square => "square",
            Stage::Poly(_) => "poly",
            Stage::Pool { .. } => "pool",
            Stage::PhasePool { .. } => "phase-pool",
            Stage::Dense { .. } => "dense",
        }
    }
}

/// How the client packs the input image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputPacking {
    /// `[C, H, W]` of the image.
    pub dims: [usize; 3],
    /// Zero padding on each side (the first convolution's).
    pub pad: usize,
    /// The space-to-depth factor: channel `(c, a, b)` holds padded pixels `(f Y + a, f X + b)`.
    pub factor: usize,
    /// The layout of the packed channels.
    pub grid: Grid,
}

/// What one executed stage took.
#[derive(Debug, Clone, PartialEq)]
pub struct StageReport {
    /// Stage index.
    pub index: usize,
    /// [`Stage::kind`].
    pub kind: &'static str,
    /// Wall seconds.
    pub seconds: f64,
    /// Level after the stage.
    pub level: usize,
    /// Ciphertexts after the stage.
    pub ciphertexts: usize,
}

/// A model lowered to channel-packed stages for one sample.
#[derive(Debug, Clone)]
pub struct PackedNet<'m> {
    slots: usize,
    input: InputPacking,
    stages: Vec<Stage<'m>>,
    output: Layout,
}

impl<'m> PackedNet<'m> {
    /// Lowers `model` for ciphertexts of `slots` slots.
    /// Errors: [`LayerError::InvalidParameter`] for a graph or size it cannot run (the reason
    /// names the node).
    pub fn new(model: &'m Model, slots: usize) -> Result<PackedNet<'m>> {
        let nodes = model.nodes();
        let Some(Node::Conv2d(first)) = nodes.first() else {
            return Err(param_err("the first layer must be a convolution".into()));
        };
        let after = nodes
            .iter()
            .skip(1)
            .find(|n| !matches!(n, Node::Activation(_)));
        let phases = match after {
            Some(Node::AvgPool(p)) => p.stride(),
            _ => 1,
        };
        let (input, conv1) = first_conv(first, phases, slots)?;
        let mut stages = vec![conv1];
        let mut layout = match &stages[0] {
            Stage::Conv { output, .. } => *output,
            _ => return Err(param_err("internal: no first convolution".into())),
        };
        let mut current = Layout::Grid(layout);
        let mut factor = 1.0;
        let mut phased = phases > 1;
        for (index, node) in nodes.iter().enumerate().skip(1) {
            let grid = |what: &str| match current {
                Layout::Grid(g) => Ok(g),
                Layout::Vector { .. } => Err(param_err(format!(
                    "node {index}: a {what} after a dense layer"
                ))),
            };
            match node {
                Node::Activation(a) => stages.push(activation(a, index)?),
                Node::AvgPool(p) => {
                    let g = grid("pooling")?;
                    let (k, s) = (p.kernel(), p.stride());
                    if g.h < k || g.w < k {
                        return Err(param_err(format!("node {index}: pooling window too big")));
                    }
                    factor /= (k * k) as f64;
                    if phased {
                        layout = phase_pool_output(first, k, s, &g)?;
                        stages.push(Stage::PhasePool {
                            kernel: k,
                            stride: s,
                            phase_cts: g.cts() / (s * s),
                            input: g,
                            output: layout,
                        });
                        phased = false;
                    } else {
                        layout = Grid {
                            stride: g.stride * s,
                            h: (g.h - k) / s + 1,
                            w: (g.w - k) / s + 1,
                            ..g
                        };
                        layout.validate()?;
                        stages.push(Stage::Pool {
                            kernel: k,
                            stride: s,
                            input: g,
                            output: layout,
                        });
                    }
                    current = Layout::Grid(layout);
                }
                Node::Conv2d(c) => {
                    let g = grid("convolution")?;
                    if phased {
                        return Err(param_err(format!(
                            "node {index}: a convolution before the first pooling"
                        )));
                    }
                    let (pad, k) = conv_geometry(c, index)?;
                    let [cout, _, _] = c.output_shape();
                    let out = Grid {
                        mux: g.stride.min(2),
                        channels: cout,
                        h: (g.h + 2 * pad + 1).saturating_sub(k),
                        w: (g.w + 2 * pad + 1).saturating_sub(k),
                        ..g
                    };
                    out.validate()?;
                    stages.push(Stage::Conv {
                        weights: Cow::Borrowed(c.weights()),
                        bias: Cow::Borrowed(c.bias()),
                        pad,
                        factor,
                        input: g,
                        output: out,
                    });
                    factor = 1.0;
                    current = Layout::Grid(out);
                }
                Node::Flatten(_) => {}
                Node::Dense(d) => {
                    let (n_out, n_in) = d.weights().dim();
                    if n_in != current.len() {
                        return Err(param_err(format!(
                            "node {index}: dense of {n_in} inputs after {} values",
                            current.len()
                        )));
                    }
                    let period = n_out.next_power_of_two();
                    if period > slots {
                        return Err(param_err(format!(
                            "node {index}: {n_out} outputs exceed {slots} slots"
                        )));
                    }
                    stages.push(Stage::Dense {
                        weights: d.weights(),
                        bias: d.bias(),
                        factor,
                        input: current,
                        period,
                    });
                    factor = 1.0;
                    current = Layout::Vector {
                        slots,
                        len: n_out,
                        period,
                    };
                }
                other => {
                    return Err(param_err(format!(
                        "node {index}: {} layers are not supported by the packed executor",
                        other.kind()
                    )))
                }
            }
        }
        if factor != 1.0 || phased {
            return Err(param_err(
                "the model must end with a linear layer after its last pooling".into(),
            ));
        }
        Ok(PackedNet {
            slots,
            input,
            stages,
            output: current,
        })
    }

    /// The stages.
    pub fn stages(&self) -> &[Stage<'m>] {
        &self.stages
    }

    /// How the client packs the image.
    pub fn input_packing(&self) -> &InputPacking {
        &self.input
    }

    /// The output layout.
    pub fn output_layout(&self) -> &Layout {
        &self.output
    }

    /// Levels consumed: one per linear layer and square, a polynomial's depth.
    /// Errors: a polynomial whose cost cannot be computed.
    pub fn depth(&self) -> Result<usize> {
        let mut d = 0;
        for s in &self.stages {
            d += match s {
                Stage::Conv { .. } | Stage::Dense { .. } | Stage::Square => 1,
                Stage::Poly(series) => crate::polyeval::poly_cost(series)?.depth,
                Stage::Pool { .. } | Stage::PhasePool { .. } => 0,
            };
        }
        Ok(d)
    }

    /// The evaluation keys the server needs: relinearization and every rotation step.
    pub fn key_requirements(&self) -> KeyRequirements {
        let mut steps: Vec<i64> = Vec::new();
        let mut relin = false;
        for s in &self.stages {
            match s {
                Stage::Conv { .. } | Stage::Dense { .. } => {
                    if let Some(d) = s.conv_diagonals() {
                        steps.extend(transform::rotation_steps(&d));
                    }
                    if let Some(d) = s.dense_diagonals() {
                        steps.extend(transform::rotation_steps(&d));
                    }
                    if let Stage::Dense { period, .. } = s {
                        steps.extend(copy_sum_steps(*period, self.slots));
                    }
                }
                Stage::Pool { kernel, input, .. } => {
                    steps.extend(pool_steps(*kernel, input.stride, input.pitch))
                }
                Stage::PhasePool {
                    kernel,
                    stride,
                    input,
                    ..
                } => steps.extend(phase_shifts(*kernel, *stride, input.pitch).into_keys()),
                Stage::Square | Stage::Poly(_) => relin = true,
            }
        }
        let keys = KeyRequirements::none().with_rotations(steps.into_iter().filter(|&s| s != 0));
        if relin {
            keys.with_relinearization()
        } else {
            keys
        }
    }
}

/// Ciphertext-side execution and the client's packing.
mod run;
pub use run::PackedReport;

/// The kernel size and padding of a square, stride-1 convolution.
fn conv_geometry(c: &Conv2d, index: usize) -> Result<(usize, usize)> {
    let ([sy, sx], [py, px]) = (c.stride(), c.padding());
    let (kh, kw) = (c.weights().shape()[2], c.weights().shape()[3]);
    if sy != 1 || sx != 1 || py != px || kh != kw {
        return Err(param_err(format!(
            "node {index}: only the first convolution may have a stride; later ones need stride 1, a square kernel and equal padding"
        )));
    }
    Ok((py, kh))
}

fn activation(a: &Activation, index: usize) -> Result<Stage<'static>> {
    match a {
        Activation::Square => Ok(Stage::Square),
        Activation::Poly { series, .. } => Ok(Stage::Poly(series.clone())),
        Activation::Approx { .. } => Err(param_err(format!(
            "node {index}: fold the approximation's range into the preceding layer first (Activation::premapped)"
        ))),
    }
}

/// The first convolution as a stride-1 convolution of the space-to-depth image: output
/// channel `(phase, o)` computes the values of phase `(py, px)` of channel `o`.
fn first_conv(c: &Conv2d, phases: usize, slots: usize) -> Result<(InputPacking, Stage<'static>)> {
    let ([s, sx], [pad, px]) = (c.stride(), c.padding());
    let w = c.weights();
    let (cout, cin, k, kw) = w.dim();
    if s != sx || pad != px || k != kw || s == 0 || phases == 0 {
        return Err(param_err(
            "the first convolution needs a square kernel, equal strides and equal padding".into(),
        ));
    }
    let [_, h, wd] = c.input_dims();
    let f = s * phases;
    let (gh, gw) = ((h + 2 * pad).div_ceil(f), (wd + 2 * pad).div_ceil(f));
    let pitch = gw.next_power_of_two();
    let block = (gh * pitch).next_power_of_two();
    if block > slots {
        return Err(param_err(format!(
            "a {h}x{wd} image packed by {f} needs blocks of {block} slots, more than {slots}"
        )));
    }
    let grid = Grid {
        slots,
        block,
        pitch,
        stride: 1,
        mux: 1,
        channels: cin * f * f,
        h: gh,
        w: gw,
    };
    grid.validate()?;
    let [_, h1, w1] = c.output_shape();
    let per_ct = grid.per_ct();
    let cpad = cout.div_ceil(per_ct) * per_ct;
    let kk = (s * (phases - 1) + k - 1) / f + 1;
    let np = phases * phases;
    let mut wt = Array4::<f64>::zeros((np * cpad, cin * f * f, kk, kk));
    let mut bias = Array1::<f64>::zeros(np * cpad);
    for ph in 0..np {
        let (py, px) = (ph / phases, ph % phases);
        for o in 0..cout {
            bias[ph * cpad + o] = c.bias()[o];
            for ci in 0..cin {
                for (ky, kx) in (0..k).flat_map(|ky| (0..k).map(move |kx| (ky, kx))) {
                    let (ty, tx) = (s * py + ky, s * px + kx);
                    let ch = (ci * f + ty % f) * f + tx % f;
                    wt[[ph * cpad + o, ch, ty / f, tx / f]] = w[[o, ci, ky, kx]];
                }
            }
        }
    }
    let output = Grid {
        channels: np * cpad,
        h: h1.div_ceil(phases),
        w: w1.div_ceil(phases),
        ..grid
    };
    output.validate()?;
    let packing = InputPacking {
        dims: [cin, h, wd],
        pad,
        factor: f,
        grid,
    };
    Ok((
        packing,
        Stage::Conv {
            weights: Cow::Owned(wt),
            bias: Cow::Owned(bias),
            pad: 0,
            factor: 1.0,
            input: grid,
            output,
        },
    ))
}

/// The layout after the pooling that follows the first convolution.
fn phase_pool_output(first: &Conv2d, k: usize, s: usize, g: &Grid) -> Result<Grid> {
    let [cout, h1, w1] = first.output_shape();
    if h1 < k || w1 < k {
        return Err(param_err("pooling window larger than its input".into()));
    }
    let out = Grid {
        channels: cout,
        h: (h1 - k) / s + 1,
        w: (w1 - k) / s + 1,
        ..*g
    };
    out.validate()?;
    Ok(out)
}

/// For the pooling of phases: rotation step -> the phases summed before that rotation. Window
/// row `d` reads phase `d mod s` at shift `d / s` rows.
fn phase_shifts(k: usize, s: usize, pitch: usize) -> std::collections::BTreeMap<i64, Vec<usize>> {
    let mut m: std::collections::BTreeMap<i64, Vec<usize>> = Default::default();
    for dy in 0..k {
        for dx in 0..k {
            let step = ((dy / s) * pitch + dx / s) as i64;
            m.entry(step).or_default().push((dy % s) * s + dx % s);
        }
    }
    m
}

/// The rotation steps of a pooling window on a grid of value stride `vs`: along a row, then
/// along a column.
fn pool_steps(k: usize, vs: usize, pitch: usize) -> Vec<i64> {
    (1..k)
        .flat_map(|d| [(d * vs) as i64, (d * vs * pitch) as i64])
        .collect()
}

/// The steps summing the copies of a vector of period `period`.
fn copy_sum_steps(period: usize, slots: usize) -> Vec<i64> {
    let mut v = Vec::new();
    let mut t = period;
    while t < slots {
        v.push(t as i64);
        t *= 2;
    }
    v
}
