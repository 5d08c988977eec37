//! Helpers shared by the checks: seeded inputs, clients, precision and error expectations.

use crate::{Failure, SuiteConfig};
use hetile_backend::{
    Backend, Client, Complex, Error, KeyRequirements, Level, Meta, Params, Scale,
    SCALE_RELATIVE_TOLERANCE,
};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

/// Rotation steps of [`standard_keys`] besides `slots - 1`: positive, negative and a step whose
/// key is shared with `slots - 1` after reduction (`-1`).
pub const STANDARD_STEPS: [i64; 5] = [1, 2, 3, -1, 5];

/// The keys most checks use: relinearization, conjugation and rotations by
/// [`STANDARD_STEPS`] and `slots - 1`.
pub fn standard_keys(params: &Params) -> KeyRequirements {
    let slots = params.slots().get() as i64;
    KeyRequirements::none()
        .with_relinearization()
        .with_conjugation()
        .with_rotations(STANDARD_STEPS)
        .with_rotations([slots - 1])
}

/// The largest absolute difference between `got` and `want` over all positions (infinite when
/// the lengths differ or a value is not finite).
pub fn max_abs_error(got: &[f64], want: &[f64]) -> f64 {
    if got.len() != want.len() {
        return f64::INFINITY;
    }
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .fold(
            0.0,
            |m, e| if e.is_nan() { f64::INFINITY } else { m.max(e) },
        )
}

/// Precision in bits: `-log2` of [`max_abs_error`] (infinite for an exact match).
pub fn precision_bits(got: &[f64], want: &[f64]) -> f64 {
    -max_abs_error(got, want).log2()
}

/// Attaches the operation's name to a backend error.
pub(crate) trait Ctx<T> {
    fn ctx(self, what: &str) -> Result<T, Failure>;
}

impl<T> Ctx<T> for Result<T, Error> {
    fn ctx(self, what: &str) -> Result<T, Failure> {
        self.map_err(|e| Failure::new(format!("{what}: unexpected backend error: {e}")))
    }
}

/// Succeeds when `result` is an error for which `pred` holds.
pub(crate) fn expect_error<T>(
    what: &str,
    expected: &str,
    result: Result<T, Error>,
    pred: impl Fn(&Error) -> bool,
) -> Result<(), Failure> {
    match result {
        Err(e) if pred(&e) => Ok(()),
        Err(e) => Err(Failure::new(format!(
            "{what}: expected {expected}, got the error {e:?}"
        ))),
        Ok(_) => Err(Failure::new(format!(
            "{what}: expected {expected}, but the operation succeeded"
        ))),
    }
}

/// `expect_err!(what, result, Pattern)`: the result must be an error matching the pattern.
macro_rules! expect_err {
    ($what:expr, $result:expr, $pattern:pat) => {
        $crate::util::expect_error(
            $what,
            stringify!($pattern),
            $result,
            |e: &hetile_backend::Error| matches!(e, $pattern),
        )
    };
}
pub(crate) use expect_err;

/// Fails unless `got` is within `2^-bits` of `want` in every position.
pub(crate) fn expect_close(
    what: &str,
    got: &[f64],
    want: &[f64],
    bits: f64,
) -> Result<(), Failure> {
    let err = max_abs_error(got, want);
    if err.log2() <= -bits {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "{what}: max abs error {err:e} = 2^{:.2}, needed at most 2^-{bits:.2} \
             ({} values, first got {:?}, want {:?})",
            err.log2(),
            want.len(),
            got.iter().take(4).collect::<Vec<_>>(),
            want.iter().take(4).collect::<Vec<_>>(),
        )))
    }
}

/// [`expect_close`] on real and imaginary parts.
pub(crate) fn expect_close_complex(
    what: &str,
    got: &[Complex],
    want: &[Complex],
    bits: f64,
) -> Result<(), Failure> {
    let split = |v: &[Complex]| -> Vec<f64> { v.iter().flat_map(|c| [c.re, c.im]).collect() };
    expect_close(what, &split(got), &split(want), bits)
}

/// Fails unless the scale equals `want` up to a relative [`SCALE_RELATIVE_TOLERANCE`] / 1000
/// (that is, up to `f64` rounding of the bookkeeping).
pub(crate) fn expect_scale(what: &str, got: Scale, want: f64) -> Result<(), Failure> {
    let rel = (got.value() / want - 1.0).abs();
    if rel <= SCALE_RELATIVE_TOLERANCE * 1e-3 {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "{what}: scale {} = {:e}, expected exactly {want:e} (relative difference {rel:e})",
            got,
            got.value()
        )))
    }
}

/// Fails unless the level is `want`.
pub(crate) fn expect_level(what: &str, got: Level, want: Level) -> Result<(), Failure> {
    if got == want {
        Ok(())
    } else {
        Err(Failure::new(format!("{what}: {got}, expected {want}")))
    }
}

/// Fails unless `cond` holds.
pub(crate) fn ensure(cond: bool, message: impl FnOnce() -> String) -> Result<(), Failure> {
    if cond {
        Ok(())
    } else {
        Err(Failure::new(message()))
    }
}

/// The prime `q_level`, or a failure.
pub(crate) fn prime(params: &Params, level: Level) -> Result<f64, Failure> {
    params
        .prime_at(level)
        .map(|q| q as f64)
        .ok_or_else(|| Failure::new(format!("no prime at {level}")))
}

/// A uniform value in `[-1, 1)`.
pub(crate) fn uniform(rng: &mut ChaCha20Rng) -> f64 {
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    2.0 * u - 1.0
}

/// A client, its evaluator, the parameters and a seeded input generator.
pub(crate) struct Kit<B: Backend> {
    pub client: B::Client,
    pub ev: B::Evaluator,
    pub params: Params,
    pub rng: ChaCha20Rng,
}

impl<B: Backend> Kit<B> {
    /// A kit with `keys`, seeded from the config's seed and a per-check salt. Fails on
    /// parameters the suite cannot run with (fewer than 2 levels or 16 slots).
    pub fn with_keys(
        cfg: &SuiteConfig,
        salt: u64,
        keys: &KeyRequirements,
    ) -> Result<Self, Failure> {
        let params = cfg.params.clone();
        ensure(params.max_level().0 >= 2, || {
            format!(
                "the suite needs at least 2 levels, got {}",
                params.max_level()
            )
        })?;
        ensure(params.slots().get() >= 16, || {
            format!("the suite needs at least 16 slots, got {}", params.slots())
        })?;
        let seed = cfg.seed ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let client = B::Client::new_insecure_seeded_for_tests(&params, keys, seed)
            .ctx("new_insecure_seeded_for_tests")?;
        let ev = client.evaluator().ctx("evaluator")?;
        let rng = ChaCha20Rng::seed_from_u64(seed);
        Ok(Kit {
            client,
            ev,
            params,
            rng,
        })
    }

    /// A kit with [`standard_keys`].
    pub fn standard(cfg: &SuiteConfig, salt: u64) -> Result<Self, Failure> {
        Self::with_keys(cfg, salt, &standard_keys(&cfg.params))
    }

    /// The number of slots.
    pub fn slots(&self) -> usize {
        self.params.slots().get()
    }

    /// The top level.
    pub fn top(&self) -> Level {
        self.params.max_level()
    }

    /// The default scale.
    pub fn scale(&self) -> Scale {
        self.params.default_scale()
    }

    /// A full slot vector, uniform in `[-1, 1)`.
    pub fn random(&mut self) -> Vec<f64> {
        (0..self.slots()).map(|_| uniform(&mut self.rng)).collect()
    }

    /// A full complex slot vector, both parts uniform in `[-1, 1)`.
    pub fn random_complex(&mut self) -> Vec<Complex> {
        (0..self.slots())
            .map(|_| Complex::new(uniform(&mut self.rng), uniform(&mut self.rng)))
            .collect()
    }

    /// Encodes `values` at `level` and the default scale and encrypts with the public key.
    pub fn encrypt_at(&self, values: &[f64], level: Level) -> Result<B::Ciphertext, Failure> {
        let pt = self
            .client
            .encode(values, level, self.scale())
            .ctx("encode")?;
        self.client.encrypt(&pt).ctx("encrypt")
    }

    /// A fresh random ciphertext at `level` and the default scale, with its clear values.
    pub fn fresh_at(&mut self, level: Level) -> Result<(B::Ciphertext, Vec<f64>), Failure> {
        let x = self.random();
        Ok((self.encrypt_at(&x, level)?, x))
    }

    /// A fresh random ciphertext at the top level.
    pub fn fresh(&mut self) -> Result<(B::Ciphertext, Vec<f64>), Failure> {
        self.fresh_at(self.top())
    }

    /// Decrypts and decodes the real parts.
    pub fn decrypt(&self, ct: &B::Ciphertext) -> Result<Vec<f64>, Failure> {
        self.client.decrypt_values(ct).ctx("decrypt")
    }

    /// Decrypts and decodes complex slots.
    pub fn decrypt_complex(&self, ct: &B::Ciphertext) -> Result<Vec<Complex>, Failure> {
        let pt = self.client.decrypt(ct).ctx("decrypt")?;
        self.client.decode_complex(&pt).ctx("decode_complex")
    }

    /// Checks level, scale (exactly) and values (to `bits`) of a ciphertext.
    pub fn expect_ct(
        &self,
        what: &str,
        ct: &B::Ciphertext,
        level: Level,
        scale: f64,
        want: &[f64],
        bits: f64,
    ) -> Result<(), Failure> {
        expect_level(what, ct.level(), level)?;
        expect_scale(what, ct.scale(), scale)?;
        expect_close(what, &self.decrypt(ct)?, want, bits)
    }
}

/// Elementwise map of two slices.
pub(crate) fn zip_map(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
}

/// `v` rotated left by `step` (slot `i` takes slot `i + step`, modulo the length).
pub(crate) fn rotated<T: Copy>(v: &[T], step: i64) -> Vec<T> {
    let n = v.len();
    if n == 0 {
        return Vec::new();
    }
    let k = step.rem_euclid(n as i64) as usize;
    (0..n).map(|i| v[(i + k) % n]).collect()
}

/// The encoder's view of a short vector: zero-padded to `slots`.
pub(crate) fn padded(v: &[f64], slots: usize) -> Vec<f64> {
    let mut out = v.to_vec();
    out.resize(slots, 0.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_bits_are_measured_over_all_slots() {
        let want = [0.0, 1.0, -1.0];
        assert_eq!(max_abs_error(&want, &want), 0.0);
        assert_eq!(precision_bits(&want, &want), f64::INFINITY);
        let got = [0.0, 1.0 + 2f64.powi(-20), -1.0 - 2f64.powi(-30)];
        assert_eq!(max_abs_error(&got, &want), 2f64.powi(-20));
        assert_eq!(precision_bits(&got, &want), 20.0);
        assert_eq!(max_abs_error(&got[..2], &want), f64::INFINITY);
        assert_eq!(max_abs_error(&[f64::NAN, 0.0, 0.0], &want), f64::INFINITY);
        assert!(expect_close("ok", &got, &want, 20.0).is_ok());
        assert!(expect_close("too far", &got, &want, 20.5).is_err());
        assert!(expect_close("nan", &[f64::NAN, 1.0, -1.0], &want, 1.0).is_err());
    }

    #[test]
    fn rotation_helper_moves_slot_i_plus_k_to_i() {
        let v = [0, 1, 2, 3, 4];
        assert_eq!(rotated(&v, 1), vec![1, 2, 3, 4, 0]);
        assert_eq!(rotated(&v, -1), vec![4, 0, 1, 2, 3]);
        assert_eq!(rotated(&v, 12), rotated(&v, 2));
        assert_eq!(rotated(&v, 0), v.to_vec());
        assert!(rotated::<i32>(&[], 3).is_empty());
    }

    #[test]
    fn error_expectations_distinguish_variants() {
        let r: Result<(), Error> = Err(Error::MissingConjugationKey);
        assert!(expect_err!("x", r.clone(), Error::MissingConjugationKey).is_ok());
        assert!(expect_err!("x", r, Error::MissingRelinearizationKey).is_err());
        let ok: Result<(), Error> = Ok(());
        assert!(expect_err!("x", ok, Error::MissingConjugationKey).is_err());
    }

    #[test]
    fn scales_must_match_to_rounding() {
        let s = Scale::from_log2(40.0).unwrap();
        assert!(expect_scale("same", s, s.value()).is_ok());
        assert!(expect_scale("close", s, s.value() * (1.0 + 1e-15)).is_ok());
        assert!(expect_scale("off", s, s.value() * (1.0 + 1e-9)).is_err());
    }

    #[test]
    fn uniform_values_stay_in_range_and_are_seeded() {
        let mut a = ChaCha20Rng::seed_from_u64(3);
        let mut b = ChaCha20Rng::seed_from_u64(3);
        for _ in 0..1000 {
            let x = uniform(&mut a);
            assert!((-1.0..1.0).contains(&x));
            assert_eq!(x, uniform(&mut b));
        }
    }
}
