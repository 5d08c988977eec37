//! Word-sized modular arithmetic for odd moduli below 2^61.
//!
//! [`Modulus`] precomputes the Barrett constant `floor(2^128 / p)` (split in two words) and offers
//! scalar and slice operations. Every operation expects its inputs reduced (`< p`) unless stated
//! otherwise and returns reduced outputs. Shoup multiplication (`mul_shoup`) multiplies by a fixed
//! operand `w` with a precomputed quotient `floor(w * 2^64 / p)` and is the fastest product.

use crate::error::{RingError, RingResult};

/// Largest modulus bit size the arithmetic accepts: lazy NTT butterflies need `4p < 2^64`.
pub const MAX_MODULUS_BITS: u32 = 61;

/// Slices shorter than this take the scalar path (the vector set-up would not pay off).
pub(crate) const SIMD_MIN_LEN: usize = 64;

/// An odd modulus `2 < p < 2^61` with its Barrett constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Modulus {
    value: u64,
    /// High word of `floor(2^128 / p)`; equals `floor(2^64 / p)`.
    ratio_hi: u64,
    /// Low word of `floor(2^128 / p)`.
    ratio_lo: u64,
}

/// High 64 bits of the 128-bit product `a * b`.
#[inline(always)]
fn mul_hi(a: u64, b: u64) -> u64 {
    ((a as u128 * b as u128) >> 64) as u64
}

impl Modulus {
    /// Builds the modulus `p`.
    ///
    /// Errors: [`RingError::InvalidModulus`] when `p` is even, `p <= 2` or `p >= 2^61`.
    /// Primality is not checked here (operations that need it, like [`Modulus::inv`] on a
    /// non-invertible value, report it themselves).
    pub fn new(p: u64) -> RingResult<Modulus> {
        if p <= 2 || p.is_multiple_of(2) || p >= (1u64 << MAX_MODULUS_BITS) {
            return Err(RingError::InvalidModulus {
                modulus: p,
                reason: "the modulus must be odd with 2 < p < 2^61",
            });
        }
        let ratio = u128::MAX / p as u128;
        // u128::MAX / p == floor(2^128 / p) because p does not divide 2^128 (p odd, > 1).
        Ok(Modulus {
            value: p,
            ratio_hi: (ratio >> 64) as u64,
            ratio_lo: ratio as u64,
        })
    }

    /// The modulus `p`.
    #[inline(always)]
    pub fn value(&self) -> u64 {
        self.value
    }

    /// Number of significant bits of `p`.
    #[inline]
    pub fn bits(&self) -> u32 {
        64 - self.value.leading_zeros()
    }

    /// `a + b mod p` for `a, b < p`.
    #[inline(always)]
    pub fn add(&self, a: u64, b: u64) -> u64 {
        // Branch-free: when s < p the wrapped difference is huge and min keeps s.
        let s = a + b;
        s.min(s.wrapping_sub(self.value))
    }

    /// `a - b mod p` for `a, b < p`.
    #[inline(always)]
    pub fn sub(&self, a: u64, b: u64) -> u64 {
        let d = a.wrapping_sub(b);
        d.min(d.wrapping_add(self.value))
    }

    /// `-a mod p` for `a < p`.
    #[inline(always)]
    pub fn neg(&self, a: u64) -> u64 {
        if a == 0 {
            0
        } else {
            self.value - a
        }
    }

    /// `a * b mod p` for `a, b < p`, by Barrett reduction of the 128-bit product.
    #[inline(always)]
    pub fn mul(&self, a: u64, b: u64) -> u64 {
        self.reduce_u128(a as u128 * b as u128)
    }

    /// `a mod p` for any `a`.
    #[inline(always)]
    pub fn reduce(&self, a: u64) -> u64 {
        // q <= floor(a / p) and floor(a / p) - q <= 1.
        let q = mul_hi(a, self.ratio_hi);
        let r = a.wrapping_sub(q.wrapping_mul(self.value));
        r.min(r.wrapping_sub(self.value))
    }

    /// `a mod p` for any 128-bit `a` (Barrett with `floor(2^128 / p)`).
    #[inline(always)]
    pub fn reduce_u128(&self, a: u128) -> u64 {
        let lo = a as u64;
        let hi = (a >> 64) as u64;
        // q = floor(a * ratio / 2^128) computed exactly modulo 2^64; it is floor(a / p) or one
        // less, so the remainder is below 2p and fits a word.
        let lo_lo_hi = mul_hi(lo, self.ratio_lo) as u128;
        let lo_hi = lo as u128 * self.ratio_hi as u128;
        let hi_lo = hi as u128 * self.ratio_lo as u128;
        let mid = lo_lo_hi + (lo_hi as u64 as u128) + (hi_lo as u64 as u128);
        let q = hi
            .wrapping_mul(self.ratio_hi)
            .wrapping_add((lo_hi >> 64) as u64)
            .wrapping_add((hi_lo >> 64) as u64)
            .wrapping_add((mid >> 64) as u64);
        let r = lo.wrapping_sub(q.wrapping_mul(self.value));
        r.min(r.wrapping_sub(self.value))
    }

    /// `a mod p` in `[0, p)` for a signed `a`.
    #[inline]
    pub fn reduce_i64(&self, a: i64) -> u64 {
        let r = self.reduce(a.unsigned_abs());
        if a < 0 {
            self.neg(r)
        } else {
            r
        }
    }

    /// `a mod p` in `[0, p)` for a signed 128-bit `a`.
    #[inline]
    pub fn reduce_i128(&self, a: i128) -> u64 {
        let r = self.reduce_u128(a.unsigned_abs());
        if a < 0 {
            self.neg(r)
        } else {
            r
        }
    }

    /// The representative of `a < p` in `(-p/2, p/2]` (for odd `p`: `[-(p-1)/2, (p-1)/2]`).
    #[inline]
    pub fn center(&self, a: u64) -> i64 {
        if a > self.value / 2 {
            a as i64 - self.value as i64
        } else {
            a as i64
        }
    }

    /// `a^e mod p` for `a < p` by square-and-multiply (`0^0 = 1`).
    pub fn pow(&self, a: u64, mut e: u64) -> u64 {
        let mut base = a;
        let mut acc = 1u64;
        while e > 0 {
            if e & 1 == 1 {
                acc = self.mul(acc, base);
            }
            base = self.mul(base, base);
            e >>= 1;
        }
        acc
    }

    /// The inverse of `a mod p` (any `a`), or `None` when `gcd(a, p) != 1`.
    pub fn inv(&self, a: u64) -> Option<u64> {
        let a = self.reduce(a);
        // Extended Euclid on signed 128-bit values (no overflow for 61-bit inputs).
        let (mut r0, mut r1) = (self.value as i128, a as i128);
        let (mut t0, mut t1) = (0i128, 1i128);
        while r1 != 0 {
            let q = r0 / r1;
            (r0, r1) = (r1, r0 - q * r1);
            (t0, t1) = (t1, t0 - q * t1);
        }
        if r0 != 1 {
            return None;
        }
        Some(self.reduce_i128(t0))
    }

    /// The Shoup quotient `floor(w * 2^64 / p)` of a fixed operand `w < p`.
    #[inline]
    pub fn shoup(&self, w: u64) -> u64 {
        (((w as u128) << 64) / self.value as u128) as u64
    }

    /// `a * w mod p` in `[0, 2p)` for any word `a` and `w < p` with `w_shoup = shoup(w)`.
    #[inline(always)]
    pub fn mul_shoup_lazy(&self, a: u64, w: u64, w_shoup: u64) -> u64 {
        let q = mul_hi(a, w_shoup);
        a.wrapping_mul(w).wrapping_sub(q.wrapping_mul(self.value))
    }

    /// `a * w mod p` in `[0, p)` for any word `a` and `w < p` with `w_shoup = shoup(w)`.
    #[inline(always)]
    pub fn mul_shoup(&self, a: u64, w: u64, w_shoup: u64) -> u64 {
        let r = self.mul_shoup_lazy(a, w, w_shoup);
        r.min(r.wrapping_sub(self.value))
    }

    /// `a[i] = a[i] + b[i] mod p`. Slices of equal length (extra elements of the longer one are
    /// ignored), values `< p`.
    /// Uses the AVX-512 kernel when the CPU has IFMA and `p < 2^50` (bit-identical results).
    pub fn add_assign_slice(&self, a: &mut [u64], b: &[u64]) {
        if a.len() >= SIMD_MIN_LEN && crate::simd::simd_enabled() {
            if let Some(v) = crate::simd::IfmaModulus::new(self) {
                v.add_assign_slice(a, b);
                return;
            }
        }
        self.add_assign_slice_scalar(a, b);
    }

    /// The portable scalar version of [`Modulus::add_assign_slice`] (the reference path).
    pub fn add_assign_slice_scalar(&self, a: &mut [u64], b: &[u64]) {
        for (x, &y) in a.iter_mut().zip(b) {
            *x = self.add(*x, y);
        }
    }

    /// `a[i] = a[i] - b[i] mod p`. Same rules as [`Modulus::add_assign_slice`].
    pub fn sub_assign_slice(&self, a: &mut [u64], b: &[u64]) {
        if a.len() >= SIMD_MIN_LEN && crate::simd::simd_enabled() {
            if let Some(v) = crate::simd::IfmaModulus::new(self) {
                v.sub_assign_slice(a, b);
                return;
            }
        }
        self.sub_assign_slice_scalar(a, b);
    }

    /// The portable scalar version of [`Modulus::sub_assign_slice`] (the reference path).
    pub fn sub_assign_slice_scalar(&self, a: &mut [u64], b: &[u64]) {
        for (x, &y) in a.iter_mut().zip(b) {
            *x = self.sub(*x, y);
        }
    }

    /// `a[i] = -a[i] mod p` for values `< p`.
    pub fn neg_assign_slice(&self, a: &mut [u64]) {
        for x in a.iter_mut() {
            *x = self.neg(*x);
        }
    }

    /// `a[i] = a[i] * b[i] mod p`. Same rules as [`Modulus::add_assign_slice`].
    /// Uses the AVX-512 IFMA kernel when the CPU has it and `p < 2^50` (bit-identical results).
    pub fn mul_assign_slice(&self, a: &mut [u64], b: &[u64]) {
        if a.len() >= SIMD_MIN_LEN && crate::simd::simd_enabled() {
            if let Some(v) = crate::simd::IfmaModulus::new(self) {
                v.mul_assign_slice(a, b);
                return;
            }
        }
        self.mul_assign_slice_scalar(a, b);
    }

    /// `out[i] = a[i] * b[i] mod p` over the common length of the three slices: the product
    /// written out of place, without copying `a` first. Identical to a copy followed by
    /// [`Modulus::mul_assign_slice`] (and uses the same IFMA kernel when it applies).
    pub fn mul_to_slice(&self, out: &mut [u64], a: &[u64], b: &[u64]) {
        if out.len() >= SIMD_MIN_LEN && crate::simd::simd_enabled() {
            if let Some(v) = crate::simd::IfmaModulus::new(self) {
                v.mul_to_slice(out, a, b);
                return;
            }
        }
        self.mul_to_slice_scalar(out, a, b);
    }

    /// The portable scalar version of [`Modulus::mul_to_slice`] (the reference path).
    pub fn mul_to_slice_scalar(&self, out: &mut [u64], a: &[u64], b: &[u64]) {
        let len = out.len().min(a.len()).min(b.len());
        out[..len].copy_from_slice(&a[..len]);
        self.mul_assign_slice_scalar(&mut out[..len], &b[..len]);
    }

    /// The portable scalar version of [`Modulus::mul_assign_slice`] (the reference path).
    pub fn mul_assign_slice_scalar(&self, a: &mut [u64], b: &[u64]) {
        for (x, &y) in a.iter_mut().zip(b) {
            *x = self.mul(*x, y);
        }
    }

    /// `acc[i] = acc[i] + a[i] * b[i] mod p`. Slices of equal length, values `< p`.
    /// Uses the AVX-512 IFMA kernel when the CPU has it and `p < 2^50` (bit-identical results).
    pub fn mul_add_assign_slice(&self, acc: &mut [u64], a: &[u64], b: &[u64]) {
        if acc.len() >= SIMD_MIN_LEN && crate::simd::simd_enabled() {
            if let Some(v) = crate::simd::IfmaModulus::new(self) {
                v.mul_add_assign_slice(acc, a, b);
                return;
            }
        }
        self.mul_add_assign_slice_scalar(acc, a, b);
    }

    /// The portable scalar version of [`Modulus::mul_add_assign_slice`] (the reference path).
    pub fn mul_add_assign_slice_scalar(&self, acc: &mut [u64], a: &[u64], b: &[u64]) {
        for ((z, &x), &y) in acc.iter_mut().zip(a).zip(b) {
            // z + x*y < p + p^2 < 2^123: one Barrett reduction.
            *z = self.reduce_u128(*z as u128 + x as u128 * y as u128);
        }
    }

    /// `a[i] = a[i] * c mod p` for a constant `c < p` (Shoup product).
    /// Uses the AVX-512 IFMA kernel when the CPU has it and `p < 2^50` (bit-identical results).
    pub fn mul_scalar_assign_slice(&self, a: &mut [u64], c: u64) {
        if a.len() >= SIMD_MIN_LEN && crate::simd::simd_enabled() {
            if let Some(v) = crate::simd::IfmaModulus::new(self) {
                v.mul_scalar_shoup_assign_slice(a, c);
                return;
            }
        }
        self.mul_scalar_assign_slice_scalar(a, c);
    }

    /// The portable scalar version of [`Modulus::mul_scalar_assign_slice`] (the reference path).
    pub fn mul_scalar_assign_slice_scalar(&self, a: &mut [u64], c: u64) {
        let c_shoup = self.shoup(c);
        for x in a.iter_mut() {
            *x = self.mul_shoup(*x, c, c_shoup);
        }
    }

    /// `out[i] = sum_k rows[k][i] * w[k] mod p` (canonical) over the common length of `out` and
    /// the rows, for rows holding values `< p` and any weights (reduced first); extra rows or
    /// weights beyond the shorter of the two are ignored. Uses the AVX-512 IFMA kernel when the
    /// CPU has it and `p < 2^50` (bit-identical results); the scalar path reduces after every
    /// term, so any number of rows is exact.
    pub fn dot_scalar_slice(&self, out: &mut [u64], rows: &[&[u64]], w: &[u64]) {
        if out.len() >= SIMD_MIN_LEN && crate::simd::simd_enabled() {
            if let Some(v) = crate::simd::IfmaModulus::new(self) {
                v.dot_scalar_slice(out, rows, w);
                return;
            }
        }
        self.dot_scalar_slice_scalar(out, rows, w);
    }

    /// Four [`Modulus::dot_scalar_slice`] over the same rows, in one pass when the IFMA kernel
    /// applies (each row block loaded once for the four outputs); identical results.
    pub fn dot_scalar4_slice(&self, out: [&mut [u64]; 4], rows: &[&[u64]], w: [&[u64]; 4]) {
        let len = out.iter().map(|o| o.len()).min().unwrap_or(0);
        if len >= SIMD_MIN_LEN && crate::simd::simd_enabled() {
            if let Some(v) = crate::simd::IfmaModulus::new(self) {
                v.dot_scalar4_slice(out, rows, w);
                return;
            }
        }
        for (o, wj) in out.into_iter().zip(w) {
            self.dot_scalar_slice_scalar(o, rows, wj);
        }
    }

    /// The portable scalar version of [`Modulus::dot_scalar_slice`] (the reference path).
    pub fn dot_scalar_slice_scalar(&self, out: &mut [u64], rows: &[&[u64]], w: &[u64]) {
        let count = rows.len().min(w.len());
        let (rows, w) = (&rows[..count], &w[..count]);
        let len = rows.iter().fold(out.len(), |l, r| l.min(r.len()));
        let w: Vec<(u64, u64)> = w
            .iter()
            .map(|&x| {
                let x = self.reduce(x);
                (x, self.shoup(x))
            })
            .collect();
        for (c, o) in out.iter_mut().enumerate().take(len) {
            *o = rows.iter().zip(&w).fold(0, |acc, (r, &(wk, wks))| {
                self.add(acc, self.mul_shoup(self.reduce(r[c]), wk, wks))
            });
        }
    }

    /// `a[i] = a[i] mod p` for arbitrary words.
    pub fn reduce_assign_slice(&self, a: &mut [u64]) {
        for x in a.iter_mut() {
            *x = self.reduce(*x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PRIMES: [u64; 5] = [
        3,
        65_537,
        1_125_899_906_826_241,     // 50-bit
        1_152_921_504_606_584_833, // 60-bit
        (1u64 << 61) - 1,
    ];

    fn any_modulus() -> impl Strategy<Value = Modulus> {
        prop_oneof![
            prop::sample::select(PRIMES.to_vec()),
            (3u64..(1u64 << 61)).prop_map(|x| x | 1),
        ]
        .prop_map(|p| Modulus::new(p).unwrap())
    }

    #[test]
    fn invalid_moduli_are_refused() {
        for p in [0u64, 1, 2, 4, 1 << 20, 1 << 61, (1 << 61) + 1, u64::MAX] {
            assert!(Modulus::new(p).is_err(), "{p}");
        }
        assert_eq!(Modulus::new(65_537).unwrap().bits(), 17);
        for p in PRIMES {
            assert!(crate::primes::is_prime(p), "{p}");
        }
        assert_eq!(Modulus::new(PRIMES[2]).unwrap().bits(), 50);
        assert_eq!(Modulus::new(PRIMES[3]).unwrap().bits(), 60);
    }

    #[test]
    fn center_and_inverse() {
        let m = Modulus::new(17).unwrap();
        assert_eq!(m.center(8), 8);
        assert_eq!(m.center(9), -8);
        assert_eq!(m.center(0), 0);
        let m = Modulus::new(15).unwrap();
        assert_eq!(m.inv(5), None);
        assert_eq!(m.inv(7), Some(13));
        assert_eq!(m.inv(0), None);
    }

    proptest! {
        #[test]
        fn barrett_matches_u128(m in any_modulus(), a in any::<u64>(), b in any::<u64>(), w in any::<u128>()) {
            let p = m.value();
            let (x, y) = (a % p, b % p);
            prop_assert_eq!(m.mul(x, y), ((x as u128 * y as u128) % p as u128) as u64);
            prop_assert_eq!(m.reduce(a), a % p);
            prop_assert_eq!(m.reduce_u128(w), (w % p as u128) as u64);
            prop_assert_eq!(m.add(x, y), ((x as u128 + y as u128) % p as u128) as u64);
            prop_assert_eq!(m.sub(x, y), ((x as u128 + p as u128 - y as u128) % p as u128) as u64);
            prop_assert_eq!(m.add(m.neg(x), x), 0);
        }

        #[test]
        fn shoup_matches_u128(m in any_modulus(), a in any::<u64>(), b in any::<u64>()) {
            let p = m.value();
            let w = b % p;
            let ws = m.shoup(w);
            let expect = ((a as u128 * w as u128) % p as u128) as u64;
            prop_assert_eq!(m.mul_shoup(a, w, ws), expect);
            let lazy = m.mul_shoup_lazy(a, w, ws);
            prop_assert!(lazy < 2 * p);
            prop_assert_eq!(lazy % p, expect);
        }

        #[test]
        fn signed_reduction(m in any_modulus(), a in any::<i64>(), b in any::<i128>()) {
            let p = m.value() as i128;
            prop_assert_eq!(m.reduce_i64(a) as i128, (a as i128).rem_euclid(p));
            prop_assert_eq!(m.reduce_i128(b) as i128, b.rem_euclid(p));
            let c = m.center(m.reduce_i64(a));
            prop_assert!(2 * (c as i128) <= p && 2 * (c as i128) > -p);
            prop_assert_eq!((c as i128 - a as i128).rem_euclid(p), 0);
        }

        #[test]
        fn pow_and_inverse(i in 0usize..5, a in any::<u64>(), e in 0u64..1000) {
            let m = Modulus::new(PRIMES[i]).unwrap();
            let x = a % m.value();
            prop_assert_eq!(m.pow(x, e), crate::primes::pow_mod(x, e, m.value()));
            match m.inv(x) {
                Some(y) => prop_assert_eq!(m.mul(x, y), 1),
                None => prop_assert_eq!(x, 0),
            }
        }

        #[test]
        fn slices_match_scalars(i in 0usize..5, v in prop::collection::vec((any::<u64>(), any::<u64>(), any::<u64>()), 1..40), c in any::<u64>()) {
            let m = Modulus::new(PRIMES[i]).unwrap();
            let p = m.value();
            let a: Vec<u64> = v.iter().map(|t| t.0 % p).collect();
            let b: Vec<u64> = v.iter().map(|t| t.1 % p).collect();
            let z: Vec<u64> = v.iter().map(|t| t.2 % p).collect();
            let c = c % p;
            let mut s = a.clone();
            m.add_assign_slice(&mut s, &b);
            let mut d = a.clone();
            m.sub_assign_slice(&mut d, &b);
            let mut n = a.clone();
            m.neg_assign_slice(&mut n);
            let mut pr = a.clone();
            m.mul_assign_slice(&mut pr, &b);
            let mut acc = z.clone();
            m.mul_add_assign_slice(&mut acc, &a, &b);
            let mut sc = a.clone();
            m.mul_scalar_assign_slice(&mut sc, c);
            for k in 0..a.len() {
                prop_assert_eq!(s[k], m.add(a[k], b[k]));
                prop_assert_eq!(d[k], m.sub(a[k], b[k]));
                prop_assert_eq!(n[k], m.neg(a[k]));
                prop_assert_eq!(pr[k], m.mul(a[k], b[k]));
                prop_assert_eq!(acc[k], m.add(z[k], m.mul(a[k], b[k])));
                prop_assert_eq!(sc[k], m.mul(a[k], c));
            }
        }
    }
}
