//! Polynomials for activations: Chebyshev series on a range, least-squares fits of ReLU,
//! sigmoid, tanh and GELU on Chebyshev nodes, and the conversion from the power basis.
//!
//! A [`ChebyshevSeries`] on `[a, b]` is `p(x) = sum_k c_k T_k(t)` with
//! `t = (2x - a - b) / (b - a)`. It is evaluated on ciphertexts by [`crate::polyeval`] with
//! depth `ceil(log2(d + 1)) + 1`, plus one level for the map `x -> t` unless `[a, b] = [-1, 1]`.

use crate::error::{LayerError, Result};

/// A function that can be approximated by a polynomial on a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivationFn {
    /// `max(0, x)`.
    Relu,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `x * Phi(x) = x / 2 * (1 + erf(x / sqrt 2))` (ONNX `Gelu`, exact form).
    Gelu,
}

impl ActivationFn {
    /// The function's name, lower case.
    pub fn name(self) -> &'static str {
        match self {
            ActivationFn::Relu => "relu",
            ActivationFn::Sigmoid => "sigmoid",
            ActivationFn::Tanh => "tanh",
            ActivationFn::Gelu => "gelu",
        }
    }

    /// The exact function value.
    pub fn apply(self, x: f64) -> f64 {
        match self {
            ActivationFn::Relu => x.max(0.0),
            ActivationFn::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            ActivationFn::Tanh => x.tanh(),
            ActivationFn::Gelu => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
        }
    }
}

/// The error function, to about 1e-13 absolute: its Maclaurin series below |x| = 3, the
/// continued fraction of `erfc` above.
pub fn erf(x: f64) -> f64 {
    let ax = x.abs();
    let value = if ax < 3.0 {
        // erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
        let mut term = ax;
        let mut sum = ax;
        let x2 = ax * ax;
        for n in 1..200 {
            term *= -x2 / n as f64;
            let add = term / (2 * n + 1) as f64;
            sum += add;
            if add.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else if ax < 27.0 {
        // erfc(x) = exp(-x^2) / sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
        let mut k = ax;
        for n in (1..80).rev() {
            k = ax + (n as f64 / 2.0) / k;
        }
        1.0 - (-ax * ax).exp() / (std::f64::consts::PI.sqrt() * k)
    } else {
        1.0
    };
    value.copysign(x)
}

/// A Chebyshev series on `[a, b]`: `p(x) = sum_k coeffs[k] T_k((2x - a - b) / (b - a))`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChebyshevSeries {
    coeffs: Vec<f64>,
    a: f64,
    b: f64,
}

fn bad(reason: String) -> LayerError {
    LayerError::InvalidParameter {
        layer: "polynomial",
        reason,
    }
}

impl ChebyshevSeries {
    /// A series from its coefficients on `[a, b]`. Trailing zero coefficients are dropped
    /// (a zero polynomial keeps one coefficient).
    ///
    /// Errors: [`LayerError::InvalidParameter`] without coefficients, for a non-finite
    /// coefficient or bound, or unless `a < b`.
    pub fn new(coeffs: Vec<f64>, a: f64, b: f64) -> Result<ChebyshevSeries> {
        if coeffs.is_empty() {
            return Err(bad("a polynomial needs at least one coefficient".into()));
        }
        if coeffs.iter().any(|c| !c.is_finite()) || !a.is_finite() || !b.is_finite() {
            return Err(bad("coefficients and bounds must be finite".into()));
        }
        if a >= b {
            return Err(bad(format!("the range [{a}, {b}] is empty")));
        }
        let mut coeffs = coeffs;
        while coeffs.len() > 1 && coeffs.last() == Some(&0.0) {
            coeffs.pop();
        }
        Ok(ChebyshevSeries { coeffs, a, b })
    }

    /// The power-basis polynomial `sum_k power[k] x^k`, written exactly as a Chebyshev series on
    /// `[-1, 1]` (so no range map is needed). Errors: as [`ChebyshevSeries::new`].
    pub fn from_power_basis(power: &[f64]) -> Result<ChebyshevSeries> {
        if power.is_empty() {
            return Err(bad("a polynomial needs at least one coefficient".into()));
        }
        // x^n in the Chebyshev basis, built with x T_j = (T_{j+1} + T_{|j-1|}) / 2.
        let mut xn = vec![1.0];
        let mut out = vec![0.0; power.len()];
        for (n, &p) in power.iter().enumerate() {
            if n > 0 {
                let mut next = vec![0.0; xn.len() + 1];
                for (j, &c) in xn.iter().enumerate() {
                    if j == 0 {
                        next[1] += c;
                    } else {
                        next[j + 1] += c / 2.0;
                        next[j - 1] += c / 2.0;
                    }
                }
                xn = next;
            }
            for (o, &c) in out.iter_mut().zip(&xn) {
                *o += p * c;
            }
        }
        ChebyshevSeries::new(out, -1.0, 1.0)
    }

    /// The least-squares fit of `f` on `[a, b]` with a polynomial of degree `degree`, on
    /// `max(4 (degree + 1), 64)` Chebyshev nodes (by the discrete orthogonality of the
    /// Chebyshev polynomials on these nodes, the projections are the least-squares solution).
    ///
    /// Errors: as [`ChebyshevSeries::new`].
    pub fn fit(f: impl Fn(f64) -> f64, a: f64, b: f64, degree: usize) -> Result<ChebyshevSeries> {
        if a >= b || !a.is_finite() || !b.is_finite() {
            return Err(bad(format!("the range [{a}, {b}] is empty or not finite")));
        }
        let n = (4 * (degree + 1)).max(64);
        let nodes: Vec<f64> = (0..n)
            .map(|k| (std::f64::consts::PI * (k as f64 + 0.5) / n as f64).cos())
            .collect();
        let values: Vec<f64> = nodes
            .iter()
            .map(|&t| f(0.5 * (b - a) * t + 0.5 * (a + b)))
            .collect();
        let coeffs = (0..=degree)
            .map(|j| {
                let s: f64 = nodes
                    .iter()
                    .zip(&values)
                    .map(|(&t, &v)| v * (j as f64 * t.acos()).cos())
                    .sum();
                let c = 2.0 * s / n as f64;
                if j == 0 {
                    c / 2.0
                } else {
                    c
                }
            })
            .collect();
        ChebyshevSeries::new(coeffs, a, b)
    }

    /// The coefficients `c_0, ..., c_d`.
    pub fn coeffs(&self) -> &[f64] {
        &self.coeffs
    }
    /// The degree `d`.
    pub fn degree(&self) -> usize {
        self.coeffs.len() - 1
    }
    /// The range `[a, b]`.
    pub fn range(&self) -> (f64, f64) {
        (self.a, self.b)
    }
    /// The map `x -> t = alpha x + beta` onto `[-1, 1]`, as `(alpha, beta)`.
    pub fn affine(&self) -> (f64, f64) {
        let w = self.b - self.a;
        (2.0 / w, -(self.a + self.b) / w)
    }
    /// Whether the range is exactly `[-1, 1]` (no map, one level less).
    pub fn is_unit_range(&self) -> bool {
        self.a == -1.0 && self.b == 1.0
    }

    /// `p(x)` by Clenshaw's recurrence (any `x`; outside `[a, b]` the polynomial is
    /// extrapolated).
    pub fn eval(&self, x: f64) -> f64 {
        let (alpha, beta) = self.affine();
        let t = if self.is_unit_range() {
            x
        } else {
            alpha * x + beta
        };
        let (mut b1, mut b2) = (0.0, 0.0);
        for &c in self.coeffs.iter().skip(1).rev() {
            let b0 = 2.0 * t * b1 - b2 + c;
            b2 = b1;
            b1 = b0;
        }
        t * b1 - b2 + self.coeffs[0]
    }

    /// The levels [`crate::polyeval::evaluate_ciphertext`] consumes: `ceil(log2(d + 1)) + 1`, plus one for
    /// the range map unless the range is `[-1, 1]` (a constant costs 1).
    pub fn depth(&self) -> usize {
        let map = usize::from(!self.is_unit_range());
        let d = self.degree();
        if d == 0 {
            return map + 1;
        }
        let l = (d + 1).next_power_of_two().trailing_zeros() as usize;
        map + l + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        let table = [
            (0.0, 0.0),
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (3.5, 0.999_999_256_901_627_7),
            (-1.0, -0.842_700_792_949_714_9),
        ];
        for (x, want) in table {
            assert!((erf(x) - want).abs() < 1e-13, "erf({x}) = {}", erf(x));
        }
    }

    #[test]
    fn power_basis_conversion_is_exact() {
        let power = [0.5, -1.0, 0.25, 2.0, -0.125];
        let s = ChebyshevSeries::from_power_basis(&power).unwrap();
        for i in 0..=40 {
            let x = -1.5 + 3.0 * i as f64 / 40.0;
            let want: f64 = power
                .iter()
                .enumerate()
                .map(|(k, c)| c * x.powi(k as i32))
                .sum();
            assert!((s.eval(x) - want).abs() < 1e-12);
        }
        assert!(s.is_unit_range());
        assert_eq!(s.degree(), 4);
        assert_eq!(s.depth(), 3 + 1);
    }

    #[test]
    fn fits_converge_and_depth_formula() {
        for (f, deg, tol) in [
            (ActivationFn::Sigmoid, 15, 1e-4),
            (ActivationFn::Sigmoid, 31, 1e-8),
            (ActivationFn::Tanh, 31, 1e-3),
            (ActivationFn::Gelu, 15, 1e-2),
            (ActivationFn::Relu, 31, 0.08),
        ] {
            let s = ChebyshevSeries::fit(|x| f.apply(x), -5.0, 5.0, deg).unwrap();
            let err = (0..=200)
                .map(|i| -5.0 + 10.0 * i as f64 / 200.0)
                .map(|x| (s.eval(x) - f.apply(x)).abs())
                .fold(0.0, f64::max);
            println!("{} degree {deg}: max error {err:.3e}", f.name());
            assert!(err < tol, "{} degree {deg}: error {err}", f.name());
        }
        let s = ChebyshevSeries::fit(|x| x, -2.0, 3.0, 7).unwrap();
        assert_eq!(s.depth(), 1 + 3 + 1);
        assert!(ChebyshevSeries::fit(|x| x, 1.0, 1.0, 3).is_err());
        assert!(ChebyshevSeries::new(vec![], -1.0, 1.0).is_err());
    }
}
