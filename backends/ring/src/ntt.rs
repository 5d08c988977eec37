//! Negacyclic number-theoretic transform over `Z_p[X]/(X^N + 1)`.
//!
//! Forward: Cooley-Tukey with the twist by `psi` (a primitive `2N`-th root of unity) merged into
//! the twiddles (Longa-Naehrig), twiddles stored in bit-reversed order with Shoup quotients, Harvey
//! lazy butterflies (values kept in `[0, 4p)`, corrected to `[0, p)` at the end). Inverse:
//! Gentleman-Sande with values in `[0, 2p)` and the scaling by `N^-1` merged into the last stage.
//! Evaluation slot `j` holds `a(psi^(2 * bitrev(j) + 1))` (see [`NttTable::slot_exponent`]).

use crate::error::{RingError, RingResult};
use crate::modular::Modulus;
use crate::primes::is_prime;

/// Smallest supported ring degree.
pub const MIN_DEGREE: usize = 2;
/// Largest supported ring degree.
pub const MAX_DEGREE: usize = 1 << 17;

/// Reverses the lowest `bits` bits of `x`.
#[inline]
pub fn bit_reverse(x: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        x.reverse_bits() >> (usize::BITS - bits)
    }
}

/// Precomputed twiddles for the negacyclic NTT of one prime at one degree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NttTable {
    modulus: Modulus,
    n: usize,
    log_n: u32,
    psi: u64,
    /// `psi^bitrev(k)` for `k < n`.
    roots: Vec<u64>,
    roots_shoup: Vec<u64>,
    /// `psi^-bitrev(k)` for `k < n`.
    inv_roots: Vec<u64>,
    inv_roots_shoup: Vec<u64>,
    n_inv: u64,
    n_inv_shoup: u64,
    /// `psi^-bitrev(1) * N^-1` for the merged last inverse stage.
    last_inv: u64,
    last_inv_shoup: u64,
    /// The AVX-512 IFMA transform, when the CPU has it, `p < 2^50` and SIMD is enabled.
    ifma: Option<crate::simd::IfmaNtt>,
}

/// Checks that `n` is a power of two within [`MIN_DEGREE`]..=[`MAX_DEGREE`].
pub(crate) fn check_degree(n: usize) -> RingResult<()> {
    if !n.is_power_of_two() || !(MIN_DEGREE..=MAX_DEGREE).contains(&n) {
        return Err(RingError::InvalidDegree {
            degree: n,
            min: MIN_DEGREE,
            max: MAX_DEGREE,
        });
    }
    Ok(())
}

/// The smallest primitive `2n`-th root of unity modulo the prime `m` (requires `m = 1 mod 2n`).
fn minimal_primitive_root(m: &Modulus, two_n: u64) -> Option<u64> {
    let p = m.value();
    let cofactor = (p - 1) / two_n;
    let half = two_n / 2;
    let mut g = None;
    for x in 2..p {
        let c = m.pow(x, cofactor);
        if m.pow(c, half) == p - 1 {
            g = Some(c);
            break;
        }
    }
    let g = g?;
    // The primitive 2n-th roots are the odd powers of g; take the smallest for determinism.
    let g2 = m.mul(g, g);
    let mut cur = g;
    let mut best = g;
    for _ in 0..half {
        best = best.min(cur);
        cur = m.mul(cur, g2);
    }
    Some(best)
}

impl NttTable {
    /// Builds the table for the prime `modulus` and degree `n`.
    ///
    /// Errors: [`RingError::InvalidDegree`] unless `n` is a power of two in
    /// [`MIN_DEGREE`]..=[`MAX_DEGREE`]; [`RingError::InvalidModulus`] unless `p` is a prime with
    /// `p = 1 mod 2n`.
    pub fn new(modulus: Modulus, n: usize) -> RingResult<NttTable> {
        check_degree(n)?;
        let p = modulus.value();
        let two_n = 2 * n as u64;
        if p % two_n != 1 {
            return Err(RingError::InvalidModulus {
                modulus: p,
                reason: "an NTT prime must be 1 mod 2N",
            });
        }
        if !is_prime(p) {
            return Err(RingError::InvalidModulus {
                modulus: p,
                reason: "the NTT modulus must be prime",
            });
        }
        let psi = minimal_primitive_root(&modulus, two_n).ok_or(RingError::InvalidModulus {
            modulus: p,
            reason: "no primitive 2N-th root of unity",
        })?;
        let psi_inv = modulus.inv(psi).ok_or(RingError::InvalidModulus {
            modulus: p,
            reason: "the root of unity is not invertible",
        })?;
        let n_inv = modulus.inv(n as u64).ok_or(RingError::InvalidModulus {
            modulus: p,
            reason: "N is not invertible",
        })?;
        let log_n = n.trailing_zeros();
        let mut pows = vec![0u64; n];
        let mut inv_pows = vec![0u64; n];
        let (mut cur, mut cur_inv) = (1u64, 1u64);
        for k in 0..n {
            pows[k] = cur;
            inv_pows[k] = cur_inv;
            cur = modulus.mul(cur, psi);
            cur_inv = modulus.mul(cur_inv, psi_inv);
        }
        let roots: Vec<u64> = (0..n).map(|k| pows[bit_reverse(k, log_n)]).collect();
        let inv_roots: Vec<u64> = (0..n).map(|k| inv_pows[bit_reverse(k, log_n)]).collect();
        let roots_shoup = roots.iter().map(|&w| modulus.shoup(w)).collect();
        let inv_roots_shoup = inv_roots.iter().map(|&w| modulus.shoup(w)).collect();
        let last_inv = modulus.mul(inv_roots[1], n_inv);
        let mut table = NttTable {
            ifma: None,
            modulus,
            n,
            log_n,
            psi,
            roots,
            roots_shoup,
            inv_roots,
            inv_roots_shoup,
            n_inv,
            n_inv_shoup: modulus.shoup(n_inv),
            last_inv,
            last_inv_shoup: modulus.shoup(last_inv),
        };
        if crate::simd::simd_enabled() {
            table.ifma = crate::simd::IfmaNtt::new(&table);
        }
        Ok(table)
    }

    /// Whether [`NttTable::forward`] and [`NttTable::inverse`] run the AVX-512 IFMA kernels.
    pub fn uses_simd(&self) -> bool {
        self.ifma.is_some()
    }

    /// The ring degree `N`.
    #[inline]
    pub fn degree(&self) -> usize {
        self.n
    }

    /// The prime of this table.
    #[inline]
    pub fn modulus(&self) -> &Modulus {
        &self.modulus
    }

    /// The primitive `2N`-th root of unity `psi` used (the smallest one).
    #[inline]
    pub fn psi(&self) -> u64 {
        self.psi
    }

    /// Forward transform in place: coefficients (`< p`) to evaluations (`< p`) in bit-reversed
    /// order. `a` must hold exactly `N` values; a slice of another length is left unchanged.
    /// Runs the AVX-512 IFMA kernel when available (bit-identical to [`NttTable::forward_scalar`]).
    pub fn forward(&self, a: &mut [u64]) {
        match &self.ifma {
            Some(v) => v.forward(a),
            None => self.forward_scalar(a),
        }
    }

    /// The portable scalar forward transform (the reference path of [`NttTable::forward`]).
    pub fn forward_scalar(&self, a: &mut [u64]) {
        if a.len() != self.n {
            return;
        }
        self.forward_lazy(a);
        let p = self.modulus.value();
        let two_p = 2 * p;
        for x in a.iter_mut() {
            // Branch-free corrections from [0, 4p) to [0, p).
            let v = *x;
            let v = v.min(v.wrapping_sub(two_p));
            *x = v.min(v.wrapping_sub(p));
        }
    }

    /// Forward transform leaving the outputs in `[0, 4p)` (inputs `< 4p`). `a.len()` must be `N`
    /// (otherwise nothing is done).
    pub fn forward_lazy(&self, a: &mut [u64]) {
        if a.len() != self.n {
            return;
        }
        let m_ = &self.modulus;
        let two_p = 2 * m_.value();
        let butterfly = |x: &mut u64, y: &mut u64, w: u64, w_shoup: u64| {
            let u = (*x).min((*x).wrapping_sub(two_p));
            let v = m_.mul_shoup_lazy(*y, w, w_shoup);
            *x = u + v;
            *y = u + two_p - v;
        };
        let mut t = self.n;
        let mut m = 1;
        while m < self.n {
            t >>= 1;
            let ws = &self.roots[m..2 * m];
            let wss = &self.roots_shoup[m..2 * m];
            if t == 1 {
                // Last stage: one butterfly per twiddle.
                for ((pair, &w), &w_shoup) in a.chunks_exact_mut(2).zip(ws).zip(wss) {
                    if let [x, y] = pair {
                        butterfly(x, y, w, w_shoup);
                    }
                }
            } else if t == 2 {
                for ((quad, &w), &w_shoup) in a.chunks_exact_mut(4).zip(ws).zip(wss) {
                    if let [x0, x1, y0, y1] = quad {
                        butterfly(x0, y0, w, w_shoup);
                        butterfly(x1, y1, w, w_shoup);
                    }
                }
            } else {
                for ((chunk, &w), &w_shoup) in a.chunks_exact_mut(2 * t).zip(ws).zip(wss) {
                    let (x, y) = chunk.split_at_mut(t);
                    // t >= 4 is even: two independent butterflies per iteration.
                    for (xs, ys) in x.chunks_exact_mut(2).zip(y.chunks_exact_mut(2)) {
                        if let ([x0, x1], [y0, y1]) = (xs, ys) {
                            butterfly(x0, y0, w, w_shoup);
                            butterfly(x1, y1, w, w_shoup);
                        }
                    }
                }
            }
            m <<= 1;
        }
    }

    /// Inverse transform in place: exact inverse of [`NttTable::forward`], inputs `< 2p`,
    /// outputs `< p`. `a.len()` must be `N` (otherwise nothing is done).
    /// Runs the AVX-512 IFMA kernel when available (bit-identical to [`NttTable::inverse_scalar`]).
    pub fn inverse(&self, a: &mut [u64]) {
        match &self.ifma {
            Some(v) => v.inverse(a),
            None => self.inverse_scalar(a),
        }
    }

    /// The portable scalar inverse transform (the reference path of [`NttTable::inverse`]).
    pub fn inverse_scalar(&self, a: &mut [u64]) {
        if a.len() != self.n {
            return;
        }
        let m_ = &self.modulus;
        let p = m_.value();
        let two_p = 2 * p;
        let butterfly = |x: &mut u64, y: &mut u64, w: u64, w_shoup: u64| {
            let (u, v) = (*x, *y);
            let s = u + v;
            *x = s.min(s.wrapping_sub(two_p));
            *y = m_.mul_shoup_lazy(u + two_p - v, w, w_shoup);
        };
        let mut t = 1;
        let mut m = self.n;
        while m > 2 {
            let h = m >> 1;
            let ws = &self.inv_roots[h..m];
            let wss = &self.inv_roots_shoup[h..m];
            if t == 1 {
                for ((pair, &w), &w_shoup) in a.chunks_exact_mut(2).zip(ws).zip(wss) {
                    if let [x, y] = pair {
                        butterfly(x, y, w, w_shoup);
                    }
                }
            } else {
                for ((chunk, &w), &w_shoup) in a.chunks_exact_mut(2 * t).zip(ws).zip(wss) {
                    let (x, y) = chunk.split_at_mut(t);
                    // t >= 2 is even: two independent butterflies per iteration.
                    for (xs, ys) in x.chunks_exact_mut(2).zip(y.chunks_exact_mut(2)) {
                        if let ([x0, x1], [y0, y1]) = (xs, ys) {
                            butterfly(x0, y0, w, w_shoup);
                            butterfly(x1, y1, w, w_shoup);
                        }
                    }
                }
            }
            t <<= 1;
            m = h;
        }
        // Last stage (one block of size N) merged with the scaling by N^-1.
        let (x, y) = a.split_at_mut(self.n / 2);
        for (xj, yj) in x.iter_mut().zip(y.iter_mut()) {
            let (u, v) = (*xj, *yj);
            let s = m_.mul_shoup_lazy(u + v, self.n_inv, self.n_inv_shoup);
            let d = m_.mul_shoup_lazy(u + two_p - v, self.last_inv, self.last_inv_shoup);
            *xj = s.min(s.wrapping_sub(p));
            *yj = d.min(d.wrapping_sub(p));
        }
    }

    /// The odd exponent `e_j = 2 * bitrev(j) + 1` such that evaluation slot `j` holds
    /// `a(psi^e_j)` for this table's `psi`. The order is the same for every prime and degree `N`.
    /// `j` is taken modulo `N`.
    #[inline]
    pub fn slot_exponent(&self, j: usize) -> usize {
        2 * bit_reverse(j % self.n, self.log_n) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primes::ntt_primes;
    use proptest::prelude::*;

    /// Schoolbook product in `Z_p[X]/(X^n + 1)`.
    pub(crate) fn negacyclic_mul(m: &Modulus, a: &[u64], b: &[u64]) -> Vec<u64> {
        let n = a.len();
        let mut c = vec![0u64; n];
        for (i, &ai) in a.iter().enumerate() {
            for (j, &bj) in b.iter().enumerate() {
                let prod = m.mul(ai, bj);
                let k = i + j;
                if k < n {
                    c[k] = m.add(c[k], prod);
                } else {
                    c[k - n] = m.sub(c[k - n], prod);
                }
            }
        }
        c
    }

    fn table(bits: u32, n: usize, index: usize) -> NttTable {
        let p = ntt_primes(bits, 2 * n as u64, index + 1, &[]).unwrap()[index];
        NttTable::new(Modulus::new(p).unwrap(), n).unwrap()
    }

    fn random_poly(seed: u64, n: usize, p: u64) -> Vec<u64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s % p
            })
            .collect()
    }

    #[test]
    fn bad_inputs_are_refused() {
        let m = Modulus::new(97).unwrap(); // 97 = 1 mod 32
        assert!(NttTable::new(m, 16).is_ok());
        assert!(matches!(
            NttTable::new(m, 64),
            Err(RingError::InvalidModulus { .. })
        ));
        assert!(matches!(
            NttTable::new(m, 12),
            Err(RingError::InvalidDegree { .. })
        ));
        assert!(matches!(
            NttTable::new(m, 1),
            Err(RingError::InvalidDegree { .. })
        ));
        let composite = Modulus::new(33).unwrap(); // 33 = 1 mod 32, not prime
        assert!(NttTable::new(composite, 16).is_err());
    }

    #[test]
    fn slots_are_evaluations_at_odd_powers() {
        for (bits, n) in [(20, 8usize), (50, 16), (60, 64)] {
            let t = table(bits, n, 0);
            let m = *t.modulus();
            assert_eq!(m.pow(t.psi(), n as u64), m.value() - 1);
            let a = random_poly(n as u64, n, m.value());
            let mut e = a.clone();
            t.forward(&mut e);
            let mut seen = vec![false; 2 * n];
            for (j, &ej) in e.iter().enumerate() {
                let x = m.pow(t.psi(), t.slot_exponent(j) as u64);
                let mut acc = 0;
                for &c in a.iter().rev() {
                    acc = m.add(m.mul(acc, x), c);
                }
                assert_eq!(ej, acc, "slot {j}");
                let s = t.slot_exponent(j);
                assert!(!s.is_multiple_of(2) && !seen[s]);
                seen[s] = true;
            }
        }
    }

    #[test]
    fn large_round_trip() {
        let n = 1 << 14;
        let t = table(60, n, 0);
        let a = random_poly(7, n, t.modulus().value());
        let mut b = a.clone();
        t.forward(&mut b);
        assert_ne!(a, b);
        assert!(b.iter().all(|&x| x < t.modulus().value()));
        t.inverse(&mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn wrong_lengths_are_ignored() {
        let t = table(30, 16, 0);
        let mut short = vec![1u64; 8];
        t.forward(&mut short);
        t.inverse(&mut short);
        assert_eq!(short, vec![1u64; 8]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn dispatched_paths_equal_the_scalar_reference(bits in prop::sample::select(vec![30u32, 40, 49, 50, 60]), log_n in 4u32..13, seed in any::<u64>()) {
            let n = 1usize << log_n;
            let t = table(bits, n, 0);
            let p = t.modulus().value();
            let a = random_poly(seed, n, p);
            let (mut x, mut y) = (a.clone(), a.clone());
            t.forward(&mut x);
            t.forward_scalar(&mut y);
            prop_assert_eq!(&x, &y);
            t.inverse(&mut x);
            t.inverse_scalar(&mut y);
            prop_assert_eq!(&x, &y);
            prop_assert_eq!(x, a);
        }

        #[test]
        fn round_trip(bits in prop::sample::select(vec![20u32, 30, 50, 60, 61]), log_n in 1u32..11, idx in 0usize..3, seed in any::<u64>()) {
            let n = 1usize << log_n;
            let t = table(bits, n, idx);
            let p = t.modulus().value();
            let a = random_poly(seed, n, p);
            let mut b = a.clone();
            t.forward(&mut b);
            prop_assert!(b.iter().all(|&x| x < p));
            t.inverse(&mut b);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn multiplication_matches_schoolbook(bits in prop::sample::select(vec![20u32, 40, 50, 60, 61]), log_n in 1u32..7, seed in any::<u64>()) {
            let n = 1usize << log_n;
            let t = table(bits, n, 1);
            let m = *t.modulus();
            let a = random_poly(seed, n, m.value());
            let b = random_poly(seed ^ 0xABCDEF, n, m.value());
            let expect = negacyclic_mul(&m, &a, &b);
            let (mut fa, mut fb) = (a.clone(), b.clone());
            t.forward(&mut fa);
            t.forward(&mut fb);
            m.mul_assign_slice(&mut fa, &fb);
            t.inverse(&mut fa);
            prop_assert_eq!(fa, expect);
        }
    }
}
