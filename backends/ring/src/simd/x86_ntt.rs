//! AVX-512 IFMA negacyclic NTT kernels.
//!
//! Stages with a butterfly stride `t >= 16` work on whole vectors, in passes of up to three
//! stages (see [`super::x86_passes`]); the four stages with `t <= 8` are fused per 16-word
//! chunk (see [`super::x86_small`]), [`TAIL_K`] chunks interleaved. Once the stages split the
//! vector into blocks of at most [`BLOCK`] words, the remaining stages run block by block
//! (depth-first) while the block stays in the L1 cache.
//!
//! Reductions: the forward transform keeps values correct modulo `2^52` only between the
//! reductions (see [`super::x86_arith::fwd_butterfly`]); the inverse transform either skips
//! whole levels while the bound allows, or, for `8p <= 2^52`, tracks the bound of every
//! register in a pass (values below `4p`) and reduces only the butterflies that need it.

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

/// `true` when a pass of `levels` stages on values below `b` may skip its reductions: the
/// stage after it can still start (`b 2^(levels + 1) <= 2^52`, see [`inverse`]).
fn fits(b: u64, levels: u32) -> bool {
    u128::from(b) << (levels + 1) <= 1u128 << 52
}

/// Chunks of 16 words per call of the fused small stages when `n >= 128` (their independent
/// dependency chains interleave).
const TAIL_K: usize = 8;

/// Words of the sub-blocks worked on depth-first: once the outer stages split the vector into
/// blocks of at most this size (16 KiB), every remaining stage runs block by block while the
/// block stays in the L1 cache.
const BLOCK: usize = 2048;

/// The number of sub-blocks (a power of two) of an `n`-word vector for the depth-first order.
fn block_count(n: usize) -> usize {
    (n / BLOCK).max(1)
}

/// The `(odd, first)` parameters of the forward stage `idx` (see
/// [`super::x86_arith::reduction`]) for `2^log_n` words in scheme `s`. With [`ALTERNATE`] and an
/// odd `log_n`, the parity is flipped (the stages of odd index reduce, none is treated as the
/// first): the same number of reductions, measured slightly faster there; with an even `log_n`
/// the unflipped schedule saves one reduced stage.
fn stage_params(s: u8, idx: u32, log_n: u32) -> (bool, bool) {
    let flip = s == ALTERNATE && log_n % 2 == 1;
    ((idx % 2 == 1) ^ flip, idx == 0 && !flip)
}

/// The forward passes over the `left` stages with stride `>= 16` that start at stride `2t`
/// with `m` blocks (stage index `idx`, counted from the first stage), restricted to the
/// sub-block `blk` of `nb` equal sub-blocks of the vector, `2^log_n` words in all. Returns
/// `(t, m, idx)` after them.
///
/// # Safety
/// `ap` must be valid for reads and writes of `n = 2tm` words, the twiddle tables must hold
/// `n` entries, `nb` must be a power of two dividing `m`, `blk < nb`, and the `left` stages
/// must all have stride `>= 16`.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn fwd_passes<const S: u8>(
    c: &Consts,
    ap: *mut u64,
    tw: &Twiddles,
    (mut t, mut m, mut idx): (usize, usize, u32),
    mut left: u32,
    (blk, nb): (usize, usize),
    log_n: u32,
) -> (usize, usize, u32) {
    while left > 0 {
        let s = pass_len(left);
        let (odd, first) = stage_params(S, idx, log_n);
        t >>= 1;
        let per = m / nb;
        let ks = blk * per..(blk + 1) * per;
        // SAFETY: 2tm = n words at `ap`, twiddle tables of n entries, ks.end <= m (caller), and
        // the s stages of the pass have strides t, .., t / 2^(s-1) >= 16.
        unsafe {
            match (s, odd, first) {
                (1, false, false) => fwd_stage::<S, false, false>(c, ap, tw, t, ks, m),
                (1, false, true) => fwd_stage::<S, false, true>(c, ap, tw, t, ks, m),
                (1, true, _) => fwd_stage::<S, true, false>(c, ap, tw, t, ks, m),
                (2, false, false) => fwd_stage_pair::<S, false, false>(c, ap, tw, t, ks, m),
                (2, false, true) => fwd_stage_pair::<S, false, true>(c, ap, tw, t, ks, m),
                (2, true, _) => fwd_stage_pair::<S, true, false>(c, ap, tw, t, ks, m),
                (_, false, false) => fwd_stage_triple::<S, false, false>(c, ap, tw, t, ks, m),
                (_, false, true) => fwd_stage_triple::<S, false, true>(c, ap, tw, t, ks, m),
                (_, true, _) => fwd_stage_triple::<S, true, false>(c, ap, tw, t, ks, m),
            }
        }
        t >>= s - 1;
        m <<= s;
        idx += s;
        left -= s;
    }
    (t, m, idx)
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
    let log_n = n.trailing_zeros();
    // Stages with stride t >= 16 (there are log2(n) - 4): the outer ones over the whole vector
    // until the blocks have at most BLOCK words, then the others and the fused tail block by
    // block. The stage t = 8 has index log2(n) - 4.
    let nb = block_count(n);
    let outer = nb.trailing_zeros();
    // SAFETY: n words at `ap`, twiddle tables of n entries (checked above); the outer stages
    // end with m = nb blocks, so nb divides m in the inner passes; all strides are >= 16.
    let state = unsafe { fwd_passes::<S>(&c, ap, tw, (n, 1, 0), outer, (0, 1), log_n) };
    let (odd, _) = stage_params(S, log_n - 4, log_n);
    let tail = FwdTail::new();
    let chunks = n / 16 / nb;
    for blk in 0..nb {
        // SAFETY: as above, blk < nb.
        unsafe { fwd_passes::<S>(&c, ap, tw, state, log_n - 4 - outer, (blk, nb), log_n) };
        // Fused stages t = 8, 4, 2, 1, then the final reduction to [0, p); TAIL_K chunks at a
        // time (their independent chains interleaved) when n >= 128.
        // SAFETY (every arm): the chunks ci .. ci + K lie in `a` since K divides n / 16 / nb;
        // twiddle tables of n entries (checked above).
        unsafe {
            match (n, odd) {
                (16, _) => tail.chunks::<S, false, true, 1>(&c, ap, tw, 0),
                (32, _) => tail.chunks::<S, true, false, 2>(&c, ap, tw, 0),
                (64, _) => tail.chunks::<S, false, false, 4>(&c, ap, tw, 0),
                (_, false) => {
                    for ci in (blk * chunks..(blk + 1) * chunks).step_by(TAIL_K) {
                        tail.chunks::<S, false, false, TAIL_K>(&c, ap, tw, ci);
                    }
                }
                (_, true) => {
                    for ci in (blk * chunks..(blk + 1) * chunks).step_by(TAIL_K) {
                        tail.chunks::<S, true, false, TAIL_K>(&c, ap, tw, ci);
                    }
                }
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
    // b 2^(L+1) <= 2^52. The bounds evolve the same way in every sub-block.
    let b0 = 2 * p;

    // Fused stages t = 1, 2, 4 and, unless it is the last stage (n = 16), t = 8; then the
    // stages 16 <= t < n/2 that stay within a sub-block, block by block (depth-first, see
    // BLOCK); then the others over the whole vector.
    let head = InvHead::new();
    let levels = if n == 16 { 3 } else { 4 };
    let skip = fits(b0, levels);
    // Without the skip but with 8p <= 2^52, track the bounds more finely (`track`): after the
    // head every value is below 4p, and a pass reduces only the butterflies with an input
    // above 2p (see `inv_stage_pair`), so values stay below 4p.
    let track = !skip && u128::from(p) * 8 <= 1u128 << 52;
    let b_head = if skip {
        b0 << levels
    } else if track {
        4 * p
    } else {
        b0
    };
    let nb = block_count(n);
    let total = n.trailing_zeros().saturating_sub(5);
    let inner = if nb == 1 {
        total
    } else {
        BLOCK.trailing_zeros() - 4
    };
    let chunks = n / 16 / nb;
    let mut state = (16, n / 32, b_head);
    for blk in 0..nb {
        // SAFETY (every arm): the chunks ci .. ci + K lie in `a` since K divides n / 16 / nb;
        // twiddle tables of n entries (checked above).
        unsafe {
            match (n, skip, track) {
                (16, true, _) => head.chunks::<1, false, true, false>(&c, ap, tw, 0, b0),
                (16, false, false) => head.chunks::<1, false, false, false>(&c, ap, tw, 0, b0),
                (16, false, true) => head.chunks::<1, false, false, true>(&c, ap, tw, 0, b0),
                (32, true, _) => head.chunks::<2, true, true, false>(&c, ap, tw, 0, b0),
                (32, false, false) => head.chunks::<2, true, false, false>(&c, ap, tw, 0, b0),
                (32, false, true) => head.chunks::<2, true, false, true>(&c, ap, tw, 0, b0),
                (64, true, _) => head.chunks::<4, true, true, false>(&c, ap, tw, 0, b0),
                (64, false, false) => head.chunks::<4, true, false, false>(&c, ap, tw, 0, b0),
                (64, false, true) => head.chunks::<4, true, false, true>(&c, ap, tw, 0, b0),
                (_, true, _) => {
                    for ci in (blk * chunks..(blk + 1) * chunks).step_by(TAIL_K) {
                        head.chunks::<TAIL_K, true, true, false>(&c, ap, tw, ci, b0);
                    }
                }
                (_, false, false) => {
                    for ci in (blk * chunks..(blk + 1) * chunks).step_by(TAIL_K) {
                        head.chunks::<TAIL_K, true, false, false>(&c, ap, tw, ci, b0);
                    }
                }
                (_, false, true) => {
                    for ci in (blk * chunks..(blk + 1) * chunks).step_by(TAIL_K) {
                        head.chunks::<TAIL_K, true, false, true>(&c, ap, tw, ci, b0);
                    }
                }
            }
        }
        // SAFETY: n words at `ap`, twiddle tables of n entries (checked above); the inner
        // stages have groups of at most n / nb words, so nb divides their group counts.
        state = unsafe { inv_passes(&c, ap, tw, (16, n / 32, b_head), inner, (blk, nb), track) };
    }
    // SAFETY: as above, with a single sub-block.
    let (_, _, b) = unsafe { inv_passes(&c, ap, tw, state, total - inner, (0, 1), track) };

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

/// The inverse passes over the `left` stages that start at stride `t >= 16` with `h` blocks on
/// values below `b` (see [`inverse`]), restricted to the sub-block `blk` of `nb` equal
/// sub-blocks of the vector. Returns `(t, h, b)` after them.
///
/// # Safety
/// `ap` must be valid for reads and writes of `n = 2th` words, the twiddle tables must hold
/// `n` entries, `blk < nb`, `nb` a power of two, the `left` stages must not include the last
/// one (stride `n/2`), and every pass group (`2t 2^(s-1)` words for a pass of `s` stages) must
/// have at most `n / nb` words.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn inv_passes(
    c: &Consts,
    ap: *mut u64,
    tw: &Twiddles,
    (mut t, mut h, mut b): (usize, usize, u64),
    mut left: u32,
    (blk, nb): (usize, usize),
    track: bool,
) -> (usize, usize, u64) {
    while left > 0 {
        let s = pass_len(left);
        let skip = !track && fits(b, s);
        let per = (h >> (s - 1)) / nb;
        let ks = blk * per..(blk + 1) * per;
        // SAFETY: 2th = n words at `ap`, twiddle tables of n entries, h is a multiple of
        // 2^(s-1) since the last stage is excluded (m >= 2^(s+1)), and ks.end <= h / 2^(s-1).
        unsafe {
            match (s, skip, track) {
                (1, true, _) => inv_stage::<true, false>(c, ap, tw, t, ks, h, b),
                (1, false, false) => inv_stage::<false, false>(c, ap, tw, t, ks, h, b),
                (1, false, true) => inv_stage::<false, true>(c, ap, tw, t, ks, h, b),
                (2, true, _) => inv_stage_pair::<true, false>(c, ap, tw, t, ks, h, b),
                (2, false, false) => inv_stage_pair::<false, false>(c, ap, tw, t, ks, h, b),
                (2, false, true) => inv_stage_pair::<false, true>(c, ap, tw, t, ks, h, b),
                (_, true, _) => inv_stage_triple::<true, false>(c, ap, tw, t, ks, h, b),
                (_, false, false) => inv_stage_triple::<false, false>(c, ap, tw, t, ks, h, b),
                (_, false, true) => inv_stage_triple::<false, true>(c, ap, tw, t, ks, h, b),
            }
        }
        if skip {
            b <<= s;
        }
        t <<= s;
        h >>= s;
        left -= s;
    }
    (t, h, b)
}
