//! Decryption meant to be shared beyond the key owner (IND-CPA-D, Li-Micciancio EUROCRYPT 2021).
//!
//! A CKKS decryption returns `m + e`; together with the ciphertext `(c0, c1)` the error `e` gives
//! `c1*s = m + e - c0`, a linear equation in the secret. Whoever sees plain decryptions of
//! ciphertexts they also saw (a server that learns the results) can recover the key. A decryption
//! meant to be shared therefore goes through [`CkksClient::decrypt_for_sharing`], which adds
//! *flooding noise* to the decrypted coefficients before decoding.
//!
//! # The formula
//!
//! Let `B` be a bound on the absolute value of every coefficient of the ciphertext's error
//! ([`ErrorBound`], stated by the caller or taken from the fresh-encryption bounds below), `k` the
//! number of shared decryptions allowed for the key ([`SharingPolicy::budget`]) and `s` the
//! statistical security parameter ([`SharingPolicy::statistical_security`]). Each coefficient
//! receives an independent rounded Gaussian of standard deviation
//!
//! ```text
//! sigma = 8 * B * sqrt(k) * 2^(s/2)      i.e. log2 sigma = log2 B + s/2 + log2(64 k)/2
//! ```
//!
//! which is the noise-flooding bound of Li, Micciancio, Schultz and Sorrell (CRYPTO 2022) for
//! `s`-bit IND-CPA-D security over `k` decryptions, as it is usually quoted. The output loses
//! about `log2(sigma * sqrt(N) / scale)` bits of precision per slot.
//!
//! # What the bound assumes (read before relying on it)
//!
//! - `B` is a true worst-case bound. [`ErrorBound::fresh_secret_key`] and
//!   [`ErrorBound::fresh_public_key`] are worst-case for fresh ciphertexts (Gaussian samples are
//!   truncated at [`GAUSSIAN_BOUND`]). After evaluation the bound comes from a noise-estimation
//!   run ([`CkksClient::estimate_error_bound`], the approach of OpenFHE's noise-estimation mode):
//!   the key owner runs the same circuit on inputs of its own choosing (never on the data to be
//!   shared), measures the largest coefficient error exactly, and multiplies it by a safety margin;
//!   or the caller states a bound it has proven. The evaluator does not track a bound per
//!   ciphertext. An underestimated `B` voids the guarantee.
//! - The Gaussian is sampled in `f64` (Box-Muller over ChaCha20) and rounded: it is a close
//!   approximation of a discrete Gaussian, not an exact or constant-time sampler.
//! - The budget counts calls on one client object. A client rebuilt from exported key bytes
//!   starts a fresh budget: the key owner must keep the count across restarts.
//! - Only the values returned by `decrypt_for_sharing` may be shared; plain `decrypt` output must
//!   stay with the key owner.

use crate::client::CkksClient;
use crate::encoding::crt_lift_centered;
use crate::keys::Wiped;
use crate::types::Ciphertext;
use crate::CkksBackend;
use hetile_backend::{Client, Error, Params, Result};
use hetile_ring::sampling::GAUSSIAN_BOUND;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use zeroize::Zeroizing;

/// How shared decryptions are protected: the statistical security `s` (bits) and the number of
/// shared decryptions `k` the key may make. Defaults: `s = 40`, `k = 1024`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharingPolicy {
    /// Statistical security parameter `s` in bits (at least 20, at most 128).
    pub statistical_security: u32,
    /// The number of shared decryptions allowed for the key (at least 1, at most 2^40).
    pub budget: u64,
}

impl Default for SharingPolicy {
    fn default() -> SharingPolicy {
        SharingPolicy {
            statistical_security: 40,
            budget: 1024,
        }
    }
}

impl SharingPolicy {
    /// Checks the ranges documented on the fields.
    ///
    /// Errors: [`Error::InvalidParameters`] for a value outside them.
    pub fn validate(&self) -> Result<()> {
        if !(20..=128).contains(&self.statistical_security) || !(1..=1 << 40).contains(&self.budget)
        {
            return Err(Error::InvalidParameters {
                reason: format!(
                    "sharing policy needs statistical security in 20..=128 bits and a budget in \
                     1..=2^40, got {self:?}"
                ),
            });
        }
        Ok(())
    }

    /// The standard deviation of the flooding noise for an error bound:
    /// `8 * B * sqrt(budget) * 2^(s/2)` (see the module documentation).
    pub fn flooding_sigma(&self, bound: ErrorBound) -> f64 {
        8.0 * bound.0
            * (self.budget as f64).sqrt()
            * (f64::from(self.statistical_security) / 2.0).exp2()
    }
}

/// A worst-case bound on the absolute value of every coefficient of a ciphertext's error
/// (in coefficient units, i.e. before dividing by the scale).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct ErrorBound(f64);

impl ErrorBound {
    /// A bound stated by the caller.
    ///
    /// Errors: [`Error::InvalidParameters`] unless the value is finite and at least 1.
    pub fn new(value: f64) -> Result<ErrorBound> {
        if value.is_finite() && value >= 1.0 {
            Ok(ErrorBound(value))
        } else {
            Err(Error::InvalidParameters {
                reason: format!("an error bound must be finite and at least 1, got {value}"),
            })
        }
    }

    /// A fresh secret-key encryption: `|e| <= GAUSSIAN_BOUND`, plus 1 for the encoding's
    /// rounding.
    pub fn fresh_secret_key() -> ErrorBound {
        ErrorBound(GAUSSIAN_BOUND as f64 + 1.0)
    }

    /// A fresh public-key encryption. Without special primes the error is `e0 + u*e + e1*s` with
    /// ternary `u, s`: `|.| <= B (2N + 1)`. With special primes the encryption is computed over
    /// `Q_l ∪ {p}` and divided by `p` with rounding: `|.| <= B (2N + 1) / p + (N + 1) / 2` (the
    /// rounding errors `r0 + r1*s`, `|r0|, |r1| <= 1/2`). Plus 1 for the encoding's rounding.
    pub fn fresh_public_key(params: &Params) -> ErrorBound {
        let n = params.degree().get() as f64;
        let noise = GAUSSIAN_BOUND as f64 * (2.0 * n + 1.0);
        ErrorBound(match params.p().first() {
            Some(&p) => noise / p as f64 + (n + 1.0) / 2.0 + 1.0,
            None => noise + 1.0,
        })
    }

    /// The bound's value.
    pub fn value(self) -> f64 {
        self.0
    }
}

/// The sharing state of one client: its policy and how many shared decryptions it made.
#[derive(Debug, Default)]
pub(crate) struct SharingState {
    policy: SharingPolicy,
    used: u64,
}

/// One sample of the standard normal distribution (Box-Muller).
fn standard_normal(rng: &mut ChaCha20Rng) -> f64 {
    // 53-bit uniforms in (0, 1] and [0, 1).
    let u1 = ((rng.next_u64() >> 11) as f64 + 1.0) / 9_007_199_254_740_992.0;
    let u2 = (rng.next_u64() >> 11) as f64 / 9_007_199_254_740_992.0;
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

impl CkksClient {
    fn sharing_locked<T>(&self, f: impl FnOnce(&mut SharingState) -> Result<T>) -> Result<T> {
        let mut guard = self.sharing.lock().map_err(|_| Error::Internal {
            backend: crate::NAME,
            reason: "the sharing lock is poisoned".into(),
        })?;
        f(&mut guard)
    }

    /// Sets the sharing policy. Allowed only before the first shared decryption (the noise of
    /// every decryption depends on the total budget).
    ///
    /// Errors: [`Error::InvalidParameters`] for an invalid policy or after a shared decryption.
    pub fn set_sharing_policy(&self, policy: SharingPolicy) -> Result<()> {
        policy.validate()?;
        self.sharing_locked(|st| {
            if st.used > 0 {
                return Err(Error::InvalidParameters {
                    reason: "the sharing policy is fixed once a shared decryption was made".into(),
                });
            }
            st.policy = policy;
            Ok(())
        })
    }

    /// The current sharing policy.
    ///
    /// Errors: [`Error::Internal`] if the lock is poisoned.
    pub fn sharing_policy(&self) -> Result<SharingPolicy> {
        self.sharing_locked(|st| Ok(st.policy))
    }

    /// Shared decryptions left in the budget.
    ///
    /// Errors: [`Error::Internal`] if the lock is poisoned.
    pub fn shared_decryptions_left(&self) -> Result<u64> {
        self.sharing_locked(|st| Ok(st.policy.budget.saturating_sub(st.used)))
    }

    /// Noise estimation for [`CkksClient::decrypt_for_sharing`]: decrypts `ct`, which must be the
    /// output of the circuit to be shared run on inputs the key owner chose, and whose exact
    /// result the key owner knows (`expected`, one value per slot, zero-padded), and returns the
    /// largest absolute coefficient error times `margin` (e.g. 16: errors of later runs of the
    /// same circuit vary with the fresh noise). The measurement itself is never shared.
    ///
    /// Errors: [`Error::InvalidParameters`] for a margin below 1 or not finite; the errors of
    /// decrypt and encode (too many expected values, a value out of range at `ct`'s scale).
    pub fn estimate_error_bound(
        &self,
        ct: &Ciphertext,
        expected: &[f64],
        margin: f64,
    ) -> Result<ErrorBound> {
        if !(margin.is_finite() && margin >= 1.0) {
            return Err(Error::InvalidParameters {
                reason: format!("the safety margin must be finite and at least 1, got {margin}"),
            });
        }
        let ring = self.ctx.ring();
        let pt = <CkksClient as Client<CkksBackend>>::decrypt(self, ct)?;
        let want = <CkksClient as Client<CkksBackend>>::encode(self, expected, pt.level, pt.scale)?;
        let mut got_poly = Wiped(pt.poly.clone());
        got_poly.0.to_coeff(ring);
        let mut want_poly = want.poly.clone();
        want_poly.to_coeff(ring);
        let got = Zeroizing::new(crt_lift_centered(ring, &got_poly.0)?);
        let exact = crt_lift_centered(ring, &want_poly)?;
        let worst = got
            .iter()
            .zip(&exact)
            .map(|(g, w)| (g - w).abs())
            .fold(0.0, f64::max);
        ErrorBound::new((worst * margin).max(1.0))
    }

    /// Decrypts and decodes the real parts of `ct` with flooding noise of standard deviation
    /// [`SharingPolicy::flooding_sigma`]`(bound)` added to every coefficient: the only output
    /// of this client that may be shown to anyone but the key owner. Each call spends one unit of
    /// the budget (also when it then fails).
    ///
    /// Errors: [`Error::Unsupported`] (op "shared decryption beyond the sharing budget") when
    /// the budget is spent; the errors of `decrypt` for a ciphertext of another context.
    pub fn decrypt_for_sharing(&self, ct: &Ciphertext, bound: ErrorBound) -> Result<Vec<f64>> {
        let policy = self.sharing_locked(|st| {
            if st.used >= st.policy.budget {
                return Err(Error::Unsupported {
                    backend: crate::NAME,
                    op: "shared decryption beyond the sharing budget",
                });
            }
            st.used += 1;
            Ok(st.policy)
        })?;
        let sigma = policy.flooding_sigma(bound);
        let pt = <CkksClient as Client<CkksBackend>>::decrypt(self, ct)?;
        let ring = self.ctx.ring();
        let mut poly = Wiped(pt.poly.clone());
        poly.0.to_coeff(ring);
        let mut coeffs = Zeroizing::new(crt_lift_centered(ring, &poly.0)?);
        let seed = Zeroizing::new(self.with_sampler_locked(|s| Ok(s.fill_seed()))?);
        let mut rng = ChaCha20Rng::from_seed(*seed);
        for c in coeffs.iter_mut() {
            *c += (sigma * standard_normal(&mut rng)).round();
        }
        let slots = self
            .ctx
            .encoder()
            .coeffs_to_slots(&coeffs, pt.scale.value())?;
        Ok(slots.into_iter().map(|z| z.re).collect())
    }
}
