//! The optional Gaussian noise model of the mock.

use hetile_backend::{Complex, Error, Result};
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;
use std::sync::{Mutex, PoisonError};

/// Standard deviations (in value units, i.e. after dividing by the scale) of the Gaussian noise
/// the mock adds to the real and the imaginary part of every slot: `fresh` on encryption,
/// `per_op` after every multiplication (ct-ct, plaintext, scalar), rescale, rotation and
/// conjugation. Additions, negation, integer multiplication and level drops add none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseModel {
    /// Standard deviation added on encryption.
    pub fresh: f64,
    /// Standard deviation added after each noisy operation.
    pub per_op: f64,
}

impl NoiseModel {
    /// Errors with [`Error::InvalidParameters`] unless both deviations are finite and `>= 0`.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [("fresh", self.fresh), ("per_op", self.per_op)] {
            if !v.is_finite() || v < 0.0 {
                return Err(Error::InvalidParameters {
                    reason: format!("noise model: {name} = {v} must be finite and >= 0"),
                });
            }
        }
        Ok(())
    }
}

/// A seeded source of Gaussian noise shared behind a mutex (operations take `&self`).
#[derive(Debug)]
pub(crate) struct NoiseSource {
    rng: Mutex<ChaCha20Rng>,
}

impl NoiseSource {
    pub(crate) fn new(rng: ChaCha20Rng) -> NoiseSource {
        NoiseSource {
            rng: Mutex::new(rng),
        }
    }

    /// Adds independent `N(0, sigma^2)` samples to the real and imaginary part of every value.
    pub(crate) fn perturb(&self, values: &mut [Complex], sigma: f64) {
        if sigma == 0.0 {
            return;
        }
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        for v in values.iter_mut() {
            let (a, b) = gaussian_pair(&mut *rng);
            v.re += sigma * a;
            v.im += sigma * b;
        }
    }
}

/// A uniform f64 in `[0, 1)` with 53 random bits.
fn unit(rng: &mut impl RngCore) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Two independent standard normal samples (Box-Muller).
pub(crate) fn gaussian_pair(rng: &mut impl RngCore) -> (f64, f64) {
    let u1 = 1.0 - unit(rng); // (0, 1]: the logarithm stays finite
    let u2 = unit(rng);
    let r = (-2.0 * u1.ln()).sqrt();
    let t = std::f64::consts::TAU * u2;
    (r * t.cos(), r * t.sin())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    #[test]
    fn gaussian_has_unit_variance_and_zero_mean() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let n = 100_000;
        let (mut sum, mut sq) = (0.0, 0.0);
        for _ in 0..n / 2 {
            let (a, b) = gaussian_pair(&mut rng);
            sum += a + b;
            sq += a * a + b * b;
        }
        let mean = sum / n as f64;
        let var = sq / n as f64 - mean * mean;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
    }

    #[test]
    fn invalid_models_are_refused() {
        assert!(NoiseModel {
            fresh: 1e-9,
            per_op: 0.0
        }
        .validate()
        .is_ok());
        assert!(NoiseModel {
            fresh: -1.0,
            per_op: 0.0
        }
        .validate()
        .is_err());
        assert!(NoiseModel {
            fresh: 0.0,
            per_op: f64::NAN
        }
        .validate()
        .is_err());
    }
}
