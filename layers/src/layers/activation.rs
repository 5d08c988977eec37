//! [`Activation`]: elementwise polynomial activations (square, a polynomial by its
//! coefficients, Chebyshev least-squares approximations of ReLU, sigmoid, tanh and GELU).

use super::{times, Layer};
use crate::error::{LayerError, Result};
use crate::poly::{ActivationFn, ChebyshevSeries};
use crate::polyeval::{evaluate_tiles, poly_cost};
use hetile_backend::Backend;
use hetile_tiles::{plan, BinaryOp, OpPlan, Operand, TileShape, TileTensor};
use ndarray::ArrayD;

/// An elementwise activation.
#[derive(Debug, Clone, PartialEq)]
pub enum Activation {
    /// `x^2`: one ciphertext product per tile, one level.
    Square,
    /// A polynomial, given by its power-basis coefficients `c_0 + c_1 x + ...` and evaluated
    /// in the Chebyshev basis on `[-1, 1]` (exact conversion).
    Poly {
        /// Power-basis coefficients.
        coeffs: Vec<f64>,
        /// The same polynomial as a Chebyshev series.
        series: ChebyshevSeries,
    },
    /// A least-squares Chebyshev approximation of `func` of degree `degree` on a range that is
    /// set by [`Activation::fit`] (usually through `Model::calibrate`).
    Approx {
        /// The approximated function.
        func: ActivationFn,
        /// The degree of the fit.
        degree: usize,
        /// The fitted series, once the range is known.
        series: Option<ChebyshevSeries>,
    },
}

impl Activation {
    /// A polynomial from its power-basis coefficients.
    /// Errors: [`LayerError::InvalidParameter`] without coefficients or for a non-finite one.
    pub fn poly(coeffs: Vec<f64>) -> Result<Activation> {
        let series = ChebyshevSeries::from_power_basis(&coeffs)?;
        Ok(Activation::Poly { coeffs, series })
    }

    /// An approximation of `func` of degree `degree`, to be fitted on a range later.
    /// Errors: [`LayerError::InvalidParameter`] for degree 0.
    pub fn approx(func: ActivationFn, degree: usize) -> Result<Activation> {
        if degree == 0 {
            return Err(LayerError::InvalidParameter {
                layer: "activation",
                reason: "an approximation needs degree at least 1".into(),
            });
        }
        Ok(Activation::Approx {
            func,
            degree,
            series: None,
        })
    }

    /// Fits an approximation on `[a, b]` (no effect on square and plain polynomials).
    /// Errors: [`LayerError::InvalidParameter`] for an empty or non-finite range.
    pub fn fit(&mut self, a: f64, b: f64) -> Result<()> {
        if let Activation::Approx {
            func,
            degree,
            series,
        } = self
        {
            let f = *func;
            *series = Some(ChebyshevSeries::fit(|x| f.apply(x), a, b, *degree)?);
        }
        Ok(())
    }

    /// The series evaluated on ciphertexts (`None` for square).
    /// Errors: [`LayerError::NotCalibrated`] (node 0) for an approximation without a range.
    pub fn series(&self) -> Result<Option<&ChebyshevSeries>> {
        match self {
            Activation::Square => Ok(None),
            Activation::Poly { series, .. } => Ok(Some(series)),
            Activation::Approx { func, series, .. } => match series {
                Some(s) => Ok(Some(s)),
                None => Err(LayerError::NotCalibrated {
                    node: 0,
                    activation: func.name(),
                }),
            },
        }
    }

    /// The same activation evaluated on inputs already mapped onto `[-1, 1]` (the range map
    /// folded into the preceding layer): the series' coefficients on the unit range.
    /// Errors: as [`Activation::series`].
    pub fn premapped(&self) -> Result<Activation> {
        Ok(match self {
            Activation::Approx { func, degree, .. } => match self.series()? {
                Some(s) => Activation::Approx {
                    func: *func,
                    degree: *degree,
                    series: Some(ChebyshevSeries::new(s.coeffs().to_vec(), -1.0, 1.0)?),
                },
                None => self.clone(),
            },
            other => other.clone(),
        })
    }

    /// The exact function an approximation stands for (`None` for square and polynomials).
    pub fn exact_fn(&self) -> Option<ActivationFn> {
        match self {
            Activation::Approx { func, .. } => Some(*func),
            _ => None,
        }
    }

    /// The value the encrypted layer computes at `x` (the polynomial, not the exact function).
    /// Errors: as [`Activation::series`].
    pub fn value(&self, x: f64) -> Result<f64> {
        Ok(match self.series()? {
            None => x * x,
            Some(s) => match self {
                Activation::Poly { coeffs, .. } => {
                    coeffs.iter().rev().fold(0.0, |acc, &c| acc * x + c)
                }
                _ => s.eval(x),
            },
        })
    }
}

impl Layer for Activation {
    fn kind(&self) -> &'static str {
        match self {
            Activation::Square => "square",
            Activation::Poly { .. } => "poly",
            Activation::Approx { func, .. } => func.name(),
        }
    }
    fn output_dims(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }
    fn forward_plain(&self, x: &ArrayD<f64>) -> Result<ArrayD<f64>> {
        self.series()?;
        let mut out = x.clone();
        for v in out.iter_mut() {
            *v = self.value(*v)?;
        }
        Ok(out)
    }
    fn plan(&self, input: &TileShape) -> Result<OpPlan> {
        match self.series()? {
            None => Ok(plan::binary(
                input,
                input,
                BinaryOp::Mul,
                Operand::Ciphertext,
            )?),
            Some(s) => {
                let mut p = OpPlan::free(plan::add_scalar(input)?.output);
                p.cost = times(poly_cost(s)?, input.num_tiles());
                p.needs_relinearization = p.cost.ct_mults > 0;
                Ok(p)
            }
        }
    }
    fn forward<B: Backend>(&self, ev: &B::Evaluator, x: &TileTensor<B>) -> Result<TileTensor<B>> {
        match self.series()? {
            None => Ok(x.mul(ev, x)?),
            Some(s) => {
                let out = plan::add_scalar(x.shape())?.output;
                let tiles = evaluate_tiles::<B>(ev, x.tiles(), s)?;
                Ok(TileTensor::from_tiles(out, tiles)?)
            }
        }
    }
}
