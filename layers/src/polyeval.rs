//! Depth-optimal evaluation of a [`ChebyshevSeries`] on one ciphertext: baby-step giant-step
//! in the Chebyshev basis (the Paterson-Stockmeyer split `p = q T_n + r`).
//!
//! With `2^l >= d + 1` and baby-step size `m = 2^ceil(l / 2)`, the baby steps `T_1..T_m` and
//! the giant steps `T_{2m}, T_{4m}, ...` are built by `T_2k = 2 T_k^2 - 1` and
//! `T_(i+j) = 2 T_i T_j - T_(i-j)`, each at depth `ceil(log2 k)`; leaves (degree `< m`) are
//! linear combinations of baby steps whose coefficient products land on an exact target level
//! and scale, so every addition is aligned without extra levels. Total depth:
//! `ceil(log2(d + 1)) + 1`, plus one for the range map. The output has exactly the input's scale.
//!
//! The algorithm is written once over a small arithmetic trait; [`poly_cost`] runs it on a symbolic
//! arithmetic that only counts, so the reported costs are those of the real run.

use crate::error::{LayerError, Result};
use crate::poly::ChebyshevSeries;
use hetile_backend::{Backend, Error as BackendError, Evaluator, Level, Meta, Scale};
use hetile_tiles::OpCost;
use rayon::prelude::*;
use std::cell::Cell;

/// The arithmetic the evaluator needs (one ciphertext or a symbolic stand-in).
pub(crate) trait Arith {
    /// A value.
    type V: Clone;
    /// Its level.
    fn level(&self, v: &Self::V) -> usize;
    /// Its scale.
    fn scale(&self, v: &Self::V) -> f64;
    /// The prime at `level`.
    fn prime(&self, level: usize) -> Result<f64>;
    /// `a * b` at the lower level, relinearized and rescaled.
    fn mul(&self, a: &Self::V, b: &Self::V) -> Result<Self::V>;
    /// `2 a`, exactly.
    fn double(&self, a: &Self::V) -> Result<Self::V>;
    /// `a + c`.
    fn add_scalar(&self, a: &Self::V, c: f64) -> Result<Self::V>;
    /// `a + b` (same level and scale).
    fn add(&self, a: &Self::V, b: &Self::V) -> Result<Self::V>;
    /// `a - b` (same level and scale).
    fn sub(&self, a: &Self::V, b: &Self::V) -> Result<Self::V>;
    /// `c a` landing exactly at `level` and `scale`: `a` is dropped to `level + 1`, multiplied
    /// by `c` encoded at `scale * q_(level+1) / scale(a)`, and rescaled.
    fn mul_const_to(&self, a: &Self::V, c: f64, level: usize, scale: f64) -> Result<Self::V>;
}

fn exhausted(level: usize) -> LayerError {
    LayerError::Backend(BackendError::LevelExhausted {
        op: "polynomial evaluation",
        level: Level(level),
    })
}

struct Bsgs<'a, A: Arith> {
    ar: &'a A,
    /// Baby steps: `baby[i] = T_i` for `1 <= i <= m` (index 0 unused).
    baby: Vec<Option<A::V>>,
    /// Giant steps: `giant[j] = T_(m 2^j)`.
    giant: Vec<A::V>,
    m: usize,
}

impl<'a, A: Arith> Bsgs<'a, A> {
    fn baby(&self, i: usize) -> Result<&A::V> {
        self.baby
            .get(i)
            .and_then(Option::as_ref)
            .ok_or_else(|| LayerError::InvalidParameter {
                layer: "polynomial",
                reason: format!("baby step T_{i} missing"),
            })
    }

    /// `2 a^2 - 1`.
    fn double_angle(ar: &A, a: &A::V) -> Result<A::V> {
        let sq = ar.mul(a, a)?;
        ar.add_scalar(&ar.double(&sq)?, -1.0)
    }

    fn build(ar: &'a A, t: A::V, m: usize, k: usize) -> Result<Self> {
        let mut baby: Vec<Option<A::V>> = vec![None; m + 1];
        baby[1] = Some(t);
        let mut me = Bsgs {
            ar,
            baby,
            giant: Vec::new(),
            m,
        };
        for i in 2..=m {
            let v = if i.is_power_of_two() {
                Self::double_angle(ar, me.baby(i / 2)?)?
            } else {
                let hi = 1usize << (usize::BITS - 1 - i.leading_zeros());
                let lo = i - hi;
                let prod = ar.double(&ar.mul(me.baby(hi)?, me.baby(lo)?)?)?;
                let diff = me.baby(hi - lo)?;
                let aligned = ar.mul_const_to(diff, 1.0, ar.level(&prod), ar.scale(&prod))?;
                ar.sub(&prod, &aligned)?
            };
            me.baby[i] = Some(v);
        }
        if k >= 1 {
            let mut g = me.baby(m)?.clone();
            me.giant.push(g.clone());
            for _ in 1..k {
                g = Self::double_angle(ar, &g)?;
                me.giant.push(g.clone());
            }
        }
        Ok(me)
    }

    /// A leaf `sum_(i < m) c_i T_i` at exactly `level` and `scale`.
    fn leaf(&self, coeffs: &[f64], level: usize, scale: f64) -> Result<A::V> {
        let mut acc: Option<A::V> = None;
        for (i, &c) in coeffs.iter().enumerate().skip(1) {
            if c == 0.0 {
                continue;
            }
            let term = self.ar.mul_const_to(self.baby(i)?, c, level, scale)?;
            acc = Some(match acc {
                None => term,
                Some(a) => self.ar.add(&a, &term)?,
            });
        }
        let acc = match acc {
            Some(a) => a,
            None => self.ar.mul_const_to(self.baby(1)?, 0.0, level, scale)?,
        };
        match coeffs.first() {
            Some(&c0) if c0 != 0.0 => self.ar.add_scalar(&acc, c0),
            _ => Ok(acc),
        }
    }

    /// `sum c_i T_i` (fewer than `m 2^k` coefficients) at exactly `level` and `scale`.
    fn eval(&self, coeffs: &[f64], k: usize, level: usize, scale: f64) -> Result<A::V> {
        if k == 0 || coeffs.len() <= self.m {
            return self.leaf(coeffs, level, scale);
        }
        let n = self.m << (k - 1);
        if coeffs.len() <= n {
            return self.eval(coeffs, k - 1, level, scale);
        }
        // p = q T_n + r with q_0 = c_n, q_j = 2 c_(n+j), r_i = c_i - c_(2n-i).
        let at = |i: usize| coeffs.get(i).copied().unwrap_or(0.0);
        let q: Vec<f64> = (0..n)
            .map(|j| if j == 0 { at(n) } else { 2.0 * at(n + j) })
            .collect();
        let r: Vec<f64> = (0..n)
            .map(|i| if i == 0 { at(0) } else { at(i) - at(2 * n - i) })
            .collect();
        let g = self
            .giant
            .get(k - 1)
            .ok_or_else(|| LayerError::InvalidParameter {
                layer: "polynomial",
                reason: format!("giant step {} missing", k - 1),
            })?;
        let q_scale = scale * self.ar.prime(level + 1)? / self.ar.scale(g);
        let qv = self.eval(&q, k - 1, level + 1, q_scale)?;
        let prod = self.ar.mul(&qv, g)?;
        if r.iter().all(|&c| c == 0.0) {
            return Ok(prod);
        }
        let rv = self.eval(&r, k - 1, level, scale)?;
        self.ar.add(&prod, &rv)
    }
}

/// `p(x)` on the arithmetic `ar`, at level `level(x) - series.depth()` and exactly the scale
/// of `x`. Errors: [`BackendError::LevelExhausted`] (wrapped) when `x` has too few levels,
/// and the arithmetic's errors.
pub(crate) fn evaluate<A: Arith>(ar: &A, x: &A::V, series: &ChebyshevSeries) -> Result<A::V> {
    let depth = series.depth();
    let lx = ar.level(x);
    let out_level = lx.checked_sub(depth).ok_or_else(|| exhausted(lx))?;
    let out_scale = ar.scale(x);
    let t = if series.is_unit_range() {
        x.clone()
    } else {
        let (alpha, beta) = series.affine();
        let y = ar.mul_const_to(x, alpha, lx - 1, out_scale)?;
        ar.add_scalar(&y, beta)?
    };
    let coeffs = series.coeffs();
    let d = series.degree();
    if d == 0 {
        let z = ar.mul_const_to(&t, 0.0, out_level, out_scale)?;
        return ar.add_scalar(&z, coeffs[0]);
    }
    let l = (d + 1).next_power_of_two().trailing_zeros() as usize;
    let m = 1usize << l.div_ceil(2);
    let k = l - l.div_ceil(2);
    let bsgs = Bsgs::build(ar, t, m, k)?;
    bsgs.eval(coeffs, k, out_level, out_scale)
}

/// The arithmetic of a group of ciphertexts sharing one level and scale (the tiles of a
/// tensor): every operation applies to all of them, and each constant is encoded once.
pub(crate) struct CtArith<'a, B: Backend> {
    /// The evaluator.
    pub(crate) ev: &'a B::Evaluator,
}

type Tiles<B> = Vec<<B as Backend>::Ciphertext>;

impl<B: Backend> CtArith<'_, B> {
    fn each(
        &self,
        a: &Tiles<B>,
        f: impl Fn(&B::Ciphertext) -> std::result::Result<B::Ciphertext, BackendError> + Sync,
    ) -> Result<Tiles<B>> {
        Ok(a.par_iter()
            .with_min_len(hetile_tiles::seq_min_len::<B>())
            .map(&f)
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }
    fn zip(
        &self,
        a: &Tiles<B>,
        b: &Tiles<B>,
        f: impl Fn(&B::Ciphertext, &B::Ciphertext) -> std::result::Result<B::Ciphertext, BackendError>
            + Sync,
    ) -> Result<Tiles<B>> {
        if a.len() != b.len() {
            return Err(LayerError::InvalidParameter {
                layer: "polynomial",
                reason: format!("{} and {} tiles", a.len(), b.len()),
            });
        }
        Ok(a.par_iter()
            .with_min_len(hetile_tiles::seq_min_len::<B>())
            .zip(b.par_iter())
            .map(|(x, y)| f(x, y))
            .collect::<std::result::Result<Vec<_>, _>>()?)
    }
}

impl<B: Backend> Arith for CtArith<'_, B> {
    type V = Tiles<B>;
    fn level(&self, v: &Tiles<B>) -> usize {
        v.first().map_or(0, |t| t.level().0)
    }
    fn scale(&self, v: &Tiles<B>) -> f64 {
        v.first().map_or(1.0, |t| t.scale().value())
    }
    fn prime(&self, level: usize) -> Result<f64> {
        let params = self.ev.params();
        params
            .prime_at(Level(level))
            .map(|q| q as f64)
            .ok_or(LayerError::Backend(BackendError::InvalidLevel {
                requested: Level(level),
                max: params.max_level(),
            }))
    }
    fn mul(&self, a: &Tiles<B>, b: &Tiles<B>) -> Result<Tiles<B>> {
        self.zip(a, b, |x, y| {
            let (mut x, mut y) = (x.clone(), y.clone());
            self.ev.match_levels(&mut x, &mut y)?;
            let mut p = self.ev.mul(&x, &y)?;
            self.ev.rescale_assign(&mut p)?;
            Ok(p)
        })
    }
    fn double(&self, a: &Tiles<B>) -> Result<Tiles<B>> {
        self.each(a, |x| self.ev.mul_integer(x, 2))
    }
    fn add_scalar(&self, a: &Tiles<B>, c: f64) -> Result<Tiles<B>> {
        self.each(a, |x| self.ev.add_scalar(x, c))
    }
    fn add(&self, a: &Tiles<B>, b: &Tiles<B>) -> Result<Tiles<B>> {
        self.zip(a, b, |x, y| self.ev.add(x, y))
    }
    fn sub(&self, a: &Tiles<B>, b: &Tiles<B>) -> Result<Tiles<B>> {
        self.zip(a, b, |x, y| self.ev.sub(x, y))
    }
    fn mul_const_to(&self, a: &Tiles<B>, c: f64, level: usize, scale: f64) -> Result<Tiles<B>> {
        let top = Level(level + 1);
        let q = self.prime(level + 1)?;
        let pt_scale = Scale::new(scale * q / self.scale(a)).ok_or_else(|| {
            LayerError::Backend(BackendError::InvalidParameters {
                reason: format!("target scale 2^{:.2} does not fit", scale.log2()),
            })
        })?;
        let slots = self.ev.slots().get();
        let pt = self.ev.encode(&vec![c; slots], top, pt_scale)?;
        self.each(a, |x| {
            let x = if x.level() == top {
                x.clone()
            } else {
                self.ev.drop_to_level(x, top)?
            };
            let mut out = self.ev.mul_plain(&x, &pt)?;
            self.ev.rescale_assign(&mut out)?;
            Ok(out)
        })
    }
}

/// A symbolic arithmetic: values are levels; it counts operations.
struct Counter {
    cost: Cell<OpCost>,
}

impl Counter {
    fn bump(&self, f: impl FnOnce(&mut OpCost)) {
        let mut c = self.cost.get();
        f(&mut c);
        self.cost.set(c);
    }
}

impl Arith for Counter {
    type V = usize;
    fn level(&self, v: &usize) -> usize {
        *v
    }
    fn scale(&self, _: &usize) -> f64 {
        1.0
    }
    fn prime(&self, _: usize) -> Result<f64> {
        Ok(1.0)
    }
    fn mul(&self, a: &usize, b: &usize) -> Result<usize> {
        self.bump(|c| {
            c.ct_mults += 1;
            c.rescales += 1;
        });
        (*a.min(b)).checked_sub(1).ok_or_else(|| exhausted(0))
    }
    fn double(&self, a: &usize) -> Result<usize> {
        self.bump(|c| c.scalar_mults += 1);
        Ok(*a)
    }
    fn add_scalar(&self, a: &usize, _: f64) -> Result<usize> {
        self.bump(|c| c.additions += 1);
        Ok(*a)
    }
    fn add(&self, a: &usize, b: &usize) -> Result<usize> {
        self.bump(|c| c.additions += 1);
        if a == b {
            Ok(*a)
        } else {
            Err(LayerError::Backend(BackendError::LevelMismatch {
                left: Level(*a),
                right: Level(*b),
            }))
        }
    }
    fn sub(&self, a: &usize, b: &usize) -> Result<usize> {
        self.add(a, b)
    }
    fn mul_const_to(&self, a: &usize, _: f64, level: usize, _: f64) -> Result<usize> {
        self.bump(|c| {
            c.pt_mults += 1;
            c.rescales += 1;
        });
        if *a > level {
            Ok(level)
        } else {
            Err(exhausted(*a))
        }
    }
}

/// The exact cost of [`evaluate_ciphertext`] on one ciphertext (depth included), from a symbolic run.
/// Errors: [`LayerError::InvalidParameter`] on an internal inconsistency (never expected).
pub fn poly_cost(series: &ChebyshevSeries) -> Result<OpCost> {
    let counter = Counter {
        cost: Cell::new(OpCost::ZERO),
    };
    let start = series.depth() + 1;
    let out = evaluate(&counter, &start, series)?;
    let mut cost = counter.cost.get();
    cost.depth = start - out;
    Ok(cost)
}

/// Evaluates `series` on one ciphertext (see the module docs). The result is at
/// `level(x) - series.depth()` with exactly the scale of `x`.
///
/// Errors: [`BackendError::LevelExhausted`] when `x` has fewer levels than the depth, backend
/// errors (a missing relinearization key, a value too large to encode).
pub fn evaluate_ciphertext<B: Backend>(
    ev: &B::Evaluator,
    x: &B::Ciphertext,
    series: &ChebyshevSeries,
) -> Result<B::Ciphertext> {
    let mut out = evaluate(&CtArith::<B> { ev }, &vec![x.clone()], series)?;
    out.pop().ok_or_else(|| LayerError::InvalidParameter {
        layer: "polynomial",
        reason: "no output".into(),
    })
}

/// Evaluates `series` on every ciphertext of `tiles` (all at one level and scale), sharing
/// the encoded constants. Errors: as [`evaluate_ciphertext`].
pub fn evaluate_tiles<B: Backend>(
    ev: &B::Evaluator,
    tiles: &[B::Ciphertext],
    series: &ChebyshevSeries,
) -> Result<Vec<B::Ciphertext>> {
    evaluate(&CtArith::<B> { ev }, &tiles.to_vec(), series)
}
