//! The simulated evaluator: the mock's checks in the mock's order, on metadata only.

use crate::backend::{check_context, SimCiphertext, SimPlaintext};
use crate::memory::MemoryTracker;
use crate::SimBackend;
use hetile_backend::{
    check_encodable, check_same_level, check_same_scale, check_scale_fits, gather_terms,
    normalize_step, split_terms, Complex, Error, Evaluator, KeyRequirements, Level, Meta, Params,
    Result, Scale, MAX_ENCODED_LOG2,
};
use std::collections::BTreeSet;
use std::iter::once;
use std::sync::Arc;

/// What the hot checks need of the parameters, computed once: their fingerprint and
/// `log2 Q_level` per level (as [`Params::log_q_at`] computes it).
#[derive(Debug, Clone)]
pub(crate) struct Derived {
    /// `params.fingerprint()`.
    pub(crate) fingerprint: u64,
    log_q: Box<[f64]>,
}

impl Derived {
    /// The values of `params`.
    pub(crate) fn of(params: &Params) -> Derived {
        Derived {
            fingerprint: params.fingerprint(),
            log_q: (0..=params.max_level().0)
                .map(|l| params.log_q_at(Level(l)))
                .collect(),
        }
    }

    /// Exactly [`check_scale_fits`] (same decision, same error), without summing the chain's
    /// logarithms when the scale fits.
    pub(crate) fn scale_fits(&self, params: &Params, level: Level, scale: Scale) -> Result<()> {
        match self.log_q.get(level.0) {
            Some(&log_q) if scale.log2() + 1.0 <= log_q => Ok(()),
            _ => check_scale_fits(params, level, scale),
        }
    }

    /// Exactly [`check_encodable`] on `values` (same decision, same error): values that pass
    /// every check against the precomputed `log2 Q_level` are accepted here, anything else is
    /// left to the shared check for its error.
    fn encodable<I: ExactSizeIterator<Item = f64> + Clone>(
        &self,
        params: &Params,
        values: I,
        level: Level,
        scale: Scale,
    ) -> Result<()> {
        let accepted = self.log_q.get(level.0).is_some_and(|&log_q| {
            let scale_log2 = scale.log2();
            let limit = (log_q - 1.0).min(MAX_ENCODED_LOG2);
            scale_log2 + 1.0 <= log_q
                && values.len() <= params.slots().get()
                && values
                    .clone()
                    .all(|v| v.is_finite() && (v == 0.0 || v.abs().log2() + scale_log2 < limit))
        });
        if accepted {
            return Ok(());
        }
        check_encodable(params, values, level, scale)
    }
}

/// The simulated evaluator: the parameters, which evaluation keys exist, and the memory tracker
/// of the client it came from. Every operation makes exactly the checks of the mock backend (and
/// so of the native one), in the same order, and updates level and scale exactly as they do.
#[derive(Debug)]
pub struct SimEvaluator {
    params: Params,
    derived: Derived,
    keys: KeyRequirements,
    rotations: BTreeSet<usize>,
    tracker: Arc<MemoryTracker>,
}

impl SimEvaluator {
    /// An evaluator that behaves as if the evaluation keys in `keys` existed, recording its
    /// objects in `tracker`. Cannot fail.
    pub fn new(
        params: &Params,
        keys: &KeyRequirements,
        tracker: Arc<MemoryTracker>,
    ) -> SimEvaluator {
        SimEvaluator {
            params: params.clone(),
            derived: Derived::of(params),
            keys: keys.clone(),
            rotations: keys.normalized_rotations(params.slots()),
            tracker,
        }
    }

    /// The key requirements this evaluator was built with.
    pub fn key_requirements(&self) -> &KeyRequirements {
        &self.keys
    }

    /// The memory tracker shared with the client.
    pub fn tracker(&self) -> &Arc<MemoryTracker> {
        &self.tracker
    }

    fn check_ct(&self, a: &SimCiphertext) -> Result<()> {
        check_context(
            &self.params,
            self.derived.fingerprint,
            "ciphertext",
            a.context(),
            a.level(),
        )
    }

    fn check_pt(&self, p: &SimPlaintext) -> Result<()> {
        check_context(
            &self.params,
            self.derived.fingerprint,
            "plaintext",
            p.context(),
            p.level(),
        )
    }

    fn check_plain_level(a: &SimCiphertext, p: &SimPlaintext) -> Result<()> {
        if p.level() < a.level() {
            return Err(Error::LevelMismatch {
                left: a.level(),
                right: p.level(),
            });
        }
        Ok(())
    }

    fn check_additive(&self, a: &SimCiphertext, b: &SimCiphertext) -> Result<()> {
        self.check_ct(a)?;
        self.check_ct(b)?;
        check_same_level(a.level(), b.level())?;
        check_same_scale(a.scale(), b.scale())
    }

    fn check_additive_plain(&self, a: &SimCiphertext, p: &SimPlaintext) -> Result<()> {
        self.check_ct(a)?;
        self.check_pt(p)?;
        Self::check_plain_level(a, p)?;
        check_same_scale(a.scale(), p.scale())
    }

    /// The native backend's checks of a sum of ciphertext terms: `first` valid, every other
    /// term valid and at `first`'s level and scale.
    fn check_terms(&self, first: &SimCiphertext, rest: &[&SimCiphertext]) -> Result<()> {
        self.check_ct(first)?;
        rest.iter().try_for_each(|x| self.check_additive(first, x))
    }

    /// The scale of `a` times constants encoded at `q_level`, after the checks of
    /// `mul_scalar` for every constant (as the native backend's fused linear maps).
    fn scalar_product_scale(
        &self,
        a: &SimCiphertext,
        constants: impl IntoIterator<Item = f64>,
    ) -> Result<Scale> {
        if a.level().0 == 0 {
            return Err(Error::LevelExhausted {
                op: "mul_scalar",
                level: a.level(),
            });
        }
        let q = self.prime_at(a.level())?;
        let q_scale = Scale::new(q as f64).ok_or_else(|| Error::Internal {
            backend: "sim",
            reason: format!("prime {q} is not a valid scale"),
        })?;
        for c in constants {
            self.derived
                .encodable(&self.params, once(c), a.level(), q_scale)?;
        }
        let scale = a.scale() * q_scale;
        self.derived.scale_fits(&self.params, a.level(), scale)?;
        Ok(scale)
    }

    fn prime_at(&self, level: Level) -> Result<u64> {
        self.params.prime_at(level).ok_or(Error::InvalidLevel {
            requested: level,
            max: self.params.max_level(),
        })
    }
}

/// Encodes after the shared checks (real values); `derived` is [`Derived::of`] `params`.
pub(crate) fn encode_real(
    params: &Params,
    derived: &Derived,
    tracker: &Arc<MemoryTracker>,
    values: &[f64],
    level: Level,
    scale: Scale,
) -> Result<SimPlaintext> {
    derived.encodable(params, values.iter().copied(), level, scale)?;
    Ok(SimPlaintext::new(
        level,
        scale,
        derived.fingerprint,
        tracker,
    ))
}

/// Encodes after the shared checks on the real, then the imaginary parts; `derived` is
/// [`Derived::of`] `params`.
pub(crate) fn encode_complex(
    params: &Params,
    derived: &Derived,
    tracker: &Arc<MemoryTracker>,
    values: &[Complex],
    level: Level,
    scale: Scale,
) -> Result<SimPlaintext> {
    derived.encodable(params, values.iter().map(|c| c.re), level, scale)?;
    derived.encodable(params, values.iter().map(|c| c.im), level, scale)?;
    Ok(SimPlaintext::new(
        level,
        scale,
        derived.fingerprint,
        tracker,
    ))
}

impl Evaluator<SimBackend> for SimEvaluator {
    fn params(&self) -> &Params {
        &self.params
    }

    fn encode(&self, values: &[f64], level: Level, scale: Scale) -> Result<SimPlaintext> {
        encode_real(
            &self.params,
            &self.derived,
            &self.tracker,
            values,
            level,
            scale,
        )
    }

    fn encode_complex(
        &self,
        values: &[Complex],
        level: Level,
        scale: Scale,
    ) -> Result<SimPlaintext> {
        encode_complex(
            &self.params,
            &self.derived,
            &self.tracker,
            values,
            level,
            scale,
        )
    }

    fn add_assign(&self, a: &mut SimCiphertext, b: &SimCiphertext) -> Result<()> {
        self.check_additive(a, b)
    }

    fn sub_assign(&self, a: &mut SimCiphertext, b: &SimCiphertext) -> Result<()> {
        self.check_additive(a, b)
    }

    fn negate_assign(&self, a: &mut SimCiphertext) -> Result<()> {
        self.check_ct(a)
    }

    fn add_plain_assign(&self, a: &mut SimCiphertext, p: &SimPlaintext) -> Result<()> {
        self.check_additive_plain(a, p)
    }

    fn sub_plain_assign(&self, a: &mut SimCiphertext, p: &SimPlaintext) -> Result<()> {
        self.check_additive_plain(a, p)
    }

    /// Errors: [`Error::NonFiniteValue`] / [`Error::ValueOutOfRange`] when `c` cannot be encoded
    /// at `a`'s level and scale.
    fn add_scalar_assign(&self, a: &mut SimCiphertext, c: f64) -> Result<()> {
        self.check_ct(a)?;
        self.derived
            .encodable(&self.params, once(c), a.level(), a.scale())
    }

    fn mul_plain_assign(&self, a: &mut SimCiphertext, p: &SimPlaintext) -> Result<()> {
        self.check_ct(a)?;
        self.check_pt(p)?;
        Self::check_plain_level(a, p)?;
        let scale = a.scale() * p.scale();
        self.derived.scale_fits(&self.params, a.level(), scale)?;
        a.set_scale(scale);
        Ok(())
    }

    /// Errors: [`Error::LevelExhausted`] at level 0, encodability of `c` at scale `q_level`,
    /// [`Error::ScaleOverflow`].
    fn mul_scalar_assign(&self, a: &mut SimCiphertext, c: f64) -> Result<()> {
        self.check_ct(a)?;
        let scale = self.scalar_product_scale(a, once(c))?;
        a.set_scale(scale);
        Ok(())
    }

    fn mul_integer_assign(&self, a: &mut SimCiphertext, _k: i64) -> Result<()> {
        self.check_ct(a)
    }

    /// Errors: [`Error::LevelMismatch`], [`Error::MissingRelinearizationKey`],
    /// [`Error::ScaleOverflow`] (in that order).
    fn mul(&self, a: &SimCiphertext, b: &SimCiphertext) -> Result<SimCiphertext> {
        self.check_ct(a)?;
        self.check_ct(b)?;
        check_same_level(a.level(), b.level())?;
        if !self.keys.relinearization {
            return Err(Error::MissingRelinearizationKey);
        }
        let scale = a.scale() * b.scale();
        self.derived.scale_fits(&self.params, a.level(), scale)?;
        Ok(a.derive(scale, &self.tracker))
    }

    fn rescale_assign(&self, a: &mut SimCiphertext) -> Result<()> {
        self.check_ct(a)?;
        let below = a.level().below().ok_or(Error::LevelExhausted {
            op: "rescale",
            level: a.level(),
        })?;
        let q = self.prime_at(a.level())?;
        a.set_scale(a.scale().div_prime(q));
        a.set_level(below);
        Ok(())
    }

    fn drop_to_level_assign(&self, a: &mut SimCiphertext, level: Level) -> Result<()> {
        self.check_ct(a)?;
        if level > a.level() {
            return Err(Error::InvalidLevel {
                requested: level,
                max: a.level(),
            });
        }
        a.set_level(level);
        Ok(())
    }

    fn rotate(&self, a: &SimCiphertext, step: i64) -> Result<SimCiphertext> {
        self.check_ct(a)?;
        let k = normalize_step(step, self.params.slots());
        if k == 0 {
            return Ok(a.clone());
        }
        if !self.rotations.contains(&k) {
            return Err(Error::MissingRotationKey { step });
        }
        Ok(a.derive(a.scale(), &self.tracker))
    }

    fn conjugate(&self, a: &SimCiphertext) -> Result<SimCiphertext> {
        self.check_ct(a)?;
        if !self.keys.conjugation {
            return Err(Error::MissingConjugationKey);
        }
        Ok(a.derive(a.scale(), &self.tracker))
    }

    /// The native backend's fused checks (terms, then constants), one result ciphertext.
    fn linear_combination(&self, a: &[&SimCiphertext], c: &[f64]) -> Result<SimCiphertext> {
        let (first, rest) = split_terms(a, c.len())?;
        self.check_terms(first, rest)?;
        let scale = self.scalar_product_scale(first, c.iter().copied())?;
        Ok(first.derive(scale, &self.tracker))
    }

    /// The native backend's fused checks: terms, every row's indices, then every constant;
    /// one result per row and no intermediate product (as the fused kernel).
    fn linear_maps(
        &self,
        inputs: &[&SimCiphertext],
        rows: &[Vec<(usize, f64)>],
    ) -> Result<Vec<SimCiphertext>> {
        let (first, rest) = inputs
            .split_first()
            .ok_or_else(|| Error::InvalidParameters {
                reason: "a linear map needs at least one input".into(),
            })?;
        self.check_terms(first, rest)?;
        for row in rows {
            if row.is_empty() {
                return Err(Error::InvalidParameters {
                    reason: "a linear map row needs at least one term".into(),
                });
            }
            if let Some(&(k, _)) = row.iter().find(|&&(k, _)| k >= inputs.len()) {
                // the shared helper's error for an index past the inputs
                gather_terms(inputs, &[(k, 0.0)])?;
            }
        }
        let consts = rows.iter().flatten().map(|&(_, c)| c);
        let scale = self.scalar_product_scale(first, consts)?;
        Ok(rows
            .iter()
            .map(|_| first.derive(scale, &self.tracker))
            .collect())
    }

    /// The native backend's fused checks (terms, then every plaintext's level and scale), one
    /// result ciphertext and no intermediate product.
    fn mul_plain_sum(&self, a: &[&SimCiphertext], p: &[&SimPlaintext]) -> Result<SimCiphertext> {
        let (first, rest) = split_terms(a, p.len())?;
        self.check_terms(first, rest)?;
        let p0 = p.first().ok_or_else(|| Error::InvalidParameters {
            reason: "a sum of products needs at least one term".into(),
        })?;
        let scale = first.scale() * p0.scale();
        for pk in p {
            self.check_pt(pk)?;
            Self::check_plain_level(first, pk)?;
            check_same_scale(scale, first.scale() * pk.scale())?;
        }
        self.derived
            .scale_fits(&self.params, first.level(), scale)?;
        Ok(first.derive(scale, &self.tracker))
    }

    fn has_rotation_key(&self, step: i64) -> bool {
        let k = normalize_step(step, self.params.slots());
        k == 0 || self.rotations.contains(&k)
    }

    /// Checks every step's key first, as the mock and the native backend do.
    fn rotate_many(&self, a: &SimCiphertext, steps: &[i64]) -> Result<Vec<SimCiphertext>> {
        if let Some(&step) = steps.iter().find(|&&s| !self.has_rotation_key(s)) {
            self.check_ct(a)?;
            return Err(Error::MissingRotationKey { step });
        }
        steps.iter().map(|&s| self.rotate(a, s)).collect()
    }
}
