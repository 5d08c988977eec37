//! Fast basis extension (Bajard et al.) and rounded division by a product of moduli
//! ("ModDown" of key switching, "rescale").
//!
//! Fast base conversion of `x` over `Q = prod q_i` to a prime `p`:
//! `y_i = [x_i * (Q/q_i)^-1]_{q_i}`, `result = sum_i y_i * (Q/q_i mod p) mod p`, which equals
//! `x + u*Q` for some `0 <= u < len(from)`. [`DivideRound`] removes that `u` with a floating-point
//! estimate of `u = floor(sum_i y_i / q_i)` so that its division is exactly rounded.

use crate::crt::{big_product, mul_add_scalar, mul_sub_scalar};
use crate::error::{RingError, RingResult};
use crate::modular::Modulus;
use crate::rns::{Representation, RnsContext, RnsPoly, PARALLEL_THRESHOLD};
use rayon::prelude::*;

/// Most moduli a conversion may read from (keeps the 128-bit accumulators from overflowing).
pub const MAX_SOURCE_MODULI: usize = 64;

/// Coefficients processed per block of the accumulation loop.
const BLOCK: usize = 256;

/// Distance to an integer below which the floating-point estimate of `floor(sum y_k / d_k)` is
/// re-checked exactly (its error is below `4 * 64 * 2^-53 = 2^-45`).
const AMBIGUITY: f64 = 1.0 / (1u64 << 40) as f64;

fn check_disjoint(ctx: &RnsContext, a: &[usize], b: &[usize]) -> RingResult<()> {
    ctx.check_moduli(a)?;
    ctx.check_moduli(b)?;
    if a.iter().any(|i| b.contains(i)) {
        return Err(RingError::InvalidArgument {
            reason: "the two moduli lists must be disjoint",
        });
    }
    if a.is_empty() || a.len() > MAX_SOURCE_MODULI {
        return Err(RingError::InvalidArgument {
            reason: "a conversion needs between 1 and 64 source moduli",
        });
    }
    Ok(())
}

/// Shoup-form inverses of the source moduli and the target-major `Q/q_i mod t_j` table.
type ConversionConstants = (Vec<(u64, u64)>, Vec<u64>);

/// `(Q/q_i)^-1 mod q_i` in Shoup form and `Q/q_i mod t_j` for every target `t_j` (target-major).
fn conversion_constants(
    ctx: &RnsContext,
    from: &[usize],
    to: &[usize],
) -> RingResult<ConversionConstants> {
    let punctured_mod = |m: &Modulus, skip: Option<usize>| {
        from.iter()
            .enumerate()
            .filter(|&(k, _)| Some(k) != skip)
            .fold(1u64, |acc, (_, &i)| {
                m.mul(acc, m.reduce(ctx.modulus(i).value()))
            })
    };
    let mut inv = Vec::with_capacity(from.len());
    for (k, &i) in from.iter().enumerate() {
        let m = ctx.modulus(i);
        let w = m
            .inv(punctured_mod(m, Some(k)))
            .ok_or(RingError::InvalidModulus {
                modulus: m.value(),
                reason: "moduli must be pairwise coprime",
            })?;
        inv.push((w, m.shoup(w)));
    }
    let mut hat = Vec::with_capacity(from.len() * to.len());
    for &j in to {
        let m = ctx.modulus(j);
        for k in 0..from.len() {
            hat.push(punctured_mod(m, Some(k)));
        }
    }
    Ok((inv, hat))
}

/// `out[c] = sum_i y[i][c] * w[i] (+ v[c] * neg_q) mod m` for one target limb, blockwise.
fn accumulate(
    m: &Modulus,
    y: &[u64],
    n: usize,
    w: &[u64],
    v: Option<(&[u64], u64)>,
    out: &mut [u64],
) {
    if n >= crate::modular::SIMD_MIN_LEN && crate::simd::simd_enabled() {
        if let Some(vm) = crate::simd::IfmaModulus::new(m) {
            let mut rows: Vec<&[u64]> = y.chunks_exact(n).take(w.len()).collect();
            let mut weights = w.to_vec();
            if let Some((v, neg_q)) = v {
                rows.push(v);
                weights.push(neg_q);
            }
            vm.dot_scalar_slice(&mut out[..n], &rows, &weights);
            return;
        }
    }
    let mut start = 0;
    while start < n {
        let len = BLOCK.min(n - start);
        let mut acc = [0u128; BLOCK];
        for (i, &wi) in w.iter().enumerate() {
            let yi = &y[i * n + start..i * n + start + len];
            for (a, &x) in acc.iter_mut().zip(yi) {
                *a += x as u128 * wi as u128;
            }
        }
        if let Some((v, neg_q)) = v {
            for (a, &x) in acc.iter_mut().zip(&v[start..start + len]) {
                *a += x as u128 * neg_q as u128;
            }
        }
        for (o, &a) in out[start..start + len].iter_mut().zip(&acc[..len]) {
            *o = m.reduce_u128(a);
        }
        start += len;
    }
}

/// An output limb and the input limb it is computed from.
type LimbPair<'a> = (&'a mut [u64], &'a [u64]);

/// Fast conversion of coefficient-form polynomials from the moduli `from` to the moduli `to`.
#[derive(Clone, Debug)]
pub struct BasisExtender {
    from: Vec<usize>,
    to: Vec<usize>,
    inv: Vec<(u64, u64)>,
    hat: Vec<u64>,
}

impl BasisExtender {
    /// Conversion from the moduli `from` to the moduli `to` (disjoint index lists of `ctx`).
    ///
    /// Errors: [`RingError::InvalidArgument`] for bad, repeated or overlapping indices or an
    /// empty (or longer than [`MAX_SOURCE_MODULI`]) `from`.
    pub fn new(ctx: &RnsContext, from: &[usize], to: &[usize]) -> RingResult<BasisExtender> {
        check_disjoint(ctx, from, to)?;
        let (inv, hat) = conversion_constants(ctx, from, to)?;
        Ok(BasisExtender {
            from: from.to_vec(),
            to: to.to_vec(),
            inv,
            hat,
        })
    }

    /// The source moduli.
    pub fn from_moduli(&self) -> &[usize] {
        &self.from
    }

    /// The target moduli.
    pub fn to_moduli(&self) -> &[usize] {
        &self.to
    }

    /// Fast (approximate: result = `x + u*Q_from` with `0 <= u < len(from)`) extension of a
    /// coefficient-form polynomial over `from` to a coefficient-form polynomial over `to`.
    /// Output limbs run in parallel when `N * limbs >= PARALLEL_THRESHOLD`.
    ///
    /// Errors: [`RingError::WrongRepresentation`] in NTT form; [`RingError::Mismatch`] when the
    /// input's moduli are not `from`.
    pub fn extend(&self, ctx: &RnsContext, input: &RnsPoly) -> RingResult<RnsPoly> {
        if input.repr() != Representation::Coefficient {
            return Err(RingError::WrongRepresentation {
                operation: "BasisExtender::extend",
                expected: "coefficient",
            });
        }
        if input.moduli() != self.from.as_slice() {
            return Err(RingError::Mismatch {
                what: "input moduli of the basis extension",
                left: input.num_limbs(),
                right: self.from.len(),
            });
        }
        let mut out = RnsPoly::zero(ctx, &self.to, Representation::Coefficient);
        let n = ctx.degree();
        let mut limbs: Vec<&mut [u64]> = out.as_mut_slice().chunks_exact_mut(n).collect();
        self.extend_into(ctx, input.as_slice(), &mut limbs)?;
        Ok(out)
    }

    /// [`BasisExtender::extend`] without allocating the output: `input` is the concatenation of
    /// the coefficient-form limbs over `from` (`len(from) * N` words) and `out[j]` receives the
    /// limb over `to[j]` (`N` words each). Output limbs run in parallel when
    /// `N * limbs >= PARALLEL_THRESHOLD`.
    ///
    /// Errors: [`RingError::Mismatch`] when `input` or `out` has the wrong shape.
    pub fn extend_into(
        &self,
        ctx: &RnsContext,
        input: &[u64],
        out: &mut [&mut [u64]],
    ) -> RingResult<()> {
        let n = ctx.degree();
        if input.len() != self.from.len() * n {
            return Err(RingError::Mismatch {
                what: "input words of the basis extension",
                left: input.len(),
                right: self.from.len() * n,
            });
        }
        if out.len() != self.to.len() || out.iter().any(|l| l.len() != n) {
            return Err(RingError::Mismatch {
                what: "output limbs of the basis extension",
                left: out.len(),
                right: self.to.len(),
            });
        }
        let parallel = n * (self.from.len() + self.to.len()) >= PARALLEL_THRESHOLD;
        // Copied (and scaled) limb by limb below.
        let mut y = crate::scratch::take_for_overwrite(input.len());
        let scale = |((limb, src), (&i, &(w, _))): (LimbPair, (&usize, &(u64, u64)))| {
            limb.copy_from_slice(src);
            ctx.modulus(i).mul_scalar_assign_slice(limb, w);
        };
        if parallel {
            y.par_chunks_exact_mut(n)
                .zip(input.par_chunks_exact(n))
                .zip(self.from.par_iter().zip(self.inv.par_iter()))
                .for_each(scale);
        } else {
            y.chunks_exact_mut(n)
                .zip(input.chunks_exact(n))
                .zip(self.from.iter().zip(self.inv.iter()))
                .for_each(scale);
        }
        let k = self.from.len();
        let convert = |(j, (limb, &t)): (usize, (&mut &mut [u64], &usize))| {
            accumulate(
                ctx.modulus(t),
                &y,
                n,
                &self.hat[j * k..(j + 1) * k],
                None,
                limb,
            );
        };
        if parallel {
            out.par_iter_mut()
                .zip(self.to.par_iter())
                .enumerate()
                .for_each(convert);
        } else {
            out.iter_mut()
                .zip(self.to.iter())
                .enumerate()
                .for_each(convert);
        }
        crate::scratch::recycle(y);
        Ok(())
    }
}

/// Divides by the product `D` of the moduli `drop` and rounds: input over `keep ++ drop` (either
/// representation), output `round(x / D)` over `keep`, same representation as the input.
/// Rescale is this with `drop` = [last prime]; ModDown of key switching is this with `drop` = the
/// special primes.
///
/// The result is exact. With one dropped prime it is the textbook formula; with several, the
/// overflow `u` of the fast base conversion is computed as `floor(sum_k y_k / d_k)` in floating
/// point, and re-checked with multi-word integers for the (rare) coefficients whose estimate lies
/// within `2^-40` of an integer.
#[derive(Clone, Debug)]
pub struct DivideRound {
    keep: Vec<usize>,
    drop: Vec<usize>,
    input_moduli: Vec<usize>,
    /// `floor(D/2) mod d_k`.
    half_drop: Vec<u64>,
    /// `(D/d_k)^-1 mod d_k` in Shoup form.
    inv: Vec<(u64, u64)>,
    /// `1 / d_k`.
    inv_f64: Vec<f64>,
    /// `D/d_k mod p_j`, keep-major.
    hat: Vec<u64>,
    /// `-D mod p_j`.
    neg_d: Vec<u64>,
    /// `floor(D/2) mod p_j`.
    half_keep: Vec<u64>,
    /// `D^-1 mod p_j` in Shoup form.
    d_inv: Vec<(u64, u64)>,
    /// `D / d_k` and `D` as little-endian words (`len(drop) + 1` words), for the exact check.
    hat_big: Vec<Vec<u64>>,
    d_big: Vec<u64>,
}

impl DivideRound {
    /// Precomputes the division of polynomials over `keep ++ drop` by the product of `drop`.
    ///
    /// Errors: [`RingError::InvalidArgument`] for bad, repeated or overlapping indices, an empty
    /// `keep`, or an empty (or longer than [`MAX_SOURCE_MODULI`]) `drop`.
    pub fn new(ctx: &RnsContext, keep: &[usize], drop: &[usize]) -> RingResult<DivideRound> {
        check_disjoint(ctx, drop, keep)?;
        if keep.is_empty() {
            return Err(RingError::InvalidArgument {
                reason: "DivideRound needs at least one kept modulus",
            });
        }
        let (inv, hat) = conversion_constants(ctx, drop, keep)?;
        let d_mod = |m: &Modulus| {
            drop.iter()
                .fold(1u64, |acc, &i| m.mul(acc, m.reduce(ctx.modulus(i).value())))
        };
        // floor(D/2) = (D - 1)/2 for odd D.
        let half = |m: &Modulus| {
            let two_inv = m.value().div_ceil(2);
            m.mul(m.sub(d_mod(m), 1), two_inv)
        };
        let half_drop = drop.iter().map(|&i| half(ctx.modulus(i))).collect();
        let half_keep = keep.iter().map(|&j| half(ctx.modulus(j))).collect();
        let neg_d = keep
            .iter()
            .map(|&j| {
                let m = ctx.modulus(j);
                m.neg(d_mod(m))
            })
            .collect();
        let mut d_inv = Vec::with_capacity(keep.len());
        for &j in keep {
            let m = ctx.modulus(j);
            let w = m.inv(d_mod(m)).ok_or(RingError::InvalidModulus {
                modulus: m.value(),
                reason: "moduli must be pairwise coprime",
            })?;
            d_inv.push((w, m.shoup(w)));
        }
        let inv_f64 = drop
            .iter()
            .map(|&i| 1.0 / ctx.modulus(i).value() as f64)
            .collect();
        let drop_values: Vec<u64> = drop.iter().map(|&i| ctx.modulus(i).value()).collect();
        let words = drop.len() + 1;
        let hat_big = (0..drop.len())
            .map(|k| big_product(&drop_values, Some(k), words))
            .collect();
        let d_big = big_product(&drop_values, None, words);
        Ok(DivideRound {
            hat_big,
            d_big,
            keep: keep.to_vec(),
            drop: drop.to_vec(),
            input_moduli: keep.iter().chain(drop).copied().collect(),
            half_drop,
            inv,
            inv_f64,
            hat,
            neg_d,
            half_keep,
            d_inv,
        })
    }

    /// The kept moduli (those of the output).
    pub fn keep(&self) -> &[usize] {
        &self.keep
    }

    /// The dropped moduli.
    pub fn drop_moduli(&self) -> &[usize] {
        &self.drop
    }

    /// `round(x / D)` over `keep`, in the input's representation. Kept limbs run in parallel when
    /// `N * limbs >= PARALLEL_THRESHOLD`.
    ///
    /// Errors: [`RingError::Mismatch`] unless the input's moduli are `keep ++ drop`.
    pub fn apply(&self, ctx: &RnsContext, input: &RnsPoly) -> RingResult<RnsPoly> {
        self.check_input(input)?;
        let kk = self.keep.len();
        let n = ctx.degree();
        // Every kept limb is written by `divide`.
        let mut out = RnsPoly::uninit_pooled(ctx, &self.keep, input.repr());
        let (kept, dropped) = input.as_slice().split_at(kk * n);
        self.divide(ctx, dropped, Some(kept), out.as_mut_slice(), input.repr());
        Ok(out)
    }

    /// [`DivideRound::apply`] on an owned input, whose buffer becomes the output (no copy of the
    /// kept limbs).
    ///
    /// Errors: [`RingError::Mismatch`] unless the input's moduli are `keep ++ drop`.
    pub fn apply_owned(&self, ctx: &RnsContext, mut input: RnsPoly) -> RingResult<RnsPoly> {
        self.check_input(&input)?;
        let kk = self.keep.len();
        let n = ctx.degree();
        let repr = input.repr();
        let (kept, dropped) = input.as_mut_slice().split_at_mut(kk * n);
        self.divide(ctx, dropped, None, kept, repr);
        input.truncate_limbs(kk);
        Ok(input)
    }

    fn check_input(&self, input: &RnsPoly) -> RingResult<()> {
        if input.moduli() != self.input_moduli.as_slice() {
            return Err(RingError::Mismatch {
                what: "input moduli of DivideRound (keep ++ drop)",
                left: input.num_limbs(),
                right: self.input_moduli.len(),
            });
        }
        Ok(())
    }

    /// `out = (x - ext(dropped)) * D^-1` over `keep` (`out` holds the kept limbs, limb-major),
    /// `x` being `kept` (the kept limbs of the input) or, when `None`, `out` itself; `dropped`
    /// holds the input's dropped limbs (all in the representation `repr`).
    fn divide(
        &self,
        ctx: &RnsContext,
        dropped: &[u64],
        kept: Option<&[u64]>,
        out: &mut [u64],
        repr: Representation,
    ) {
        let n = ctx.degree();
        let (kk, kd) = (self.keep.len(), self.drop.len());
        let parallel = n * (kk + kd) >= PARALLEL_THRESHOLD;
        let single = kd == 1;

        // y_k = [(x_k + floor(D/2)) * (D/d_k)^-1]_{d_k} in coefficient form.
        // Copied limb by limb in the (parallel) preparation.
        let mut y = crate::scratch::take_for_overwrite(dropped.len());
        let prepare = |((limb, src), (k, &i)): (LimbPair, (usize, &usize))| {
            limb.copy_from_slice(src);
            if repr == Representation::Ntt {
                ctx.ntt(i).inverse(limb);
            }
            let m = ctx.modulus(i);
            let h = self.half_drop[k];
            let p = m.value();
            for x in limb.iter_mut() {
                *x = sub_mod(p, *x, p - h);
            }
            if !single {
                m.mul_scalar_assign_slice(limb, self.inv[k].0);
            }
        };
        if parallel {
            y.par_chunks_exact_mut(n)
                .zip(dropped.par_chunks_exact(n))
                .zip(self.drop.par_iter().enumerate())
                .for_each(prepare);
        } else {
            y.chunks_exact_mut(n)
                .zip(dropped.chunks_exact(n))
                .zip(self.drop.iter().enumerate())
                .for_each(prepare);
        }
        // v = floor(sum_k y_k / d_k), the multiple of D the fast conversion adds.
        // Every entry is written below.
        let mut v = crate::scratch::take_for_overwrite(if single { 0 } else { n });
        if !single {
            let words = kd + 1;
            let mut big = vec![0u64; words];
            for (c, vc) in v.iter_mut().enumerate() {
                // Signed conversions (y_k < d_k < 2^61 and 0 <= f < kd: the same values and
                // roundings as unsigned ones): x86-64 converts i64 <-> f64 in one instruction,
                // u64 only by a branchy sequence.
                let f: f64 = (0..kd)
                    .map(|k| y[k * n + c] as i64 as f64 * self.inv_f64[k])
                    .sum();
                // f >= 0: truncation is floor, and f + 0.5 truncated is the nearest integer
                // whenever f lies within AMBIGUITY of one.
                let r = (f + 0.5) as i64 as u64;
                if (f - r as i64 as f64).abs() > AMBIGUITY {
                    *vc = f as i64 as u64;
                    continue;
                }
                // The true value is r or r - 1: compare sum_k y_k * (D/d_k) with r * D.
                big.fill(0);
                for (k, hat) in self.hat_big.iter().enumerate() {
                    mul_add_scalar(&mut big, hat, y[k * n + c]);
                }
                mul_sub_scalar(&mut big, &self.d_big, r);
                *vc = if big[words - 1] >> 63 == 1 {
                    r.saturating_sub(1)
                } else {
                    r
                };
            }
        }

        let finish = |(j, (limb, &t)): (usize, (&mut [u64], &usize))| {
            let m = ctx.modulus(t);
            let p = m.value();
            // Written in full by the copy or by `accumulate`.
            let mut ext = crate::scratch::take_for_overwrite(n);
            if single {
                // y < d_0 < 2^61: the product by one is its canonical residue modulo t.
                ext.copy_from_slice(&y[..n]);
                m.mul_scalar_assign_slice(&mut ext, 1);
            } else {
                accumulate(
                    m,
                    &y,
                    n,
                    &self.hat[j * kd..(j + 1) * kd],
                    Some((&v, self.neg_d[j])),
                    &mut ext,
                );
            }
            // x' - [x']_D = x - ([x']_D - floor(D/2)), the offset being added to every
            // coefficient (not a constant polynomial), so it is removed before the NTT.
            let h = self.half_keep[j];
            for e in ext.iter_mut() {
                *e = sub_mod(p, *e, h);
            }
            if repr == Representation::Ntt {
                ctx.ntt(t).forward(&mut ext);
            }
            match kept {
                Some(src) => {
                    for ((x, &a), &e) in limb.iter_mut().zip(&src[j * n..(j + 1) * n]).zip(&ext) {
                        *x = sub_mod(p, a, e);
                    }
                }
                None => {
                    for (x, &e) in limb.iter_mut().zip(&ext) {
                        *x = sub_mod(p, *x, e);
                    }
                }
            }
            m.mul_scalar_assign_slice(limb, self.d_inv[j].0);
            crate::scratch::recycle(ext);
        };
        if parallel {
            out.par_chunks_exact_mut(n)
                .zip(self.keep.par_iter())
                .enumerate()
                .for_each(finish);
        } else {
            out.chunks_exact_mut(n)
                .zip(self.keep.iter())
                .enumerate()
                .for_each(finish);
        }
        crate::scratch::recycle(y);
        crate::scratch::recycle(v);
    }
}

/// `a - b mod p` for `a, b < p < 2^63`, branch-free.
#[inline]
fn sub_mod(p: u64, a: u64, b: u64) -> u64 {
    let d = a.wrapping_sub(b);
    d.wrapping_add(p & 0u64.wrapping_sub(d >> 63))
}
