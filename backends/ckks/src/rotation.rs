//! The key-switching operations of the evaluator: multiplication with relinearization, rotations
//! (single and hoisted) and conjugation.

use crate::evaluator::CkksEvaluator;
use crate::keys::{GaloisKey, SwitchingKey};
use crate::keyswitch::{decompose, switch, Decomposition};
use crate::types::Ciphertext;
use crate::RingResultExt;
use hetile_backend::{normalize_step, Error, Result, Scale};
use hetile_ring::rns::{Representation, RnsPoly};
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
        let ring = self.ctx.ring();
        let (d01, d2) = rayon::join(
            || -> Result<(RnsPoly, RnsPoly)> {
                let mut d0 = a.c0.clone();
                d0.mul_assign(ring, &b.c0).ring()?;
                let mut d1 = a.c0.clone();
                d1.mul_assign(ring, &b.c1).ring()?;
                d1.mul_add_assign(ring, &a.c1, &b.c0).ring()?;
                Ok((d0, d1))
            },
            || -> Result<RnsPoly> {
                let mut d2 = RnsPoly::zero_pooled(ring, a.c1.moduli(), Representation::Ntt);
                d2.as_mut_slice().copy_from_slice(a.c1.as_slice());
                d2.mul_assign(ring, &b.c1).ring()?;
                Ok(d2)
            },
        );
        let (mut d0, mut d1) = d01?;
        let d2 = d2?;
        let dec = decompose(&self.ctx, a.level, &d2)?;
        d2.recycle();
        let (k0, k1) = switch(&self.ctx, &dec, relin)?;
        drop(dec);
        d0.add_assign(ring, &k0).ring()?;
        d1.add_assign(ring, &k1).ring()?;
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

    fn permute(&self, poly: &RnsPoly, perm: &[usize]) -> Result<RnsPoly> {
        let mut out = RnsPoly::zero_pooled(self.ctx.ring(), poly.moduli(), Representation::Ntt);
        poly.automorphism_ntt(perm, &mut out).ring()?;
        Ok(out)
    }

    /// `(phi(c0 + k0), phi(k1))` with `(k0, k1)` the switch of `c1` by the Galois key (see
    /// [`GaloisKey`] for why the permutation comes last).
    fn finish_galois(
        &self,
        a: &Ciphertext,
        dec: &Decomposition,
        key: &GaloisKey,
    ) -> Result<Ciphertext> {
        let (mut k0, k1) = switch(&self.ctx, dec, &key.key)?;
        k0.add_assign(self.ctx.ring(), &a.c0).ring()?;
        let (c0, c1) = rayon::join(
            || self.permute(&k0, &key.permutation),
            || self.permute(&k1, &key.permutation),
        );
        k0.recycle();
        k1.recycle();
        Ok(Ciphertext {
            c0: c0?,
            c1: c1?,
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
