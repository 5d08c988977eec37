//! Chinese-remainder reconstruction of RNS residues: exactly in `i128` for products below
//! 2^126 ([`SmallCrt`]) and as `f64` through a small fixed-width big integer ([`BigCrt`]).

use crate::error::{RingError, RingResult};
use crate::modular::Modulus;

/// `Q / q_i mod q_i` for every `i`, with its Shoup form, inverted (`(Q/q_i)^-1 mod q_i`).
fn punctured_inverses(moduli: &[Modulus]) -> RingResult<Vec<(u64, u64)>> {
    let mut out = Vec::with_capacity(moduli.len());
    for (i, m) in moduli.iter().enumerate() {
        let mut prod = 1u64;
        for (k, other) in moduli.iter().enumerate() {
            if k != i {
                prod = m.mul(prod, m.reduce(other.value()));
            }
        }
        let inv = m.inv(prod).ok_or(RingError::InvalidModulus {
            modulus: m.value(),
            reason: "moduli of one polynomial must be pairwise coprime",
        })?;
        out.push((inv, m.shoup(inv)));
    }
    Ok(out)
}

fn to_moduli(values: &[u64]) -> RingResult<Vec<Modulus>> {
    values.iter().map(|&p| Modulus::new(p)).collect()
}

/// CRT for a product of moduli `Q < 2^126`, exact in 128-bit integers.
#[derive(Clone, Debug)]
pub struct SmallCrt {
    moduli: Vec<Modulus>,
    inverses: Vec<(u64, u64)>,
    punctured: Vec<u128>,
    q: u128,
}

impl SmallCrt {
    /// Precomputes the constants for these pairwise coprime moduli.
    ///
    /// Errors: [`RingError::InvalidArgument`] when the product is `>= 2^126`;
    /// [`RingError::InvalidModulus`] for a bad or repeated modulus.
    pub fn new(values: &[u64]) -> RingResult<SmallCrt> {
        let too_big = RingError::InvalidArgument {
            reason: "product of the moduli is not below 2^126",
        };
        let mut q: u128 = 1;
        for &p in values {
            q = q.checked_mul(p as u128).ok_or(too_big.clone())?;
        }
        if q >= 1u128 << 126 {
            return Err(too_big);
        }
        let moduli = to_moduli(values)?;
        let inverses = punctured_inverses(&moduli)?;
        let punctured = values.iter().map(|&p| q / p as u128).collect();
        Ok(SmallCrt {
            moduli,
            inverses,
            punctured,
            q,
        })
    }

    /// The product `Q` of the moduli.
    pub fn product(&self) -> u128 {
        self.q
    }

    /// The representative in `(-Q/2, Q/2]` of the residues (one per modulus, each reduced).
    pub fn centered(&self, residues: &[u64]) -> i128 {
        let mut acc: u128 = 0;
        for (((m, &(w, ws)), &qh), &r) in self
            .moduli
            .iter()
            .zip(&self.inverses)
            .zip(&self.punctured)
            .zip(residues)
        {
            let y = m.mul_shoup(r, w, ws);
            acc += y as u128 * qh; // < Q each, sum < 2Q < 2^127
            if acc >= self.q {
                acc -= self.q;
            }
        }
        if acc > self.q / 2 {
            acc as i128 - self.q as i128
        } else {
            acc as i128
        }
    }
}

/// `acc += a * s` over little-endian words (wrapping at `acc.len()` words).
pub(crate) fn mul_add_scalar(acc: &mut [u64], a: &[u64], s: u64) {
    let mut carry: u64 = 0;
    for (k, z) in acc.iter_mut().enumerate() {
        let x = a.get(k).copied().unwrap_or(0);
        let t = *z as u128 + x as u128 * s as u128 + carry as u128;
        *z = t as u64;
        carry = (t >> 64) as u64;
    }
}

/// `acc -= a * s` over little-endian words (two's complement, wrapping).
pub(crate) fn mul_sub_scalar(acc: &mut [u64], a: &[u64], s: u64) {
    let mut borrow: u64 = 0;
    for (k, z) in acc.iter_mut().enumerate() {
        let x = a.get(k).copied().unwrap_or(0);
        let prod = x as u128 * s as u128 + borrow as u128;
        let (d, b) = z.overflowing_sub(prod as u64);
        *z = d;
        borrow = (prod >> 64) as u64 + b as u64;
    }
}

/// The product of `values` (skipping index `skip`) as `words` little-endian words.
pub(crate) fn big_product(values: &[u64], skip: Option<usize>, words: usize) -> Vec<u64> {
    let mut acc = vec![0u64; words];
    if let Some(first) = acc.first_mut() {
        *first = 1;
    }
    for (k, &p) in values.iter().enumerate() {
        if Some(k) != skip {
            let prev = std::mem::replace(&mut acc, vec![0u64; words]);
            mul_add_scalar(&mut acc, &prev, p);
        }
    }
    acc
}

/// Two's-complement negation in place.
fn negate(a: &mut [u64]) {
    let mut carry = 1u64;
    for z in a.iter_mut() {
        let (s, c) = (!*z).overflowing_add(carry);
        *z = s;
        carry = c as u64;
    }
}

/// Compares little-endian unsigned integers of equal length.
fn greater(a: &[u64], b: &[u64]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x > y;
        }
    }
    false
}

/// `a = b - a` for unsigned integers with `b >= a`.
fn reverse_sub(a: &mut [u64], b: &[u64]) {
    let mut borrow = 0u64;
    for (z, &y) in a.iter_mut().zip(b) {
        let (d1, b1) = y.overflowing_sub(*z);
        let (d2, b2) = d1.overflowing_sub(borrow);
        *z = d2;
        borrow = (b1 | b2) as u64;
    }
}

fn to_f64(a: &[u64]) -> f64 {
    a.iter().rev().fold(0.0f64, |acc, &w| {
        acc * 18_446_744_073_709_551_616.0 + w as f64
    })
}

/// CRT to `f64` for any number of moduli (fixed-width big integers of `len + 1` words).
#[derive(Clone, Debug)]
pub struct BigCrt {
    moduli: Vec<Modulus>,
    inverses: Vec<(u64, u64)>,
    /// `Q / q_i` as little-endian words.
    punctured: Vec<Vec<u64>>,
    q: Vec<u64>,
    q_half: Vec<u64>,
    words: usize,
}

impl BigCrt {
    /// Precomputes the constants for these pairwise coprime moduli.
    ///
    /// Errors: [`RingError::InvalidArgument`] for an empty list; [`RingError::InvalidModulus`]
    /// for a bad or repeated modulus.
    pub fn new(values: &[u64]) -> RingResult<BigCrt> {
        if values.is_empty() {
            return Err(RingError::InvalidArgument {
                reason: "CRT needs at least one modulus",
            });
        }
        let moduli = to_moduli(values)?;
        let inverses = punctured_inverses(&moduli)?;
        let words = values.len() + 1;
        let q = big_product(values, None, words);
        let punctured = (0..values.len())
            .map(|i| big_product(values, Some(i), words))
            .collect();
        let mut q_half = q.clone();
        let mut carry = 0u64;
        for z in q_half.iter_mut().rev() {
            let next = *z & 1;
            *z = (*z >> 1) | (carry << 63);
            carry = next;
        }
        Ok(BigCrt {
            moduli,
            inverses,
            punctured,
            q,
            q_half,
            words,
        })
    }

    /// A scratch buffer for [`BigCrt::centered_f64`].
    pub fn scratch(&self) -> Vec<u64> {
        vec![0u64; self.words]
    }

    /// The representative in `(-Q/2, Q/2]` of the residues, as `f64`. `scratch` comes from
    /// [`BigCrt::scratch`] (resized if needed).
    pub fn centered_f64(&self, residues: &[u64], scratch: &mut Vec<u64>) -> f64 {
        scratch.clear();
        scratch.resize(self.words, 0);
        let acc = scratch.as_mut_slice();
        let mut frac = 0.0f64;
        for (((m, &(w, ws)), qh), &r) in self
            .moduli
            .iter()
            .zip(&self.inverses)
            .zip(&self.punctured)
            .zip(residues)
        {
            let y = m.mul_shoup(r, w, ws);
            mul_add_scalar(acc, qh, y);
            frac += y as f64 / m.value() as f64;
        }
        // acc = x + v*Q with v = floor(sum y_i / q_i); subtracting round() centers it (up to an
        // error of one Q near the boundary, fixed below).
        let v = frac.round() as u64;
        mul_sub_scalar(acc, &self.q, v);
        let mut negative = acc[self.words - 1] >> 63 == 1;
        if negative {
            negate(acc);
        }
        if greater(acc, &self.q_half) {
            reverse_sub(acc, &self.q);
            negative = !negative;
        }
        let mag = to_f64(acc);
        if negative {
            -mag
        } else {
            mag
        }
    }
}
