//! The stages with butterfly stride `t <= 8` of the IFMA NTT, fused per 16-word chunk.
//!
//! A chunk is loaded once as two vectors `(X, Y)` and rearranged between layouts in which lanes
//! `X[j]`, `Y[j]` hold the two elements of one butterfly; the stage `t = 8` pairs the two
//! natural halves directly. Elements are named `0..16` within the chunk; the layouts and the
//! block (twiddle) index of each lane are:
//!
//! | layout | `X` | `Y` | block of `X[j]` |
//! |---|---|---|---|
//! | `t = 4` forward | `0 1 2 3 8 9 10 11` | `4 5 6 7 12 13 14 15` | `0 0 0 0 1 1 1 1` |
//! | `t = 4` inverse | `0 1 8 9 2 3 10 11` | `4 5 12 13 6 7 14 15` | `0 0 1 1 0 0 1 1` |
//! | `t = 2` | `0 1 8 9 4 5 12 13` | `2 3 10 11 6 7 14 15` | `0 0 2 2 1 1 3 3` |
//! | `t = 1` | `0 2 8 10 4 6 12 14` | `1 3 9 11 5 7 13 15` | `0 1 4 5 2 3 6 7` |
//!
//! Forward: natural to `t = 4` by 256-bit halves, to `t = 2` by 128-bit lane selection
//! (`vshufi64x2`), to `t = 1` by in-lane unpacking, back to natural by `vpermt2q`. Inverse:
//! natural to `t = 1` by `vpermt2q`, to `t = 2` by unpacking (an involution here), to the
//! inverse `t = 4` layout by halves, back to natural by lane selection.

use std::arch::x86_64::*;

use super::ntt::Twiddles;
use super::x86_arith::{
    csub, fwd_butterfly, inv_butterfly, load, reduce52, reduction, splat, store, Consts, HARVEY,
};
use super::x86_passes::level_bounds;

/// Natural order of a chunk (`X` = elements 0..8, `Y` = 8..16).
const NAT: [usize; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
/// The `t = 1` layout (`X` then `Y`).
const L1: [usize; 16] = [0, 2, 8, 10, 4, 6, 12, 14, 1, 3, 9, 11, 5, 7, 13, 15];

/// The `vpermt2q` indices producing half `half` (0: `X`, 1: `Y`) of layout `dst` from the
/// registers `(X, Y)` of layout `src` (index `s` selects lane `s` of the 16-lane pair).
const fn transition(src: &[usize; 16], dst: &[usize; 16], half: usize) -> [i64; 8] {
    let mut out = [0i64; 8];
    let mut d = 0;
    while d < 8 {
        let e = dst[8 * half + d];
        let mut s = 0;
        while s < 16 {
            if src[s] == e {
                out[d] = s as i64;
            }
            s += 1;
        }
        d += 1;
    }
    out
}

/// The `vpermt2q` index pairs from the natural to the `t = 1` layout (evaluated at compile time).
const NAT_TO_L1: [[i64; 8]; 2] = [transition(&NAT, &L1, 0), transition(&NAT, &L1, 1)];
/// The `vpermt2q` index pairs from the `t = 1` layout back to the natural one.
const L1_TO_NAT: [[i64; 8]; 2] = [transition(&L1, &NAT, 0), transition(&L1, &NAT, 1)];

/// `vpermilpd` selectors giving the twiddle spreads of the module table from a broadcast:
/// blocks `0 0 0 0 1 1 1 1` from `w0 w1` repeated (forward `t = 4`).
const SPREAD4_FWD: i32 = 0xF0;
/// Blocks `0 0 1 1 0 0 1 1` from `w0 w1` repeated (inverse `t = 4`).
const SPREAD4_INV: i32 = 0xCC;
/// Blocks `0 0 2 2 1 1 3 3` from `w0 w1 w2 w3` repeated (`t = 2`).
const SPREAD2: i32 = 0xF0;

/// The vector with lanes `v[0], .., v[7]` (lane 0 first).
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn vector(v: [i64; 8]) -> __m512i {
    _mm512_set_epi64(v[7], v[6], v[5], v[4], v[3], v[2], v[1], v[0])
}

/// `([a.l0, a.l1, b.l0, b.l1], [a.l2, a.l3, b.l2, b.l3])` in 128-bit lanes (the 256-bit
/// halves).
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn halves(a: __m512i, b: __m512i) -> (__m512i, __m512i) {
    (
        _mm512_shuffle_i64x2::<0x44>(a, b),
        _mm512_shuffle_i64x2::<0xEE>(a, b),
    )
}

/// `([a.l0, a.l2, b.l0, b.l2], [a.l1, a.l3, b.l1, b.l3])` in 128-bit lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn even_odd_lanes(a: __m512i, b: __m512i) -> (__m512i, __m512i) {
    (
        _mm512_shuffle_i64x2::<0x88>(a, b),
        _mm512_shuffle_i64x2::<0xDD>(a, b),
    )
}

/// `([a0, b0, a2, b2, ..], [a1, b1, a3, b3, ..])`.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn unpack(a: __m512i, b: __m512i) -> (__m512i, __m512i) {
    (_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b))
}

/// Constant index vectors: the `vpermt2q` between the natural and `t = 1` layouts and the
/// `t = 1` twiddle spread (block index of each lane, see the module table); the `t = 4` and
/// `t = 2` spreads are immediates ([`SPREAD4_FWD`], [`SPREAD4_INV`], [`SPREAD2`]).
#[derive(Clone, Copy)]
struct Perms {
    nat_to_l1: (__m512i, __m512i),
    l1_to_nat: (__m512i, __m512i),
    spread1: __m512i,
}

impl Perms {
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn new() -> Perms {
        Perms {
            nat_to_l1: (vector(NAT_TO_L1[0]), vector(NAT_TO_L1[1])),
            l1_to_nat: (vector(L1_TO_NAT[0]), vector(L1_TO_NAT[1])),
            spread1: vector([0, 1, 4, 5, 2, 3, 6, 7]),
        }
    }

    /// Applies the `vpermt2q` pair `idx` to `(x, y)`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn apply(idx: (__m512i, __m512i), x: __m512i, y: __m512i) -> (__m512i, __m512i) {
        (
            _mm512_permutex2var_epi64(x, idx.0, y),
            _mm512_permutex2var_epi64(x, idx.1, y),
        )
    }

    /// Lanes `w[sel(j)]` from the two words at `ptr`, where `sel(j)` is bit `j` of `IMM`: a
    /// broadcast load and an in-lane `vpermilpd`, which leaves the shuffle port to the
    /// cross-lane permutes and the multiplier.
    ///
    /// # Safety
    /// `ptr .. ptr + 2` must be readable.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn two<const IMM: i32>(ptr: *const u64) -> __m512i {
        // SAFETY: two readable words at `ptr` (caller).
        let v = _mm512_broadcast_i32x4(unsafe { _mm_loadu_si128(ptr.cast()) });
        _mm512_castpd_si512(_mm512_permute_pd::<IMM>(_mm512_castsi512_pd(v)))
    }

    /// Lanes `w[(j / 2) % 2 * 2 + sel(j)]` from the four words at `ptr`, `sel(j)` bit `j` of
    /// `IMM` (a broadcast load and an in-lane `vpermilpd`).
    ///
    /// # Safety
    /// `ptr .. ptr + 4` must be readable.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn four<const IMM: i32>(ptr: *const u64) -> __m512i {
        // SAFETY: four readable words at `ptr` (caller).
        let v = _mm512_broadcast_i64x4(unsafe { _mm256_loadu_si256(ptr.cast()) });
        _mm512_castpd_si512(_mm512_permute_pd::<IMM>(_mm512_castsi512_pd(v)))
    }

    /// Lanes `w[spread[j]]` from the eight words at `ptr`.
    ///
    /// # Safety
    /// `ptr .. ptr + 8` must be readable.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn eight(spread: __m512i, ptr: *const u64) -> __m512i {
        // SAFETY: eight readable words at `ptr` (caller).
        _mm512_permutexvar_epi64(spread, unsafe { load(ptr) })
    }
}

/// The fused forward stages `t = 8, 4, 2, 1` with the final reduction to `[0, p)`.
#[derive(Clone, Copy)]
pub(super) struct FwdTail {
    perms: Perms,
}

impl FwdTail {
    /// The constants.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) fn new() -> FwdTail {
        FwdTail {
            perms: Perms::new(),
        }
    }

    /// The four stages on the `K` chunks of 16 words starting at chunk `ci0` (in the stage
    /// `t = 8` chunk `ci` is one block, twiddle `w[n/16 + ci]`), step by step across the chunks
    /// so that their independent dependency chains interleave; `S` is the forward scheme,
    /// `ODD` the parity of the index of the stage `t = 8` (`log2(n) - 4`) and `FIRST` whether
    /// that stage is stage 0 (`n = 16`).
    ///
    /// # Safety
    /// With `n` the twiddle table length (a power of two `>= 16`), `ap` must be valid for reads
    /// and writes of `n` words and `16 (ci0 + K) <= n`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) unsafe fn chunks<const S: u8, const ODD: bool, const FIRST: bool, const K: usize>(
        &self,
        c: &Consts,
        ap: *mut u64,
        tw: &Twiddles,
        ci0: usize,
    ) {
        let n = tw.w.len();
        let (m8, m4, m2, m1) = (n / 16, n / 8, n / 4, n / 2);
        let (wp, wsp) = (tw.w.as_ptr(), tw.w_shoup.as_ptr());
        let pm = &self.perms;
        // Reductions of the stages t = 8 and t = 2 (r0), t = 4 and t = 1 (r1).
        let (rf, r0, r1) = (
            reduction(S, ODD, FIRST),
            reduction(S, ODD, false),
            reduction(S, !ODD, false),
        );
        let (mut x, mut y) = ([c.zero; K], [c.zero; K]);
        // SAFETY: chunk ci = ci0 + k < n / 16 lies in `a`; the twiddle reads end at
        // m8 + ci + 1 <= n/8, m4 + 2ci + 2 <= n/4, m2 + 4ci + 4 <= n/2 and m1 + 8ci + 8 <= n
        // (caller).
        unsafe {
            for k in 0..K {
                let pa = ap.add(16 * (ci0 + k));
                let i = m8 + ci0 + k;
                let (w, ws) = (splat(*wp.add(i)), splat(*wsp.add(i)));
                (x[k], y[k]) = fwd_butterfly(c, rf, load(pa), load(pa.add(8)), w, ws);
            }
            for k in 0..K {
                (x[k], y[k]) = halves(x[k], y[k]);
                let i = m4 + 2 * (ci0 + k);
                let w = Perms::two::<SPREAD4_FWD>(wp.add(i));
                let ws = Perms::two::<SPREAD4_FWD>(wsp.add(i));
                (x[k], y[k]) = fwd_butterfly(c, r1, x[k], y[k], w, ws);
            }
            for k in 0..K {
                (x[k], y[k]) = even_odd_lanes(x[k], y[k]);
                let i = m2 + 4 * (ci0 + k);
                let w = Perms::four::<SPREAD2>(wp.add(i));
                let ws = Perms::four::<SPREAD2>(wsp.add(i));
                (x[k], y[k]) = fwd_butterfly(c, r0, x[k], y[k], w, ws);
            }
            for k in 0..K {
                (x[k], y[k]) = unpack(x[k], y[k]);
                let i = m1 + 8 * (ci0 + k);
                let w = Perms::eight(pm.spread1, wp.add(i));
                let ws = Perms::eight(pm.spread1, wsp.add(i));
                (x[k], y[k]) = fwd_butterfly(c, r1, x[k], y[k], w, ws);
            }
            for k in 0..K {
                let (u, v) = if S == HARVEY {
                    (
                        csub(csub(x[k], c.two_p), c.p),
                        csub(csub(y[k], c.two_p), c.p),
                    )
                } else {
                    (reduce52(c, x[k]), reduce52(c, y[k]))
                };
                let (u, v) = Perms::apply(pm.l1_to_nat, u, v);
                let pa = ap.add(16 * (ci0 + k));
                store(pa, u);
                store(pa.add(8), v);
            }
        }
    }
}

/// The fused inverse stages `t = 1, 2, 4` (and 8).
#[derive(Clone, Copy)]
pub(super) struct InvHead {
    perms: Perms,
}

impl InvHead {
    /// The constants.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) fn new() -> InvHead {
        InvHead {
            perms: Perms::new(),
        }
    }

    /// The stages `t = 1, 2, 4` (and `t = 8` with `T8`, where chunk `ci` is one block, twiddle
    /// `w[n/16 + ci]`) on the `K` chunks of 16 words starting at chunk `ci0`, step by step
    /// across the chunks; values below `b`, reductions skipped with `SKIP` (see
    /// [`level_bounds`]). With `TRACK` (`b = 2p`, `8p <= 2^52`, `SKIP` false) only the first
    /// stage skips its reduction and the outputs are below `4p`.
    ///
    /// # Safety
    /// As for [`FwdTail::chunks`].
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) unsafe fn chunks<
        const K: usize,
        const T8: bool,
        const SKIP: bool,
        const TRACK: bool,
    >(
        &self,
        c: &Consts,
        ap: *mut u64,
        tw: &Twiddles,
        ci0: usize,
        b: u64,
    ) {
        let n = tw.w.len();
        let (h1, h2, h4, h8) = (n / 2, n / 4, n / 8, n / 16);
        // With TRACK (inputs below 2p = b, 8p <= 2^52): the stage t = 1 skips its reduction
        // (values below 4p after it), the others reduce below 4p.
        let [k0, k1, k2, k3] = if TRACK {
            [c.two_p, c.four_p, c.four_p, c.four_p]
        } else {
            level_bounds::<SKIP>(b)
        };
        let s0 = SKIP || TRACK;
        let (wp, wsp) = (tw.w.as_ptr(), tw.w_shoup.as_ptr());
        let pm = &self.perms;
        let (mut x, mut y) = ([c.zero; K], [c.zero; K]);
        // SAFETY: chunk ci = ci0 + k < n / 16 lies in `a`; the twiddle reads end at
        // h1 + 8ci + 8 <= n, h2 + 4ci + 4 <= n/2, h4 + 2ci + 2 <= n/4 and h8 + ci + 1 <= n/8
        // (caller).
        unsafe {
            for k in 0..K {
                let pa = ap.add(16 * (ci0 + k));
                (x[k], y[k]) = Perms::apply(pm.nat_to_l1, load(pa), load(pa.add(8)));
                let i = h1 + 8 * (ci0 + k);
                let w = Perms::eight(pm.spread1, wp.add(i));
                let ws = Perms::eight(pm.spread1, wsp.add(i));
                (x[k], y[k]) = inv_butterfly(c, s0, k0, x[k], y[k], w, ws);
            }
            for k in 0..K {
                (x[k], y[k]) = unpack(x[k], y[k]);
                let i = h2 + 4 * (ci0 + k);
                let w = Perms::four::<SPREAD2>(wp.add(i));
                let ws = Perms::four::<SPREAD2>(wsp.add(i));
                (x[k], y[k]) = inv_butterfly(c, SKIP, k1, x[k], y[k], w, ws);
            }
            for k in 0..K {
                (x[k], y[k]) = halves(x[k], y[k]);
                let i = h4 + 2 * (ci0 + k);
                let w = Perms::two::<SPREAD4_INV>(wp.add(i));
                let ws = Perms::two::<SPREAD4_INV>(wsp.add(i));
                (x[k], y[k]) = inv_butterfly(c, SKIP, k2, x[k], y[k], w, ws);
            }
            for k in 0..K {
                let (mut u, mut v) = even_odd_lanes(x[k], y[k]);
                if T8 {
                    let i = h8 + ci0 + k;
                    let (w, ws) = (splat(*wp.add(i)), splat(*wsp.add(i)));
                    (u, v) = inv_butterfly(c, SKIP, k3, u, v, w, ws);
                }
                let pa = ap.add(16 * (ci0 + k));
                store(pa, u);
                store(pa.add(8), v);
            }
        }
    }
}
