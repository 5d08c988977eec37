//! [`IfmaNtt`]: the negacyclic NTT of [`NttTable`] computed with AVX-512 IFMA.

use crate::modular::Modulus;
use crate::ntt::{bit_reverse, NttTable};

use super::detect::ifma_available;
use super::scalar;

/// Primes handled by the IFMA kernels have at most this many bits (`p < 2^50`), so that lazy
/// values `< 4p` fit the 52-bit multiplier inputs.
pub const IFMA_MAX_MODULUS_BITS: u32 = 50;
/// Smallest ring degree handled by [`IfmaNtt`] (two vectors of eight lanes).
pub const IFMA_MIN_DEGREE: usize = 16;

/// The 52-bit Shoup quotient `floor(w * 2^52 / p)` of `w < p` (below `2^52`).
#[inline]
pub(crate) fn shoup52(w: u64, p: u64) -> u64 {
    // w < p, so the quotient is below 2^52 and the cast is exact.
    (((w as u128) << 52) / p as u128) as u64
}

/// Twiddle factors of one direction, bit-reversed, with their 52-bit Shoup quotients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Twiddles {
    /// `w[k]` for `k < N` (entry 0 unused, as in [`NttTable`]).
    pub(crate) w: Vec<u64>,
    /// `shoup52(w[k])`.
    pub(crate) w_shoup: Vec<u64>,
}

/// The negacyclic NTT of one [`NttTable`] (prime `p < 2^50`, degree `N >= 16`) evaluated with
/// AVX-512 IFMA: Harvey lazy butterflies on eight lanes with 52-bit Shoup products, stages of
/// stride `>= 16` grouped two or three per pass over memory, the four stages of stride `<= 8`
/// fused in registers per 16-word chunk.
///
/// [`IfmaNtt::forward`] and [`IfmaNtt::inverse`] are bit-identical to [`NttTable::forward`] and
/// [`NttTable::inverse`] of the table it was built from (same twiddle order: forward roots
/// `psi^bitrev(k)`, inverse roots `psi^-bitrev(k)`, `N^-1` merged in the last inverse stage).
/// The type is cheap to share (`Send + Sync`) and meant to be owned by its `NttTable`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfmaNtt {
    modulus: Modulus,
    n: usize,
    fwd: Twiddles,
    inv: Twiddles,
    n_inv: u64,
    n_inv_shoup: u64,
    /// `psi^-bitrev(1) * N^-1`.
    last_inv: u64,
    last_inv_shoup: u64,
}

impl IfmaNtt {
    /// Builds the IFMA transform of `table`.
    ///
    /// Returns `None` unless the CPU supports AVX-512 IFMA ([`super::ifma_available`]),
    /// `p < 2^50` and `N >= 16`.
    pub fn new(table: &NttTable) -> Option<IfmaNtt> {
        if !ifma_available() {
            return None;
        }
        IfmaNtt::build(table)
    }

    /// Builds the tables without checking the CPU (the scalar fallback works everywhere); `None`
    /// when `p >= 2^50`, `N < 16` or `N` is not a power of two, or when `psi` / `N` is not
    /// invertible (impossible for a valid [`NttTable`]).
    pub(crate) fn build(table: &NttTable) -> Option<IfmaNtt> {
        let modulus = *table.modulus();
        let p = modulus.value();
        let n = table.degree();
        if p >= 1u64 << IFMA_MAX_MODULUS_BITS || n < IFMA_MIN_DEGREE || !n.is_power_of_two() {
            return None;
        }
        let log_n = n.trailing_zeros();
        let psi = table.psi();
        let psi_inv = modulus.inv(psi)?;
        let n_inv = modulus.inv(n as u64)?;
        let mut pows = vec![0u64; n];
        let mut inv_pows = vec![0u64; n];
        let (mut cur, mut cur_inv) = (1u64, 1u64);
        for k in 0..n {
            pows[k] = cur;
            inv_pows[k] = cur_inv;
            cur = modulus.mul(cur, psi);
            cur_inv = modulus.mul(cur_inv, psi_inv);
        }
        let twiddles = |pw: &[u64]| {
            let w: Vec<u64> = (0..n).map(|k| pw[bit_reverse(k, log_n)]).collect();
            let w_shoup = w.iter().map(|&x| shoup52(x, p)).collect();
            Twiddles { w, w_shoup }
        };
        let fwd = twiddles(&pows);
        let inv = twiddles(&inv_pows);
        let last_inv = modulus.mul(inv.w[1], n_inv);
        Some(IfmaNtt {
            modulus,
            n,
            fwd,
            inv,
            n_inv,
            n_inv_shoup: shoup52(n_inv, p),
            last_inv,
            last_inv_shoup: shoup52(last_inv, p),
        })
    }

    /// The ring degree `N`.
    #[inline]
    pub fn degree(&self) -> usize {
        self.n
    }

    /// The prime `p` of the transform.
    #[inline]
    pub fn modulus(&self) -> &Modulus {
        &self.modulus
    }

    /// Forward transform in place, identical to [`NttTable::forward`]: coefficients `< p` (any
    /// values `< 4p` are accepted) to evaluations `< p` in bit-reversed order. `a` must hold
    /// exactly `N` values; a slice of another length is left unchanged.
    pub fn forward(&self, a: &mut [u64]) {
        if a.len() != self.n {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if ifma_available() {
            // SAFETY: the CPU supports avx512f and avx512ifma (checked just above).
            unsafe { super::x86_ntt::forward(a, &self.fwd, self.modulus.value()) };
            return;
        }
        self.forward_scalar(a);
    }

    /// Inverse transform in place, identical to [`NttTable::inverse`]: inputs `< 2p`, outputs
    /// `< p`. `a` must hold exactly `N` values; a slice of another length is left unchanged.
    pub fn inverse(&self, a: &mut [u64]) {
        if a.len() != self.n {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if ifma_available() {
            let last = [
                self.n_inv,
                self.n_inv_shoup,
                self.last_inv,
                self.last_inv_shoup,
            ];
            // SAFETY: the CPU supports avx512f and avx512ifma (checked just above).
            unsafe { super::x86_ntt::inverse(a, &self.inv, self.modulus.value(), last) };
            return;
        }
        self.inverse_scalar(a);
    }

    /// The portable scalar evaluation of the same 52-bit algorithm (used where IFMA is absent).
    pub(crate) fn forward_scalar(&self, a: &mut [u64]) {
        if a.len() == self.n {
            scalar::forward(a, &self.fwd, self.modulus.value());
        }
    }

    /// The portable scalar evaluation of the inverse (used where IFMA is absent).
    pub(crate) fn inverse_scalar(&self, a: &mut [u64]) {
        if a.len() == self.n {
            let last = [
                self.n_inv,
                self.n_inv_shoup,
                self.last_inv,
                self.last_inv_shoup,
            ];
            scalar::inverse(a, &self.inv, self.modulus.value(), last);
        }
    }
}
