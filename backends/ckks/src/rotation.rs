//! The key-switching operations of the evaluator: multiplication with relinearization, rotations
//! (single and hoisted) and conjugation.

use crate::context::CkksContext;
use crate::evaluator::CkksEvaluator;
use crate::keys::{GaloisKey, SwitchingKey};
use crate::keyswitch::{decompose, switch, Decomposition};
use crate::types::Ciphertext;
use crate::RingResultExt;
use hetile_backend::{normalize_step, Error, Result, Scale};
use hetile_ring::rns::{Representation, RnsPoly, PARALLEL_THRESHOLD};
use rayon::prelude::*;

impl CkksEvaluator {
    /// Tensor product and relinearization (checks already done by the caller).
    pub(crate) fn multiply_relinearize(
        &self,
        a: &Ciphertext,
        b: &Ciphertext,
        relin: &SwitchingKey,
        scale: Scale,
    ) -> Result<Ciphertext> {
        let [mut d0, mut d1, d2] = tensor(&self.ctx, a, b)?;
        let dec = decompose(&self.ctx, a.level, &d2)?;
        d2.recycle();
        let (k0, k1) = switch(&self.ctx, &dec, relin)?;
        drop(dec);
        add_limbs_parallel(&self.ctx, &mut d0, &k0)?;
        add_limbs_parallel(&self.ctx, &mut d1, &k1)?;
        k0.recycle();
        k1.recycle();
        Ok(Ciphertext {
            c0: d0,
            c1: d1,
            level: a.level,
            scale,
            context: a.context,
            seed: None,
        })
    }

    /// `(phi(c0 + k0), phi(k1))` with `(k0, k1)` the switch of `c1` by the Galois key (see
    /// [`GaloisKey`] for why the permutation comes last).
    fn finish_galois(
        &self,
        a: &Ciphertext,
        dec: &Decomposition,
        key: &GaloisKey,
    ) -> Result<Ciphertext> {
        let (k0, k1) = switch(&self.ctx, dec, &key.key)?;
        let (c0, c1) = permute_pair(&self.ctx, &k0, &a.c0, &k1, &key.permutation)?;
        k0.recycle();
        k1.recycle();
        Ok(Ciphertext {
            c0,
            c1,
            level: a.level,
            scale: a.scale,
            context: a.context,
            seed: None,
        })
    }

    /// Applies the automorphism of a Galois key (rotation or conjugation) with key switching.
    pub(crate) fn apply_galois(&self, a: &Ciphertext, key: &GaloisKey) -> Result<Ciphertext> {
        let dec = decompose(&self.ctx, a.level, &a.c1)?;
        self.finish_galois(a, &dec, key)
    }

    /// Rotations by every step with one shared decomposition of `c1` (keys checked by the caller).
    pub(crate) fn rotate_hoisted(&self, a: &Ciphertext, steps: &[i64]) -> Result<Vec<Ciphertext>> {
        let slots = self.ctx.params().slots();
        if steps.iter().all(|&s| normalize_step(s, slots) == 0) {
            return Ok(steps.iter().map(|_| a.clone()).collect());
        }
        let dec = decompose(&self.ctx, a.level, &a.c1)?;
        steps
            .par_iter()
            .map(|&step| -> Result<Ciphertext> {
                let k = normalize_step(step, slots);
                if k == 0 {
                    return Ok(a.clone());
                }
                let key = self
                    .keys
                    .rotation_key(k)
                    .ok_or(Error::MissingRotationKey { step })?;
                self.finish_galois(a, &dec, key)
            })
            .collect()
    }
}

/// Limb `i` of the three outputs of the tensor product.
type TensorLimbs<'a> = ((&'a mut [u64], &'a mut [u64]), &'a mut [u64]);

/// The tensor product `(a0*b0, a0*b1 + a1*b0, a1*b1)` of two NTT-form ciphertexts of the same
/// shape, limb by limb (limbs in parallel, the three outputs of a limb together while its inputs
/// are in cache) into pooled buffers that are written without a zeroing or copying pass.
fn tensor(ctx: &CkksContext, a: &Ciphertext, b: &Ciphertext) -> Result<[RnsPoly; 3]> {
    let ring = ctx.ring();
    for (x, y) in [(&a.c0, &b.c0), (&a.c1, &b.c1), (&a.c0, &a.c1)] {
        x.check_compatible(y).ring()?;
    }
    if a.c0.repr() != Representation::Ntt {
        return Err(Error::Internal {
            backend: crate::NAME,
            reason: "the tensor product expects NTT-form ciphertexts".into(),
        });
    }
    let moduli = a.c0.moduli();
    let n = ring.degree();
    let mut d = [
        RnsPoly::uninit_pooled(ring, moduli, Representation::Ntt),
        RnsPoly::uninit_pooled(ring, moduli, Representation::Ntt),
        RnsPoly::uninit_pooled(ring, moduli, Representation::Ntt),
    ];
    let [d0, d1, d2] = &mut d;
    // Pointwise work: in parallel, limbs are cut in halves so that an odd limb count still
    // splits evenly over two threads.
    let chunk = if moduli.len() > 1 && n * moduli.len() >= PARALLEL_THRESHOLD {
        (n / 2).max(1)
    } else {
        n
    };
    let per_limb = n / chunk;
    let work = |(t, ((o0, o1), o2)): (usize, TensorLimbs)| {
        let (i, start) = (t / per_limb, (t % per_limb) * chunk);
        let r = start..start + chunk;
        let m = ctx.modulus(moduli[i]);
        let (a0, a1) = (&a.c0.limb(i)[r.clone()], &a.c1.limb(i)[r.clone()]);
        let (b0, b1) = (&b.c0.limb(i)[r.clone()], &b.c1.limb(i)[r]);
        m.mul_to_slice(o0, a0, b0);
        m.mul_to_slice(o1, a0, b1);
        m.mul_add_assign_slice(o1, a1, b0);
        m.mul_to_slice(o2, a1, b1);
    };
    if chunk < n {
        d0.as_mut_slice()
            .par_chunks_exact_mut(chunk)
            .zip(d1.as_mut_slice().par_chunks_exact_mut(chunk))
            .zip(d2.as_mut_slice().par_chunks_exact_mut(chunk))
            .enumerate()
            .for_each(work);
    } else {
        d0.as_mut_slice()
            .chunks_exact_mut(n)
            .zip(d1.as_mut_slice().chunks_exact_mut(n))
            .zip(d2.as_mut_slice().chunks_exact_mut(n))
            .enumerate()
            .for_each(work);
    }
    Ok(d)
}

/// `(phi(k0 + c0), phi(k1))` for the NTT-form permutation `perm` of an automorphism `phi`, the
/// addition fused into the permutation, limbs of both outputs in parallel, into pooled buffers
/// that are written without a zeroing pass.
fn permute_pair(
    ctx: &CkksContext,
    k0: &RnsPoly,
    c0: &RnsPoly,
    k1: &RnsPoly,
    perm: &[usize],
) -> Result<(RnsPoly, RnsPoly)> {
    let ring = ctx.ring();
    let n = ring.degree();
    k0.check_compatible(c0).ring()?;
    k0.check_compatible(k1).ring()?;
    if k0.repr() != Representation::Ntt || perm.len() != n || perm.iter().any(|&j| j >= n) {
        return Err(Error::Internal {
            backend: crate::NAME,
            reason: "an automorphism needs NTT-form inputs and a permutation of 0..N".into(),
        });
    }
    let moduli = k0.moduli();
    let mut out0 = RnsPoly::uninit_pooled(ring, moduli, Representation::Ntt);
    let mut out1 = RnsPoly::uninit_pooled(ring, moduli, Representation::Ntt);
    let k = moduli.len();
    let work = |(t, out): (usize, &mut [u64])| {
        let i = t % k;
        if t < k {
            let m = ctx.modulus(moduli[i]);
            let (x, y) = (k0.limb(i), c0.limb(i));
            for (o, &j) in out.iter_mut().zip(perm) {
                *o = m.add(x[j], y[j]);
            }
        } else {
            let x = k1.limb(i);
            for (o, &j) in out.iter_mut().zip(perm) {
                *o = x[j];
            }
        }
    };
    if n * k >= PARALLEL_THRESHOLD {
        out0.as_mut_slice()
            .par_chunks_exact_mut(n)
            .chain(out1.as_mut_slice().par_chunks_exact_mut(n))
            .enumerate()
            .for_each(work);
    } else {
        out0.as_mut_slice()
            .chunks_exact_mut(n)
            .chain(out1.as_mut_slice().chunks_exact_mut(n))
            .enumerate()
            .for_each(work);
    }
    Ok((out0, out1))
}

/// `acc += x` (same shape), limbs in parallel when large (the same values as
/// [`RnsPoly::add_assign`]).
fn add_limbs_parallel(ctx: &CkksContext, acc: &mut RnsPoly, x: &RnsPoly) -> Result<()> {
    acc.check_compatible(x).ring()?;
    let n = ctx.ring().degree();
    let moduli = x.moduli();
    // Halves of limbs in parallel (an odd limb count still splits evenly over two threads).
    let chunk = (n / 2).max(1);
    let per_limb = n / chunk;
    let work = |(t, (a, b)): (usize, (&mut [u64], &[u64]))| {
        ctx.modulus(moduli[t / per_limb]).add_assign_slice(a, b);
    };
    if moduli.len() > 1 && n * moduli.len() >= PARALLEL_THRESHOLD {
        acc.as_mut_slice()
            .par_chunks_exact_mut(chunk)
            .zip(x.as_slice().par_chunks_exact(chunk))
            .enumerate()
            .for_each(work);
    } else {
        acc.as_mut_slice()
            .chunks_exact_mut(chunk)
            .zip(x.as_slice().chunks_exact(chunk))
            .enumerate()
            .for_each(work);
    }
    Ok(())
}
