//! Residue-number-system polynomials: [`RnsContext`] (a chain of NTT primes at one degree) and
//! [`RnsPoly`] (one polynomial over an ordered subset of the chain, limb-major flat storage).

use crate::crt;
use crate::error::{RingError, RingResult};
use crate::modular::Modulus;
use crate::ntt::{check_degree, NttTable};
use rayon::prelude::*;
use std::sync::Arc;
use zeroize::Zeroize;

/// Work size (`N * limbs`) from which per-limb loops run in parallel on the current rayon pool.
pub const PARALLEL_THRESHOLD: usize = 1 << 15;

/// Every prime of a parameter set (ciphertext primes then special primes) at one ring degree,
/// with their NTT tables. Polynomials refer to its primes by index.
#[derive(Debug, PartialEq, Eq)]
pub struct RnsContext {
    n: usize,
    moduli: Vec<Modulus>,
    tables: Vec<NttTable>,
}

impl RnsContext {
    /// Builds the context for degree `n` and the given distinct primes (each `= 1 mod 2n`, below
    /// 2^61).
    ///
    /// Errors: [`RingError::InvalidDegree`] for a bad `n`; [`RingError::InvalidModulus`] for a
    /// prime that is not NTT-friendly or repeats; [`RingError::InvalidArgument`] for an empty list.
    pub fn new(n: usize, primes: &[u64]) -> RingResult<Arc<RnsContext>> {
        check_degree(n)?;
        crate::scratch::keep_freed_memory();
        if primes.is_empty() {
            return Err(RingError::InvalidArgument {
                reason: "an RNS context needs at least one prime",
            });
        }
        let mut moduli = Vec::with_capacity(primes.len());
        let mut tables = Vec::with_capacity(primes.len());
        for (k, &p) in primes.iter().enumerate() {
            if primes[..k].contains(&p) {
                return Err(RingError::InvalidModulus {
                    modulus: p,
                    reason: "the prime appears twice in the chain",
                });
            }
            let m = Modulus::new(p)?;
            tables.push(NttTable::new(m, n)?);
            moduli.push(m);
        }
        Ok(Arc::new(RnsContext { n, moduli, tables }))
    }

    /// The ring degree `N`.
    #[inline]
    pub fn degree(&self) -> usize {
        self.n
    }

    /// The number of primes.
    #[inline]
    pub fn len(&self) -> usize {
        self.moduli.len()
    }

    /// Always false (a context holds at least one prime); provided for API completeness.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.moduli.is_empty()
    }

    /// The `i`-th modulus. `i < len()` is required (out of range indexing panics).
    #[inline]
    pub fn modulus(&self, i: usize) -> &Modulus {
        &self.moduli[i]
    }

    /// The NTT table of the `i`-th prime. `i < len()` is required.
    #[inline]
    pub fn ntt(&self, i: usize) -> &NttTable {
        &self.tables[i]
    }

    /// Checks that `moduli` is a list of distinct valid indices.
    ///
    /// Errors: [`RingError::InvalidArgument`] for an index out of range or a repeated index.
    pub fn check_moduli(&self, moduli: &[usize]) -> RingResult<()> {
        for (k, &i) in moduli.iter().enumerate() {
            if i >= self.len() {
                return Err(RingError::InvalidArgument {
                    reason: "modulus index out of range of the context",
                });
            }
            if moduli[..k].contains(&i) {
                return Err(RingError::InvalidArgument {
                    reason: "modulus index repeated",
                });
            }
        }
        Ok(())
    }
}

/// The representation of an [`RnsPoly`]'s limbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Representation {
    /// Coefficients of the polynomial.
    Coefficient,
    /// Evaluations at the odd powers of `psi`, in the order of [`NttTable::slot_exponent`].
    Ntt,
}

/// A polynomial in RNS form over an ordered list of moduli of a context (indices into it), e.g.
/// `Q_l = [0..=l]`, `P = [L+1..L+k]`, `Q_l ∪ P = [0..=l] ++ [L+1..L+k]`. Limb-major flat storage:
/// limb `i` (modulo `ctx.modulus(moduli()[i])`) is `data[i*N .. (i+1)*N]`. All values are reduced.
///
/// Every method taking a context expects the context the polynomial was built with.
#[derive(Debug, PartialEq, Eq)]
pub struct RnsPoly {
    n: usize,
    moduli: Vec<usize>,
    repr: Representation,
    data: Vec<u64>,
}

impl Clone for RnsPoly {
    /// A copy whose buffer comes from the [`crate::scratch`] pool when one fits.
    fn clone(&self) -> RnsPoly {
        RnsPoly {
            n: self.n,
            moduli: self.moduli.clone(),
            repr: self.repr,
            data: crate::scratch::take_copy(&self.data),
        }
    }
}

impl Zeroize for RnsPoly {
    /// Overwrites every coefficient with zero (the shape is kept).
    fn zeroize(&mut self) {
        self.data.as_mut_slice().zeroize();
    }
}

fn mismatch(what: &'static str, left: usize, right: usize) -> RingError {
    RingError::Mismatch { what, left, right }
}

impl RnsPoly {
    /// The zero polynomial over `moduli` (valid, distinct indices of `ctx`) in `repr`.
    pub fn zero(ctx: &RnsContext, moduli: &[usize], repr: Representation) -> RnsPoly {
        RnsPoly {
            n: ctx.degree(),
            moduli: moduli.to_vec(),
            repr,
            data: vec![0; ctx.degree() * moduli.len()],
        }
    }

    /// [`RnsPoly::zero`] on a buffer from this thread's [`crate::scratch`] pool (for
    /// temporaries of hot operations; hand it back with [`RnsPoly::recycle`]).
    pub fn zero_pooled(ctx: &RnsContext, moduli: &[usize], repr: Representation) -> RnsPoly {
        RnsPoly {
            n: ctx.degree(),
            moduli: moduli.to_vec(),
            repr,
            data: crate::scratch::take_zeroed(ctx.degree() * moduli.len()),
        }
    }

    /// A polynomial over `moduli` in `repr` whose coefficients are unspecified (stale public data
    /// or zeros from the [`crate::scratch`] pool, see [`crate::scratch::take_for_overwrite`]),
    /// for outputs whose every coefficient is written before being read. Saves the zeroing pass
    /// of [`RnsPoly::zero_pooled`].
    pub fn uninit_pooled(ctx: &RnsContext, moduli: &[usize], repr: Representation) -> RnsPoly {
        RnsPoly {
            n: ctx.degree(),
            moduli: moduli.to_vec(),
            repr,
            data: crate::scratch::take_for_overwrite(ctx.degree() * moduli.len()),
        }
    }

    /// Gives the coefficient buffer to this thread's [`crate::scratch`] pool. Only for
    /// polynomials holding public data (never secrets or decryption temporaries).
    pub fn recycle(self) {
        crate::scratch::recycle(self.data);
    }

    /// [`RnsPoly::recycle`] through a mutable reference, leaving `self` with no limbs (for
    /// `Drop` implementations of public-data containers).
    pub fn recycle_in_place(&mut self) {
        crate::scratch::recycle(std::mem::take(&mut self.data));
        self.moduli.clear();
    }

    /// Zeroizes the coefficients, then gives the (zero) buffer to this thread's
    /// [`crate::scratch`] pool, leaving `self` with no limbs. For wiping secret temporaries on
    /// drop without returning their pages to the allocator.
    pub fn wipe_and_recycle(&mut self) {
        self.data.as_mut_slice().zeroize();
        crate::scratch::recycle(std::mem::take(&mut self.data));
        self.moduli.clear();
    }

    /// Builds a polynomial from its flat limb-major data (`moduli.len() * N` values, each reduced
    /// modulo its limb's prime).
    ///
    /// Errors: [`RingError::InvalidArgument`] for bad indices or unreduced values,
    /// [`RingError::Mismatch`] for a wrong length.
    pub fn from_raw_parts(
        ctx: &RnsContext,
        moduli: &[usize],
        repr: Representation,
        data: Vec<u64>,
    ) -> RingResult<RnsPoly> {
        ctx.check_moduli(moduli)?;
        let n = ctx.degree();
        if data.len() != n * moduli.len() {
            return Err(mismatch("data length", data.len(), n * moduli.len()));
        }
        for (limb, &i) in data.chunks_exact(n).zip(moduli) {
            let p = ctx.modulus(i).value();
            if limb.iter().any(|&x| x >= p) {
                return Err(RingError::InvalidArgument {
                    reason: "value not reduced modulo its prime",
                });
            }
        }
        Ok(RnsPoly {
            n,
            moduli: moduli.to_vec(),
            repr,
            data,
        })
    }

    /// The ring degree `N`.
    #[inline]
    pub fn degree(&self) -> usize {
        self.n
    }

    /// The context indices of the limbs, in storage order.
    #[inline]
    pub fn moduli(&self) -> &[usize] {
        &self.moduli
    }

    /// The number of limbs.
    #[inline]
    pub fn num_limbs(&self) -> usize {
        self.moduli.len()
    }

    /// The current representation.
    #[inline]
    pub fn repr(&self) -> Representation {
        self.repr
    }

    /// The limb at position `i` of [`RnsPoly::moduli`] (`i < num_limbs()`, else an empty slice).
    #[inline]
    pub fn limb(&self, i: usize) -> &[u64] {
        self.data.get(i * self.n..(i + 1) * self.n).unwrap_or(&[])
    }

    /// The limb at position `i`, mutable (`i < num_limbs()`, else an empty slice). Written values
    /// must stay reduced.
    #[inline]
    pub fn limb_mut(&mut self, i: usize) -> &mut [u64] {
        let n = self.n;
        self.data.get_mut(i * n..(i + 1) * n).unwrap_or(&mut [])
    }

    /// All limbs, limb-major.
    #[inline]
    pub fn as_slice(&self) -> &[u64] {
        &self.data
    }

    /// All limbs, limb-major, mutable. Written values must stay reduced.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [u64] {
        &mut self.data
    }

    /// Coefficient-form polynomial with the given signed integer coefficients.
    ///
    /// Errors: [`RingError::Mismatch`] unless `coeffs.len() == N`; [`RingError::InvalidArgument`]
    /// for bad moduli indices.
    pub fn from_signed(ctx: &RnsContext, moduli: &[usize], coeffs: &[i64]) -> RingResult<RnsPoly> {
        ctx.check_moduli(moduli)?;
        if coeffs.len() != ctx.degree() {
            return Err(mismatch("coefficient count", coeffs.len(), ctx.degree()));
        }
        let mut data = crate::scratch::take_empty(coeffs.len() * moduli.len());
        for &i in moduli {
            let m = ctx.modulus(i);
            data.extend(coeffs.iter().map(|&c| reduce_small_i64(m, c)));
        }
        Ok(RnsPoly {
            n: ctx.degree(),
            moduli: moduli.to_vec(),
            repr: Representation::Coefficient,
            data,
        })
    }

    /// Coefficient-form polynomial from real coefficients rounded to the nearest integer (ties
    /// away from zero). Exact for every finite value: values of magnitude `>= 2^63` are split into
    /// `mantissa * 2^exponent` and reduced per limb.
    ///
    /// Errors: [`RingError::InvalidArgument`] for a NaN or infinite coefficient or bad indices;
    /// [`RingError::Mismatch`] unless `coeffs.len() == N`.
    pub fn from_f64_rounded(
        ctx: &RnsContext,
        moduli: &[usize],
        coeffs: &[f64],
    ) -> RingResult<RnsPoly> {
        ctx.check_moduli(moduli)?;
        let n = ctx.degree();
        if coeffs.len() != n {
            return Err(mismatch("coefficient count", coeffs.len(), n));
        }
        if coeffs.iter().any(|x| !x.is_finite()) {
            return Err(RingError::InvalidArgument {
                reason: "non-finite coefficient",
            });
        }
        const TWO_63: f64 = 9_223_372_036_854_775_808.0;
        // Every coefficient is written below.
        let mut out = RnsPoly::uninit_pooled(ctx, moduli, Representation::Coefficient);
        // Rounded once for all limbs (ties away from zero, as `f64::round`, without its libm
        // call); `i64::MIN` (never a rounded value below 2^63 in magnitude) marks a value of
        // magnitude `>= 2^63`, reduced per limb below.
        let rounded: Vec<i64> = coeffs
            .iter()
            .map(|&x| {
                if x.abs() < TWO_63 {
                    round_half_away(x)
                } else {
                    i64::MIN
                }
            })
            .collect();
        for (limb, &i) in out.data.chunks_exact_mut(n).zip(moduli) {
            let m = ctx.modulus(i);
            for ((o, &x), &r) in limb.iter_mut().zip(coeffs).zip(&rounded) {
                *o = match r {
                    i64::MIN => {
                        // r = ±mantissa * 2^exp with exp >= 11 (|r| >= 2^63).
                        let r = x.round();
                        let bits = r.to_bits();
                        let exp = ((bits >> 52) & 0x7ff) - 1075;
                        let mantissa = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
                        let v = m.mul(m.reduce(mantissa), m.pow(2, exp));
                        if r < 0.0 {
                            m.neg(v)
                        } else {
                            v
                        }
                    }
                    r => reduce_small_i64(m, r),
                };
            }
        }
        Ok(out)
    }

    fn for_each_limb<F>(&mut self, ctx: &RnsContext, f: F)
    where
        F: Fn(&RnsContext, usize, &mut [u64]) + Sync + Send,
    {
        let n = self.n;
        if n * self.moduli.len() >= PARALLEL_THRESHOLD && self.moduli.len() > 1 {
            self.data
                .par_chunks_exact_mut(n)
                .zip(self.moduli.par_iter())
                .for_each(|(limb, &i)| f(ctx, i, limb));
        } else {
            for (limb, &i) in self.data.chunks_exact_mut(n).zip(&self.moduli) {
                f(ctx, i, limb);
            }
        }
    }

    /// Converts to NTT form (no-op if already there). Limbs run in parallel on the current rayon
    /// pool when `N * limbs >= PARALLEL_THRESHOLD`.
    pub fn to_ntt(&mut self, ctx: &RnsContext) {
        if self.repr == Representation::Ntt {
            return;
        }
        self.for_each_limb(ctx, |c, i, limb| c.ntt(i).forward(limb));
        self.repr = Representation::Ntt;
    }

    /// Converts to coefficient form (no-op if already there). Parallel like [`RnsPoly::to_ntt`].
    pub fn to_coeff(&mut self, ctx: &RnsContext) {
        if self.repr == Representation::Coefficient {
            return;
        }
        self.for_each_limb(ctx, |c, i, limb| c.ntt(i).inverse(limb));
        self.repr = Representation::Coefficient;
    }

    /// A coefficient-form copy on a pooled buffer (see [`RnsPoly::uninit_pooled`]): each limb is
    /// copied and, from NTT form, inverse-transformed while in cache, limbs in parallel like
    /// [`RnsPoly::to_coeff`].
    pub fn to_coeff_pooled(&self, ctx: &RnsContext) -> RnsPoly {
        let mut out = RnsPoly::uninit_pooled(ctx, &self.moduli, Representation::Coefficient);
        let n = self.n;
        let ntt = self.repr == Representation::Ntt;
        let work = |((dst, src), &i): ((&mut [u64], &[u64]), &usize)| {
            dst.copy_from_slice(src);
            if ntt {
                ctx.ntt(i).inverse(dst);
            }
        };
        if n * self.moduli.len() >= PARALLEL_THRESHOLD && self.moduli.len() > 1 {
            out.data
                .par_chunks_exact_mut(n)
                .zip(self.data.par_chunks_exact(n))
                .zip(self.moduli.par_iter())
                .for_each(work);
        } else {
            out.data
                .chunks_exact_mut(n)
                .zip(self.data.chunks_exact(n))
                .zip(&self.moduli)
                .for_each(work);
        }
        out
    }

    /// Checks that `other` has the same degree, moduli and representation.
    ///
    /// Errors: [`RingError::Mismatch`] naming the first difference.
    pub fn check_compatible(&self, other: &RnsPoly) -> RingResult<()> {
        if self.n != other.n {
            return Err(mismatch("degree", self.n, other.n));
        }
        if self.moduli != other.moduli {
            return Err(mismatch("moduli", self.num_limbs(), other.num_limbs()));
        }
        if self.repr != other.repr {
            return Err(mismatch(
                "representation (0 = coefficient, 1 = NTT)",
                self.repr as usize,
                other.repr as usize,
            ));
        }
        Ok(())
    }

    fn zip_limbs<F>(&mut self, ctx: &RnsContext, other: &RnsPoly, f: F)
    where
        F: Fn(&Modulus, &mut [u64], &[u64]),
    {
        let n = self.n;
        for ((a, b), &i) in self
            .data
            .chunks_exact_mut(n)
            .zip(other.data.chunks_exact(n))
            .zip(&self.moduli)
        {
            f(ctx.modulus(i), a, b);
        }
    }

    /// `self += other` (same moduli and representation).
    ///
    /// Errors: [`RingError::Mismatch`] when the shapes differ.
    pub fn add_assign(&mut self, ctx: &RnsContext, other: &RnsPoly) -> RingResult<()> {
        self.check_compatible(other)?;
        self.zip_limbs(ctx, other, |m, a, b| m.add_assign_slice(a, b));
        Ok(())
    }

    /// `self -= other` (same moduli and representation).
    ///
    /// Errors: [`RingError::Mismatch`] when the shapes differ.
    pub fn sub_assign(&mut self, ctx: &RnsContext, other: &RnsPoly) -> RingResult<()> {
        self.check_compatible(other)?;
        self.zip_limbs(ctx, other, |m, a, b| m.sub_assign_slice(a, b));
        Ok(())
    }

    /// `self = -self`, any representation.
    pub fn neg_assign(&mut self, ctx: &RnsContext) {
        let n = self.n;
        for (a, &i) in self.data.chunks_exact_mut(n).zip(&self.moduli) {
            ctx.modulus(i).neg_assign_slice(a);
        }
    }

    /// `self *= other`, both in NTT form over the same moduli.
    ///
    /// Errors: [`RingError::WrongRepresentation`] unless both are NTT; [`RingError::Mismatch`].
    pub fn mul_assign(&mut self, ctx: &RnsContext, other: &RnsPoly) -> RingResult<()> {
        self.check_compatible(other)?;
        self.require_ntt("mul_assign")?;
        self.zip_limbs(ctx, other, |m, a, b| m.mul_assign_slice(a, b));
        Ok(())
    }

    /// `self += a * b`, all three in NTT form over the same moduli.
    ///
    /// Errors: [`RingError::WrongRepresentation`] unless all are NTT; [`RingError::Mismatch`].
    pub fn mul_add_assign(&mut self, ctx: &RnsContext, a: &RnsPoly, b: &RnsPoly) -> RingResult<()> {
        self.check_compatible(a)?;
        self.check_compatible(b)?;
        self.require_ntt("mul_add_assign")?;
        let n = self.n;
        for (((z, x), y), &i) in self
            .data
            .chunks_exact_mut(n)
            .zip(a.data.chunks_exact(n))
            .zip(b.data.chunks_exact(n))
            .zip(&self.moduli)
        {
            ctx.modulus(i).mul_add_assign_slice(z, x, y);
        }
        Ok(())
    }

    fn require_ntt(&self, operation: &'static str) -> RingResult<()> {
        if self.repr != Representation::Ntt {
            return Err(RingError::WrongRepresentation {
                operation,
                expected: "NTT",
            });
        }
        Ok(())
    }

    fn require_coeff(&self, operation: &'static str) -> RingResult<()> {
        if self.repr != Representation::Coefficient {
            return Err(RingError::WrongRepresentation {
                operation,
                expected: "coefficient",
            });
        }
        Ok(())
    }

    /// `self *= c` for an exact integer `c`, any representation.
    pub fn mul_scalar_assign(&mut self, ctx: &RnsContext, c: i64) {
        let n = self.n;
        for (a, &i) in self.data.chunks_exact_mut(n).zip(&self.moduli) {
            let m = ctx.modulus(i);
            m.mul_scalar_assign_slice(a, m.reduce_i64(c));
        }
    }

    /// Multiplies limb `i` by `per_limb[i]` (reduced modulo that limb's prime; larger values are
    /// reduced first), any representation.
    ///
    /// Errors: [`RingError::Mismatch`] unless `per_limb.len() == num_limbs()`.
    pub fn mul_rns_scalar_assign(&mut self, ctx: &RnsContext, per_limb: &[u64]) -> RingResult<()> {
        if per_limb.len() != self.num_limbs() {
            return Err(mismatch("limb count", self.num_limbs(), per_limb.len()));
        }
        let n = self.n;
        for ((a, &i), &c) in self
            .data
            .chunks_exact_mut(n)
            .zip(&self.moduli)
            .zip(per_limb)
        {
            let m = ctx.modulus(i);
            m.mul_scalar_assign_slice(a, m.reduce(c));
        }
        Ok(())
    }

    /// Keeps only the first `k` limbs (no-op when `k >= num_limbs()`).
    pub fn truncate_limbs(&mut self, k: usize) {
        if k < self.moduli.len() {
            self.moduli.truncate(k);
            self.data.truncate(k * self.n);
        }
    }

    /// The sub-polynomial made of the limbs at these positions (e.g. one decomposition digit).
    /// The range is clipped to `0..num_limbs()`.
    pub fn select_limbs(&self, positions: std::ops::Range<usize>) -> RnsPoly {
        let end = positions.end.min(self.num_limbs());
        let start = positions.start.min(end);
        RnsPoly {
            n: self.n,
            moduli: self.moduli[start..end].to_vec(),
            repr: self.repr,
            data: crate::scratch::take_copy(&self.data[start * self.n..end * self.n]),
        }
    }

    /// Center-lifts coefficient-form limbs to `i128` via CRT (for decoding): the representative
    /// in `(-Q/2, Q/2]` of each coefficient, `Q` the product of the moduli.
    ///
    /// Errors: [`RingError::WrongRepresentation`] in NTT form; [`RingError::InvalidArgument`]
    /// when `Q >= 2^126`.
    pub fn to_centered_i128(&self, ctx: &RnsContext) -> RingResult<Vec<i128>> {
        self.require_coeff("to_centered_i128")?;
        let values: Vec<u64> = self
            .moduli
            .iter()
            .map(|&i| ctx.modulus(i).value())
            .collect();
        let crt = crt::SmallCrt::new(&values)?;
        let mut out = vec![0i128; self.n];
        let mut residues = vec![0u64; self.num_limbs()];
        for (c, o) in out.iter_mut().enumerate() {
            for (k, r) in residues.iter_mut().enumerate() {
                *r = self.data[k * self.n + c];
            }
            *o = crt.centered(&residues);
        }
        Ok(out)
    }

    /// CRT-reconstructs each coefficient, centered in `(-Q/2, Q/2]`, and returns it as `f64`
    /// (correctly rounded up to a few ulps) for any number of limbs.
    ///
    /// Errors: [`RingError::WrongRepresentation`] in NTT form; [`RingError::InvalidArgument`]
    /// for a polynomial without limbs.
    pub fn to_centered_f64(&self, ctx: &RnsContext) -> RingResult<Vec<f64>> {
        self.require_coeff("to_centered_f64")?;
        let values: Vec<u64> = self
            .moduli
            .iter()
            .map(|&i| ctx.modulus(i).value())
            .collect();
        let crt = crt::BigCrt::new(&values)?;
        let mut out = vec![0f64; self.n];
        let mut residues = vec![0u64; self.num_limbs()];
        let mut scratch = crt.scratch();
        for (c, o) in out.iter_mut().enumerate() {
            for (k, r) in residues.iter_mut().enumerate() {
                *r = self.data[k * self.n + c];
            }
            *o = crt.centered_f64(&residues, &mut scratch);
        }
        Ok(out)
    }

    /// Applies an NTT-form automorphism permutation (from
    /// [`crate::galois::automorphism_permutation`]) into `out`: `out[j] = self[perm[j]]` per limb.
    ///
    /// Errors: [`RingError::WrongRepresentation`] unless both are NTT; [`RingError::Mismatch`]
    /// when `out` has other moduli or `perm.len() != N`; [`RingError::InvalidArgument`] for a
    /// permutation entry `>= N`.
    pub fn automorphism_ntt(&self, perm: &[usize], out: &mut RnsPoly) -> RingResult<()> {
        self.require_ntt("automorphism_ntt")?;
        out.check_compatible(self)?;
        if perm.len() != self.n {
            return Err(mismatch("permutation length", perm.len(), self.n));
        }
        if perm.iter().any(|&j| j >= self.n) {
            return Err(RingError::InvalidArgument {
                reason: "permutation entry out of range",
            });
        }
        let n = self.n;
        for (o, src) in out.data.chunks_exact_mut(n).zip(self.data.chunks_exact(n)) {
            for (x, &j) in o.iter_mut().zip(perm) {
                *x = src[j];
            }
        }
        Ok(())
    }
}

/// `x` rounded to the nearest integer, ties away from zero (`f64::round`), for `|x| < 2^63`:
/// the truncation is exact and so is `x - trunc(x)` (for `|x| >= 2^52` both are `x` and 0).
#[inline]
fn round_half_away(x: f64) -> i64 {
    let t = x as i64;
    let frac = x - t as f64;
    t + i64::from(frac >= 0.5) - i64::from(frac <= -0.5)
}

/// `c mod p` in `[0, p)`, with a branch-light path for `|c| < p` (error and message samples).
#[inline]
fn reduce_small_i64(m: &Modulus, c: i64) -> u64 {
    let p = m.value();
    if c.unsigned_abs() < p {
        // p < 2^61 fits an i64; the mask adds p to negative values only.
        (c + ((c >> 63) & p as i64)) as u64
    } else {
        m.reduce_i64(c)
    }
}
