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
    /// `4p` in every lane.
    pub(super) four_p: __m512i,
    /// `2^52 - p`: adding `lo52(q * (2^52 - p))` subtracts `q * p` modulo `2^52`.
    pub(super) neg_p: __m512i,
    /// `2^52 - 1`.
    pub(super) mask52: __m512i,
    /// All zero.
    pub(super) zero: __m512i,
    /// `floor(2^52 / p)`, for [`reduce52`].
    pub(super) mu52: __m512i,
}

impl Consts {
    /// The constants of `p` (`p < 2^50`).
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) fn new(p: u64) -> Consts {
        Consts {
            p: splat(p),
            two_p: splat(p.wrapping_mul(2)),
            four_p: splat(p.wrapping_mul(4)),
            neg_p: splat((1u64 << 52).wrapping_sub(p)),
            mask52: splat(MASK52),
            zero: _mm512_setzero_si512(),
            mu52: splat((1u64 << 52) / p.max(1)),
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

/// `y * w mod p` lazily, like [`mul_shoup_lazy`] but without the final mask: the result is
/// congruent modulo `2^52` to the value in `[0, 2p)` and below `2^53`. The multiplier only reads
/// the low 52 bits of its factors, so such a value (and sums and differences of such values,
/// wrapping modulo `2^64`) may feed a later product or [`reduce52`] directly, as long as the
/// true value stays below `2^52`; only comparisons need the masked value.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn mul_shoup_raw(c: &Consts, y: __m512i, w: __m512i, w_shoup: __m512i) -> __m512i {
    let q = _mm512_madd52hi_epu64(c.zero, y, w_shoup);
    let yw = _mm512_madd52lo_epu64(c.zero, y, w);
    _mm512_madd52lo_epu64(yw, q, c.neg_p)
}

/// Canonical `x mod p` for any `x < 2^52`: the quotient estimate `floor(x mu52 / 2^52)` is
/// `floor(x / p)` or one less, so one conditional subtraction finishes. Bits 52..64 of `x` are
/// ignored (see [`mul_shoup_raw`]).
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn reduce52(c: &Consts, x: __m512i) -> __m512i {
    let q = _mm512_madd52hi_epu64(c.zero, x, c.mu52);
    let r = _mm512_and_si512(_mm512_madd52lo_epu64(x, q, c.neg_p), c.mask52);
    csub(r, c.p)
}

/// Forward scheme: Harvey's, every stage reduces `x` below `2p`, values stay below `4p`.
pub(super) const HARVEY: u8 = 0;
/// Forward scheme for `8p <= 2^52`: the stages of even index `>= 2` reduce `x` below `4p`, the
/// others do not reduce (inputs below `4p`: below `6p` after stage 0, `8p` after stage 1),
/// values stay below `8p`.
pub(super) const ALTERNATE: u8 = 1;
/// Forward scheme for `(4 + 2 log2 N) p <= 2^52`: no stage reduces, values stay below that bound.
pub(super) const LAZY: u8 = 2;

/// The reduction of the `x` inputs of a stage in `scheme` (`odd`: the stage index, counted from
/// 0, is odd; `first`: it is stage 0): 0 none, 1 below `2p`, 2 below `4p`.
#[inline(always)]
pub(super) const fn reduction(scheme: u8, odd: bool, first: bool) -> u8 {
    match scheme {
        HARVEY => 1,
        ALTERNATE if !odd && !first => 2,
        _ => 0,
    }
}

/// Forward (Cooley-Tukey) butterfly `(u + v, u + 2p - v)` with `v = y w mod p` lazily (`< 2p`)
/// and `u` the input `x` reduced as `red` says (see [`reduction`]): each output bound is the
/// bound of `u` plus `2p`. The true value of `y` must be below `2^52`.
///
/// Only Harvey's scheme (`red == 1`, every stage) works on exact words. The other schemes keep
/// values correct modulo `2^52` only (see [`mul_shoup_raw`]), which saves the mask of every
/// product: the reduction below `4p` masks `x` before comparing, and the final [`reduce52`]
/// ignores the high bits.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn fwd_butterfly(
    c: &Consts,
    red: u8,
    x: __m512i,
    y: __m512i,
    w: __m512i,
    w_shoup: __m512i,
) -> (__m512i, __m512i) {
    let (u, v) = match red {
        0 => (x, mul_shoup_raw(c, y, w, w_shoup)),
        1 => (csub(x, c.two_p), mul_shoup_lazy(c, y, w, w_shoup)),
        _ => (
            csub(_mm512_and_si512(x, c.mask52), c.four_p),
            mul_shoup_raw(c, y, w, w_shoup),
        ),
    };
    let x2 = _mm512_add_epi64(u, v);
    let y2 = _mm512_sub_epi64(_mm512_add_epi64(u, c.two_p), v);
    (x2, y2)
}

/// Gentleman-Sande inverse butterfly on values below `k` (a multiple of `p`, `2k <= 2^52`):
/// `(x + y, (x + k - y) w)`, the second output lazily below `2p`. With `skip` the first output
/// is left below `2k`, otherwise it is reduced below `k`.
///
/// The inputs and outputs are only correct modulo `2^52` (see [`mul_shoup_raw`]; true values
/// below the bounds above): the product is not masked, the sum is masked before the
/// comparison of the reduction. The last inverse stage masks its products before its final
/// comparison.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn inv_butterfly(
    c: &Consts,
    skip: bool,
    k: __m512i,
    x: __m512i,
    y: __m512i,
    w: __m512i,
    w_shoup: __m512i,
) -> (__m512i, __m512i) {
    let s = _mm512_add_epi64(x, y);
    let x2 = if skip {
        s
    } else {
        csub(_mm512_and_si512(s, c.mask52), k)
    };
    let d = _mm512_sub_epi64(_mm512_add_epi64(x, k), y);
    let y2 = mul_shoup_raw(c, d, w, w_shoup);
    (x2, y2)
}
