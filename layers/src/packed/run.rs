//! Running a [`PackedNet`]: the client packs and encrypts, the server runs the stages with
//! evaluation keys only, the client decrypts and reads the outputs.

use super::{
    copy_sum_steps, param_err, phase_shifts, transform, Layout, PackedNet, Stage, StageReport,
};
use crate::error::Result;
use hetile_backend::{Backend, Client, Evaluator, Meta};
use std::time::Instant;

/// What a server-side run took.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PackedReport {
    /// Per stage, in order.
    pub stages: Vec<StageReport>,
    /// Total wall seconds.
    pub seconds: f64,
}

impl PackedNet<'_> {
    /// The slot vectors of one image `[C, H, W]` (row-major): the padded image, space-to-depth
    /// by the packing factor, one channel image per block.
    /// Errors: [`crate::LayerError::InvalidParameter`] for a wrong length or a non-finite value.
    pub fn pack_input(&self, image: &[f64]) -> Result<Vec<Vec<f64>>> {
        let p = &self.input;
        let [c, h, w] = p.dims;
        if image.len() != c * h * w {
            return Err(param_err(format!(
                "the image has {} values, the model takes {c}x{h}x{w}",
                image.len()
            )));
        }
        if let Some(bad) = image.iter().find(|v| !v.is_finite()) {
            return Err(param_err(format!(
                "the image holds the non-finite value {bad}"
            )));
        }
        let (g, f) = (&p.grid, p.factor);
        let mut cts = vec![vec![0.0; g.slots]; g.cts()];
        for ci in 0..c {
            for y in 0..h {
                for x in 0..w {
                    let (py, px) = (y + p.pad, x + p.pad);
                    let ch = (ci * f + py % f) * f + px % f;
                    let (ct, slot) = g.slot(ch, py / f, px / f);
                    cts[ct][slot] = image[(ci * h + y) * w + x];
                }
            }
        }
        Ok(cts)
    }

    /// Packs and encrypts one image at the top level and default scale.
    /// Errors: those of [`PackedNet::pack_input`] and of the backend.
    pub fn encrypt_input<B: Backend>(
        &self,
        client: &B::Client,
        image: &[f64],
    ) -> Result<Vec<B::Ciphertext>> {
        if B::METADATA_ONLY {
            return (0..self.input.grid.cts())
                .map(|_| Ok(client.encrypt_values(&[])?))
                .collect();
        }
        self.pack_input(image)?
            .iter()
            .map(|v| Ok(client.encrypt_values(v)?))
            .collect()
    }

    /// Runs every stage on the encrypted input (ciphertexts are dropped as soon as the next
    /// stage has consumed them), calling `on_stage` after each.
    /// Errors: the backend's (missing keys, exhausted levels) and a wrong input count.
    pub fn forward<B: Backend>(
        &self,
        ev: &B::Evaluator,
        input: Vec<B::Ciphertext>,
        on_stage: &mut dyn FnMut(&StageReport),
    ) -> Result<(Vec<B::Ciphertext>, PackedReport)> {
        if input.len() != self.input.grid.cts() {
            return Err(param_err(format!(
                "the packed input has {} ciphertexts, {} expected",
                input.len(),
                self.input.grid.cts()
            )));
        }
        let start = Instant::now();
        let mut report = PackedReport::default();
        let mut cts = input;
        for (index, stage) in self.stages.iter().enumerate() {
            let t = Instant::now();
            cts = self.stage::<B>(ev, stage, cts)?;
            let r = StageReport {
                index,
                kind: stage.kind(),
                seconds: t.elapsed().as_secs_f64(),
                level: cts.first().map_or(0, |c| c.level().0),
                ciphertexts: cts.len(),
            };
            on_stage(&r);
            report.stages.push(r);
        }
        report.seconds = start.elapsed().as_secs_f64();
        Ok((cts, report))
    }

    fn stage<B: Backend>(
        &self,
        ev: &B::Evaluator,
        stage: &Stage<'_>,
        cts: Vec<B::Ciphertext>,
    ) -> Result<Vec<B::Ciphertext>> {
        match stage {
            Stage::Conv { .. } => match stage.conv_diagonals() {
                Some(d) => transform::apply::<B>(ev, &d, &cts),
                None => Err(param_err("a convolution stage without diagonals".into())),
            },
            Stage::Square => cts
                .iter()
                .map(|c| {
                    let mut y = ev.square(c)?;
                    ev.rescale_assign(&mut y)?;
                    Ok(y)
                })
                .collect(),
            Stage::Poly(series) => cts
                .iter()
                .map(|c| crate::polyeval::evaluate_ciphertext::<B>(ev, c, series))
                .collect(),
            Stage::Pool { kernel, input, .. } => {
                let (row, col) = (input.stride as i64, (input.stride * input.pitch) as i64);
                cts.iter()
                    .map(|c| {
                        let t = window_sum::<B>(ev, c, row, *kernel)?;
                        window_sum::<B>(ev, &t, col, *kernel)
                    })
                    .collect()
            }
            Stage::PhasePool {
                kernel,
                stride,
                phase_cts,
                input,
                ..
            } => {
                let shifts = phase_shifts(*kernel, *stride, input.pitch);
                (0..*phase_cts)
                    .map(|k| {
                        let mut total: Option<B::Ciphertext> = None;
                        for (&step, phases) in &shifts {
                            let mut sum: Option<B::Ciphertext> = None;
                            for &ph in phases {
                                let c = cts.get(ph * phase_cts + k).ok_or_else(|| {
                                    param_err(format!("phase {ph} ciphertext {k} missing"))
                                })?;
                                match sum.as_mut() {
                                    Some(s) => ev.add_assign(s, c)?,
                                    None => sum = Some(c.clone()),
                                }
                            }
                            let Some(mut s) = sum else { continue };
                            if step != 0 {
                                s = ev.rotate(&s, step)?;
                            }
                            match total.as_mut() {
                                Some(t) => ev.add_assign(t, &s)?,
                                None => total = Some(s),
                            }
                        }
                        total.ok_or_else(|| param_err("empty pooling window".into()))
                    })
                    .collect()
            }
            Stage::Dense { bias, period, .. } => {
                let d = stage
                    .dense_diagonals()
                    .ok_or_else(|| param_err("a dense stage without diagonals".into()))?;
                let mut out = transform::apply::<B>(ev, &d, &cts)?;
                let mut y = out
                    .pop()
                    .ok_or_else(|| param_err("a dense layer gave no output".into()))?;
                for step in copy_sum_steps(*period, self.slots) {
                    let r = ev.rotate(&y, step)?;
                    ev.add_assign(&mut y, &r)?;
                }
                let values: Vec<f64> = if B::METADATA_ONLY {
                    Vec::new()
                } else {
                    (0..self.slots)
                        .map(|p| bias.get(p % period).copied().unwrap_or(0.0))
                        .collect()
                };
                let pt = ev.encode(&values, y.level(), y.scale())?;
                ev.add_plain_assign(&mut y, &pt)?;
                Ok(vec![y])
            }
        }
    }

    /// Decrypts the server's output and reads the values, flattened (`[C, H, W]` row-major for
    /// a grid, the vector otherwise).
    /// Errors: the backend's, or a wrong ciphertext count.
    pub fn decrypt_output<B: Backend>(
        &self,
        client: &B::Client,
        out: &[B::Ciphertext],
    ) -> Result<Vec<f64>> {
        if out.len() != self.output.cts() {
            return Err(param_err(format!(
                "{} output ciphertexts, {} expected",
                out.len(),
                self.output.cts()
            )));
        }
        let slots: Vec<Vec<f64>> = out
            .iter()
            .map(|c| Ok(client.decrypt_values(c)?))
            .collect::<Result<_>>()?;
        match &self.output {
            Layout::Vector { len, .. } => Ok(slots[0].iter().take(*len).copied().collect()),
            Layout::Grid(g) => {
                let mut v = Vec::with_capacity(self.output.len());
                for c in 0..g.channels {
                    for y in 0..g.h {
                        for x in 0..g.w {
                            let (ct, s) = g.slot(c, y, x);
                            v.push(slots[ct].get(s).copied().unwrap_or(0.0));
                        }
                    }
                }
                Ok(v)
            }
        }
    }
}

/// `x + rot(x, step) + ... + rot(x, (k - 1) step)`, the rotations hoisted.
fn window_sum<B: Backend>(
    ev: &B::Evaluator,
    x: &B::Ciphertext,
    step: i64,
    k: usize,
) -> Result<B::Ciphertext> {
    let steps: Vec<i64> = (1..k as i64).map(|d| d * step).collect();
    let mut acc = x.clone();
    for r in ev.rotate_many(x, &steps)? {
        ev.add_assign(&mut acc, &r)?;
    }
    Ok(acc)
}
