//! [`IfmaModulus`]: pointwise modular products over slices with AVX-512 IFMA.

use crate::modular::Modulus;

use super::detect::ifma_available;
use super::ntt::IFMA_MAX_MODULUS_BITS;

/// A prime `p < 2^50` with the 52-bit constants of the IFMA pointwise kernels.
///
/// Every method gives results bit-identical to the scalar method of [`Modulus`] it names, for
/// every input: eight-lane groups whose inputs are outside the vector kernels' domain (values
/// `>= p` for the products, `>= 2^52` for the scalar product) are computed by the scalar code.
/// Slices of different lengths are processed up to the shortest one, as in [`Modulus`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IfmaModulus {
    modulus: Modulus,
    /// `b`, the bit size of `p`.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    bits: u32,
    /// The Barrett constant `floor(2^(b + 51) / p)` (below `2^52` since `p > 2^(b - 1)`).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    barrett: u64,
}

impl IfmaModulus {
    /// The kernels of `modulus`; `None` unless the CPU supports AVX-512 IFMA
    /// ([`super::ifma_available`]) and `p < 2^50`.
    pub fn new(modulus: &Modulus) -> Option<IfmaModulus> {
        if !ifma_available() {
            return None;
        }
        IfmaModulus::build(modulus)
    }

    /// The constants without the CPU check (`None` when `p >= 2^50`).
    pub(crate) fn build(modulus: &Modulus) -> Option<IfmaModulus> {
        let p = modulus.value();
        if p >= 1u64 << IFMA_MAX_MODULUS_BITS {
            return None;
        }
        let bits = modulus.bits();
        let barrett = ((1u128 << (bits + 51)) / p as u128) as u64;
        Some(IfmaModulus {
            modulus: *modulus,
            bits,
            barrett,
        })
    }

    /// The scalar modulus.
    #[inline]
    pub fn modulus(&self) -> &Modulus {
        &self.modulus
    }

    /// `a[i] = a[i] * b[i] mod p`, identical to [`Modulus::mul_assign_slice`] (values `< p`
    /// take the vector path).
    pub fn mul_assign_slice(&self, a: &mut [u64], b: &[u64]) {
        #[cfg(target_arch = "x86_64")]
        if ifma_available() {
            // SAFETY: the CPU supports avx512f and avx512ifma (checked just above).
            unsafe { super::x86_pointwise::mul_assign(self.params(), a, b) };
            return;
        }
        self.modulus.mul_assign_slice_scalar(a, b);
    }

    /// `out[i] = a[i] * b[i] mod p`, identical to [`Modulus::mul_to_slice`] (values `< p` take
    /// the vector path).
    pub fn mul_to_slice(&self, out: &mut [u64], a: &[u64], b: &[u64]) {
        #[cfg(target_arch = "x86_64")]
        if ifma_available() {
            // SAFETY: the CPU supports avx512f and avx512ifma (checked just above).
            unsafe { super::x86_pointwise::mul_to(self.params(), out, a, b) };
            return;
        }
        self.modulus.mul_to_slice_scalar(out, a, b);
    }

    /// The two inner products of key switching, `out0 = sum_j d[j] * b[j]` and
    /// `out1 = sum_j d[j] * a[j]` (pointwise, mod p) over `min(len(d), len(b), len(a))` terms
    /// (none: the outputs are left as they are) and the common length of the outputs and the
    /// terms: identical to [`IfmaModulus::mul_to_slice`] of the first term followed by
    /// [`IfmaModulus::mul_add_assign_slice`] of the others, in one pass that reads each `d[j]`
    /// once.
    pub fn dot_pair_slice(
        &self,
        out0: &mut [u64],
        out1: &mut [u64],
        d: &[&[u64]],
        b: &[&[u64]],
        a: &[&[u64]],
    ) {
        #[cfg(target_arch = "x86_64")]
        if ifma_available() {
            // SAFETY: the CPU supports avx512f and avx512ifma (checked just above).
            unsafe { super::x86_pointwise::dot_pair(self.params(), out0, out1, d, b, a) };
            return;
        }
        let terms = d.len().min(b.len()).min(a.len());
        for (j, ((dj, bj), aj)) in d.iter().zip(b).zip(a).take(terms).enumerate() {
            if j == 0 {
                self.mul_to_slice(out0, dj, bj);
                self.mul_to_slice(out1, dj, aj);
            } else {
                self.mul_add_assign_slice(out0, dj, bj);
                self.mul_add_assign_slice(out1, dj, aj);
            }
        }
    }

    /// `acc[i] = acc[i] + a[i] * b[i] mod p`, identical to [`Modulus::mul_add_assign_slice`]
    /// (values `< p` take the vector path).
    pub fn mul_add_assign_slice(&self, acc: &mut [u64], a: &[u64], b: &[u64]) {
        #[cfg(target_arch = "x86_64")]
        if ifma_available() {
            // SAFETY: the CPU supports avx512f and avx512ifma (checked just above).
            unsafe { super::x86_pointwise::mul_add_assign(self.params(), acc, a, b) };
            return;
        }
        self.modulus.mul_add_assign_slice_scalar(acc, a, b);
    }

    /// `a[i] = a[i] * c mod p` by a 52-bit Shoup product, identical to
    /// [`Modulus::mul_scalar_assign_slice`] for `c < p` (any `c >= p` is handed to that method
    /// whole; values `< 2^52` take the vector path).
    pub fn mul_scalar_shoup_assign_slice(&self, a: &mut [u64], c: u64) {
        #[cfg(target_arch = "x86_64")]
        if ifma_available() && c < self.modulus.value() {
            // SAFETY: the CPU supports avx512f and avx512ifma (checked just above).
            unsafe { super::x86_pointwise::mul_scalar_assign(self.params(), a, c) };
            return;
        }
        self.modulus.mul_scalar_assign_slice_scalar(a, c);
    }

    /// `out[i] = sum_k rows[k][i] * w[k] mod p` (canonical), over the common length of `out`
    /// and the rows: the linear combination of fast basis conversion. Any `w[k]` is accepted
    /// (reduced first); rows hold any `u64` (eight-lane groups with a value `>= 2^52` take an
    /// exact 128-bit scalar path). At most [`crate::basis::MAX_SOURCE_MODULI`]` + 1` rows keep
    /// the scalar path from overflowing; `rows.len() != w.len()` uses the shorter of the two.
    pub fn dot_scalar_slice(&self, out: &mut [u64], rows: &[&[u64]], w: &[u64]) {
        let m = &self.modulus;
        let count = rows.len().min(w.len());
        let (rows, w) = (&rows[..count], &w[..count]);
        let w: Vec<u64> = w.iter().map(|&x| m.reduce(x)).collect();
        if ifma_available() {
            let ws = self.shoup52_all(&w);
            if self.dot_scalar_prepared(out, rows, &w, &ws) {
                return;
            }
        }
        let len = rows.iter().fold(out.len(), |l, r| l.min(r.len()));
        for (c, o) in out.iter_mut().enumerate().take(len) {
            let acc = rows
                .iter()
                .zip(&w)
                .fold(0u128, |acc, (r, &wk)| acc + r[c] as u128 * wk as u128);
            *o = m.reduce_u128(acc);
        }
    }

    /// Four [`IfmaModulus::dot_scalar_slice`] over the same rows in one pass (each row block
    /// loaded once for the four outputs): `out[j][i] = sum_k rows[k][i] * w[j][k] mod p`,
    /// identical results. Rows hold values `< p`; each `w[j]` one weight per row (extra rows or
    /// weights beyond the shortest are ignored), any `u64` (reduced first).
    pub fn dot_scalar4_slice(&self, out: [&mut [u64]; 4], rows: &[&[u64]], w: [&[u64]; 4]) {
        let m = &self.modulus;
        let count = w.iter().fold(rows.len(), |c, v| c.min(v.len()));
        let rows = &rows[..count];
        let w: [Vec<u64>; 4] = w.map(|v| v[..count].iter().map(|&x| m.reduce(x)).collect());
        let mut out = out;
        if ifma_available() {
            let ws: [Vec<u64>; 4] = std::array::from_fn(|j| self.shoup52_all(&w[j]));
            let [o0, o1, o2, o3] = &mut out;
            if self.dot_scalar4_prepared(
                [&mut **o0, &mut **o1, &mut **o2, &mut **o3],
                rows,
                [&w[0], &w[1], &w[2], &w[3]],
                [&ws[0], &ws[1], &ws[2], &ws[3]],
            ) {
                return;
            }
        }
        for (o, wj) in out.into_iter().zip(&w) {
            self.dot_scalar_slice(o, rows, wj);
        }
    }

    /// The 52-bit Shoup quotients of reduced weights (`w[k] < p`), as the prepared dot products
    /// take them.
    pub(crate) fn shoup52_all(&self, w: &[u64]) -> Vec<u64> {
        let p = self.modulus.value();
        w.iter().map(|&x| super::ntt::shoup52(x, p)).collect()
    }

    /// [`IfmaModulus::dot_scalar_slice`] with the weights already reduced (`w[k] < p`) and their
    /// quotients `ws` from [`IfmaModulus::shoup52_all`], so that nothing is prepared per call.
    /// Returns `false`, writing nothing, where the vector kernel does not run (no IFMA).
    pub(crate) fn dot_scalar_prepared(
        &self,
        out: &mut [u64],
        rows: &[&[u64]],
        w: &[u64],
        ws: &[u64],
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if ifma_available() {
            // SAFETY: the CPU supports avx512f and avx512ifma (checked just above).
            unsafe { super::x86_pointwise::dot_scalar(self.params(), out, rows, w, ws) };
            return true;
        }
        let _ = (out, rows, w, ws);
        false
    }

    /// [`IfmaModulus::dot_scalar4_slice`] with prepared weights, as
    /// [`IfmaModulus::dot_scalar_prepared`]. Returns `false`, writing nothing, without IFMA.
    pub(crate) fn dot_scalar4_prepared(
        &self,
        out: [&mut [u64]; 4],
        rows: &[&[u64]],
        w: [&[u64]; 4],
        ws: [&[u64]; 4],
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if ifma_available() {
            // SAFETY: the CPU supports avx512f and avx512ifma (checked just above).
            unsafe { super::x86_pointwise::dot_scalar4(self.params(), out, rows, w, ws) };
            return true;
        }
        let _ = (out, rows, w, ws);
        false
    }

    /// `a[i] = a[i] + b[i] mod p`, identical to [`Modulus::add_assign_slice`] for every input.
    pub fn add_assign_slice(&self, a: &mut [u64], b: &[u64]) {
        #[cfg(target_arch = "x86_64")]
        if ifma_available() {
            // SAFETY: the CPU supports avx512f and avx512ifma (checked just above).
            unsafe { super::x86_pointwise::add_assign(self.modulus.value(), a, b) };
            return;
        }
        self.modulus.add_assign_slice_scalar(a, b);
    }

    /// `a[i] = a[i] - b[i] mod p`, identical to [`Modulus::sub_assign_slice`] for every input.
    pub fn sub_assign_slice(&self, a: &mut [u64], b: &[u64]) {
        #[cfg(target_arch = "x86_64")]
        if ifma_available() {
            // SAFETY: the CPU supports avx512f and avx512ifma (checked just above).
            unsafe { super::x86_pointwise::sub_assign(self.modulus.value(), a, b) };
            return;
        }
        self.modulus.sub_assign_slice_scalar(a, b);
    }

    /// The kernel parameters.
    #[cfg(target_arch = "x86_64")]
    #[inline]
    fn params(&self) -> super::x86_pointwise::Params {
        super::x86_pointwise::Params {
            modulus: self.modulus,
            bits: self.bits,
            barrett: self.barrett,
        }
    }

    /// Scalar model of the vector Barrett product `a * b + acc mod p` (inputs `< p`), used to
    /// test the constants on every architecture.
    #[cfg(test)]
    pub(crate) fn barrett_model(&self, a: u64, b: u64, acc: u64) -> u64 {
        let p = self.modulus.value();
        let x = a as u128 * b as u128 + acc as u128;
        let x1 = (x >> (self.bits - 1)) as u64;
        let q = ((x1 as u128 * self.barrett as u128) >> 52) as u64;
        let mut r = (x - q as u128 * p as u128) as u64;
        assert!(r < 3 * p, "Barrett remainder out of range");
        if r >= 2 * p {
            r -= 2 * p;
        }
        if r >= p {
            r -= p;
        }
        r
    }
}
