//! The diagonals of a stride-1 convolution between channel blocks and of a dense layer.

use super::layout::{Grid, Layout};
use super::transform::Diagonals;
use ndarray::{Array1, Array2, Array4};
use std::collections::BTreeMap;

/// One kernel tap between an output phase and an input phase.
#[derive(Debug, Clone, Copy)]
struct Tap {
    out_phase: usize,
    in_phase: usize,
    ky: usize,
    kx: usize,
}

/// A stride-1 convolution from one [`Grid`] to another with the same block, pitch and stride.
/// The rotation reading input channel `c` (block `k + j`) for output channel `o` (block `k`) at
/// tap `(ky, kx)` is `j * block + b` with the baby step `b = off(c) - off(o) + stride * ((ky -
/// pad) * pitch + kx - pad)`, the same for every position: the diagonal holds `w[o, c, ky, kx]`
/// at the output slots whose input is inside the image, zero elsewhere (padding included).
pub(crate) struct ConvDiagonals<'a> {
    weights: &'a Array4<f64>,
    bias: &'a Array1<f64>,
    factor: f64,
    pad: usize,
    input: Grid,
    output: Grid,
    babies: Vec<i64>,
    taps: Vec<Vec<Tap>>,
}

impl<'a> ConvDiagonals<'a> {
    /// The convolution `weights` `[Cout, Cin, k, k]` (times `factor`) plus `bias`.
    pub(crate) fn new(
        weights: &'a Array4<f64>,
        bias: &'a Array1<f64>,
        factor: f64,
        pad: usize,
        input: Grid,
        output: Grid,
    ) -> ConvDiagonals<'a> {
        let (kh, kw) = (weights.shape()[2], weights.shape()[3]);
        let (p, s) = (input.pitch as i64, input.stride as i64);
        let mut by_step: BTreeMap<i64, Vec<Tap>> = BTreeMap::new();
        for out_phase in 0..output.mux * output.mux {
            for in_phase in 0..input.mux * input.mux {
                let base =
                    input.phase_offset(in_phase) as i64 - output.phase_offset(out_phase) as i64;
                for ky in 0..kh {
                    for kx in 0..kw {
                        let dy = ky as i64 - pad as i64;
                        let dx = kx as i64 - pad as i64;
                        by_step
                            .entry(base + s * (dy * p + dx))
                            .or_default()
                            .push(Tap {
                                out_phase,
                                in_phase,
                                ky,
                                kx,
                            });
                    }
                }
            }
        }
        let (babies, taps) = by_step.into_iter().unzip();
        ConvDiagonals {
            weights,
            bias,
            factor,
            pad,
            input,
            output,
            babies,
            taps,
        }
    }

    /// The (output, input) channel pair of a tap at output block `k`, giant `j`.
    fn channels(&self, o: usize, j: usize, i: usize, k: usize, t: &Tap) -> Option<(usize, usize)> {
        let nb = self.output.blocks();
        let oc = self.output.channel_at(o, k, t.out_phase)?;
        let ic = self.input.channel_at(i, (k + j) % nb, t.in_phase)?;
        Some((oc, ic))
    }
}

impl Diagonals for ConvDiagonals<'_> {
    fn out_cts(&self) -> usize {
        self.output.cts()
    }
    fn in_cts(&self) -> usize {
        self.input.cts()
    }
    fn babies(&self) -> &[i64] {
        &self.babies
    }
    fn giant_step(&self) -> i64 {
        self.output.block as i64
    }
    fn giants(&self) -> usize {
        self.output.blocks()
    }
    fn present(&self, o: usize, j: usize) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        for i in 0..self.in_cts() {
            for (b, taps) in self.taps.iter().enumerate() {
                let any = (0..self.output.blocks()).any(|k| {
                    taps.iter().any(|t| {
                        self.channels(o, j, i, k, t)
                            .is_some_and(|(oc, ic)| self.weights[[oc, ic, t.ky, t.kx]] != 0.0)
                    })
                });
                if any {
                    v.push((i, b));
                }
            }
        }
        v
    }
    fn fill(&self, o: usize, j: usize, i: usize, b: usize, out: &mut [f64]) {
        let slots = out.len();
        let (g_in, g_out) = (&self.input, &self.output);
        let shift = j * g_out.block;
        let Some(taps) = self.taps.get(b) else {
            return;
        };
        for k in 0..g_out.blocks() {
            for t in taps {
                let Some((oc, ic)) = self.channels(o, j, i, k, t) else {
                    continue;
                };
                let w = self.weights[[oc, ic, t.ky, t.kx]] * self.factor;
                if w == 0.0 {
                    continue;
                }
                let base = k * g_out.block + g_out.phase_offset(t.out_phase);
                for y in 0..g_out.h {
                    let yi = (y + t.ky).checked_sub(self.pad);
                    if yi.is_none_or(|yi| yi >= g_in.h) {
                        continue;
                    }
                    for x in 0..g_out.w {
                        let xi = (x + t.kx).checked_sub(self.pad);
                        if xi.is_some_and(|xi| xi < g_in.w) {
                            out[(base + g_out.offset(y, x) + shift) % slots] += w;
                        }
                    }
                }
            }
        }
    }
    fn bias(&self, o: usize) -> Option<Vec<f64>> {
        let g = &self.output;
        let mut v = vec![0.0; g.slots];
        for k in 0..g.blocks() {
            for phase in 0..g.mux * g.mux {
                let Some(c) = g.channel_at(o, k, phase) else {
                    continue;
                };
                let base = k * g.block + g.phase_offset(phase);
                for y in 0..g.h {
                    for x in 0..g.w {
                        v[base + g.offset(y, x)] = self.bias[c];
                    }
                }
            }
        }
        Some(v)
    }
}

/// A dense layer `[out, in]` from any [`Layout`] to a vector repeated every `period` slots.
/// Output slot `p` sums the products for neuron `p mod period` over the rotations `r <
/// period`: each (neuron, input) pair is met once, and summing the copies (rotations by
/// `period`, `2 period`, ...) completes every neuron. The bias is added after that sum, so
/// [`Diagonals::bias`] is `None` here.
pub(crate) struct DenseDiagonals<'a> {
    weights: &'a Array2<f64>,
    factor: f64,
    features: Vec<Vec<i32>>,
    period: usize,
    baby: usize,
    babies: Vec<i64>,
    present: Vec<Vec<bool>>,
}

impl<'a> DenseDiagonals<'a> {
    /// The dense `weights` (times `factor`) reading `input`, output period `period`.
    pub(crate) fn new(
        weights: &'a Array2<f64>,
        factor: f64,
        input: &Layout,
        period: usize,
    ) -> DenseDiagonals<'a> {
        let features = input.feature_table();
        let n_out = weights.shape()[0];
        let baby = 1usize << period.trailing_zeros().div_ceil(2);
        // rotation r has a term when some input slot q has ((q - r) mod period) < n_out
        let present = features
            .iter()
            .map(|t| {
                let mut has = vec![false; period];
                for (q, &f) in t.iter().enumerate() {
                    if f >= 0 {
                        has[q % period] = true;
                    }
                }
                (0..period)
                    .map(|r| (0..n_out).any(|n| has[(n + r) % period]))
                    .collect()
            })
            .collect();
        DenseDiagonals {
            weights,
            factor,
            features,
            period,
            baby,
            babies: (0..baby as i64).collect(),
            present,
        }
    }
}

impl Diagonals for DenseDiagonals<'_> {
    fn out_cts(&self) -> usize {
        1
    }
    fn in_cts(&self) -> usize {
        self.features.len()
    }
    fn babies(&self) -> &[i64] {
        &self.babies
    }
    fn giant_step(&self) -> i64 {
        self.baby as i64
    }
    fn giants(&self) -> usize {
        self.period.div_ceil(self.baby)
    }
    fn present(&self, _o: usize, j: usize) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        for (i, p) in self.present.iter().enumerate() {
            for b in 0..self.baby {
                if p.get(j * self.baby + b).copied().unwrap_or(false) {
                    v.push((i, b));
                }
            }
        }
        v
    }
    fn fill(&self, _o: usize, j: usize, i: usize, b: usize, out: &mut [f64]) {
        let slots = out.len();
        let n_out = self.weights.shape()[0];
        let (r, shift) = (j * self.baby + b, j * self.baby);
        let Some(table) = self.features.get(i) else {
            return;
        };
        for p in 0..slots {
            let n = p % self.period;
            if n >= n_out {
                continue;
            }
            let f = table[(p + r) % slots];
            if f >= 0 {
                out[(p + shift) % slots] = self.weights[[n, f as usize]] * self.factor;
            }
        }
    }
    fn bias(&self, _o: usize) -> Option<Vec<f64>> {
        None
    }
}
