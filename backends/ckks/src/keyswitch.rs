//! Hybrid key switching (Han-Ki 2020): digit decomposition with ModUp to `Q_l ∪ P`, inner product
//! with a switching key, ModDown by `P`. The decomposition is separate so that hoisted rotations
//! share it among several Galois keys.

use crate::context::CkksContext;
use crate::keys::SwitchingKey;
use crate::RingResultExt;
use hetile_backend::{Error, Level, Result};
use hetile_ring::rns::{Representation, RnsPoly};
use hetile_ring::simd::{simd_enabled, IfmaModulus};
use hetile_ring::Modulus;
use rayon::prelude::*;

/// A polynomial decomposed for key switching at one level: for each digit present at that level,
/// its ModUp to `Q_l ∪ P`, in NTT form.
pub(crate) struct Decomposition {
    pub(crate) level: Level,
    /// `(digit index, extended polynomial)`.
    pub(crate) digits: Vec<(usize, RnsPoly)>,
}

impl Drop for Decomposition {
    /// The extended digits are ciphertext-derived temporaries: their buffers go back to the
    /// thread's scratch pool.
    fn drop(&mut self) {
        for (_, poly) in self.digits.drain(..) {
            poly.recycle();
        }
    }
}

/// Decomposes `c` (NTT form over `Q_l`) into its digits and extends each to `Q_l ∪ P`.
///
/// Errors with [`Error::InvalidParameters`] when the parameters have no special primes.
pub(crate) fn decompose(ctx: &CkksContext, level: Level, c: &RnsPoly) -> Result<Decomposition> {
    let tables = ctx.level(level)?;
    if tables.mod_up.is_empty() {
        return Err(no_special_primes());
    }
    if c.repr() != Representation::Ntt {
        return Err(Error::Internal {
            backend: crate::NAME,
            reason: "key switching expects an NTT-form polynomial".into(),
        });
    }
    let ring = ctx.ring();
    let coeff = c.to_coeff_pooled(ring);
    let n = ring.degree();
    let digits = tables
        .mod_up
        .par_iter()
        .map(|d| -> Result<(usize, RnsPoly)> {
            let input = &coeff.as_slice()[d.positions.start * n..d.positions.end * n];
            // Every limb is written: the digit's by the copy, the others by the extension.
            let mut out = RnsPoly::uninit_pooled(ring, &tables.qp_basis, Representation::Ntt);
            // The digit's own limbs are exact: take them from the NTT-form input directly.
            for pos in d.positions.clone() {
                out.limb_mut(pos).copy_from_slice(c.limb(pos));
            }
            // The other limbs receive the extension in place (ordered as the extender's
            // targets), then go to NTT form.
            let mut targets: Vec<(usize, usize, &mut [u64])> = out
                .as_mut_slice()
                .chunks_exact_mut(n)
                .zip(&d.source)
                .enumerate()
                .filter_map(|(pos, (limb, source))| source.map(|k| (k, pos, limb)))
                .collect();
            targets.sort_by_key(|t| t.0);
            let mut limbs: Vec<&mut [u64]> = targets.iter_mut().map(|t| &mut *t.2).collect();
            d.extender.extend_into(ring, input, &mut limbs).ring()?;
            targets.par_iter_mut().for_each(|(_, pos, limb)| {
                ring.ntt(tables.qp_basis[*pos]).forward(limb);
            });
            Ok((d.digit, out))
        })
        .collect::<Result<Vec<_>>>();
    coeff.recycle();
    Ok(Decomposition {
        level,
        digits: digits?,
    })
}

fn no_special_primes() -> Error {
    Error::InvalidParameters {
        reason: "key switching needs at least one special prime (log_p is empty)".into(),
    }
}

/// `sum_j d_j * (b_j, a_j)` over `Q_l ∪ P` (NTT form) followed by ModDown by `P`: the pair
/// `(k0, k1)` over `Q_l` with `k0 + k1*t ≈ c * s'` for a key from `s'` to `t`.
pub(crate) fn switch(
    ctx: &CkksContext,
    dec: &Decomposition,
    key: &SwitchingKey,
) -> Result<(RnsPoly, RnsPoly)> {
    let tables = ctx.level(dec.level)?;
    let mod_down = tables.mod_down.as_ref().ok_or_else(no_special_primes)?;
    let ring = ctx.ring();
    let level = dec.level.0;
    let basis = &tables.qp_basis;
    let digits: Vec<(usize, &RnsPoly)> = dec.digits.iter().map(|(j, d)| (*j, d)).collect();
    for (j, _) in &digits {
        if *j >= key.b.len() || *j >= key.a.len() {
            return Err(Error::Internal {
                backend: crate::NAME,
                reason: format!("switching key has {} digits, digit {j} needed", key.b.len()),
            });
        }
    }
    let n = ring.degree();
    // Every limb is written by the inner product.
    let mut acc0 = RnsPoly::uninit_pooled(ring, basis, Representation::Ntt);
    let mut acc1 = RnsPoly::uninit_pooled(ring, basis, Representation::Ntt);
    acc0.as_mut_slice()
        .par_chunks_mut(n)
        .zip(acc1.as_mut_slice().par_chunks_mut(n))
        .enumerate()
        .for_each(|(pos, (out0, out1))| {
            let kpos = ctx.key_position(level, pos);
            let d: Vec<&[u64]> = digits.iter().map(|(_, d)| d.limb(pos)).collect();
            let kb: Vec<&[u64]> = digits.iter().map(|(j, _)| key.b[*j].limb(kpos)).collect();
            let ka: Vec<&[u64]> = digits.iter().map(|(j, _)| key.a[*j].limb(kpos)).collect();
            inner_product_limb(ctx.modulus(basis[pos]), &d, &kb, &ka, out0, out1);
        });
    let (k0, k1) = rayon::join(
        || mod_down.apply_owned(ring, acc0).ring(),
        || mod_down.apply_owned(ring, acc1).ring(),
    );
    Ok((k0?, k1?))
}

/// Coefficients per block of the lazy inner product.
const BLOCK: usize = 512;

/// `out0 = sum_j d_j * kb_j`, `out1 = sum_j d_j * ka_j` modulo `m`, accumulated in 128 bits and
/// reduced once per coefficient (at most 64 digits of values below 2^61 cannot overflow).
fn inner_product_limb(
    m: &Modulus,
    d: &[&[u64]],
    kb: &[&[u64]],
    ka: &[&[u64]],
    out0: &mut [u64],
    out1: &mut [u64],
) {
    let terms = d.len().min(kb.len()).min(ka.len());
    if let Some(v) = IfmaModulus::new(m).filter(|_| simd_enabled() && terms > 0) {
        // Canonical inputs below 2^50: Barrett products on eight lanes, reduced per digit, both
        // outputs in one pass.
        v.dot_pair_slice(out0, out1, d, kb, ka);
        return;
    }
    let n = out0.len();
    let mut start = 0;
    while start < n {
        let len = BLOCK.min(n - start);
        let mut acc0 = [0u128; BLOCK];
        let mut acc1 = [0u128; BLOCK];
        for ((dj, bj), aj) in d.iter().zip(kb).zip(ka) {
            let dj = &dj[start..start + len];
            let bj = &bj[start..start + len];
            let aj = &aj[start..start + len];
            for i in 0..len {
                let x = dj[i] as u128;
                acc0[i] += x * bj[i] as u128;
                acc1[i] += x * aj[i] as u128;
            }
        }
        for i in 0..len {
            out0[start + i] = m.reduce_u128(acc0[i]);
            out1[start + i] = m.reduce_u128(acc1[i]);
        }
        start += len;
    }
}
