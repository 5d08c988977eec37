//! The backend family, the server-side evaluator and the client.

use crate::error::{Error, Result};
use crate::params::Params;
use crate::types::{Complex, Level, Scale, SlotCount};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt::Debug;

/// Level and scale of an encoded object (ciphertext or plaintext).
pub trait Meta {
    /// The object's level.
    fn level(&self) -> Level;
    /// The object's exact scale.
    fn scale(&self) -> Scale;
}

/// The evaluation keys a client generates: relinearization, exactly the listed rotation steps and
/// optionally conjugation. Steps are kept as the caller wrote them; backends reduce them modulo the
/// slot count, so `k` and `k - slots` share a key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRequirements {
    /// Generate a relinearization key (needed by ciphertext-ciphertext multiplication).
    pub relinearization: bool,
    /// Rotation steps that get a Galois key.
    pub rotations: BTreeSet<i64>,
    /// Generate the conjugation key.
    pub conjugation: bool,
}

impl KeyRequirements {
    /// No evaluation keys at all.
    pub fn none() -> KeyRequirements {
        KeyRequirements::default()
    }
    /// Adds the relinearization key.
    pub fn with_relinearization(mut self) -> KeyRequirements {
        self.relinearization = true;
        self
    }
    /// Adds rotation keys for these steps.
    pub fn with_rotations(mut self, steps: impl IntoIterator<Item = i64>) -> KeyRequirements {
        self.rotations.extend(steps);
        self
    }
    /// Adds the conjugation key.
    pub fn with_conjugation(mut self) -> KeyRequirements {
        self.conjugation = true;
        self
    }
    /// The distinct non-zero steps reduced to `0..slots` (each needs one Galois key).
    pub fn normalized_rotations(&self, slots: SlotCount) -> BTreeSet<usize> {
        self.rotations
            .iter()
            .map(|&s| normalize_step(s, slots))
            .filter(|&s| s != 0)
            .collect()
    }
}

/// A rotation step reduced to `0..slots`.
pub fn normalize_step(step: i64, slots: SlotCount) -> usize {
    let n = slots.get().max(1) as i64;
    step.rem_euclid(n) as usize
}

/// A CKKS backend: the family of types that work together.
pub trait Backend: Sized + Send + Sync + 'static {
    /// A short name ("hetile-ckks", "mock", "sim").
    const NAME: &'static str;
    /// Whether ciphertexts and plaintexts carry only metadata (level, scale), no values, as in
    /// the simulator. Callers may then skip building slot vectors: encoding an empty slice is
    /// valid and the values would be ignored anyway. Default `false`.
    const METADATA_ONLY: bool = false;
    /// An encrypted vector of slots.
    type Ciphertext: Meta + Clone + Debug + Send + Sync;
    /// An encoded, unencrypted vector of slots.
    type Plaintext: Meta + Clone + Debug + Send + Sync;
    /// The server side: public evaluation keys only.
    type Evaluator: Evaluator<Self>;
    /// The client side: owns the secret key.
    type Client: Client<Self>;
}

/// Server-side operations. Nothing here can name or reach a secret key.
///
/// Binary ciphertext operations need both operands at the same level ([`Error::LevelMismatch`]);
/// additions also need equal scales ([`Error::ScaleMismatch`]). A plaintext may be at a level at or
/// above the ciphertext's (it is used truncated), never below. Products must fit their level
/// ([`Error::ScaleOverflow`]).
pub trait Evaluator<B: Backend>: Send + Sync {
    /// The parameters.
    fn params(&self) -> &Params;

    /// The number of real slots.
    fn slots(&self) -> SlotCount {
        self.params().slots()
    }

    /// Encodes real values (fewer than the slot count are zero-padded) at a level and scale.
    /// Errors: too many values, a non-finite or too-large value, an invalid level or scale.
    fn encode(&self, values: &[f64], level: Level, scale: Scale) -> Result<B::Plaintext>;

    /// Encodes complex values, as [`Evaluator::encode`].
    fn encode_complex(
        &self,
        values: &[Complex],
        level: Level,
        scale: Scale,
    ) -> Result<B::Plaintext>;

    /// `a += b`.
    fn add_assign(&self, a: &mut B::Ciphertext, b: &B::Ciphertext) -> Result<()>;
    /// `a -= b`.
    fn sub_assign(&self, a: &mut B::Ciphertext, b: &B::Ciphertext) -> Result<()>;
    /// `a = -a`.
    fn negate_assign(&self, a: &mut B::Ciphertext) -> Result<()>;
    /// `a += p`.
    fn add_plain_assign(&self, a: &mut B::Ciphertext, p: &B::Plaintext) -> Result<()>;
    /// `a -= p`.
    fn sub_plain_assign(&self, a: &mut B::Ciphertext, p: &B::Plaintext) -> Result<()>;
    /// Adds the constant `c` to every slot (encoded exactly at `a`'s scale; no level used).
    fn add_scalar_assign(&self, a: &mut B::Ciphertext, c: f64) -> Result<()>;
    /// Multiplies by a plaintext: the scale becomes the product of both scales, the level stays.
    fn mul_plain_assign(&self, a: &mut B::Ciphertext, p: &B::Plaintext) -> Result<()>;
    /// Multiplies every slot by the real constant `c`, encoded at the scale `q_level` (the prime the
    /// next rescale divides by), so that after [`Evaluator::rescale_assign`] the scale is exactly
    /// the one before. Needs a level above 0 for that rescale to follow.
    fn mul_scalar_assign(&self, a: &mut B::Ciphertext, c: f64) -> Result<()>;
    /// Multiplies every slot by an integer, exactly: scale and level unchanged.
    fn mul_integer_assign(&self, a: &mut B::Ciphertext, k: i64) -> Result<()>;
    /// Multiplies two ciphertexts and relinearizes. Scales multiply; the level stays.
    fn mul(&self, a: &B::Ciphertext, b: &B::Ciphertext) -> Result<B::Ciphertext>;
    /// Divides by the top prime of the level, rounding: level - 1, scale / q_level.
    /// Errors with [`Error::LevelExhausted`] at level 0.
    fn rescale_assign(&self, a: &mut B::Ciphertext) -> Result<()>;
    /// Drops primes down to `level` without changing the scale.
    /// Errors with [`Error::InvalidLevel`] when `level` is above the operand's.
    fn drop_to_level_assign(&self, a: &mut B::Ciphertext, level: Level) -> Result<()>;
    /// Rotates left by `step` slots (slot `i + step` moves to `i`).
    /// Errors with [`Error::MissingRotationKey`] when no key exists for the step.
    fn rotate(&self, a: &B::Ciphertext, step: i64) -> Result<B::Ciphertext>;
    /// Complex conjugation of every slot. Errors with [`Error::MissingConjugationKey`].
    fn conjugate(&self, a: &B::Ciphertext) -> Result<B::Ciphertext>;
    /// Whether a rotation by `step` is possible (step 0 always is).
    fn has_rotation_key(&self, step: i64) -> bool;

    /// Rotates one ciphertext by several steps. Backends override this to share one key-switching
    /// decomposition among all steps (hoisting); the default rotates one by one.
    fn rotate_many(&self, a: &B::Ciphertext, steps: &[i64]) -> Result<Vec<B::Ciphertext>> {
        steps.iter().map(|&s| self.rotate(a, s)).collect()
    }

    /// `a + b`.
    fn add(&self, a: &B::Ciphertext, b: &B::Ciphertext) -> Result<B::Ciphertext> {
        let mut out = a.clone();
        self.add_assign(&mut out, b)?;
        Ok(out)
    }
    /// `a - b`.
    fn sub(&self, a: &B::Ciphertext, b: &B::Ciphertext) -> Result<B::Ciphertext> {
        let mut out = a.clone();
        self.sub_assign(&mut out, b)?;
        Ok(out)
    }
    /// `-a`.
    fn negate(&self, a: &B::Ciphertext) -> Result<B::Ciphertext> {
        let mut out = a.clone();
        self.negate_assign(&mut out)?;
        Ok(out)
    }
    /// `a + p`.
    fn add_plain(&self, a: &B::Ciphertext, p: &B::Plaintext) -> Result<B::Ciphertext> {
        let mut out = a.clone();
        self.add_plain_assign(&mut out, p)?;
        Ok(out)
    }
    /// `a - p`.
    fn sub_plain(&self, a: &B::Ciphertext, p: &B::Plaintext) -> Result<B::Ciphertext> {
        let mut out = a.clone();
        self.sub_plain_assign(&mut out, p)?;
        Ok(out)
    }
    /// `a + c` in every slot.
    fn add_scalar(&self, a: &B::Ciphertext, c: f64) -> Result<B::Ciphertext> {
        let mut out = a.clone();
        self.add_scalar_assign(&mut out, c)?;
        Ok(out)
    }
    /// `a * p`.
    fn mul_plain(&self, a: &B::Ciphertext, p: &B::Plaintext) -> Result<B::Ciphertext> {
        let mut out = a.clone();
        self.mul_plain_assign(&mut out, p)?;
        Ok(out)
    }
    /// `a * c` (see [`Evaluator::mul_scalar_assign`] for the scale).
    fn mul_scalar(&self, a: &B::Ciphertext, c: f64) -> Result<B::Ciphertext> {
        let mut out = a.clone();
        self.mul_scalar_assign(&mut out, c)?;
        Ok(out)
    }
    /// `sum_k a[k] * c[k]`, each constant encoded as in [`Evaluator::mul_scalar_assign`] (scale
    /// `q_level`), without a rescale: the result is what `mul_scalar` then `add_assign` term by
    /// term gives. Backends override this to make one pass over the terms (no product stored).
    ///
    /// Errors: [`Error::InvalidParameters`] when `a` is empty or `a.len() != c.len()`; those of
    /// [`Evaluator::mul_scalar_assign`] and [`Evaluator::add_assign`] (terms at different levels
    /// or scales).
    fn linear_combination(&self, a: &[&B::Ciphertext], c: &[f64]) -> Result<B::Ciphertext> {
        let (first, rest) = split_terms(a, c.len())?;
        let mut acc = self.mul_scalar(first, c[0])?;
        for (x, &ck) in rest.iter().zip(&c[1..]) {
            let t = self.mul_scalar(x, ck)?;
            self.add_assign(&mut acc, &t)?;
        }
        Ok(acc)
    }
    /// Several linear combinations of the same inputs, as by [`Evaluator::linear_combination`]:
    /// `out[j] = sum over (k, c) in rows[j] of inputs[k] * c`. Backends override this to read
    /// every input once for all outputs (a dense layer over batch-packed ciphertexts).
    ///
    /// Errors: [`Error::InvalidParameters`] for an empty row or a term naming a missing input;
    /// those of [`Evaluator::linear_combination`].
    fn linear_maps(
        &self,
        inputs: &[&B::Ciphertext],
        rows: &[Vec<(usize, f64)>],
    ) -> Result<Vec<B::Ciphertext>> {
        rows.iter()
            .map(|row| {
                let (terms, consts) = gather_terms(inputs, row)?;
                self.linear_combination(&terms, &consts)
            })
            .collect()
    }
    /// `sum_k a[k] * p[k]` without a rescale: what `mul_plain` then `add_assign` term by term
    /// gives. Backends override this to accumulate in place (no product stored).
    ///
    /// Errors: [`Error::InvalidParameters`] when `a` is empty or `a.len() != p.len()`; those of
    /// [`Evaluator::mul_plain_assign`] and [`Evaluator::add_assign`].
    fn mul_plain_sum(&self, a: &[&B::Ciphertext], p: &[&B::Plaintext]) -> Result<B::Ciphertext> {
        let (first, rest) = split_terms(a, p.len())?;
        let mut acc = self.mul_plain(first, p[0])?;
        for (x, pk) in rest.iter().zip(&p[1..]) {
            let t = self.mul_plain(x, pk)?;
            self.add_assign(&mut acc, &t)?;
        }
        Ok(acc)
    }
    /// `a * k` for an integer `k`.
    fn mul_integer(&self, a: &B::Ciphertext, k: i64) -> Result<B::Ciphertext> {
        let mut out = a.clone();
        self.mul_integer_assign(&mut out, k)?;
        Ok(out)
    }
    /// `a *= b` (relinearized).
    fn mul_assign(&self, a: &mut B::Ciphertext, b: &B::Ciphertext) -> Result<()> {
        *a = self.mul(a, b)?;
        Ok(())
    }
    /// `a * a` (relinearized).
    fn square(&self, a: &B::Ciphertext) -> Result<B::Ciphertext> {
        self.mul(a, a)
    }
    /// The rescaled ciphertext.
    fn rescale(&self, a: &B::Ciphertext) -> Result<B::Ciphertext> {
        let mut out = a.clone();
        self.rescale_assign(&mut out)?;
        Ok(out)
    }
    /// The ciphertext dropped to `level`.
    fn drop_to_level(&self, a: &B::Ciphertext, level: Level) -> Result<B::Ciphertext> {
        let mut out = a.clone();
        self.drop_to_level_assign(&mut out, level)?;
        Ok(out)
    }
    /// Drops whichever operand is higher so both end at the same level.
    fn match_levels(&self, a: &mut B::Ciphertext, b: &mut B::Ciphertext) -> Result<()> {
        let (la, lb) = (a.level(), b.level());
        if la > lb {
            self.drop_to_level_assign(a, lb)
        } else if lb > la {
            self.drop_to_level_assign(b, la)
        } else {
            Ok(())
        }
    }
    /// Brings `a` to exactly `target` scale at the cost of one level: multiplies by the constant 1
    /// encoded at `target * q_level / scale(a)`, then rescales.
    /// Errors at level 0 ([`Error::LevelExhausted`]) or when the target does not fit.
    fn set_scale(&self, a: &B::Ciphertext, target: Scale) -> Result<B::Ciphertext> {
        let level = a.level();
        let q = self.params().prime_at(level).ok_or(Error::InvalidLevel {
            requested: level,
            max: self.params().max_level(),
        })?;
        if level.0 == 0 {
            return Err(Error::LevelExhausted {
                op: "set_scale",
                level,
            });
        }
        let factor = target.value() * q as f64 / a.scale().value();
        let one = Scale::new(factor).ok_or_else(|| Error::InvalidParameters {
            reason: format!("target scale {target} is too small for {level}"),
        })?;
        let slots = self.slots().get();
        let pt = self.encode(&vec![1.0; slots], level, one)?;
        let mut out = self.mul_plain(a, &pt)?;
        self.rescale_assign(&mut out)?;
        Ok(out)
    }
}

/// Client-side operations: key generation, encryption, decryption and decoding.
pub trait Client<B: Backend>: Send + Sync + Sized {
    /// Generates a fresh secret key and the evaluation keys named in `keys`, with randomness
    /// from the operating system.
    fn new(params: &Params, keys: &KeyRequirements) -> Result<Self>;

    /// The same with a fixed seed: reproducible keys and noise, for tests and known-answer
    /// vectors only. Never use it for real data.
    fn new_insecure_seeded_for_tests(
        params: &Params,
        keys: &KeyRequirements,
        seed: u64,
    ) -> Result<Self>;

    /// The parameters.
    fn params(&self) -> &Params;

    /// The evaluation keys this client generated.
    fn key_requirements(&self) -> &KeyRequirements;

    /// A server-side evaluator that holds only the public evaluation keys.
    fn evaluator(&self) -> Result<B::Evaluator>;

    /// Encodes real values, as [`Evaluator::encode`].
    fn encode(&self, values: &[f64], level: Level, scale: Scale) -> Result<B::Plaintext>;

    /// Encodes complex values.
    fn encode_complex(
        &self,
        values: &[Complex],
        level: Level,
        scale: Scale,
    ) -> Result<B::Plaintext>;

    /// Public-key encryption.
    fn encrypt(&self, pt: &B::Plaintext) -> Result<B::Ciphertext>;

    /// Secret-key encryption (less noise; the uniform half can be stored as a seed).
    fn encrypt_symmetric(&self, pt: &B::Plaintext) -> Result<B::Ciphertext>;

    /// Decrypts to a plaintext at the ciphertext's level and scale.
    fn decrypt(&self, ct: &B::Ciphertext) -> Result<B::Plaintext>;

    /// Decodes the real parts of all slots.
    fn decode(&self, pt: &B::Plaintext) -> Result<Vec<f64>>;

    /// Decodes all slots as complex numbers.
    fn decode_complex(&self, pt: &B::Plaintext) -> Result<Vec<Complex>>;

    /// Encodes at the top level and default scale, then encrypts with the public key.
    fn encrypt_values(&self, values: &[f64]) -> Result<B::Ciphertext> {
        let params = self.params();
        let pt = self.encode(values, params.max_level(), params.default_scale())?;
        self.encrypt(&pt)
    }

    /// Decrypts and decodes the real parts of all slots.
    fn decrypt_values(&self, ct: &B::Ciphertext) -> Result<Vec<f64>> {
        let pt = self.decrypt(ct)?;
        self.decode(&pt)
    }
}

/// The first term and the rest of a sum of products with `factors` factors.
///
/// Errors: [`Error::InvalidParameters`] when there is no term or the counts differ.
pub fn split_terms<'a, T>(terms: &'a [&'a T], factors: usize) -> Result<(&'a T, &'a [&'a T])> {
    if terms.len() != factors {
        return Err(Error::InvalidParameters {
            reason: format!(
                "a sum of products needs one factor per term: {} terms, {factors} factors",
                terms.len()
            ),
        });
    }
    terms
        .split_first()
        .map(|(f, r)| (*f, r))
        .ok_or_else(|| Error::InvalidParameters {
            reason: "a sum of products needs at least one term".into(),
        })
}

/// The inputs and constants a row of [`Evaluator::linear_maps`] names.
///
/// Errors: [`Error::InvalidParameters`] for an empty row or an index past `inputs`.
pub fn gather_terms<'a, T>(
    inputs: &[&'a T],
    row: &[(usize, f64)],
) -> Result<(Vec<&'a T>, Vec<f64>)> {
    if row.is_empty() {
        return Err(Error::InvalidParameters {
            reason: "a linear map row needs at least one term".into(),
        });
    }
    row.iter()
        .map(|&(k, c)| {
            inputs
                .get(k)
                .map(|&x| (x, c))
                .ok_or_else(|| Error::InvalidParameters {
                    reason: format!("a linear map names input {k} of {}", inputs.len()),
                })
        })
        .collect::<Result<Vec<_>>>()
        .map(|v| v.into_iter().unzip())
}
