//! Randomness for keys, encryption and noise: every sample comes from a ChaCha20 stream.
//!
//! Uniform values are drawn by rejection (no modulo bias), ternary values by rejection on bytes,
//! Gaussian errors by a constant-time scan of a cumulative distribution table (CDT) of the
//! discrete Gaussian of standard deviation [`GAUSSIAN_SIGMA`] truncated to [`GAUSSIAN_BOUND`].

use crate::error::{RingError, RingResult};
use crate::rns::{Representation, RnsContext, RnsPoly};
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};
use std::sync::OnceLock;
use zeroize::Zeroize;

/// Standard deviation of the error distribution.
pub const GAUSSIAN_SIGMA: f64 = 3.2;
/// Largest magnitude an error sample takes (6 sigma).
pub const GAUSSIAN_BOUND: i64 = 19;

const CDT_LEN: usize = 2 * GAUSSIAN_BOUND as usize;

/// Thresholds `2^64 * P(X <= -BOUND + k)` for `k < 2 * BOUND`.
fn cdt() -> &'static [u64; CDT_LEN] {
    static TABLE: OnceLock<[u64; CDT_LEN]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let weights: Vec<f64> = (-GAUSSIAN_BOUND..=GAUSSIAN_BOUND)
            .map(|x| (-((x * x) as f64) / (2.0 * GAUSSIAN_SIGMA * GAUSSIAN_SIGMA)).exp())
            .collect();
        let total: f64 = weights.iter().sum();
        let mut table = [0u64; CDT_LEN];
        let mut cumulative = 0.0;
        for (t, w) in table.iter_mut().zip(&weights) {
            cumulative += w;
            // `as` saturates; the scale 2^64 keeps 53 significant bits of each probability.
            *t = (cumulative / total * 18_446_744_073_709_551_616.0) as u64;
        }
        table
    })
}

/// A ChaCha20-based sampler. Not `Clone`: two copies would repeat the same randomness.
pub struct Sampler {
    rng: ChaCha20Rng,
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sampler { .. }")
    }
}

impl Sampler {
    /// A sampler seeded from the operating system's entropy source.
    ///
    /// Errors: [`RingError::Entropy`] when the source fails.
    pub fn from_os_entropy() -> RingResult<Sampler> {
        let mut seed = [0u8; 32];
        OsRng
            .try_fill_bytes(&mut seed)
            .map_err(|e| RingError::Entropy {
                reason: e.to_string(),
            })?;
        let s = Sampler::from_seed(seed);
        seed.zeroize();
        Ok(s)
    }

    /// A sampler whose stream is fully determined by `seed` (used to regenerate seeded uniform
    /// polynomials, e.g. the `a` part of public keys).
    pub fn from_seed(seed: [u8; 32]) -> Sampler {
        Sampler {
            rng: ChaCha20Rng::from_seed(seed),
        }
    }

    /// A sampler from a 64-bit seed. Only for tests and reproducible examples: 64 bits of seed are
    /// not enough for secrets.
    pub fn insecure_from_u64_for_tests(seed: u64) -> Sampler {
        Sampler {
            rng: ChaCha20Rng::seed_from_u64(seed),
        }
    }

    /// 32 fresh random bytes (e.g. a seed for [`Sampler::from_seed`]).
    pub fn fill_seed(&mut self) -> [u8; 32] {
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        seed
    }

    /// A uniform value in `[0, bound)` by rejection (`bound >= 1`; 0 is returned for `bound == 0`).
    pub fn uniform_below(&mut self, bound: u64) -> u64 {
        if bound <= 1 {
            return 0;
        }
        let mask = u64::MAX >> (bound - 1).leading_zeros();
        loop {
            let x = self.rng.next_u64() & mask;
            if x < bound {
                return x;
            }
        }
    }

    /// A polynomial with every limb uniform modulo its prime, labelled `repr` (uniform in one
    /// representation is uniform in the other). The draw order is limb by limb, coefficient by
    /// coefficient, so a seed and the moduli list determine the result. `moduli` must be valid
    /// indices of `ctx`.
    pub fn uniform_poly(
        &mut self,
        ctx: &RnsContext,
        moduli: &[usize],
        repr: Representation,
    ) -> RnsPoly {
        let mut out = RnsPoly::zero(ctx, moduli, repr);
        for (k, &i) in moduli.iter().enumerate() {
            let p = ctx.modulus(i).value();
            for x in out.limb_mut(k).iter_mut() {
                *x = self.uniform_below(p);
            }
        }
        out
    }

    /// `n` values uniform over `{-1, 0, 1}`.
    pub fn ternary(&mut self, n: usize) -> Vec<i64> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let mut word = self.rng.next_u64();
            for _ in 0..8 {
                let b = (word & 0xff) as u8;
                word >>= 8;
                // 255 = 3 * 85: reject the last byte value to keep the three outcomes equal.
                if b < 255 && out.len() < n {
                    out.push((b % 3) as i64 - 1);
                }
            }
            word.zeroize();
        }
        out
    }

    /// `n` values in `{-1, 0, 1}` with exactly `h` non-zero entries at uniform positions with
    /// uniform signs.
    ///
    /// Errors: [`RingError::InvalidArgument`] when `h > n`.
    pub fn ternary_hamming(&mut self, n: usize, h: usize) -> RingResult<Vec<i64>> {
        if h > n {
            return Err(RingError::InvalidArgument {
                reason: "the Hamming weight exceeds the length",
            });
        }
        let mut positions: Vec<usize> = (0..n).collect();
        let mut out = vec![0i64; n];
        for i in 0..h {
            let j = i + self.uniform_below((n - i) as u64) as usize;
            positions.swap(i, j);
            let sign = (self.rng.next_u32() & 1) as i64;
            out[positions[i]] = 1 - 2 * sign;
        }
        positions.zeroize();
        Ok(out)
    }

    /// `n` samples of the centered discrete Gaussian with sigma [`GAUSSIAN_SIGMA`], truncated to
    /// `|x| <= GAUSSIAN_BOUND`.
    pub fn gaussian(&mut self, n: usize) -> Vec<i64> {
        let mut u: Vec<u64> = (0..n).map(|_| self.rng.next_u64()).collect();
        let mut out = vec![-GAUSSIAN_BOUND; n];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { count_thresholds_avx2(&u, &mut out) };
            u.zeroize();
            return out;
        }
        count_thresholds(&u, &mut out);
        u.zeroize();
        out
    }
}

/// Constant-time CDT scan: `out[i] += #{t in the table : u[i] >= t}` (every threshold is compared
/// with every sample, so the time does not depend on the values).
#[inline(always)]
fn count_thresholds(u: &[u64], out: &mut [i64]) {
    for &t in cdt() {
        for (o, &x) in out.iter_mut().zip(u) {
            *o += i64::from(x >= t);
        }
    }
}

/// [`count_thresholds`] compiled for AVX2 (the comparisons vectorize four lanes at a time).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn count_thresholds_avx2(u: &[u64], out: &mut [i64]) {
    count_thresholds(u, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ternary_is_balanced() {
        let mut s = Sampler::insecure_from_u64_for_tests(1);
        let v = s.ternary(1 << 16);
        assert_eq!(v.len(), 1 << 16);
        let mut counts = [0usize; 3];
        for &x in &v {
            assert!((-1..=1).contains(&x));
            counts[(x + 1) as usize] += 1;
        }
        let third = (1 << 16) as f64 / 3.0;
        for c in counts {
            // 5 standard deviations of a binomial count (~120).
            assert!((c as f64 - third).abs() < 600.0, "{counts:?}");
        }
    }

    #[test]
    fn hamming_weight_is_exact() {
        let mut s = Sampler::insecure_from_u64_for_tests(2);
        for (n, h) in [(1024usize, 64usize), (16, 16), (16, 0), (4096, 192)] {
            let v = s.ternary_hamming(n, h).unwrap();
            assert_eq!(v.len(), n);
            assert_eq!(v.iter().filter(|&&x| x != 0).count(), h);
            assert!(v.iter().all(|&x| (-1..=1).contains(&x)));
        }
        let v = s.ternary_hamming(1 << 12, 1 << 11).unwrap();
        let plus = v.iter().filter(|&&x| x == 1).count();
        assert!((plus as i64 - 1024).abs() < 200, "{plus}");
        // Positions spread over the whole vector.
        assert!(v[..1 << 11].iter().any(|&x| x != 0) && v[1 << 11..].iter().any(|&x| x != 0));
        assert!(s.ternary_hamming(8, 9).is_err());
    }

    #[test]
    fn gaussian_moments_and_bound() {
        let mut s = Sampler::insecure_from_u64_for_tests(3);
        let v = s.gaussian(1 << 16);
        let n = v.len() as f64;
        let mean = v.iter().sum::<i64>() as f64 / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!(
            (var.sqrt() - GAUSSIAN_SIGMA).abs() < 0.05,
            "std {}",
            var.sqrt()
        );
        assert!(v.iter().all(|&x| x.abs() <= GAUSSIAN_BOUND));
        assert!(v.iter().any(|&x| x.abs() >= 10));
        // Symmetric.
        let pos = v.iter().filter(|&&x| x > 0).count() as f64;
        let neg = v.iter().filter(|&&x| x < 0).count() as f64;
        assert!((pos - neg).abs() < 0.03 * n);
    }

    #[test]
    fn seeds_determine_the_stream() {
        let mut a = Sampler::insecure_from_u64_for_tests(42);
        let mut b = Sampler::insecure_from_u64_for_tests(42);
        let mut c = Sampler::insecure_from_u64_for_tests(43);
        let (ga, gb, gc) = (a.gaussian(256), b.gaussian(256), c.gaussian(256));
        assert_eq!(ga, gb);
        assert_ne!(ga, gc);
        let seed = a.fill_seed();
        assert_eq!(seed, b.fill_seed());
        let ctx =
            RnsContext::new(64, &crate::primes::ntt_prime_chain(&[40, 50], 128).unwrap()).unwrap();
        let u1 = Sampler::from_seed(seed).uniform_poly(&ctx, &[0, 1], Representation::Ntt);
        let u2 = Sampler::from_seed(seed).uniform_poly(&ctx, &[0, 1], Representation::Ntt);
        assert_eq!(u1, u2);
        assert_eq!(u1.repr(), Representation::Ntt);
        let u3 = Sampler::from_seed(c.fill_seed()).uniform_poly(&ctx, &[0, 1], Representation::Ntt);
        assert_ne!(u1, u3);
        let mut os1 = Sampler::from_os_entropy().unwrap();
        let mut os2 = Sampler::from_os_entropy().unwrap();
        assert_ne!(os1.fill_seed(), os2.fill_seed());
    }

    #[test]
    fn uniform_values_are_reduced_and_spread() {
        let chain = crate::primes::ntt_prime_chain(&[20, 60], 2048).unwrap();
        let ctx = RnsContext::new(1024, &chain).unwrap();
        let mut s = Sampler::insecure_from_u64_for_tests(5);
        let u = s.uniform_poly(&ctx, &[1, 0], Representation::Coefficient);
        for (k, &i) in u.moduli().iter().enumerate() {
            let p = ctx.modulus(i).value();
            let limb = u.limb(k);
            assert!(limb.iter().all(|&x| x < p));
            let above_half = limb.iter().filter(|&&x| x > p / 2).count();
            assert!((above_half as i64 - 512).abs() < 100, "{above_half}");
        }
        for bound in [1u64, 2, 3, 1000] {
            for _ in 0..100 {
                assert!(s.uniform_below(bound) < bound);
            }
        }
    }
}
