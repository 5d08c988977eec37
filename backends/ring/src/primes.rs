//! Primality testing and generation of NTT-friendly primes (p = 1 mod 2N).
//!
//! The generation is deterministic: for a bit size `b` it walks down from `2^b` over the values
//! `1 mod 2N` and keeps the primes, so that every backend (native, mock, simulator) built from the
//! same parameters sees exactly the same chain of moduli and hence the same exact scales.

use crate::error::{RingError, RingResult};

/// Smallest prime bit size the generator accepts.
pub const MIN_PRIME_BITS: u32 = 14;
/// Largest prime bit size the generator accepts (lazy NTT butterflies need `4p < 2^64`).
pub const MAX_PRIME_BITS: u32 = 61;

/// `a * b mod m` through a 128-bit product.
#[inline]
pub fn mul_mod(a: u64, b: u64, m: u64) -> u64 {
    ((a as u128 * b as u128) % m as u128) as u64
}

/// `base^exp mod m` by square-and-multiply.
pub fn pow_mod(mut base: u64, mut exp: u64, m: u64) -> u64 {
    if m == 1 {
        return 0;
    }
    let mut acc = 1u64;
    base %= m;
    while exp > 0 {
        if exp & 1 == 1 {
            acc = mul_mod(acc, base, m);
        }
        base = mul_mod(base, base, m);
        exp >>= 1;
    }
    acc
}

/// Deterministic Miller-Rabin primality test, exact for every `u64`.
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    const SMALL: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    for p in SMALL {
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    let mut d = n - 1;
    let mut s = 0;
    while d.is_multiple_of(2) {
        d /= 2;
        s += 1;
    }
    // These witnesses are sufficient for all n < 3.3e24.
    'witness: for a in SMALL {
        let mut x = pow_mod(a, d, n);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mul_mod(x, x, n);
            if x == n - 1 {
                continue 'witness;
            }
        }
        return false;
    }
    true
}

/// Returns `count` distinct primes `p` with exactly `bits` bits (`2^(bits-1) < p < 2^bits`) and
/// `p = 1 mod two_n`, largest first, skipping any prime listed in `exclude`.
///
/// Errors: a bit size outside [`MIN_PRIME_BITS`]..=[`MAX_PRIME_BITS`], `two_n` not a power of two,
/// or fewer such primes than requested.
pub fn ntt_primes(bits: u32, two_n: u64, count: usize, exclude: &[u64]) -> RingResult<Vec<u64>> {
    if !(MIN_PRIME_BITS..=MAX_PRIME_BITS).contains(&bits) {
        return Err(RingError::UnsupportedBitSize {
            bits,
            min: MIN_PRIME_BITS,
            max: MAX_PRIME_BITS,
        });
    }
    if !two_n.is_power_of_two() || two_n < 2 {
        return Err(RingError::InvalidModulus {
            modulus: two_n,
            reason: "the congruence modulus 2N must be a power of two",
        });
    }
    let upper = 1u64 << bits;
    let lower = 1u64 << (bits - 1);
    let mut found = Vec::with_capacity(count);
    if count == 0 {
        return Ok(found);
    }
    // Largest value below 2^bits that is 1 mod 2N.
    let mut candidate = upper - two_n + 1;
    while candidate > lower {
        if is_prime(candidate) && !exclude.contains(&candidate) {
            found.push(candidate);
            if found.len() == count {
                return Ok(found);
            }
        }
        match candidate.checked_sub(two_n) {
            Some(c) => candidate = c,
            None => break,
        }
    }
    Err(RingError::NotEnoughPrimes {
        bits,
        modulus: two_n,
        wanted: count,
        found: found.len(),
    })
}

/// Generates a chain of distinct NTT-friendly primes, one per entry of `bit_sizes`, in that order.
/// Primes of equal size are taken in decreasing order; none repeats across the chain.
pub fn ntt_prime_chain(bit_sizes: &[u32], two_n: u64) -> RingResult<Vec<u64>> {
    let mut chain: Vec<u64> = Vec::with_capacity(bit_sizes.len());
    for &bits in bit_sizes {
        let p = ntt_primes(bits, two_n, 1, &chain)?;
        chain.extend(p);
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_primes_are_classified() {
        let primes: Vec<u64> = (0..60).filter(|&n| is_prime(n)).collect();
        assert_eq!(
            primes,
            vec![2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59]
        );
        // Carmichael numbers and a strong pseudoprime to several bases.
        for c in [561u64, 1105, 1729, 3_215_031_751, 3_825_123_056_546_413_051] {
            assert!(!is_prime(c), "{c}");
        }
        assert!(is_prime((1u64 << 61) - 1));
    }

    #[test]
    fn ntt_primes_have_the_requested_shape() {
        let two_n = 1u64 << 15;
        let ps = ntt_primes(40, two_n, 5, &[]).unwrap();
        assert_eq!(ps.len(), 5);
        for w in ps.windows(2) {
            assert!(w[0] > w[1]);
        }
        for p in ps {
            assert!(is_prime(p));
            assert_eq!(p % two_n, 1);
            assert_eq!(64 - p.leading_zeros(), 40);
        }
    }

    #[test]
    fn chains_do_not_repeat_primes() {
        let chain = ntt_prime_chain(&[60, 40, 40, 40, 60], 1 << 15).unwrap();
        let mut sorted = chain.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), chain.len());
        assert_eq!(64 - chain[0].leading_zeros(), 60);
    }

    #[test]
    fn unsupported_sizes_are_refused() {
        assert!(matches!(
            ntt_primes(62, 1 << 10, 1, &[]),
            Err(RingError::UnsupportedBitSize { bits: 62, .. })
        ));
        assert!(matches!(
            ntt_primes(14, 1 << 14, 4, &[]),
            Err(RingError::NotEnoughPrimes { .. })
        ));
    }
}
