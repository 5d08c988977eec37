//! The server side: every operation of the backend contract on RNS-CKKS ciphertexts. Arithmetic
//! lives here; key-switching operations (multiplication, rotations, conjugation) in
//! `rotation.rs`.

use crate::context::CkksContext;
use crate::encoding::{
    check_ciphertext, check_plaintext, encode_complex, encode_real, residues_of_rounded,
};
use crate::keys::EvaluationKeys;
use crate::types::{Ciphertext, Plaintext};
use crate::{CkksBackend, RingResultExt};
use hetile_backend::{
    check_encodable, check_same_level, check_same_scale, check_scale_fits, gather_terms,
    normalize_step, split_terms, Complex, Error, Evaluator, KeyRequirements, Level, Params, Result,
    Scale,
};
use hetile_ring::linear::linear_maps;
use hetile_ring::rns::RnsPoly;
use std::borrow::Cow;
use std::iter::once;
use std::sync::Arc;

/// The CKKS evaluator: parameters, context and the public evaluation keys (relinearization and
/// Galois keys). It holds no secret.
#[derive(Debug, Clone)]
pub struct CkksEvaluator {
    pub(crate) ctx: Arc<CkksContext>,
    pub(crate) keys: Arc<EvaluationKeys>,
    requirements: KeyRequirements,
}

impl CkksEvaluator {
    /// An evaluator over a context and public evaluation keys. `requirements` records what the
    /// client was asked to generate (the keys themselves decide what is possible).
    pub fn new(
        ctx: Arc<CkksContext>,
        keys: Arc<EvaluationKeys>,
        requirements: KeyRequirements,
    ) -> CkksEvaluator {
        CkksEvaluator {
            ctx,
            keys,
            requirements,
        }
    }

    /// The context.
    pub fn context(&self) -> &Arc<CkksContext> {
        &self.ctx
    }

    /// The evaluation keys.
    pub fn evaluation_keys(&self) -> &Arc<EvaluationKeys> {
        &self.keys
    }

    /// The key requirements the client generated keys for.
    pub fn key_requirements(&self) -> &KeyRequirements {
        &self.requirements
    }

    pub(crate) fn check_ct(&self, a: &Ciphertext) -> Result<()> {
        check_ciphertext(&self.ctx, a)
    }

    fn check_pt(&self, p: &Plaintext) -> Result<()> {
        check_plaintext(&self.ctx, p)
    }

    /// A plaintext may sit at the ciphertext's level or above (it is used truncated).
    fn check_plain_level(a: &Ciphertext, p: &Plaintext) -> Result<()> {
        if p.level < a.level {
            return Err(Error::LevelMismatch {
                left: a.level,
                right: p.level,
            });
        }
        Ok(())
    }

    fn check_additive(&self, a: &Ciphertext, b: &Ciphertext) -> Result<()> {
        self.check_ct(a)?;
        self.check_ct(b)?;
        check_same_level(a.level, b.level)?;
        check_same_scale(a.scale, b.scale)
    }

    fn check_additive_plain(&self, a: &Ciphertext, p: &Plaintext) -> Result<()> {
        self.check_ct(a)?;
        self.check_pt(p)?;
        Self::check_plain_level(a, p)?;
        check_same_scale(a.scale, p.scale)
    }

    /// The plaintext polynomial truncated to the ciphertext's level.
    fn plain_at<'a>(p: &'a Plaintext, level: Level) -> Cow<'a, RnsPoly> {
        if p.level == level {
            Cow::Borrowed(&p.poly)
        } else {
            Cow::Owned(p.poly.select_limbs(0..level.0 + 1))
        }
    }

    /// The prime `q_level` the constants of a scalar product are encoded at, and the product's
    /// scale `a.scale * q_level`, after checking that the constants encode and the scale fits.
    fn scalar_product_scale(&self, a: &Ciphertext, constants: &[f64]) -> Result<(u64, Scale)> {
        if a.level.0 == 0 {
            return Err(Error::LevelExhausted {
                op: "mul_scalar",
                level: a.level,
            });
        }
        let params = self.ctx.params();
        let q = params.prime_at(a.level).ok_or(Error::InvalidLevel {
            requested: a.level,
            max: params.max_level(),
        })?;
        let q_scale = Scale::new(q as f64).ok_or_else(|| Error::Internal {
            backend: crate::NAME,
            reason: format!("prime {q} is not a valid scale"),
        })?;
        for &c in constants {
            check_encodable(params, once(c), a.level, q_scale)?;
        }
        let scale = a.scale * q_scale;
        check_scale_fits(params, a.level, scale)?;
        Ok((q, scale))
    }

    /// Checks that every term is a valid ciphertext at `first`'s level and scale.
    fn check_terms(&self, first: &Ciphertext, rest: &[&Ciphertext]) -> Result<()> {
        self.check_ct(first)?;
        rest.iter().try_for_each(|x| self.check_additive(first, x))
    }

    /// A ciphertext at `like`'s level and context from two components.
    fn assemble(like: &Ciphertext, c0: RnsPoly, c1: RnsPoly, scale: Scale) -> Ciphertext {
        Ciphertext {
            c0,
            c1,
            level: like.level,
            scale,
            context: like.context,
            seed: None,
        }
    }

    /// Adds the integer `round(x)` to every NTT slot of `poly` (the constant polynomial `x`).
    fn add_constant(&self, poly: &mut RnsPoly, x: f64) {
        let ring = self.ctx.ring();
        let residues = residues_of_rounded(ring, poly.moduli(), x);
        for (i, &r) in residues.iter().enumerate() {
            let prime = poly.moduli()[i];
            let m = *ring.modulus(prime);
            for v in poly.limb_mut(i) {
                *v = m.add(*v, r);
            }
        }
    }
}

impl Evaluator<CkksBackend> for CkksEvaluator {
    fn params(&self) -> &Params {
        self.ctx.params()
    }

    fn encode(&self, values: &[f64], level: Level, scale: Scale) -> Result<Plaintext> {
        encode_real(&self.ctx, values, level, scale)
    }

    fn encode_complex(&self, values: &[Complex], level: Level, scale: Scale) -> Result<Plaintext> {
        encode_complex(&self.ctx, values, level, scale)
    }

    fn add_assign(&self, a: &mut Ciphertext, b: &Ciphertext) -> Result<()> {
        self.check_additive(a, b)?;
        let ring = self.ctx.ring();
        a.c0.add_assign(ring, &b.c0).ring()?;
        a.c1.add_assign(ring, &b.c1).ring()?;
        a.seed = None;
        Ok(())
    }

    fn sub_assign(&self, a: &mut Ciphertext, b: &Ciphertext) -> Result<()> {
        self.check_additive(a, b)?;
        let ring = self.ctx.ring();
        a.c0.sub_assign(ring, &b.c0).ring()?;
        a.c1.sub_assign(ring, &b.c1).ring()?;
        a.seed = None;
        Ok(())
    }

    fn negate_assign(&self, a: &mut Ciphertext) -> Result<()> {
        self.check_ct(a)?;
        let ring = self.ctx.ring();
        a.c0.neg_assign(ring);
        a.c1.neg_assign(ring);
        a.seed = None;
        Ok(())
    }

    fn add_plain_assign(&self, a: &mut Ciphertext, p: &Plaintext) -> Result<()> {
        self.check_additive_plain(a, p)?;
        a.c0.add_assign(self.ctx.ring(), &Self::plain_at(p, a.level))
            .ring()?;
        a.seed = None;
        Ok(())
    }

    fn sub_plain_assign(&self, a: &mut Ciphertext, p: &Plaintext) -> Result<()> {
        self.check_additive_plain(a, p)?;
        a.c0.sub_assign(self.ctx.ring(), &Self::plain_at(p, a.level))
            .ring()?;
        a.seed = None;
        Ok(())
    }

    /// Adds `round(c * scale)` to `c0` as a constant polynomial (every NTT slot).
    /// Errors: [`Error::NonFiniteValue`] / [`Error::ValueOutOfRange`] when `c` cannot be encoded
    /// at `a`'s level and scale.
    fn add_scalar_assign(&self, a: &mut Ciphertext, c: f64) -> Result<()> {
        self.check_ct(a)?;
        check_encodable(self.ctx.params(), once(c), a.level, a.scale)?;
        self.add_constant(&mut a.c0, c * a.scale.value());
        a.seed = None;
        Ok(())
    }

    fn mul_plain_assign(&self, a: &mut Ciphertext, p: &Plaintext) -> Result<()> {
        self.check_ct(a)?;
        self.check_pt(p)?;
        Self::check_plain_level(a, p)?;
        let scale = a.scale * p.scale;
        check_scale_fits(self.ctx.params(), a.level, scale)?;
        let ring = self.ctx.ring();
        let pp = Self::plain_at(p, a.level);
        let (r0, r1) = rayon::join(|| a.c0.mul_assign(ring, &pp), || a.c1.mul_assign(ring, &pp));
        r0.ring()?;
        r1.ring()?;
        a.scale = scale;
        a.seed = None;
        Ok(())
    }

    /// Multiplies by the integer `round(c * q_level)`; the scale grows by `q_level`.
    /// Errors: [`Error::LevelExhausted`] at level 0, [`Error::NonFiniteValue`] /
    /// [`Error::ValueOutOfRange`] when `c` cannot be encoded at scale `q_level`,
    /// [`Error::ScaleOverflow`] when `scale * q_level` does not fit the level.
    fn mul_scalar_assign(&self, a: &mut Ciphertext, c: f64) -> Result<()> {
        self.check_ct(a)?;
        let (q, scale) = self.scalar_product_scale(a, &[c])?;
        let ring = self.ctx.ring();
        let residues = residues_of_rounded(ring, a.c0.moduli(), c * q as f64);
        a.c0.mul_rns_scalar_assign(ring, &residues).ring()?;
        a.c1.mul_rns_scalar_assign(ring, &residues).ring()?;
        a.scale = scale;
        a.seed = None;
        Ok(())
    }

    /// One pass over the terms (lazy IFMA accumulation where the primes allow), bit-identical
    /// to `mul_scalar` + `add_assign` term by term.
    fn linear_combination(&self, a: &[&Ciphertext], c: &[f64]) -> Result<Ciphertext> {
        split_terms(a, c.len())?;
        let row: Vec<(usize, f64)> = c.iter().copied().enumerate().collect();
        let mut out = self.linear_maps(a, &[row])?;
        out.pop().ok_or_else(|| Error::Internal {
            backend: crate::NAME,
            reason: "a one-row linear map gave no output".into(),
        })
    }

    /// Every input is read once for all outputs (blocked over coefficients), bit-identical to
    /// `mul_scalar` + `add_assign` term by term.
    fn linear_maps(
        &self,
        inputs: &[&Ciphertext],
        rows: &[Vec<(usize, f64)>],
    ) -> Result<Vec<Ciphertext>> {
        let (first, rest) = inputs
            .split_first()
            .ok_or_else(|| Error::InvalidParameters {
                reason: "a linear map needs at least one input".into(),
            })?;
        self.check_terms(first, rest)?;
        let mut consts = Vec::new();
        for row in rows {
            consts.extend(gather_terms(inputs, row)?.1);
        }
        let (q, scale) = self.scalar_product_scale(first, &consts)?;
        let ring = self.ctx.ring();
        let moduli = first.c0.moduli();
        let residues: Vec<Vec<Vec<u64>>> = rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|&(_, ck)| residues_of_rounded(ring, moduli, ck * q as f64))
                    .collect()
            })
            .collect();
        let terms: Vec<Vec<(usize, &[u64])>> = rows
            .iter()
            .zip(&residues)
            .map(|(row, res)| {
                row.iter()
                    .zip(res)
                    .map(|(&(k, _), w)| (k, w.as_slice()))
                    .collect()
            })
            .collect();
        let map = |part: fn(&Ciphertext) -> &RnsPoly| {
            let polys: Vec<&RnsPoly> = inputs.iter().map(|x| part(x)).collect();
            linear_maps(ring, &polys, &terms)
        };
        let (c0, c1) = rayon::join(|| map(|x| &x.c0), || map(|x| &x.c1));
        Ok(c0
            .ring()?
            .into_iter()
            .zip(c1.ring()?)
            .map(|(c0, c1)| Self::assemble(first, c0, c1, scale))
            .collect())
    }

    /// Accumulates the products in place (no product stored), bit-identical to `mul_plain` +
    /// `add_assign` term by term.
    fn mul_plain_sum(&self, a: &[&Ciphertext], p: &[&Plaintext]) -> Result<Ciphertext> {
        let (first, rest) = split_terms(a, p.len())?;
        self.check_terms(first, rest)?;
        let scale = first.scale * p[0].scale;
        for pk in p {
            self.check_pt(pk)?;
            Self::check_plain_level(first, pk)?;
            check_same_scale(scale, first.scale * pk.scale)?;
        }
        check_scale_fits(self.ctx.params(), first.level, scale)?;
        let ring = self.ctx.ring();
        let plains: Vec<Cow<'_, RnsPoly>> =
            p.iter().map(|pk| Self::plain_at(pk, first.level)).collect();
        let accumulate = |part: fn(&Ciphertext) -> &RnsPoly| {
            let mut out = RnsPoly::zero_pooled(ring, part(first).moduli(), part(first).repr());
            for (x, pk) in a.iter().zip(&plains) {
                out.mul_add_assign(ring, part(x), pk)?;
            }
            Ok(out)
        };
        let (c0, c1) = rayon::join(|| accumulate(|x| &x.c0), || accumulate(|x| &x.c1));
        Ok(Self::assemble(first, c0.ring()?, c1.ring()?, scale))
    }

    fn mul_integer_assign(&self, a: &mut Ciphertext, k: i64) -> Result<()> {
        self.check_ct(a)?;
        let ring = self.ctx.ring();
        a.c0.mul_scalar_assign(ring, k);
        a.c1.mul_scalar_assign(ring, k);
        a.seed = None;
        Ok(())
    }

    /// Tensor product `(a0 b0, a0 b1 + a1 b0, a1 b1)` then relinearization of the last term.
    /// Errors: [`Error::LevelMismatch`], [`Error::MissingRelinearizationKey`],
    /// [`Error::ScaleOverflow`] (in that order).
    fn mul(&self, a: &Ciphertext, b: &Ciphertext) -> Result<Ciphertext> {
        self.check_ct(a)?;
        self.check_ct(b)?;
        check_same_level(a.level, b.level)?;
        let relin = self
            .keys
            .relinearization()
            .ok_or(Error::MissingRelinearizationKey)?;
        let scale = a.scale * b.scale;
        check_scale_fits(self.ctx.params(), a.level, scale)?;
        self.multiply_relinearize(a, b, relin, scale)
    }

    fn rescale_assign(&self, a: &mut Ciphertext) -> Result<()> {
        self.check_ct(a)?;
        let below = a.level.below().ok_or(Error::LevelExhausted {
            op: "rescale",
            level: a.level,
        })?;
        let params = self.ctx.params();
        let q = params.prime_at(a.level).ok_or(Error::InvalidLevel {
            requested: a.level,
            max: params.max_level(),
        })?;
        let tables = self.ctx.level(a.level)?;
        let divide = tables.rescale.as_ref().ok_or_else(|| Error::Internal {
            backend: crate::NAME,
            reason: format!("no rescale table at {}", a.level),
        })?;
        let ring = self.ctx.ring();
        let (c0, c1) = rayon::join(|| divide.apply(ring, &a.c0), || divide.apply(ring, &a.c1));
        a.c0 = c0.ring()?;
        a.c1 = c1.ring()?;
        a.scale = a.scale.div_prime(q);
        a.level = below;
        a.seed = None;
        Ok(())
    }

    fn drop_to_level_assign(&self, a: &mut Ciphertext, level: Level) -> Result<()> {
        self.check_ct(a)?;
        if level > a.level {
            return Err(Error::InvalidLevel {
                requested: level,
                max: a.level,
            });
        }
        if level < a.level {
            a.c0.truncate_limbs(level.0 + 1);
            a.c1.truncate_limbs(level.0 + 1);
            a.level = level;
            a.seed = None;
        }
        Ok(())
    }

    fn rotate(&self, a: &Ciphertext, step: i64) -> Result<Ciphertext> {
        self.check_ct(a)?;
        let k = normalize_step(step, self.ctx.params().slots());
        if k == 0 {
            return Ok(a.clone());
        }
        let key = self
            .keys
            .rotation_key(k)
            .ok_or(Error::MissingRotationKey { step })?;
        self.apply_galois(a, key)
    }

    fn conjugate(&self, a: &Ciphertext) -> Result<Ciphertext> {
        self.check_ct(a)?;
        let key = self
            .keys
            .conjugation_key()
            .ok_or(Error::MissingConjugationKey)?;
        self.apply_galois(a, key)
    }

    fn has_rotation_key(&self, step: i64) -> bool {
        let k = normalize_step(step, self.ctx.params().slots());
        k == 0 || self.keys.rotation_key(k).is_some()
    }

    /// Hoisted: checks every step's key first, decomposes `c1` once and reuses the extended
    /// digits for every step (the automorphism commutes with ModUp).
    fn rotate_many(&self, a: &Ciphertext, steps: &[i64]) -> Result<Vec<Ciphertext>> {
        if let Some(&step) = steps.iter().find(|&&s| !self.has_rotation_key(s)) {
            self.check_ct(a)?;
            return Err(Error::MissingRotationKey { step });
        }
        self.check_ct(a)?;
        self.rotate_hoisted(a, steps)
    }
}
