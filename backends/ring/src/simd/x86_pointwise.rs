//! AVX-512 IFMA pointwise kernels: Barrett products and 52-bit Shoup scalar products.
//!
//! Barrett for `x = a * b + acc < p^2 < 2^(2b)` (`b` the bit size of `p < 2^50`): with
//! `x1 = floor(x / 2^(b-1)) < 2^(b+1)` and `mu = floor(2^(b+51) / p)`, the quotient estimate
//! `q = floor(x1 * mu / 2^52)` satisfies `x/p - 2.5 < q <= x/p`, so `r = x - q p` lies in
//! `[0, 2.5p)`, below `2^52`, and is known from its value modulo `2^52`; two conditional
//! subtractions (`2p`, then `p`) make it canonical.

use std::arch::x86_64::*;

use crate::modular::Modulus;

use super::ntt::shoup52;
use super::x86_arith::{csub, load, mul_shoup_lazy, splat, store, Consts, MASK52};

/// Constants of one [`super::IfmaModulus`].
#[derive(Clone, Copy)]
pub(super) struct Params {
    /// The scalar modulus (for groups outside the vector domain and the tails).
    pub(super) modulus: Modulus,
    /// Bit size `b` of `p` (`2 <= b <= 50`).
    pub(super) bits: u32,
    /// `floor(2^(b + 51) / p)`.
    pub(super) barrett: u64,
}

/// Broadcast Barrett constants.
#[derive(Clone, Copy)]
struct Barrett {
    c: Consts,
    mu: __m512i,
    /// `53 - b`: shift of the high product word.
    shl: __m512i,
    /// `b - 1`: shift of the low product word.
    shr: __m512i,
}

impl Barrett {
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn new(params: &Params) -> Barrett {
        Barrett {
            c: Consts::new(params.modulus.value()),
            mu: splat(params.barrett),
            shl: splat(u64::from(53u32.saturating_sub(params.bits))),
            shr: splat(u64::from(params.bits.saturating_sub(1))),
        }
    }

    /// Canonical `x mod p` for `x = hi * 2^52 + lo < 2^(2b)` (`lo < 2^54`).
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn reduce(&self, hi: __m512i, lo: __m512i) -> __m512i {
        let c = &self.c;
        let x1 = _mm512_add_epi64(
            _mm512_sllv_epi64(hi, self.shl),
            _mm512_srlv_epi64(lo, self.shr),
        );
        let q = _mm512_madd52hi_epu64(c.zero, x1, self.mu);
        let r = _mm512_and_si512(_mm512_madd52lo_epu64(lo, q, c.neg_p), c.mask52);
        csub(csub(r, c.two_p), c.p)
    }
}

/// `a[i] = a[i] * b[i] mod p` over the common length.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn mul_assign(params: Params, a: &mut [u64], b: &[u64]) {
    let len = a.len().min(b.len());
    let (a, b) = (&mut a[..len], &b[..len]);
    let br = Barrett::new(&params);
    let m = params.modulus;
    let vlen = len - len % 8;
    let (ap, bp) = (a.as_mut_ptr(), b.as_ptr());
    let mut i = 0;
    while i < vlen {
        // SAFETY: i + 8 <= vlen <= len, the length of both slices.
        let (x, y) = unsafe { (load(ap.add(i)), load(bp.add(i))) };
        let out = _mm512_cmpge_epu64_mask(x, br.c.p) | _mm512_cmpge_epu64_mask(y, br.c.p);
        if out == 0 {
            let lo = _mm512_madd52lo_epu64(br.c.zero, x, y);
            let hi = _mm512_madd52hi_epu64(br.c.zero, x, y);
            // SAFETY: as above.
            unsafe { store(ap.add(i), br.reduce(hi, lo)) };
        } else {
            m.mul_assign_slice_scalar(&mut a[i..i + 8], &b[i..i + 8]);
        }
        i += 8;
    }
    m.mul_assign_slice_scalar(&mut a[vlen..], &b[vlen..]);
}

/// `out[i] = a[i] * b[i] mod p` over the common length (out of place: no copy of `a` first).
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn mul_to(params: Params, out: &mut [u64], a: &[u64], b: &[u64]) {
    let len = out.len().min(a.len()).min(b.len());
    let (out, a, b) = (&mut out[..len], &a[..len], &b[..len]);
    let br = Barrett::new(&params);
    let m = params.modulus;
    let vlen = len - len % 8;
    let (op, ap, bp) = (out.as_mut_ptr(), a.as_ptr(), b.as_ptr());
    let mut i = 0;
    while i < vlen {
        // SAFETY: i + 8 <= vlen <= len, the length of all three slices.
        let (x, y) = unsafe { (load(ap.add(i)), load(bp.add(i))) };
        let big = _mm512_cmpge_epu64_mask(x, br.c.p) | _mm512_cmpge_epu64_mask(y, br.c.p);
        if big == 0 {
            let lo = _mm512_madd52lo_epu64(br.c.zero, x, y);
            let hi = _mm512_madd52hi_epu64(br.c.zero, x, y);
            // SAFETY: as above.
            unsafe { store(op.add(i), br.reduce(hi, lo)) };
        } else {
            out[i..i + 8].copy_from_slice(&a[i..i + 8]);
            m.mul_assign_slice_scalar(&mut out[i..i + 8], &b[i..i + 8]);
        }
        i += 8;
    }
    out[vlen..].copy_from_slice(&a[vlen..]);
    m.mul_assign_slice_scalar(&mut out[vlen..], &b[vlen..]);
}

/// The two inner products of key switching: `out0[i] = sum_j d[j][i] * b[j][i] mod p` and
/// `out1[i] = sum_j d[j][i] * a[j][i] mod p` over `terms = min(len(d), len(b), len(a)) >= 1`
/// terms and the common length `len` of the outputs and every term, with the products reduced one
/// at a time exactly as [`mul_to`] followed by [`mul_add_assign`]s (so the same values), but the
/// accumulators kept in registers and each `d[j]` read once for both outputs.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn dot_pair(
    params: Params,
    out0: &mut [u64],
    out1: &mut [u64],
    d: &[&[u64]],
    b: &[&[u64]],
    a: &[&[u64]],
) {
    let terms = d.len().min(b.len()).min(a.len());
    if terms == 0 {
        return;
    }
    let (d, b, a) = (&d[..terms], &b[..terms], &a[..terms]);
    let len = d
        .iter()
        .chain(b)
        .chain(a)
        .map(|x| x.len())
        .fold(out0.len().min(out1.len()), usize::min);
    let br = Barrett::new(&params);
    let m = params.modulus;
    let p = br.c.p;
    // The reference sequence (scalar) on `out[range]`.
    let scalar = |out0: &mut [u64], out1: &mut [u64], start: usize, end: usize| {
        out0[start..end].copy_from_slice(&d[0][start..end]);
        m.mul_assign_slice_scalar(&mut out0[start..end], &b[0][start..end]);
        out1[start..end].copy_from_slice(&d[0][start..end]);
        m.mul_assign_slice_scalar(&mut out1[start..end], &a[0][start..end]);
        for j in 1..terms {
            m.mul_add_assign_slice_scalar(
                &mut out0[start..end],
                &d[j][start..end],
                &b[j][start..end],
            );
            m.mul_add_assign_slice_scalar(
                &mut out1[start..end],
                &d[j][start..end],
                &a[j][start..end],
            );
        }
    };
    let vlen = len - len % 8;
    let (o0, o1) = (out0.as_mut_ptr(), out1.as_mut_ptr());
    let mut i = 0;
    while i < vlen {
        let mut acc0 = br.c.zero;
        let mut acc1 = br.c.zero;
        let mut big = 0u8;
        for j in 0..terms {
            // SAFETY: i + 8 <= vlen <= len, at most the length of every term.
            let (x, y, z) = unsafe {
                (
                    load(d[j].as_ptr().add(i)),
                    load(b[j].as_ptr().add(i)),
                    load(a[j].as_ptr().add(i)),
                )
            };
            big |= _mm512_cmpge_epu64_mask(x, p)
                | _mm512_cmpge_epu64_mask(y, p)
                | _mm512_cmpge_epu64_mask(z, p);
            if big != 0 {
                break;
            }
            // acc + x*y < p + p^2 < 2^(2b), as in `mul_add_assign` (acc = 0 for the first term,
            // as in `mul_to`).
            let lo = _mm512_madd52lo_epu64(acc0, x, y);
            let hi = _mm512_madd52hi_epu64(br.c.zero, x, y);
            acc0 = br.reduce(hi, lo);
            let lo = _mm512_madd52lo_epu64(acc1, x, z);
            let hi = _mm512_madd52hi_epu64(br.c.zero, x, z);
            acc1 = br.reduce(hi, lo);
        }
        if big == 0 {
            // SAFETY: i + 8 <= vlen <= len, at most the length of both outputs.
            unsafe {
                store(o0.add(i), acc0);
                store(o1.add(i), acc1);
            }
        } else {
            scalar(out0, out1, i, i + 8);
        }
        i += 8;
    }
    scalar(out0, out1, vlen, len);
}

/// `acc[i] = acc[i] + a[i] * b[i] mod p` over the common length.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn mul_add_assign(params: Params, acc: &mut [u64], a: &[u64], b: &[u64]) {
    let len = acc.len().min(a.len()).min(b.len());
    let (acc, a, b) = (&mut acc[..len], &a[..len], &b[..len]);
    let br = Barrett::new(&params);
    let m = params.modulus;
    let vlen = len - len % 8;
    let (zp, ap, bp) = (acc.as_mut_ptr(), a.as_ptr(), b.as_ptr());
    let mut i = 0;
    while i < vlen {
        // SAFETY: i + 8 <= vlen <= len, the length of all three slices.
        let (z, x, y) = unsafe { (load(zp.add(i)), load(ap.add(i)), load(bp.add(i))) };
        let p = br.c.p;
        let out = _mm512_cmpge_epu64_mask(z, p)
            | _mm512_cmpge_epu64_mask(x, p)
            | _mm512_cmpge_epu64_mask(y, p);
        if out == 0 {
            // z + x*y < p^2 < 2^(2b); lo = z + (x*y mod 2^52) < 2^53.
            let lo = _mm512_madd52lo_epu64(z, x, y);
            let hi = _mm512_madd52hi_epu64(br.c.zero, x, y);
            // SAFETY: as above.
            unsafe { store(zp.add(i), br.reduce(hi, lo)) };
        } else {
            m.mul_add_assign_slice_scalar(&mut acc[i..i + 8], &a[i..i + 8], &b[i..i + 8]);
        }
        i += 8;
    }
    m.mul_add_assign_slice_scalar(&mut acc[vlen..], &a[vlen..], &b[vlen..]);
}

/// `a[i] = a[i] * c mod p` for `c < p` (callers check it), by 52-bit Shoup products.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn mul_scalar_assign(params: Params, a: &mut [u64], c: u64) {
    let m = params.modulus;
    let p = m.value();
    if c >= p {
        m.mul_scalar_assign_slice_scalar(a, c);
        return;
    }
    let k = Consts::new(p);
    let (w, ws) = (splat(c), splat(shoup52(c, p)));
    let limit = splat(MASK52);
    let len = a.len();
    let vlen = len - len % 8;
    let ap = a.as_mut_ptr();
    let mut i = 0;
    while i < vlen {
        // SAFETY: i + 8 <= vlen <= a.len().
        let x = unsafe { load(ap.add(i)) };
        if _mm512_cmpgt_epu64_mask(x, limit) == 0 {
            let r = csub(mul_shoup_lazy(&k, x, w, ws), k.p);
            // SAFETY: as above.
            unsafe { store(ap.add(i), r) };
        } else {
            m.mul_scalar_assign_slice_scalar(&mut a[i..i + 8], c);
        }
        i += 8;
    }
    m.mul_scalar_assign_slice_scalar(&mut a[vlen..], c);
}

/// `out[i] = sum_k rows[k][i] * w[k] mod p` (canonical) for `w[k] < p` with
/// `ws[k] = shoup52(w[k], p)`, over the common length of `out` and the rows. Each term is a lazy
/// 52-bit Shoup product in `[0, 2p)` and the running sum is kept below `2p`. Blocks of 64
/// coefficients keep eight accumulators in registers while the rows stream past (each row read
/// in 512-byte runs); eight-lane groups holding a row value `>= 2^52` are computed exactly in
/// 128-bit scalar arithmetic instead.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn dot_scalar(params: Params, out: &mut [u64], rows: &[&[u64]], w: &[u64], ws: &[u64]) {
    const LANES: usize = 8;
    const GROUPS: usize = 8;
    let m = params.modulus;
    let len = rows.iter().fold(out.len(), |l, r| l.min(r.len()));
    let k = Consts::new(m.value());
    let limit = splat(MASK52);
    let terms: Vec<(&[u64], u64, u64)> = rows
        .iter()
        .zip(w.iter().zip(ws))
        .map(|(r, (&a, &b))| (*r, a, b))
        .collect();
    let scalar = |out: &mut [u64], start: usize, end: usize| {
        for (c, o) in out.iter_mut().enumerate().take(end).skip(start) {
            let acc = terms
                .iter()
                .fold(0u128, |acc, &(r, wk, _)| acc + r[c] as u128 * wk as u128);
            *o = m.reduce_u128(acc);
        }
    };
    let op = out.as_mut_ptr();
    let block = LANES * GROUPS;
    let blocked = len - len % block;
    let mut i = 0;
    while i < blocked {
        let mut acc = [k.zero; GROUPS];
        let mut bad = 0u8;
        for &(r, wk, wsk) in &terms {
            let (wv, wsv) = (splat(wk), splat(wsk));
            let base = r.as_ptr();
            for (g, a) in acc.iter_mut().enumerate() {
                // SAFETY: i + block <= blocked <= len <= r.len().
                let x = unsafe { load(base.add(i + g * LANES)) };
                bad |= _mm512_cmpgt_epu64_mask(x, limit);
                *a = csub(
                    _mm512_add_epi64(*a, mul_shoup_lazy(&k, x, wv, wsv)),
                    k.two_p,
                );
            }
        }
        if bad == 0 {
            for (g, a) in acc.iter().enumerate() {
                // SAFETY: i + block <= blocked <= len <= out.len().
                unsafe { store(op.add(i + g * LANES), csub(*a, k.p)) };
            }
        } else {
            scalar(out, i, i + block);
        }
        i += block;
    }
    let vlen = len - len % LANES;
    while i < vlen {
        let mut acc = k.zero;
        let mut bad = 0u8;
        for &(r, wk, wsk) in &terms {
            // SAFETY: i + 8 <= vlen <= len <= r.len().
            let x = unsafe { load(r.as_ptr().add(i)) };
            bad |= _mm512_cmpgt_epu64_mask(x, limit);
            acc = csub(
                _mm512_add_epi64(acc, mul_shoup_lazy(&k, x, splat(wk), splat(wsk))),
                k.two_p,
            );
        }
        if bad == 0 {
            // SAFETY: i + 8 <= vlen <= len <= out.len().
            unsafe { store(op.add(i), csub(acc, k.p)) };
        } else {
            scalar(out, i, i + LANES);
        }
        i += LANES;
    }
    scalar(out, vlen, len);
}

/// Four linear combinations of the same rows: `out[j][i] = sum_k rows[k][i] * w[j][k] mod p`
/// (canonical) for `w[j][k] < p` with `ws[j][k] = shoup52(w[j][k], p)`, over the common length
/// of the outputs and the rows (every `w[j]` at least as long as `rows`). Each row block is
/// loaded once for the four outputs (sixteen accumulators in registers), which quarters the
/// memory traffic of four [`dot_scalar`] calls; results are identical to them.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn dot_scalar4(
    params: Params,
    out: [&mut [u64]; 4],
    rows: &[&[u64]],
    w: [&[u64]; 4],
    ws: [&[u64]; 4],
) {
    const LANES: usize = 8;
    const GROUPS: usize = 4;
    let m = params.modulus;
    let count = w.iter().chain(&ws).fold(rows.len(), |c, v| c.min(v.len()));
    let rows = &rows[..count];
    let len = rows
        .iter()
        .map(|r| r.len())
        .chain(out.iter().map(|o| o.len()))
        .min()
        .unwrap_or(0);
    let k = Consts::new(m.value());
    let limit = splat(MASK52);
    let block = LANES * GROUPS;
    let blocked = len - len % block;
    let ptrs: [*mut u64; 4] = [0, 1, 2, 3].map(|j| out[j].as_ptr().cast_mut());
    let mut i = 0;
    while i < blocked {
        let mut acc = [[k.zero; GROUPS]; 4];
        let mut bad = 0u8;
        for (t, r) in rows.iter().enumerate() {
            let base = r.as_ptr();
            // SAFETY: i + block <= blocked <= len <= r.len().
            let x: [__m512i; GROUPS] =
                std::array::from_fn(|g| unsafe { load(base.add(i + g * LANES)) });
            for v in &x {
                bad |= _mm512_cmpgt_epu64_mask(*v, limit);
            }
            for (j, aj) in acc.iter_mut().enumerate() {
                let (wv, wsv) = (splat(w[j][t]), splat(ws[j][t]));
                for (a, v) in aj.iter_mut().zip(&x) {
                    *a = csub(
                        _mm512_add_epi64(*a, mul_shoup_lazy(&k, *v, wv, wsv)),
                        k.two_p,
                    );
                }
            }
        }
        if bad == 0 {
            for (j, aj) in acc.iter().enumerate() {
                for (g, a) in aj.iter().enumerate() {
                    // SAFETY: i + block <= blocked <= len <= out[j].len(); the outputs are
                    // distinct slices (four `&mut`).
                    unsafe { store(ptrs[j].add(i + g * LANES), csub(*a, k.p)) };
                }
            }
        } else {
            for j in 0..4 {
                for c in i..i + block {
                    let acc = rows
                        .iter()
                        .zip(w[j])
                        .fold(0u128, |acc, (r, &wk)| acc + r[c] as u128 * wk as u128);
                    // SAFETY: c < blocked <= out[j].len().
                    unsafe { *ptrs[j].add(c) = m.reduce_u128(acc) };
                }
            }
        }
        i += block;
    }
    if blocked < len {
        let tails: Vec<&[u64]> = rows.iter().map(|r| &r[blocked..len]).collect();
        for (j, o) in out.into_iter().enumerate() {
            dot_scalar(params, &mut o[blocked..len], &tails, w[j], ws[j]);
        }
    }
}

/// `a[i] = min(s, s - p)` with `s = a[i] + b[i]` (wrapping): [`Modulus::add`] on eight lanes,
/// over the common length.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn add_assign(p: u64, a: &mut [u64], b: &[u64]) {
    let len = a.len().min(b.len());
    let pv = splat(p);
    let vlen = len - len % 8;
    let (ap, bp) = (a.as_mut_ptr(), b.as_ptr());
    let mut i = 0;
    while i < vlen {
        // SAFETY: i + 8 <= vlen <= len, the length of both slices.
        unsafe {
            let s = _mm512_add_epi64(load(ap.add(i)), load(bp.add(i)));
            store(ap.add(i), _mm512_min_epu64(s, _mm512_sub_epi64(s, pv)));
        }
        i += 8;
    }
    for (x, &y) in a[vlen..len].iter_mut().zip(&b[vlen..len]) {
        let s = x.wrapping_add(y);
        *x = s.min(s.wrapping_sub(p));
    }
}

/// `a[i] = min(d, d + p)` with `d = a[i] - b[i]` (wrapping): [`Modulus::sub`] on eight lanes,
/// over the common length.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn sub_assign(p: u64, a: &mut [u64], b: &[u64]) {
    let len = a.len().min(b.len());
    let pv = splat(p);
    let vlen = len - len % 8;
    let (ap, bp) = (a.as_mut_ptr(), b.as_ptr());
    let mut i = 0;
    while i < vlen {
        // SAFETY: i + 8 <= vlen <= len, the length of both slices.
        unsafe {
            let d = _mm512_sub_epi64(load(ap.add(i)), load(bp.add(i)));
            store(ap.add(i), _mm512_min_epu64(d, _mm512_add_epi64(d, pv)));
        }
        i += 8;
    }
    for (x, &y) in a[vlen..len].iter_mut().zip(&b[vlen..len]) {
        let d = x.wrapping_sub(y);
        *x = d.min(d.wrapping_add(p));
    }
}
