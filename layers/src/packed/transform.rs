//! A linear map on packed ciphertexts by generalized diagonals, baby-step giant-step.
//!
//! Output ciphertext `o` is `sum_r D_r * rot(x_i, r)` over input ciphertexts `i` and rotations
//! `r`. Every rotation is split as `r = j * G + b` with `b` from a small set of baby steps and
//! `j < J`: the inputs are rotated by the baby steps once (hoisted, one key-switching
//! decomposition per input), and for each `j` the products with the diagonals (pre-rotated by
//! `-j G`) are summed into `A_j`; then `sum_j rot(A_j, j G)` is evaluated by Horner's rule,
//! `(..(A_{J-1} G + A_{J-2}) G + ..) + A_0`, so that all giant steps share one rotation key. The
//! diagonals are made and encoded on the fly, a few at a time, never all kept: a layer's
//! weights cost no memory beyond the plaintexts in use.

use super::param_err;
use crate::error::Result;
use hetile_backend::{Backend, Evaluator, Meta, Scale};
use rayon::prelude::*;

/// The diagonals of one linear map.
pub(crate) trait Diagonals: Sync {
    /// Output ciphertexts.
    fn out_cts(&self) -> usize;
    /// Input ciphertexts.
    fn in_cts(&self) -> usize;
    /// The baby steps.
    fn babies(&self) -> &[i64];
    /// The giant step `G`.
    fn giant_step(&self) -> i64;
    /// The number of giant steps `J`.
    fn giants(&self) -> usize;
    /// The (input ciphertext, baby index) pairs with a non-zero diagonal for output `o`, giant
    /// `j`.
    fn present(&self, o: usize, j: usize) -> Vec<(usize, usize)>;
    /// The diagonal of (output `o`, giant `j`, input `i`, baby index `b`), rotated by `-j G`:
    /// `out[k] = value for output slot (k - j G) reading input slot (k + b)`. `out` is zeroed,
    /// of the slot count.
    fn fill(&self, o: usize, j: usize, i: usize, b: usize, out: &mut [f64]);
    /// The bias of output `o` per slot, or `None`.
    fn bias(&self, o: usize) -> Option<Vec<f64>>;
}

/// Plaintexts encoded and multiplied per batch (bounds the memory in flight per task).
const CHUNK: usize = 8;

/// The rotation steps `d` uses: non-zero baby steps and the giant step.
pub(crate) fn rotation_steps(d: &dyn Diagonals) -> Vec<i64> {
    let mut s: Vec<i64> = d.babies().iter().copied().filter(|&b| b != 0).collect();
    if d.giants() > 1 {
        s.push(d.giant_step());
    }
    s
}

/// Applies `d` to `inputs` (all at one level above 0 and one scale): products at scale
/// `q_level` (the prime the rescale divides by), one rescale, then the bias at the result's
/// scale. Output scale = input scale.
/// Errors: the backend's (missing keys, exhausted level); [`LayerError::InvalidParameter`]
/// for a wrong number of inputs.
pub(crate) fn apply<B: Backend>(
    ev: &B::Evaluator,
    d: &dyn Diagonals,
    inputs: &[B::Ciphertext],
) -> Result<Vec<B::Ciphertext>> {
    if inputs.len() != d.in_cts() {
        return Err(param_err(format!(
            "a linear map of {} inputs got {} ciphertexts",
            d.in_cts(),
            inputs.len()
        )));
    }
    let level = inputs
        .first()
        .map(|c| c.level())
        .ok_or_else(|| param_err("no input ciphertext".into()))?;
    let q = ev
        .params()
        .prime_at(level)
        .ok_or(hetile_backend::Error::InvalidLevel {
            requested: level,
            max: ev.params().max_level(),
        })?;
    let wscale = Scale::new(q as f64).ok_or_else(|| param_err("no weight scale".into()))?;
    let slots = ev.slots().get();
    // every input rotated by every non-zero baby step, sharing one decomposition per input;
    // the zero step reads the input itself (no copy)
    let babies = d.babies();
    let steps: Vec<i64> = babies.iter().copied().filter(|&b| b != 0).collect();
    let rotated: Vec<Vec<B::Ciphertext>> = inputs
        .iter()
        .map(|x| ev.rotate_many(x, &steps))
        .collect::<std::result::Result<_, _>>()?;
    // baby index -> position among the rotated ones (None: the zero step)
    let mut next = 0;
    let slot_of: Vec<Option<usize>> = babies
        .iter()
        .map(|&b| {
            (b != 0).then(|| {
                next += 1;
                next - 1
            })
        })
        .collect();
    let operands = Operands::<B> {
        inputs,
        rotated: &rotated,
        slot_of: &slot_of,
    };
    let mut outputs = Vec::with_capacity(d.out_cts());
    for o in 0..d.out_cts() {
        let parts: Vec<Option<B::Ciphertext>> = (0..d.giants())
            .into_par_iter()
            .with_min_len(hetile_tiles::seq_min_len::<B>())
            .map(|j| giant_sum::<B>(ev, d, &operands, o, j, level, wscale, slots))
            .collect::<Result<_>>()?;
        let mut acc: Option<B::Ciphertext> = None;
        for part in parts.into_iter().rev() {
            if let Some(a) = acc.as_mut() {
                *a = ev.rotate(a, d.giant_step())?;
                if let Some(p) = part {
                    ev.add_assign(a, &p)?;
                }
            } else {
                acc = part;
            }
        }
        let mut out = acc.ok_or_else(|| param_err(format!("output {o} has no terms")))?;
        ev.rescale_assign(&mut out)?;
        if let Some(bias) = d.bias(o) {
            let values = if B::METADATA_ONLY { Vec::new() } else { bias };
            let pt = ev.encode(&values, out.level(), out.scale())?;
            ev.add_plain_assign(&mut out, &pt)?;
        }
        outputs.push(out);
    }
    Ok(outputs)
}

/// The inputs and their baby-step rotations.
struct Operands<'a, B: Backend> {
    inputs: &'a [B::Ciphertext],
    rotated: &'a [Vec<B::Ciphertext>],
    slot_of: &'a [Option<usize>],
}

impl<B: Backend> Operands<'_, B> {
    /// Input `i` rotated by baby step `b`.
    fn get(&self, i: usize, b: usize) -> Result<&B::Ciphertext> {
        let found = match self.slot_of.get(b) {
            Some(None) => self.inputs.get(i),
            Some(Some(k)) => self.rotated.get(i).and_then(|r| r.get(*k)),
            None => None,
        };
        found.ok_or_else(|| param_err(format!("no input {i} rotated by baby {b}")))
    }
}

/// `A_j` of output `o`: the products of the rotated inputs with their diagonals, summed.
#[allow(clippy::too_many_arguments)]
fn giant_sum<B: Backend>(
    ev: &B::Evaluator,
    d: &dyn Diagonals,
    operands: &Operands<'_, B>,
    o: usize,
    j: usize,
    level: hetile_backend::Level,
    wscale: Scale,
    slots: usize,
) -> Result<Option<B::Ciphertext>> {
    let present = d.present(o, j);
    let mut acc: Option<B::Ciphertext> = None;
    let mut buf = vec![0.0; if B::METADATA_ONLY { 0 } else { slots }];
    for chunk in present.chunks(CHUNK) {
        let mut pts = Vec::with_capacity(chunk.len());
        for &(i, b) in chunk {
            if !B::METADATA_ONLY {
                buf.iter_mut().for_each(|v| *v = 0.0);
                d.fill(o, j, i, b, &mut buf);
            }
            pts.push(ev.encode(&buf, level, wscale)?);
        }
        let cts: Vec<&B::Ciphertext> = chunk
            .iter()
            .map(|&(i, b)| operands.get(i, b))
            .collect::<Result<_>>()?;
        let prefs: Vec<&B::Plaintext> = pts.iter().collect();
        let sum = ev.mul_plain_sum(&cts, &prefs)?;
        match acc.as_mut() {
            Some(a) => ev.add_assign(a, &sum)?,
            None => acc = Some(sum),
        }
    }
    Ok(acc)
}
