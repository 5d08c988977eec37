//! The server side of the mock: clear arithmetic with the exact CKKS bookkeeping and errors.

use crate::encode::{check_context, cmul, encode_complex, encode_real};
use crate::noise::{NoiseModel, NoiseSource};
use crate::{MockBackend, MockCiphertext, MockPlaintext};
use hetile_backend::{
    check_encodable, check_same_level, check_same_scale, check_scale_fits, normalize_step, Complex,
    Error, Evaluator, KeyRequirements, Level, Params, Result, Scale,
};
use std::collections::BTreeSet;
use std::iter::once;

/// The mock evaluator: the parameters and which evaluation keys exist (relinearization,
/// conjugation, the rotation steps reduced modulo the slot count). It holds no secret, as the
/// native evaluator holds only public keys; an optional noise source mimics CKKS noise.
#[derive(Debug)]
pub struct MockEvaluator {
    params: Params,
    keys: KeyRequirements,
    rotations: BTreeSet<usize>,
    noise: Option<(NoiseModel, NoiseSource)>,
}

impl MockEvaluator {
    /// An exact (noise-free) evaluator that behaves as if the evaluation keys in `keys` existed.
    /// Cannot fail: any parameters and key requirements are accepted.
    pub fn new(params: &Params, keys: &KeyRequirements) -> MockEvaluator {
        MockEvaluator {
            params: params.clone(),
            keys: keys.clone(),
            rotations: keys.normalized_rotations(params.slots()),
            noise: None,
        }
    }

    pub(crate) fn with_noise_source(
        params: &Params,
        keys: &KeyRequirements,
        noise: Option<(NoiseModel, NoiseSource)>,
    ) -> MockEvaluator {
        MockEvaluator {
            noise,
            ..MockEvaluator::new(params, keys)
        }
    }

    /// The key requirements this evaluator was built with.
    pub fn key_requirements(&self) -> &KeyRequirements {
        &self.keys
    }

    /// The non-zero rotation steps (reduced to `1..slots`) that have a key.
    pub fn rotation_steps(&self) -> &BTreeSet<usize> {
        &self.rotations
    }

    /// Adds the per-operation noise, if a noise model is set.
    fn op_noise(&self, values: &mut [Complex]) {
        if let Some((model, source)) = &self.noise {
            source.perturb(values, model.per_op);
        }
    }

    fn check_ct(&self, a: &MockCiphertext) -> Result<()> {
        check_context(
            &self.params,
            "ciphertext",
            a.context,
            a.values.len(),
            a.level,
        )
    }

    fn check_pt(&self, p: &MockPlaintext) -> Result<()> {
        check_context(
            &self.params,
            "plaintext",
            p.context,
            p.values.len(),
            p.level,
        )
    }

    /// A plaintext may sit at the ciphertext's level or above (it is used truncated).
    fn check_plain_level(a: &MockCiphertext, p: &MockPlaintext) -> Result<()> {
        if p.level < a.level {
            return Err(Error::LevelMismatch {
                left: a.level,
                right: p.level,
            });
        }
        Ok(())
    }

    /// Checks for a binary ct-ct addition or subtraction.
    fn check_additive(&self, a: &MockCiphertext, b: &MockCiphertext) -> Result<()> {
        self.check_ct(a)?;
        self.check_ct(b)?;
        check_same_level(a.level, b.level)?;
        check_same_scale(a.scale, b.scale)
    }

    /// Checks for a ct-pt addition or subtraction.
    fn check_additive_plain(&self, a: &MockCiphertext, p: &MockPlaintext) -> Result<()> {
        self.check_ct(a)?;
        self.check_pt(p)?;
        Self::check_plain_level(a, p)?;
        check_same_scale(a.scale, p.scale)
    }
}

impl Evaluator<MockBackend> for MockEvaluator {
    fn params(&self) -> &Params {
        &self.params
    }

    fn encode(&self, values: &[f64], level: Level, scale: Scale) -> Result<MockPlaintext> {
        encode_real(&self.params, values, level, scale)
    }

    fn encode_complex(
        &self,
        values: &[Complex],
        level: Level,
        scale: Scale,
    ) -> Result<MockPlaintext> {
        encode_complex(&self.params, values, level, scale)
    }

    fn add_assign(&self, a: &mut MockCiphertext, b: &MockCiphertext) -> Result<()> {
        self.check_additive(a, b)?;
        accumulate(&mut a.values, &b.values, 1.0);
        Ok(())
    }

    fn sub_assign(&self, a: &mut MockCiphertext, b: &MockCiphertext) -> Result<()> {
        self.check_additive(a, b)?;
        accumulate(&mut a.values, &b.values, -1.0);
        Ok(())
    }

    fn negate_assign(&self, a: &mut MockCiphertext) -> Result<()> {
        self.check_ct(a)?;
        for x in a.values.iter_mut() {
            x.re = -x.re;
            x.im = -x.im;
        }
        Ok(())
    }

    fn add_plain_assign(&self, a: &mut MockCiphertext, p: &MockPlaintext) -> Result<()> {
        self.check_additive_plain(a, p)?;
        accumulate(&mut a.values, &p.values, 1.0);
        Ok(())
    }

    fn sub_plain_assign(&self, a: &mut MockCiphertext, p: &MockPlaintext) -> Result<()> {
        self.check_additive_plain(a, p)?;
        accumulate(&mut a.values, &p.values, -1.0);
        Ok(())
    }

    /// Errors: [`Error::NonFiniteValue`] / [`Error::ValueOutOfRange`] when `c` cannot be encoded
    /// at `a`'s level and scale (see [`check_encodable`]).
    fn add_scalar_assign(&self, a: &mut MockCiphertext, c: f64) -> Result<()> {
        self.check_ct(a)?;
        check_encodable(&self.params, once(c), a.level, a.scale)?;
        for x in a.values.iter_mut() {
            x.re += c;
        }
        Ok(())
    }

    fn mul_plain_assign(&self, a: &mut MockCiphertext, p: &MockPlaintext) -> Result<()> {
        self.check_ct(a)?;
        self.check_pt(p)?;
        Self::check_plain_level(a, p)?;
        let scale = a.scale * p.scale;
        check_scale_fits(&self.params, a.level, scale)?;
        for (x, &y) in a.values.iter_mut().zip(&p.values) {
            *x = cmul(*x, y);
        }
        a.scale = scale;
        self.op_noise(&mut a.values);
        Ok(())
    }

    /// Errors: [`Error::LevelExhausted`] at level 0, [`Error::NonFiniteValue`] /
    /// [`Error::ValueOutOfRange`] when `c` cannot be encoded at scale `q_level`,
    /// [`Error::ScaleOverflow`] when `scale * q_level` does not fit the level.
    fn mul_scalar_assign(&self, a: &mut MockCiphertext, c: f64) -> Result<()> {
        self.check_ct(a)?;
        if a.level.0 == 0 {
            return Err(Error::LevelExhausted {
                op: "mul_scalar",
                level: a.level,
            });
        }
        let q = self.params.prime_at(a.level).ok_or(Error::InvalidLevel {
            requested: a.level,
            max: self.params.max_level(),
        })?;
        let q_scale = Scale::new(q as f64).ok_or_else(|| Error::Internal {
            backend: "mock",
            reason: format!("prime {q} is not a valid scale"),
        })?;
        check_encodable(&self.params, once(c), a.level, q_scale)?;
        let scale = a.scale * q_scale;
        check_scale_fits(&self.params, a.level, scale)?;
        for x in a.values.iter_mut() {
            x.re *= c;
            x.im *= c;
        }
        a.scale = scale;
        self.op_noise(&mut a.values);
        Ok(())
    }

    fn mul_integer_assign(&self, a: &mut MockCiphertext, k: i64) -> Result<()> {
        self.check_ct(a)?;
        let k = k as f64;
        for x in a.values.iter_mut() {
            x.re *= k;
            x.im *= k;
        }
        Ok(())
    }

    /// Errors: [`Error::LevelMismatch`], [`Error::MissingRelinearizationKey`],
    /// [`Error::ScaleOverflow`] (in that order).
    fn mul(&self, a: &MockCiphertext, b: &MockCiphertext) -> Result<MockCiphertext> {
        self.check_ct(a)?;
        self.check_ct(b)?;
        check_same_level(a.level, b.level)?;
        if !self.keys.relinearization {
            return Err(Error::MissingRelinearizationKey);
        }
        let scale = a.scale * b.scale;
        check_scale_fits(&self.params, a.level, scale)?;
        let mut values: Vec<Complex> = a
            .values
            .iter()
            .zip(&b.values)
            .map(|(&x, &y)| cmul(x, y))
            .collect();
        self.op_noise(&mut values);
        Ok(MockCiphertext {
            values,
            level: a.level,
            scale,
            context: a.context,
        })
    }

    fn rescale_assign(&self, a: &mut MockCiphertext) -> Result<()> {
        self.check_ct(a)?;
        let below = a.level.below().ok_or(Error::LevelExhausted {
            op: "rescale",
            level: a.level,
        })?;
        let q = self.params.prime_at(a.level).ok_or(Error::InvalidLevel {
            requested: a.level,
            max: self.params.max_level(),
        })?;
        a.scale = a.scale.div_prime(q);
        a.level = below;
        self.op_noise(&mut a.values);
        Ok(())
    }

    fn drop_to_level_assign(&self, a: &mut MockCiphertext, level: Level) -> Result<()> {
        self.check_ct(a)?;
        if level > a.level {
            return Err(Error::InvalidLevel {
                requested: level,
                max: a.level,
            });
        }
        a.level = level;
        Ok(())
    }

    fn rotate(&self, a: &MockCiphertext, step: i64) -> Result<MockCiphertext> {
        self.check_ct(a)?;
        let n = a.values.len();
        let k = normalize_step(step, self.params.slots());
        if k == 0 {
            return Ok(a.clone());
        }
        if !self.rotations.contains(&k) {
            return Err(Error::MissingRotationKey { step });
        }
        let mut values: Vec<Complex> = (0..n).map(|i| a.values[(i + k) % n]).collect();
        self.op_noise(&mut values);
        Ok(MockCiphertext {
            values,
            level: a.level,
            scale: a.scale,
            context: a.context,
        })
    }

    fn conjugate(&self, a: &MockCiphertext) -> Result<MockCiphertext> {
        self.check_ct(a)?;
        if !self.keys.conjugation {
            return Err(Error::MissingConjugationKey);
        }
        let mut values: Vec<Complex> = a.values.iter().map(|x| Complex::new(x.re, -x.im)).collect();
        self.op_noise(&mut values);
        Ok(MockCiphertext {
            values,
            level: a.level,
            scale: a.scale,
            context: a.context,
        })
    }

    fn has_rotation_key(&self, step: i64) -> bool {
        let k = normalize_step(step, self.params.slots());
        k == 0 || self.rotations.contains(&k)
    }

    /// Checks every step's key first, so that a missing key fails before any work is done.
    fn rotate_many(&self, a: &MockCiphertext, steps: &[i64]) -> Result<Vec<MockCiphertext>> {
        if let Some(&step) = steps.iter().find(|&&s| !self.has_rotation_key(s)) {
            self.check_ct(a)?;
            return Err(Error::MissingRotationKey { step });
        }
        steps.iter().map(|&s| self.rotate(a, s)).collect()
    }
}

/// `dst[i] += sign * src[i]` for `sign` = 1 or -1 (adding the negation is bit-identical to
/// subtracting).
fn accumulate(dst: &mut [Complex], src: &[Complex], sign: f64) {
    for (x, y) in dst.iter_mut().zip(src) {
        x.re += sign * y.re;
        x.im += sign * y.im;
    }
}
