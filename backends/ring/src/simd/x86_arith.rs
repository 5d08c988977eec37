//! AVX-512 IFMA building blocks shared by the NTT and pointwise kernels (eight `u64` lanes).
//!
//! Every function here carries `#[target_feature(enable = "avx512f,avx512ifma")]`; they are only
//! called from kernels with the same features, which are themselves only called after
//! [`super::ifma_available`] returned `true`.

use std::arch::x86_64::*;

/// `2^52 - 1`.
pub(super) const MASK52: u64 = (1u64 << 52) - 1;

/// Broadcast constants of one prime `p < 2^50`.
#[derive(Clone, Copy)]
pub(super) struct Consts {
    /// `p` in every lane.
    pub(super) p: __m512i,
    /// `2p` in every lane.
    pub(super) two_p: __m512i,
    /// `2^52 - p`: adding `lo52(q * (2^52 - p))` subtracts `q * p` modulo `2^52`.
    pub(super) neg_p: __m512i,
    /// `2^52 - 1`.
    pub(super) mask52: __m512i,
    /// All zero.
    pub(super) zero: __m512i,
}

impl Consts {
    /// The constants of `p` (`p < 2^50`).
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) fn new(p: u64) -> Consts {
        Consts {
            p: splat(p),
            two_p: splat(2 * p),
            neg_p: splat((1u64 << 52) - p),
            mask52: splat(MASK52),
            zero: _mm512_setzero_si512(),
        }
    }
}

/// `x` in every lane.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn splat(x: u64) -> __m512i {
    _mm512_set1_epi64(x as i64)
}

/// Loads eight words from `ptr` (no alignment requirement).
///
/// # Safety
/// `ptr .. ptr + 8` must be valid for reads.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) unsafe fn load(ptr: *const u64) -> __m512i {
    // SAFETY: the caller guarantees eight readable words at `ptr`; loadu has no alignment need.
    unsafe { _mm512_loadu_si512(ptr.cast()) }
}

/// Stores eight words to `ptr` (no alignment requirement).
///
/// # Safety
/// `ptr .. ptr + 8` must be valid for writes.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) unsafe fn store(ptr: *mut u64, v: __m512i) {
    // SAFETY: the caller guarantees eight writable words at `ptr`; storeu has no alignment need.
    unsafe { _mm512_storeu_si512(ptr.cast(), v) }
}

/// `x - m` in lanes where `x >= m`, `x` elsewhere (unsigned).
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn csub(x: __m512i, m: __m512i) -> __m512i {
    // When x < m the difference wraps above x, so the unsigned minimum selects x.
    _mm512_min_epu64(x, _mm512_sub_epi64(x, m))
}

/// `y * w mod p` in `[0, 2p)` for `y < 2^52`, `w < p < 2^50`, `w_shoup = floor(w 2^52 / p)`.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn mul_shoup_lazy(c: &Consts, y: __m512i, w: __m512i, w_shoup: __m512i) -> __m512i {
    // q = floor(y * w_shoup / 2^52) is floor(y w / p) or one less, so r = y w - q p < 2p < 2^52
    // and r is determined by its value modulo 2^52.
    let q = _mm512_madd52hi_epu64(c.zero, y, w_shoup);
    let yw = _mm512_madd52lo_epu64(c.zero, y, w);
    let r = _mm512_madd52lo_epu64(yw, q, c.neg_p);
    _mm512_and_si512(r, c.mask52)
}

/// Harvey forward (Cooley-Tukey) butterfly on lazy values: `x, y < 4p` to
/// `(u + v, u + 2p - v)` with `u = x mod 2p` and `v = y w mod p` lazily, both `< 4p`.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn fwd_butterfly(
    c: &Consts,
    x: __m512i,
    y: __m512i,
    w: __m512i,
    w_shoup: __m512i,
) -> (__m512i, __m512i) {
    let u = csub(x, c.two_p);
    let v = mul_shoup_lazy(c, y, w, w_shoup);
    let x2 = _mm512_add_epi64(u, v);
    let y2 = _mm512_sub_epi64(_mm512_add_epi64(u, c.two_p), v);
    (x2, y2)
}

/// Gentleman-Sande inverse butterfly on values `< 2p`: `((x + y) mod 2p, (x - y) w)` lazily,
/// both outputs `< 2p`.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn inv_butterfly(
    c: &Consts,
    x: __m512i,
    y: __m512i,
    w: __m512i,
    w_shoup: __m512i,
) -> (__m512i, __m512i) {
    let x2 = csub(_mm512_add_epi64(x, y), c.two_p);
    let d = _mm512_sub_epi64(_mm512_add_epi64(x, c.two_p), y);
    let y2 = mul_shoup_lazy(c, d, w, w_shoup);
    (x2, y2)
}
