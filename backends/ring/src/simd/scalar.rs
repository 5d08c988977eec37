//! Portable scalar evaluation of the 52-bit Shoup NTT used by the IFMA kernels.
//!
//! It runs on every architecture: it is the fallback of [`super::IfmaNtt`] where IFMA is absent
//! and the reference the vector kernels are tested against.

use super::ntt::Twiddles;

/// `a * w mod p` in `[0, 2p)` for `a < 2^52`, `w < p < 2^50`, `w_shoup = shoup52(w)`.
#[inline(always)]
pub(crate) fn mul_shoup52_lazy(a: u64, w: u64, w_shoup: u64, p: u64) -> u64 {
    let q = ((a as u128 * w_shoup as u128) >> 52) as u64;
    // The exact value a*w - q*p lies in [0, 2p), so wrapping arithmetic gives it.
    a.wrapping_mul(w).wrapping_sub(q.wrapping_mul(p))
}

/// `x - m` when `x >= m`, else `x`.
#[inline(always)]
fn csub(x: u64, m: u64) -> u64 {
    if x >= m {
        x - m
    } else {
        x
    }
}

/// Forward negacyclic NTT (Cooley-Tukey, Harvey lazy butterflies); `a.len()` must equal the
/// twiddle table length (otherwise nothing is done); inputs `< 4p`, outputs `< p`.
pub(crate) fn forward(a: &mut [u64], tw: &Twiddles, p: u64) {
    let n = a.len();
    if tw.w.len() != n || tw.w_shoup.len() != n {
        return;
    }
    let two_p = 2 * p;
    let mut t = n;
    let mut m = 1;
    while m < n {
        t >>= 1;
        for ((chunk, &w), &ws) in a
            .chunks_exact_mut(2 * t)
            .zip(&tw.w[m..2 * m])
            .zip(&tw.w_shoup[m..2 * m])
        {
            let (x, y) = chunk.split_at_mut(t);
            for (xj, yj) in x.iter_mut().zip(y.iter_mut()) {
                let u = csub(*xj, two_p);
                let v = mul_shoup52_lazy(*yj, w, ws, p);
                *xj = u + v;
                *yj = u + two_p - v;
            }
        }
        m <<= 1;
    }
    for x in a.iter_mut() {
        *x = csub(csub(*x, two_p), p);
    }
}

/// Inverse negacyclic NTT (Gentleman-Sande); `last = [n_inv, n_inv_shoup, last_inv,
/// last_inv_shoup]`; inputs `< 2p`, outputs `< p`. `a.len()` must equal the twiddle table length
/// and be at least 2 (otherwise nothing is done).
pub(crate) fn inverse(a: &mut [u64], tw: &Twiddles, p: u64, last: [u64; 4]) {
    let n = a.len();
    if n < 2 || tw.w.len() != n || tw.w_shoup.len() != n {
        return;
    }
    let two_p = 2 * p;
    let mut t = 1;
    let mut m = n;
    while m > 2 {
        let h = m >> 1;
        for ((chunk, &w), &ws) in a
            .chunks_exact_mut(2 * t)
            .zip(&tw.w[h..m])
            .zip(&tw.w_shoup[h..m])
        {
            let (x, y) = chunk.split_at_mut(t);
            for (xj, yj) in x.iter_mut().zip(y.iter_mut()) {
                let (u, v) = (*xj, *yj);
                *xj = csub(u + v, two_p);
                *yj = mul_shoup52_lazy(u + two_p - v, w, ws, p);
            }
        }
        t <<= 1;
        m = h;
    }
    let [n_inv, n_inv_shoup, last_inv, last_inv_shoup] = last;
    let (x, y) = a.split_at_mut(n / 2);
    for (xj, yj) in x.iter_mut().zip(y.iter_mut()) {
        let (u, v) = (*xj, *yj);
        let s = mul_shoup52_lazy(u + v, n_inv, n_inv_shoup, p);
        let d = mul_shoup52_lazy(u + two_p - v, last_inv, last_inv_shoup, p);
        *xj = csub(s, p);
        *yj = csub(d, p);
    }
}
