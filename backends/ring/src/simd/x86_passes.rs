//! Radix-2, radix-4 and radix-8 passes of the IFMA NTT over the stages with stride `t >= 8`
//! (whole vectors, one broadcast twiddle per block). Grouping two or three stages per pass
//! keeps eight values in registers between stages and cuts the loads and stores. The forward
//! passes take the forward scheme `S` (see [`super::x86_arith::HARVEY`]), `ODD`, the parity
//! of the index of their first stage, and `FIRST`, whether that stage is stage 0 (see
//! [`reduction`]).

use super::ntt::Twiddles;
use std::arch::x86_64::__m512i;
use std::ops::Range;

use super::x86_arith::{fwd_butterfly, inv_butterfly, load, reduction, splat, store, Consts};

/// Number of stages of the next pass when `left >= 1` stages remain: three when possible, two
/// when three would leave a single stage, one only for a lone stage.
pub(super) fn pass_len(left: u32) -> u32 {
    match left {
        1 => 1,
        2 | 4 => 2,
        _ => 3,
    }
}

/// The bounds `k` of the successive stages of an inverse pass whose inputs are below `b`:
/// `b, 2b, 4b, 8b` when the pass skips the reductions (`SKIP`), else `b` for every stage.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn level_bounds<const SKIP: bool>(b: u64) -> [__m512i; 4] {
    let k = |i: u32| splat(if SKIP { b << i } else { b });
    [k(0), k(1), k(2), k(3)]
}

/// One forward radix-2 stage of stride `t >= 8` on the blocks `ks` of the `m` blocks of the
/// stage (`2tm = n`), twiddles `w[m + k]`.
///
/// # Safety
/// `ap` must be valid for reads and writes of `2tm` words, the twiddle tables must hold at
/// least `2m` entries and `ks.end <= m`; `t` must be a multiple of 8.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) unsafe fn fwd_stage<const S: u8, const ODD: bool, const FIRST: bool>(
    c: &Consts,
    ap: *mut u64,
    tw: &Twiddles,
    t: usize,
    ks: Range<usize>,
    m: usize,
) {
    // Reduction of this stage.
    let r0 = reduction(S, ODD, FIRST);
    for k in ks {
        let (w, ws) = (splat(tw.w[m + k]), splat(tw.w_shoup[m + k]));
        let base = 2 * t * k;
        let mut j = 0;
        while j < t {
            // SAFETY: base + t + j + 8 <= 2t(k + 1) <= 2tm (caller).
            unsafe {
                let px = ap.add(base + j);
                let py = px.add(t);
                let (x, y) = fwd_butterfly(c, r0, load(px), load(py), w, ws);
                store(px, x);
                store(py, y);
            }
            j += 8;
        }
    }
}

/// Two forward stages in one pass on the blocks `ks` of the first one: stride `t` over `m`
/// blocks (twiddles `w[m..2m]`), then stride `t/2` over `2m` blocks (twiddles `w[2m..4m]`).
///
/// # Safety
/// `ap` must be valid for reads and writes of `2tm` words, the twiddle tables must hold at
/// least `4m` entries, `ks.end <= m`, and `t` must be a multiple of 32.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) unsafe fn fwd_stage_pair<const S: u8, const ODD: bool, const FIRST: bool>(
    c: &Consts,
    ap: *mut u64,
    tw: &Twiddles,
    t: usize,
    ks: Range<usize>,
    m: usize,
) {
    // Reductions of the stages of even and odd offset in this pass.
    let (r0, r1) = (reduction(S, ODD, FIRST), reduction(S, !ODD, false));
    let h = t / 2;
    for k in ks {
        let (w, ws) = (splat(tw.w[m + k]), splat(tw.w_shoup[m + k]));
        let (w0, ws0) = (splat(tw.w[2 * m + 2 * k]), splat(tw.w_shoup[2 * m + 2 * k]));
        let (w1, ws1) = (
            splat(tw.w[2 * m + 2 * k + 1]),
            splat(tw.w_shoup[2 * m + 2 * k + 1]),
        );
        let base = 2 * t * k;
        let mut j = 0;
        // Two columns per step (h is a multiple of 16): eight independent butterflies per level.
        while j < h {
            // SAFETY: base + 3h + j + 16 <= 2t(k + 1) <= 2tm (caller).
            unsafe {
                let p0 = ap.add(base + j);
                let (p1, p2, p3) = (p0.add(h), p0.add(t), p0.add(t + h));
                let (q0, q1, q2, q3) = (p0.add(8), p1.add(8), p2.add(8), p3.add(8));
                let (a0, a2) = fwd_butterfly(c, r0, load(p0), load(p2), w, ws);
                let (b0, b2) = fwd_butterfly(c, r0, load(q0), load(q2), w, ws);
                let (a1, a3) = fwd_butterfly(c, r0, load(p1), load(p3), w, ws);
                let (b1, b3) = fwd_butterfly(c, r0, load(q1), load(q3), w, ws);
                let (a0, a1) = fwd_butterfly(c, r1, a0, a1, w0, ws0);
                let (b0, b1) = fwd_butterfly(c, r1, b0, b1, w0, ws0);
                let (a2, a3) = fwd_butterfly(c, r1, a2, a3, w1, ws1);
                let (b2, b3) = fwd_butterfly(c, r1, b2, b3, w1, ws1);
                store(p0, a0);
                store(p1, a1);
                store(p2, a2);
                store(p3, a3);
                store(q0, b0);
                store(q1, b1);
                store(q2, b2);
                store(q3, b3);
            }
            j += 16;
        }
    }
}

/// One inverse radix-2 stage of stride `t >= 8` on the blocks `ks` of the `h` blocks of the
/// stage (`2th = n`), twiddles `w[h + k]`, on values below `b` (see [`level_bounds`] and
/// [`inv_butterfly`]).
///
/// # Safety
/// `ap` must be valid for reads and writes of `2th` words, the twiddle tables must hold at
/// least `2h` entries and `ks.end <= h`; `t` must be a multiple of 8.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) unsafe fn inv_stage<const SKIP: bool, const TRACK: bool>(
    c: &Consts,
    ap: *mut u64,
    tw: &Twiddles,
    t: usize,
    ks: Range<usize>,
    h: usize,
    b: u64,
) {
    let [k0, ..] = if TRACK {
        [c.four_p; 4]
    } else {
        level_bounds::<SKIP>(b)
    };
    for k in ks {
        let (w, ws) = (splat(tw.w[h + k]), splat(tw.w_shoup[h + k]));
        let base = 2 * t * k;
        let mut j = 0;
        while j < t {
            // SAFETY: base + t + j + 8 <= 2t(k + 1) <= 2th (caller).
            unsafe {
                let px = ap.add(base + j);
                let py = px.add(t);
                let (x, y) = inv_butterfly(c, SKIP, k0, load(px), load(py), w, ws);
                store(px, x);
                store(py, y);
            }
            j += 8;
        }
    }
}

/// Two inverse stages in one pass: stride `t` over `h` blocks (twiddles `w[h..2h]`), then
/// stride `2t` over `h/2` blocks (twiddles `w[h/2..h]`), on values below `b`; only the groups
/// `ks` (of `4t` words, a sub-range of `0..h/2`).
///
/// # Safety
/// `ap` must be valid for reads and writes of `2th` words, the twiddle tables must hold at
/// least `2h` entries, `h` must be even, `ks.end <= h/2` and `t` a multiple of 16.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) unsafe fn inv_stage_pair<const SKIP: bool, const TRACK: bool>(
    c: &Consts,
    ap: *mut u64,
    tw: &Twiddles,
    t: usize,
    ks: Range<usize>,
    h: usize,
    b: u64,
) {
    let [k0, k1, ..] = if TRACK {
        [c.four_p; 4]
    } else {
        level_bounds::<SKIP>(b)
    };
    // With TRACK, the butterfly of two outputs of products (< 2p) skips its reduction.
    let (s1, k1b) = if TRACK { (true, c.two_p) } else { (SKIP, k1) };
    let h2 = h / 2;
    for k in ks {
        let (w0, ws0) = (splat(tw.w[h + 2 * k]), splat(tw.w_shoup[h + 2 * k]));
        let (w1, ws1) = (splat(tw.w[h + 2 * k + 1]), splat(tw.w_shoup[h + 2 * k + 1]));
        let (w, ws) = (splat(tw.w[h2 + k]), splat(tw.w_shoup[h2 + k]));
        let base = 4 * t * k;
        let mut j = 0;
        // Two columns per step (t is a multiple of 16): eight independent butterflies per level.
        while j < t {
            // SAFETY: base + 3t + j + 16 <= 4t(k + 1) <= 2th (caller).
            unsafe {
                let p0 = ap.add(base + j);
                let (p1, p2, p3) = (p0.add(t), p0.add(2 * t), p0.add(3 * t));
                let (q0, q1, q2, q3) = (p0.add(8), p1.add(8), p2.add(8), p3.add(8));
                let (a0, a1) = inv_butterfly(c, SKIP, k0, load(p0), load(p1), w0, ws0);
                let (b0, b1) = inv_butterfly(c, SKIP, k0, load(q0), load(q1), w0, ws0);
                let (a2, a3) = inv_butterfly(c, SKIP, k0, load(p2), load(p3), w1, ws1);
                let (b2, b3) = inv_butterfly(c, SKIP, k0, load(q2), load(q3), w1, ws1);
                let (a0, a2) = inv_butterfly(c, SKIP, k1, a0, a2, w, ws);
                let (b0, b2) = inv_butterfly(c, SKIP, k1, b0, b2, w, ws);
                let (a1, a3) = inv_butterfly(c, s1, k1b, a1, a3, w, ws);
                let (b1, b3) = inv_butterfly(c, s1, k1b, b1, b3, w, ws);
                store(p0, a0);
                store(p1, a1);
                store(p2, a2);
                store(p3, a3);
                store(q0, b0);
                store(q1, b1);
                store(q2, b2);
                store(q3, b3);
            }
            j += 16;
        }
    }
}

/// Three forward stages in one pass on the blocks `ks` of the first one: strides `t`, `t/2`,
/// `t/4` over `m`, `2m`, `4m` blocks (twiddles `w[m..8m]`).
///
/// # Safety
/// `ap` must be valid for reads and writes of `2tm` words, the twiddle tables must hold at
/// least `8m` entries, `ks.end <= m`, and `t` must be a multiple of 32.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) unsafe fn fwd_stage_triple<const S: u8, const ODD: bool, const FIRST: bool>(
    c: &Consts,
    ap: *mut u64,
    tw: &Twiddles,
    t: usize,
    ks: Range<usize>,
    m: usize,
) {
    // Reductions of the stages of even and odd offset in this pass.
    let (rf, r0, r1) = (
        reduction(S, ODD, FIRST),
        reduction(S, ODD, false),
        reduction(S, !ODD, false),
    );
    let q = t / 4;
    let tw_at = |i: usize| (splat(tw.w[i]), splat(tw.w_shoup[i]));
    for k in ks {
        let w1 = tw_at(m + k);
        let (w2a, w2b) = (tw_at(2 * m + 2 * k), tw_at(2 * m + 2 * k + 1));
        let (w3a, w3b) = (tw_at(4 * m + 4 * k), tw_at(4 * m + 4 * k + 1));
        let (w3c, w3d) = (tw_at(4 * m + 4 * k + 2), tw_at(4 * m + 4 * k + 3));
        let base = 2 * t * k;
        let mut j = 0;
        while j < q {
            // SAFETY: base + 7q + j + 8 <= 8q(k + 1) = 2t(k + 1) <= 2tm (caller).
            unsafe {
                let p0 = ap.add(base + j);
                let ptr = |i: usize| p0.add(i * q);
                let (a0, a4) = fwd_butterfly(c, rf, load(ptr(0)), load(ptr(4)), w1.0, w1.1);
                let (a1, a5) = fwd_butterfly(c, rf, load(ptr(1)), load(ptr(5)), w1.0, w1.1);
                let (a2, a6) = fwd_butterfly(c, rf, load(ptr(2)), load(ptr(6)), w1.0, w1.1);
                let (a3, a7) = fwd_butterfly(c, rf, load(ptr(3)), load(ptr(7)), w1.0, w1.1);
                let (a0, a2) = fwd_butterfly(c, r1, a0, a2, w2a.0, w2a.1);
                let (a1, a3) = fwd_butterfly(c, r1, a1, a3, w2a.0, w2a.1);
                let (a4, a6) = fwd_butterfly(c, r1, a4, a6, w2b.0, w2b.1);
                let (a5, a7) = fwd_butterfly(c, r1, a5, a7, w2b.0, w2b.1);
                let (a0, a1) = fwd_butterfly(c, r0, a0, a1, w3a.0, w3a.1);
                let (a2, a3) = fwd_butterfly(c, r0, a2, a3, w3b.0, w3b.1);
                let (a4, a5) = fwd_butterfly(c, r0, a4, a5, w3c.0, w3c.1);
                let (a6, a7) = fwd_butterfly(c, r0, a6, a7, w3d.0, w3d.1);
                for (i, v) in [a0, a1, a2, a3, a4, a5, a6, a7].into_iter().enumerate() {
                    store(ptr(i), v);
                }
            }
            j += 8;
        }
    }
}

/// Three inverse stages in one pass: strides `t`, `2t`, `4t` over `h`, `h/2`, `h/4` blocks
/// (twiddles `w[h/4..2h]`), on values below `b`; only the groups `ks` (of `8t` words, a
/// sub-range of `0..h/4`).
///
/// # Safety
/// `ap` must be valid for reads and writes of `2th` words, the twiddle tables must hold at
/// least `2h` entries, `h` must be a multiple of 4, `ks.end <= h/4` and `t` a multiple of 8.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) unsafe fn inv_stage_triple<const SKIP: bool, const TRACK: bool>(
    c: &Consts,
    ap: *mut u64,
    tw: &Twiddles,
    t: usize,
    ks: Range<usize>,
    h: usize,
    b: u64,
) {
    let [k0, k1, k2, _] = if TRACK {
        [c.four_p; 4]
    } else {
        level_bounds::<SKIP>(b)
    };
    // With TRACK, the butterflies whose inputs both come from products of an earlier level of
    // the pass (both < 2p, see `inverse`) skip their reductions.
    let (s1, k1b) = if TRACK { (true, c.two_p) } else { (SKIP, k1) };
    let (s2, k2b) = if TRACK { (true, c.two_p) } else { (SKIP, k2) };
    let (h2, h4) = (h / 2, h / 4);
    let tw_at = |i: usize| (splat(tw.w[i]), splat(tw.w_shoup[i]));
    for k in ks {
        let (w1a, w1b) = (tw_at(h + 4 * k), tw_at(h + 4 * k + 1));
        let (w1c, w1d) = (tw_at(h + 4 * k + 2), tw_at(h + 4 * k + 3));
        let (w2a, w2b) = (tw_at(h2 + 2 * k), tw_at(h2 + 2 * k + 1));
        let w3 = tw_at(h4 + k);
        let base = 8 * t * k;
        let mut j = 0;
        while j < t {
            // SAFETY: base + 7t + j + 8 <= 8t(k + 1) <= 2th (caller).
            unsafe {
                let p0 = ap.add(base + j);
                let ptr = |i: usize| p0.add(i * t);
                let (a0, a1) = inv_butterfly(c, SKIP, k0, load(ptr(0)), load(ptr(1)), w1a.0, w1a.1);
                let (a2, a3) = inv_butterfly(c, SKIP, k0, load(ptr(2)), load(ptr(3)), w1b.0, w1b.1);
                let (a4, a5) = inv_butterfly(c, SKIP, k0, load(ptr(4)), load(ptr(5)), w1c.0, w1c.1);
                let (a6, a7) = inv_butterfly(c, SKIP, k0, load(ptr(6)), load(ptr(7)), w1d.0, w1d.1);
                let (a0, a2) = inv_butterfly(c, SKIP, k1, a0, a2, w2a.0, w2a.1);
                let (a1, a3) = inv_butterfly(c, s1, k1b, a1, a3, w2a.0, w2a.1);
                let (a4, a6) = inv_butterfly(c, SKIP, k1, a4, a6, w2b.0, w2b.1);
                let (a5, a7) = inv_butterfly(c, s1, k1b, a5, a7, w2b.0, w2b.1);
                let (a0, a4) = inv_butterfly(c, SKIP, k2, a0, a4, w3.0, w3.1);
                let (a1, a5) = inv_butterfly(c, SKIP, k2, a1, a5, w3.0, w3.1);
                let (a2, a6) = inv_butterfly(c, s2, k2b, a2, a6, w3.0, w3.1);
                let (a3, a7) = inv_butterfly(c, s2, k2b, a3, a7, w3.0, w3.1);
                for (i, v) in [a0, a1, a2, a3, a4, a5, a6, a7].into_iter().enumerate() {
                    store(ptr(i), v);
                }
            }
            j += 8;
        }
    }
}
