//! Radix-2, radix-4 and radix-8 passes of the IFMA NTT over the stages with stride `t >= 8`
//! (whole vectors, one broadcast twiddle per block). Grouping two or three stages per pass
//! keeps eight values in registers between stages and cuts the loads and stores. The forward
//! passes take the forward scheme `S` (see [`super::x86_arith::HARVEY`]) and `ODD`, the parity
//! of the index of their first stage.

use super::ntt::Twiddles;
use std::arch::x86_64::__m512i;

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

/// One forward radix-2 stage of stride `t >= 8` over `m` blocks (`2tm = n`), twiddles
/// `w[m..2m]`.
///
/// # Safety
/// `ap` must be valid for reads and writes of `2tm` words and the twiddle tables must hold at
/// least `2m` entries; `t` must be a multiple of 8.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) unsafe fn fwd_stage<const S: u8, const ODD: bool>(
    c: &Consts,
    ap: *mut u64,
    tw: &Twiddles,
    t: usize,
    m: usize,
) {
    // Reduction of this stage.
    let r0 = reduction(S, ODD);
    for k in 0..m {
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

/// Two forward stages in one pass: stride `t` over `m` blocks (twiddles `w[m..2m]`), then
/// stride `t/2` over `2m` blocks (twiddles `w[2m..4m]`).
///
/// # Safety
/// `ap` must be valid for reads and writes of `2tm` words, the twiddle tables must hold at
/// least `4m` entries, and `t` must be a multiple of 16.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) unsafe fn fwd_stage_pair<const S: u8, const ODD: bool>(
    c: &Consts,
    ap: *mut u64,
    tw: &Twiddles,
    t: usize,
    m: usize,
) {
    // Reductions of the stages of even and odd offset in this pass.
    let (r0, r1) = (reduction(S, ODD), reduction(S, !ODD));
    let h = t / 2;
    for k in 0..m {
        let (w, ws) = (splat(tw.w[m + k]), splat(tw.w_shoup[m + k]));
        let (w0, ws0) = (splat(tw.w[2 * m + 2 * k]), splat(tw.w_shoup[2 * m + 2 * k]));
        let (w1, ws1) = (
            splat(tw.w[2 * m + 2 * k + 1]),
            splat(tw.w_shoup[2 * m + 2 * k + 1]),
        );
        let base = 2 * t * k;
        let mut j = 0;
        while j < h {
            // SAFETY: base + 3h + j + 8 <= 2t(k + 1) <= 2tm (caller).
            unsafe {
                let p0 = ap.add(base + j);
                let (p1, p2, p3) = (p0.add(h), p0.add(t), p0.add(t + h));
                let (a0, a2) = fwd_butterfly(c, r0, load(p0), load(p2), w, ws);
                let (a1, a3) = fwd_butterfly(c, r0, load(p1), load(p3), w, ws);
                let (a0, a1) = fwd_butterfly(c, r1, a0, a1, w0, ws0);
                let (a2, a3) = fwd_butterfly(c, r1, a2, a3, w1, ws1);
                store(p0, a0);
                store(p1, a1);
                store(p2, a2);
                store(p3, a3);
            }
            j += 8;
        }
    }
}

/// One inverse radix-2 stage of stride `t >= 8` over `h` blocks (`2th = n`), twiddles
/// `w[h..2h]`, on values below `b` (see [`level_bounds`] and [`inv_butterfly`]).
///
/// # Safety
/// `ap` must be valid for reads and writes of `2th` words and the twiddle tables must hold at
/// least `2h` entries; `t` must be a multiple of 8.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) unsafe fn inv_stage<const SKIP: bool>(
    c: &Consts,
    ap: *mut u64,
    tw: &Twiddles,
    t: usize,
    h: usize,
    b: u64,
) {
    let [k0, ..] = level_bounds::<SKIP>(b);
    for k in 0..h {
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
/// stride `2t` over `h/2` blocks (twiddles `w[h/2..h]`), on values below `b`.
///
/// # Safety
/// `ap` must be valid for reads and writes of `2th` words, the twiddle tables must hold at
/// least `2h` entries, `h` must be even and `t` a multiple of 8.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) unsafe fn inv_stage_pair<const SKIP: bool>(
    c: &Consts,
    ap: *mut u64,
    tw: &Twiddles,
    t: usize,
    h: usize,
    b: u64,
) {
    let [k0, k1, ..] = level_bounds::<SKIP>(b);
    let h2 = h / 2;
    for k in 0..h2 {
        let (w0, ws0) = (splat(tw.w[h + 2 * k]), splat(tw.w_shoup[h + 2 * k]));
        let (w1, ws1) = (splat(tw.w[h + 2 * k + 1]), splat(tw.w_shoup[h + 2 * k + 1]));
        let (w, ws) = (splat(tw.w[h2 + k]), splat(tw.w_shoup[h2 + k]));
        let base = 4 * t * k;
        let mut j = 0;
        while j < t {
            // SAFETY: base + 3t + j + 8 <= 4t(k + 1) <= 2th (caller).
            unsafe {
                let p0 = ap.add(base + j);
                let (p1, p2, p3) = (p0.add(t), p0.add(2 * t), p0.add(3 * t));
                let (a0, a1) = inv_butterfly(c, SKIP, k0, load(p0), load(p1), w0, ws0);
                let (a2, a3) = inv_butterfly(c, SKIP, k0, load(p2), load(p3), w1, ws1);
                let (a0, a2) = inv_butterfly(c, SKIP, k1, a0, a2, w, ws);
                let (a1, a3) = inv_butterfly(c, SKIP, k1, a1, a3, w, ws);
                store(p0, a0);
                store(p1, a1);
                store(p2, a2);
                store(p3, a3);
            }
            j += 8;
        }
    }
}

/// Three forward stages in one pass: strides `t`, `t/2`, `t/4` over `m`, `2m`, `4m` blocks
/// (twiddles `w[m..8m]`).
///
/// # Safety
/// `ap` must be valid for reads and writes of `2tm` words, the twiddle tables must hold at
/// least `8m` entries, and `t` must be a multiple of 32.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) unsafe fn fwd_stage_triple<const S: u8, const ODD: bool>(
    c: &Consts,
    ap: *mut u64,
    tw: &Twiddles,
    t: usize,
    m: usize,
) {
    // Reductions of the stages of even and odd offset in this pass.
    let (r0, r1) = (reduction(S, ODD), reduction(S, !ODD));
    let q = t / 4;
    let tw_at = |i: usize| (splat(tw.w[i]), splat(tw.w_shoup[i]));
    for k in 0..m {
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
                let (a0, a4) = fwd_butterfly(c, r0, load(ptr(0)), load(ptr(4)), w1.0, w1.1);
                let (a1, a5) = fwd_butterfly(c, r0, load(ptr(1)), load(ptr(5)), w1.0, w1.1);
                let (a2, a6) = fwd_butterfly(c, r0, load(ptr(2)), load(ptr(6)), w1.0, w1.1);
                let (a3, a7) = fwd_butterfly(c, r0, load(ptr(3)), load(ptr(7)), w1.0, w1.1);
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
/// (twiddles `w[h/4..2h]`), on values below `b`.
///
/// # Safety
/// `ap` must be valid for reads and writes of `2th` words, the twiddle tables must hold at
/// least `2h` entries, `h` must be a multiple of 4 and `t` a multiple of 8.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) unsafe fn inv_stage_triple<const SKIP: bool>(
    c: &Consts,
    ap: *mut u64,
    tw: &Twiddles,
    t: usize,
    h: usize,
    b: u64,
) {
    let [k0, k1, k2, _] = level_bounds::<SKIP>(b);
    let (h2, h4) = (h / 2, h / 4);
    let tw_at = |i: usize| (splat(tw.w[i]), splat(tw.w_shoup[i]));
    for k in 0..h4 {
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
                let (a1, a3) = inv_butterfly(c, SKIP, k1, a1, a3, w2a.0, w2a.1);
                let (a4, a6) = inv_butterfly(c, SKIP, k1, a4, a6, w2b.0, w2b.1);
                let (a5, a7) = inv_butterfly(c, SKIP, k1, a5, a7, w2b.0, w2b.1);
                let (a0, a4) = inv_butterfly(c, SKIP, k2, a0, a4, w3.0, w3.1);
                let (a1, a5) = inv_butterfly(c, SKIP, k2, a1, a5, w3.0, w3.1);
                let (a2, a6) = inv_butterfly(c, SKIP, k2, a2, a6, w3.0, w3.1);
                let (a3, a7) = inv_butterfly(c, SKIP, k2, a3, a7, w3.0, w3.1);
                for (i, v) in [a0, a1, a2, a3, a4, a5, a6, a7].into_iter().enumerate() {
                    store(ptr(i), v);
                }
            }
            j += 8;
        }
    }
}
