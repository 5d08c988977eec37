//! AVX-512 IFMA negacyclic NTT kernels.
//!
//! Stages with a butterfly stride `t >= 16` work on whole vectors, in passes of up to three
//! stages (see [`super::x86_passes`]); the four stages with `t <= 8` are fused per 16-word
//! chunk (see [`super::x86_small`]).

use std::arch::x86_64::*;

use super::x86_small::{FwdTail, InvHead};

use super::ntt::Twiddles;
use super::x86_arith::Consts;
use super::x86_arith::{csub, load, mul_shoup_lazy, splat, store, ALTERNATE, HARVEY, LAZY};
use super::x86_passes::{
    fwd_stage, fwd_stage_pair, fwd_stage_triple, inv_stage, inv_stage_pair, inv_stage_triple,
    pass_len,
};

/// `true` when `a` and `tw` fit the kernels: `N = a.len()` a power of two `>= 16` and tables of
/// `N` entries.
fn shapes_fit(a: &[u64], tw: &Twiddles) -> bool {
    let n = a.len();
    n >= 16 && n.is_power_of_two() && tw.w.len() == n && tw.w_shoup.len() == n
}

/// Forward NTT in place (inputs `< 4p`, outputs `< p`), bit-identical to the scalar table.
/// Does nothing unless `a.len()` is a power of two `>= 16` equal to the twiddle table length.
/// `p < 2^50` is required for correct (but not for memory-safe) results.
///
/// Each stage adds at most `2p` to the bound of the values and the multiplier inputs must stay
/// below `2^52`, so the reduction of the butterfly inputs `x` is only done where needed: never
/// when `(4 + 2 log2 N) p <= 2^52` ([`LAZY`]), every other stage when `8p <= 2^52`
/// ([`ALTERNATE`]), else every stage ([`HARVEY`]). The outputs are made canonical at the end.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn forward(a: &mut [u64], tw: &Twiddles, p: u64) {
    let p = u128::from(p);
    let log_n = u128::from(a.len().trailing_zeros());
    let limit = 1u128 << 52;
    if (4 + 2 * log_n) * p <= limit {
        forward_impl::<LAZY>(a, tw, p as u64);
    } else if 8 * p <= limit {
        forward_impl::<ALTERNATE>(a, tw, p as u64);
    } else {
        forward_impl::<HARVEY>(a, tw, p as u64);
    }
}

/// [`forward`] with the scheme `S` ([`HARVEY`], [`ALTERNATE`] or [`LAZY`]).
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn forward_impl<const S: u8>(a: &mut [u64], tw: &Twiddles, p: u64) {
    if !shapes_fit(a, tw) {
        return;
    }
    let n = a.len();
    let c = Consts::new(p);
    let ap = a.as_mut_ptr();

    // Stages with stride t >= 16 (there are log2(n) - 4), in passes of up to three stages.
    let mut t = n;
    let mut m = 1;
    let log_n = n.trailing_zeros();
    let mut left = log_n - 4;
    while left > 0 {
        let s = pass_len(left);
        let odd = (log_n - 4 - left) % 2 == 1;
        t >>= 1;
        // SAFETY: 2tm = n words at `ap`, twiddle tables of n entries (checked above), and the
        // s stages of the pass have strides t, .., t / 2^(s-1) >= 16.
        unsafe {
            match (s, odd) {
                (1, false) => fwd_stage::<S, false>(&c, ap, tw, t, m),
                (1, true) => fwd_stage::<S, true>(&c, ap, tw, t, m),
                (2, false) => fwd_stage_pair::<S, false>(&c, ap, tw, t, m),
                (2, true) => fwd_stage_pair::<S, true>(&c, ap, tw, t, m),
                (_, false) => fwd_stage_triple::<S, false>(&c, ap, tw, t, m),
                (_, true) => fwd_stage_triple::<S, true>(&c, ap, tw, t, m),
            }
        }
        t >>= s - 1;
        m <<= s;
        left -= s;
    }

    // Fused stages t = 8, 4, 2, 1, then the final reduction to [0, p); four chunks at a time
    // (their independent chains interleaved) when n >= 64.
    let tail = FwdTail::new(S, log_n);
    // SAFETY (all three arms): the chunks ci .. ci + K lie in `a` since K divides n / 16;
    // twiddle tables of n entries (checked above).
    match n {
        16 => unsafe { tail.chunks::<S, 1>(&c, ap, tw, 0) },
        32 => unsafe { tail.chunks::<S, 2>(&c, ap, tw, 0) },
        _ => {
            for ci in (0..n / 16).step_by(4) {
                unsafe { tail.chunks::<S, 4>(&c, ap, tw, ci) };
            }
        }
    }
}

/// Inverse NTT in place (inputs `< 2p`, outputs `< p`), bit-identical to the scalar table;
/// `last = [n_inv, n_inv_shoup, last_inv, last_inv_shoup]` (52-bit Shoup quotients).
/// Same shape rules as [`forward`].
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn inverse(a: &mut [u64], tw: &Twiddles, p: u64, last: [u64; 4]) {
    if !shapes_fit(a, tw) {
        return;
    }
    let n = a.len();
    let c = Consts::new(p);
    let ap = a.as_mut_ptr();

    // Every value below the bound b (a multiple of p, inputs below 2p) when a stage starts. A
    // stage needs 2b <= 2^52 (for x + y and x + b - y); it reduces x + y below b, or skips that
    // reduction and doubles b. A pass of L stages skips when the next stage can still start:
    // b 2^(L+1) <= 2^52.
    let fits = |b: u64, levels: u32| u128::from(b) << (levels + 1) <= 1u128 << 52;
    let mut b = 2 * p;

    // Fused stages t = 1, 2, 4 and, unless it is the last stage (n = 16), t = 8; four chunks
    // at a time when n >= 64.
    let head = InvHead::new();
    let levels = if n == 16 { 3 } else { 4 };
    let skip = fits(b, levels);
    // SAFETY (every arm): the chunks ci .. ci + K lie in `a` since K divides n / 16; twiddle
    // tables of n entries (checked above).
    unsafe {
        match (n, skip) {
            (16, false) => head.chunks::<1, false, false>(&c, ap, tw, 0, b),
            (16, true) => head.chunks::<1, false, true>(&c, ap, tw, 0, b),
            (32, false) => head.chunks::<2, true, false>(&c, ap, tw, 0, b),
            (32, true) => head.chunks::<2, true, true>(&c, ap, tw, 0, b),
            (_, false) => {
                for ci in (0..n / 16).step_by(4) {
                    head.chunks::<4, true, false>(&c, ap, tw, ci, b);
                }
            }
            (_, true) => {
                for ci in (0..n / 16).step_by(4) {
                    head.chunks::<4, true, true>(&c, ap, tw, ci, b);
                }
            }
        }
    }
    if skip {
        b <<= levels;
    }

    // Stages with stride 16 <= t < n/2 (there are log2(n) - 5 when n >= 32), in passes of up
    // to three stages.
    let mut t = 16;
    let mut m = n / 16;
    let mut left = n.trailing_zeros().saturating_sub(5);
    while left > 0 {
        let s = pass_len(left);
        let skip = fits(b, s);
        let h = m / 2;
        // SAFETY: 2th = n words at `ap`, twiddle tables of n entries (checked above), and h is
        // a multiple of 2^(s-1) since m >= 2^(s+1).
        unsafe {
            match (s, skip) {
                (1, false) => inv_stage::<false>(&c, ap, tw, t, h, b),
                (1, true) => inv_stage::<true>(&c, ap, tw, t, h, b),
                (2, false) => inv_stage_pair::<false>(&c, ap, tw, t, h, b),
                (2, true) => inv_stage_pair::<true>(&c, ap, tw, t, h, b),
                (_, false) => inv_stage_triple::<false>(&c, ap, tw, t, h, b),
                (_, true) => inv_stage_triple::<true>(&c, ap, tw, t, h, b),
            }
        }
        if skip {
            b <<= s;
        }
        t <<= s;
        m >>= s;
        left -= s;
    }

    // Last stage (one block of size n) merged with the scaling by N^-1.
    let [n_inv, n_inv_shoup, last_inv, last_inv_shoup] = last;
    let (ni, nis, li, lis) = (
        splat(n_inv),
        splat(n_inv_shoup),
        splat(last_inv),
        splat(last_inv_shoup),
    );
    let kb = splat(b);
    let half = n / 2;
    let mut j = 0;
    while j < half {
        // SAFETY: j + 8 <= n/2 and half + j + 8 <= n.
        unsafe {
            let px = ap.add(j);
            let py = px.add(half);
            let (u, v) = (load(px), load(py));
            let s = mul_shoup_lazy(&c, _mm512_add_epi64(u, v), ni, nis);
            let d = _mm512_sub_epi64(_mm512_add_epi64(u, kb), v);
            let d = mul_shoup_lazy(&c, d, li, lis);
            store(px, csub(s, c.p));
            store(py, csub(d, c.p));
        }
        j += 8;
    }
}
