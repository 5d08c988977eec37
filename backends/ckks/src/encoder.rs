//! The CKKS canonical embedding: the "special FFT" between `N/2` complex slots and the `N` real
//! coefficients of a polynomial of `Z[X]/(X^N + 1)`.
//!
//! Slot `j` holds the evaluation of the polynomial at `zeta^(5^j mod 2N)` with
//! `zeta = exp(i * pi / N)`. With this ordering the automorphism `X -> X^(5^k mod 2N)` rotates the
//! slots left by `k` (slot `j + k` moves to `j`) and `X -> X^(2N - 1)` conjugates every slot.

use hetile_backend::{Complex, Error, Result};

/// A complex number in the FFT's inner loops (plain `f64` pair with the few operations needed).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct C64 {
    re: f64,
    im: f64,
}

impl C64 {
    #[inline]
    fn add(self, o: C64) -> C64 {
        C64 {
            re: self.re + o.re,
            im: self.im + o.im,
        }
    }
    #[inline]
    fn sub(self, o: C64) -> C64 {
        C64 {
            re: self.re - o.re,
            im: self.im - o.im,
        }
    }
    #[inline]
    fn mul(self, o: C64) -> C64 {
        C64 {
            re: self.re * o.re - self.im * o.im,
            im: self.re * o.im + self.im * o.re,
        }
    }
}

/// Precomputed tables of the special FFT for one ring degree: the rotation group `5^j mod 2N`,
/// the `2N`-th roots of unity and the bit-reversal permutation of the slot indices.
#[derive(Clone, Debug)]
pub struct Encoder {
    degree: usize,
    slots: usize,
    /// `5^j mod 2N` for `j < N/2`.
    rot_group: Vec<usize>,
    /// `exp(2 pi i k / 2N)` for `k in 0..=2N`.
    roots: Vec<C64>,
    /// Bit-reversal permutation of `0..N/2`.
    bit_reverse: Vec<usize>,
}

impl Encoder {
    /// Tables for ring degree `degree` (a power of two, at least 4).
    ///
    /// Errors with [`Error::InvalidParameters`] for any other degree.
    pub fn new(degree: usize) -> Result<Encoder> {
        if degree < 4 || !degree.is_power_of_two() {
            return Err(Error::InvalidParameters {
                reason: format!("encoder: ring degree {degree} must be a power of two >= 4"),
            });
        }
        let slots = degree / 2;
        let m = 2 * degree;
        let mut rot_group = Vec::with_capacity(slots);
        let mut g = 1usize;
        for _ in 0..slots {
            rot_group.push(g);
            g = (g * 5) % m;
        }
        let roots = (0..=m)
            .map(|k| {
                let angle = 2.0 * std::f64::consts::PI * k as f64 / m as f64;
                C64 {
                    re: angle.cos(),
                    im: angle.sin(),
                }
            })
            .collect();
        let bits = slots.trailing_zeros();
        let bit_reverse = (0..slots)
            .map(|i| {
                if bits == 0 {
                    0
                } else {
                    i.reverse_bits() >> (usize::BITS - bits)
                }
            })
            .collect();
        Ok(Encoder {
            degree,
            slots,
            rot_group,
            roots,
            bit_reverse,
        })
    }

    /// The ring degree N.
    pub fn degree(&self) -> usize {
        self.degree
    }

    /// The number of complex slots, N/2.
    pub fn slots(&self) -> usize {
        self.slots
    }

    fn bit_reverse_in_place(&self, vals: &mut [C64]) {
        for (i, &j) in self.bit_reverse.iter().enumerate() {
            if i < j {
                vals.swap(i, j);
            }
        }
    }

    /// Evaluation: `vals[j] <- sum_i vals[i] * zeta^(5^j * i)` (coefficients to slots).
    fn fft_special(&self, vals: &mut [C64]) {
        let n = self.slots;
        let m = 2 * self.degree;
        self.bit_reverse_in_place(vals);
        let mut len = 2;
        while len <= n {
            let lenh = len / 2;
            let lenq = len * 4;
            let step = m / lenq;
            for i in (0..n).step_by(len) {
                for j in 0..lenh {
                    let idx = (self.rot_group[j] % lenq) * step;
                    let u = vals[i + j];
                    let v = vals[i + j + lenh].mul(self.roots[idx]);
                    vals[i + j] = u.add(v);
                    vals[i + j + lenh] = u.sub(v);
                }
            }
            len *= 2;
        }
    }

    /// Interpolation: the exact inverse of [`Encoder::fft_special`] (slots to coefficients).
    fn fft_special_inv(&self, vals: &mut [C64]) {
        let n = self.slots;
        let m = 2 * self.degree;
        let mut len = n;
        while len >= 2 {
            let lenh = len / 2;
            let lenq = len * 4;
            let step = m / lenq;
            for i in (0..n).step_by(len) {
                for j in 0..lenh {
                    let idx = (lenq - (self.rot_group[j] % lenq)) * step;
                    let a = vals[i + j];
                    let b = vals[i + j + lenh];
                    vals[i + j] = a.add(b);
                    vals[i + j + lenh] = a.sub(b).mul(self.roots[idx]);
                }
            }
            len /= 2;
        }
        self.bit_reverse_in_place(vals);
        let inv = 1.0 / n as f64;
        for v in vals.iter_mut() {
            v.re *= inv;
            v.im *= inv;
        }
    }

    /// The `N` real coefficients (already multiplied by `scale`, not rounded) of the polynomial
    /// whose slots are `values` (zero-padded to N/2).
    ///
    /// Errors with [`Error::SlotOverflow`] when more than N/2 values are given. Values are not
    /// range-checked here: callers run `hetile_backend::check_encodable` first.
    pub fn slots_to_coeffs(&self, values: &[Complex], scale: f64) -> Result<Vec<f64>> {
        if values.len() > self.slots {
            return Err(Error::SlotOverflow {
                given: values.len(),
                slots: self.slots,
            });
        }
        let mut vals = vec![C64::default(); self.slots];
        for (dst, v) in vals.iter_mut().zip(values) {
            *dst = C64 { re: v.re, im: v.im };
        }
        self.fft_special_inv(&mut vals);
        let mut coeffs = vec![0.0; self.degree];
        let (lo, hi) = coeffs.split_at_mut(self.slots);
        for ((l, h), v) in lo.iter_mut().zip(hi.iter_mut()).zip(&vals) {
            *l = v.re * scale;
            *h = v.im * scale;
        }
        Ok(coeffs)
    }

    /// The N/2 complex slots of the real polynomial with coefficients `coeffs / scale`.
    ///
    /// Errors with [`Error::Internal`] unless exactly N coefficients are given.
    pub fn coeffs_to_slots(&self, coeffs: &[f64], scale: f64) -> Result<Vec<Complex>> {
        if coeffs.len() != self.degree {
            return Err(Error::Internal {
                backend: crate::NAME,
                reason: format!(
                    "decoding {} coefficients with a degree-{} encoder",
                    coeffs.len(),
                    self.degree
                ),
            });
        }
        let inv = 1.0 / scale;
        let (lo, hi) = coeffs.split_at(self.slots);
        let mut vals: Vec<C64> = lo
            .iter()
            .zip(hi)
            .map(|(&re, &im)| C64 {
                re: re * inv,
                im: im * inv,
            })
            .collect();
        self.fft_special(&mut vals);
        Ok(vals
            .into_iter()
            .map(|v| Complex { re: v.re, im: v.im })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Direct O(N^2) evaluation of the polynomial at `zeta^(5^j)`.
    fn naive_slots(coeffs: &[f64]) -> Vec<Complex> {
        let n = coeffs.len();
        let m = 2 * n;
        let mut g = 1usize;
        let mut out = Vec::new();
        for _ in 0..n / 2 {
            let mut acc = (0.0, 0.0);
            for (i, &c) in coeffs.iter().enumerate() {
                let e = (g * i) % m;
                let a = 2.0 * std::f64::consts::PI * e as f64 / m as f64;
                acc.0 += c * a.cos();
                acc.1 += c * a.sin();
            }
            out.push(Complex::new(acc.0, acc.1));
            g = g * 5 % m;
        }
        out
    }

    fn max_err(a: &[Complex], b: &[Complex]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x.re - y.re).abs().max((x.im - y.im).abs()))
            .fold(0.0, f64::max)
    }

    #[test]
    fn special_fft_matches_the_canonical_embedding() {
        let enc = Encoder::new(32).unwrap();
        let coeffs: Vec<f64> = (0..32).map(|i| ((i * 7 % 11) as f64) - 5.0).collect();
        let fast = enc.coeffs_to_slots(&coeffs, 1.0).unwrap();
        assert!(max_err(&fast, &naive_slots(&coeffs)) < 1e-9);
    }

    #[test]
    fn automorphisms_rotate_and_conjugate_slots() {
        let n = 64;
        let enc = Encoder::new(n).unwrap();
        let coeffs: Vec<f64> = (0..n).map(|i| ((i * 13 % 17) as f64) - 8.0).collect();
        let slots = enc.coeffs_to_slots(&coeffs, 1.0).unwrap();
        let apply = |g: usize| {
            let mut out = vec![0.0; n];
            for (i, &c) in coeffs.iter().enumerate() {
                let e = (i * g) % (2 * n);
                if e < n {
                    out[e] += c;
                } else {
                    out[e - n] -= c;
                }
            }
            enc.coeffs_to_slots(&out, 1.0).unwrap()
        };
        for k in [1usize, 3, 31] {
            let g = (0..k).fold(1usize, |g, _| g * 5 % (2 * n));
            let rotated = apply(g);
            let expected: Vec<Complex> = (0..n / 2).map(|j| slots[(j + k) % (n / 2)]).collect();
            assert!(max_err(&rotated, &expected) < 1e-9, "step {k}");
        }
        let conj = apply(2 * n - 1);
        let expected: Vec<Complex> = slots.iter().map(|c| Complex::new(c.re, -c.im)).collect();
        assert!(max_err(&conj, &expected) < 1e-9);
    }

    #[test]
    fn bad_inputs_are_refused() {
        assert!(Encoder::new(6).is_err());
        let enc = Encoder::new(16).unwrap();
        assert!(matches!(
            enc.slots_to_coeffs(&[Complex::default(); 9], 1.0),
            Err(Error::SlotOverflow { given: 9, slots: 8 })
        ));
        assert!(enc.coeffs_to_slots(&[0.0; 15], 1.0).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(log_n in 2u32..12, seed in any::<u64>()) {
            let n = 1usize << log_n;
            let enc = Encoder::new(n).unwrap();
            let mut x = seed | 1;
            let mut next = || {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
            };
            let values: Vec<Complex> = (0..n / 2).map(|_| Complex::new(next(), next())).collect();
            let coeffs = enc.slots_to_coeffs(&values, 1.0).unwrap();
            let back = enc.coeffs_to_slots(&coeffs, 1.0).unwrap();
            prop_assert!(max_err(&values, &back) < 1e-12);
            // Real slots give a polynomial whose slots stay real.
            let real: Vec<Complex> = values.iter().map(|v| Complex::new(v.re, 0.0)).collect();
            let back = enc.coeffs_to_slots(&enc.slots_to_coeffs(&real, 1.0).unwrap(), 1.0).unwrap();
            prop_assert!(back.iter().all(|v| v.im.abs() < 1e-12));
        }
    }
}
