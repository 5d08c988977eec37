//! [`Flatten`] and [`Reshape`]: per-sample shape changes that keep ONNX's row-major
//! (channel-height-width) element order. Encrypted activations already hold the features
//! flattened in that order, so both are free on ciphertexts.

use super::{check_batch, Layer};
use crate::error::{LayerError, Result};
use hetile_backend::Backend;
use hetile_tiles::{OpPlan, TileShape, TileTensor};
use ndarray::{ArrayD, IxDyn};

fn reshape_rows(x: &ArrayD<f64>, input: &[usize], to: &[usize]) -> Result<ArrayD<f64>> {
    let b = check_batch(x, input)?;
    let mut shape = vec![b];
    shape.extend_from_slice(to);
    let data: Vec<f64> = x.iter().copied().collect();
    ArrayD::from_shape_vec(IxDyn(&shape), data).map_err(|_| LayerError::ArrayShape {
        given: x.shape().to_vec(),
        expected: shape.clone(),
    })
}

/// Flattens `[C, H, W]` (any rank) to `[C * H * W]` in row-major (ONNX `Flatten` with axis 1)
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flatten {
    input: Vec<usize>,
}

impl Flatten {
    /// A flatten of per-sample inputs of shape `input`.
    pub fn new(input: &[usize]) -> Flatten {
        Flatten {
            input: input.to_vec(),
        }
    }
}

impl Layer for Flatten {
    fn kind(&self) -> &'static str {
        "flatten"
    }
    fn output_dims(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(vec![input.iter().product()])
    }
    fn forward_plain(&self, x: &ArrayD<f64>) -> Result<ArrayD<f64>> {
        reshape_rows(x, &self.input, &[self.input.iter().product()])
    }
    fn plan(&self, input: &TileShape) -> Result<OpPlan> {
        Ok(OpPlan::free(input.clone()))
    }
    fn forward<B: Backend>(&self, _: &B::Evaluator, x: &TileTensor<B>) -> Result<TileTensor<B>> {
        Ok(x.clone())
    }
}

/// Reshapes per-sample tensors to `to` (same element count, row-major order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reshape {
    input: Vec<usize>,
    to: Vec<usize>,
}

impl Reshape {
    /// A reshape from `input` to `to`. Errors: [`LayerError::InvalidInput`] when the element
    /// counts differ.
    pub fn new(input: &[usize], to: &[usize]) -> Result<Reshape> {
        if input.iter().product::<usize>() != to.iter().product::<usize>() {
            return Err(LayerError::InvalidInput {
                layer: "reshape",
                input: input.to_vec(),
                reason: format!("cannot reshape to {to:?}: element counts differ"),
            });
        }
        Ok(Reshape {
            input: input.to_vec(),
            to: to.to_vec(),
        })
    }
}

impl Layer for Reshape {
    fn kind(&self) -> &'static str {
        "reshape"
    }
    fn output_dims(&self, input: &[usize]) -> Result<Vec<usize>> {
        if input != self.input.as_slice() {
            return Err(LayerError::InvalidInput {
                layer: "reshape",
                input: input.to_vec(),
                reason: format!("built for {:?}", self.input),
            });
        }
        Ok(self.to.clone())
    }
    fn forward_plain(&self, x: &ArrayD<f64>) -> Result<ArrayD<f64>> {
        reshape_rows(x, &self.input, &self.to)
    }
    fn plan(&self, input: &TileShape) -> Result<OpPlan> {
        Ok(OpPlan::free(input.clone()))
    }
    fn forward<B: Backend>(&self, _: &B::Evaluator, x: &TileTensor<B>) -> Result<TileTensor<B>> {
        Ok(x.clone())
    }
}
