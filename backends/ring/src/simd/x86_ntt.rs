//! AVX-512 IFMA negacyclic NTT kernels.
//!
//! Stages with a butterfly stride `t >= 8` work on whole vectors, in passes of two or three
//! stages (see [`super::x86_passes`]). The three stages with `t = 4, 2, 1` are fused: each 16-word chunk is loaded once as
//! two vectors and permuted between layouts in which lane `j` of `X` and lane `j` of `Y` form a
//! butterfly pair, then permuted back and stored once.

use std::arch::x86_64::*;

use super::ntt::Twiddles;
use super::x86_arith::Consts;
use super::x86_arith::{csub, fwd_butterfly, inv_butterfly, load, mul_shoup_lazy, splat, store};
use super::x86_passes::{
    fwd_stage, fwd_stage_pair, fwd_stage_triple, inv_stage, inv_stage_pair, inv_stage_triple,
    pass_len,
};

/// Natural order of a 16-word chunk: lanes 0..8 are `X`, lanes 8..16 are `Y`.
const NAT: [usize; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
/// Stride-4 layout: `X[j]`, `Y[j]` hold the elements `e`, `e + 4` of one butterfly.
const L4: [usize; 16] = [0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15];
/// Stride-2 layout: pairs `(e, e + 2)`.
const L2: [usize; 16] = [0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15];
/// Stride-1 layout: pairs `(e, e + 1)`.
const L1: [usize; 16] = [0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15];

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

/// A pair of permutation index vectors (`X` then `Y`) between two layouts.
#[derive(Clone, Copy)]
struct Relayout(__m512i, __m512i);

impl Relayout {
    /// The permutation with the `X` and `Y` indices `ix`, `iy` (from [`transition`]).
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn new(ix: [i64; 8], iy: [i64; 8]) -> Relayout {
        Relayout(vector(ix), vector(iy))
    }

    /// Applies the permutation to the register pair `(x, y)`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn apply(self, x: __m512i, y: __m512i) -> (__m512i, __m512i) {
        (
            _mm512_permutex2var_epi64(x, self.0, y),
            _mm512_permutex2var_epi64(x, self.1, y),
        )
    }
}

/// Layout transitions as compile-time index tables: `[X indices, Y indices]`.
const NAT_TO_L4: [[i64; 8]; 2] = [transition(&NAT, &L4, 0), transition(&NAT, &L4, 1)];
const L4_TO_L2: [[i64; 8]; 2] = [transition(&L4, &L2, 0), transition(&L4, &L2, 1)];
const L2_TO_L1: [[i64; 8]; 2] = [transition(&L2, &L1, 0), transition(&L2, &L1, 1)];
const L1_TO_NAT: [[i64; 8]; 2] = [transition(&L1, &NAT, 0), transition(&L1, &NAT, 1)];
const NAT_TO_L1: [[i64; 8]; 2] = [transition(&NAT, &L1, 0), transition(&NAT, &L1, 1)];
const L1_TO_L2: [[i64; 8]; 2] = [transition(&L1, &L2, 0), transition(&L1, &L2, 1)];
const L2_TO_L4: [[i64; 8]; 2] = [transition(&L2, &L4, 0), transition(&L2, &L4, 1)];
const L4_TO_NAT: [[i64; 8]; 2] = [transition(&L4, &NAT, 0), transition(&L4, &NAT, 1)];

/// The vector with lanes `v[0], .., v[7]` (lane 0 first).
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn vector(v: [i64; 8]) -> __m512i {
    _mm512_set_epi64(v[7], v[6], v[5], v[4], v[3], v[2], v[1], v[0])
}

/// Twiddle broadcasts for the fused stages.
#[derive(Clone, Copy)]
struct Spread {
    /// `[0, 0, 0, 0, 1, 1, 1, 1]`: two twiddles for the stride-4 stage.
    two: __m512i,
    /// `[0, 0, 1, 1, 2, 2, 3, 3]`: four twiddles for the stride-2 stage.
    four: __m512i,
}

impl Spread {
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn new() -> Spread {
        Spread {
            two: vector([0, 0, 0, 0, 1, 1, 1, 1]),
            four: vector([0, 0, 1, 1, 2, 2, 3, 3]),
        }
    }

    /// `[w[0] x4, w[1] x4]` from the two words at `ptr`.
    ///
    /// # Safety
    /// `ptr .. ptr + 2` must be readable.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn two(self, ptr: *const u64) -> __m512i {
        // SAFETY: two readable words at `ptr` (caller); the upper lanes are never selected.
        let v = unsafe { _mm512_castsi128_si512(_mm_loadu_si128(ptr.cast())) };
        _mm512_permutexvar_epi64(self.two, v)
    }

    /// `[w[0], w[0], w[1], w[1], w[2], w[2], w[3], w[3]]` from the four words at `ptr`.
    ///
    /// # Safety
    /// `ptr .. ptr + 4` must be readable.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    unsafe fn four(self, ptr: *const u64) -> __m512i {
        // SAFETY: four readable words at `ptr` (caller); the upper lanes are never selected.
        let v = unsafe { _mm512_castsi256_si512(_mm256_loadu_si256(ptr.cast())) };
        _mm512_permutexvar_epi64(self.four, v)
    }
}

/// `true` when `a` and `tw` fit the kernels: `N = a.len()` a power of two `>= 16` and tables of
/// `N` entries.
fn shapes_fit(a: &[u64], tw: &Twiddles) -> bool {
    let n = a.len();
    n >= 16 && n.is_power_of_two() && tw.w.len() == n && tw.w_shoup.len() == n
}

/// Forward NTT in place (inputs `< 4p`, outputs `< p`), bit-identical to the scalar table.
/// Does nothing unless `a.len()` is a power of two `>= 16` equal to the twiddle table length.
/// `p < 2^50` is required for correct (but not for memory-safe) results.
#[target_feature(enable = "avx512f,avx512ifma")]
pub(super) fn forward(a: &mut [u64], tw: &Twiddles, p: u64) {
    if !shapes_fit(a, tw) {
        return;
    }
    let n = a.len();
    let c = Consts::new(p);
    let ap = a.as_mut_ptr();
    let (wp, wsp) = (tw.w.as_ptr(), tw.w_shoup.as_ptr());

    // Stages with stride t >= 8 (there are log2(n) - 3), in passes of up to three stages.
    let mut t = n;
    let mut m = 1;
    let mut left = n.trailing_zeros() - 3;
    while left > 0 {
        let s = pass_len(left);
        t >>= 1;
        // SAFETY: 2tm = n words at `ap`, twiddle tables of n entries (checked above), and the
        // s stages of the pass have strides t, .., t / 2^(s-1) >= 8.
        unsafe {
            match s {
                1 => fwd_stage(&c, ap, tw, t, m),
                2 => fwd_stage_pair(&c, ap, tw, t, m),
                _ => fwd_stage_triple(&c, ap, tw, t, m),
            }
        }
        t >>= s - 1;
        m <<= s;
        left -= s;
    }

    // Fused stages t = 4 (m = n/8), t = 2 (m = n/4), t = 1 (m = n/2), then the final
    // reduction to [0, p).
    let spread = Spread::new();
    let to_l4 = Relayout::new(NAT_TO_L4[0], NAT_TO_L4[1]);
    let l4_to_l2 = Relayout::new(L4_TO_L2[0], L4_TO_L2[1]);
    let l2_to_l1 = Relayout::new(L2_TO_L1[0], L2_TO_L1[1]);
    let l1_to_nat = Relayout::new(L1_TO_NAT[0], L1_TO_NAT[1]);
    let (m4, m2, m1) = (n / 8, n / 4, n / 2);
    for ci in 0..n / 16 {
        // SAFETY: 16 * ci + 16 <= n; the twiddle reads end at m4 + 2ci + 2 <= n/4,
        // m2 + 4ci + 4 <= n/2 and m1 + 8ci + 8 <= n, inside tables of n entries.
        unsafe {
            let pa = ap.add(16 * ci);
            let (x, y) = to_l4.apply(load(pa), load(pa.add(8)));
            let (w, ws) = (
                spread.two(wp.add(m4 + 2 * ci)),
                spread.two(wsp.add(m4 + 2 * ci)),
            );
            let (x, y) = fwd_butterfly(&c, x, y, w, ws);
            let (x, y) = l4_to_l2.apply(x, y);
            let (w, ws) = (
                spread.four(wp.add(m2 + 4 * ci)),
                spread.four(wsp.add(m2 + 4 * ci)),
            );
            let (x, y) = fwd_butterfly(&c, x, y, w, ws);
            let (x, y) = l2_to_l1.apply(x, y);
            let (w, ws) = (load(wp.add(m1 + 8 * ci)), load(wsp.add(m1 + 8 * ci)));
            let (x, y) = fwd_butterfly(&c, x, y, w, ws);
            let x = csub(csub(x, c.two_p), c.p);
            let y = csub(csub(y, c.two_p), c.p);
            let (x, y) = l1_to_nat.apply(x, y);
            store(pa, x);
            store(pa.add(8), y);
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
    let (wp, wsp) = (tw.w.as_ptr(), tw.w_shoup.as_ptr());

    // Fused stages t = 1 (h = n/2), t = 2 (h = n/4), t = 4 (h = n/8).
    let spread = Spread::new();
    let to_l1 = Relayout::new(NAT_TO_L1[0], NAT_TO_L1[1]);
    let l1_to_l2 = Relayout::new(L1_TO_L2[0], L1_TO_L2[1]);
    let l2_to_l4 = Relayout::new(L2_TO_L4[0], L2_TO_L4[1]);
    let l4_to_nat = Relayout::new(L4_TO_NAT[0], L4_TO_NAT[1]);
    let (h1, h2, h4) = (n / 2, n / 4, n / 8);
    for ci in 0..n / 16 {
        // SAFETY: as in `forward`: the chunk and every twiddle read lie inside their slices.
        unsafe {
            let pa = ap.add(16 * ci);
            let (x, y) = to_l1.apply(load(pa), load(pa.add(8)));
            let (w, ws) = (load(wp.add(h1 + 8 * ci)), load(wsp.add(h1 + 8 * ci)));
            let (x, y) = inv_butterfly(&c, x, y, w, ws);
            let (x, y) = l1_to_l2.apply(x, y);
            let (w, ws) = (
                spread.four(wp.add(h2 + 4 * ci)),
                spread.four(wsp.add(h2 + 4 * ci)),
            );
            let (x, y) = inv_butterfly(&c, x, y, w, ws);
            let (x, y) = l2_to_l4.apply(x, y);
            let (w, ws) = (
                spread.two(wp.add(h4 + 2 * ci)),
                spread.two(wsp.add(h4 + 2 * ci)),
            );
            let (x, y) = inv_butterfly(&c, x, y, w, ws);
            let (x, y) = l4_to_nat.apply(x, y);
            store(pa, x);
            store(pa.add(8), y);
        }
    }

    // Stages with stride 8 <= t < n/2 (there are log2(n) - 4), in passes of up to three.
    let mut t = 8;
    let mut m = n / 8;
    let mut left = n.trailing_zeros() - 4;
    while left > 0 {
        let s = pass_len(left);
        // SAFETY: 2t(m/2) = n words at `ap`, twiddle tables of n entries (checked above), and
        // m/2 is a multiple of 2^(s-1) since m >= 2^(s+1).
        unsafe {
            match s {
                1 => inv_stage(&c, ap, tw, t, m / 2),
                2 => inv_stage_pair(&c, ap, tw, t, m / 2),
                _ => inv_stage_triple(&c, ap, tw, t, m / 2),
            }
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
    let half = n / 2;
    let mut j = 0;
    while j < half {
        // SAFETY: j + 8 <= n/2 and half + j + 8 <= n.
        unsafe {
            let px = ap.add(j);
            let py = px.add(half);
            let (u, v) = (load(px), load(py));
            let s = mul_shoup_lazy(&c, _mm512_add_epi64(u, v), ni, nis);
            let d = _mm512_sub_epi64(_mm512_add_epi64(u, c.two_p), v);
            let d = mul_shoup_lazy(&c, d, li, lis);
            store(px, csub(s, c.p));
            store(py, csub(d, c.p));
        }
        j += 8;
    }
}
