//! The [`Layer`] contract and the layers: [`Dense`], [`Conv2d`], [`AvgPool2d`], [`Flatten`],
//! [`Reshape`] and [`Activation`] (square, polynomial, Chebyshev approximations).
//!
//! Plaintext arrays are batch first: `[B, ...per-sample dims]`. Encrypted activations are
//! packed as described in [`crate::form`]; every layer reports, from the input tile shape
//! alone, its output shape, the levels it consumes, its exact operation counts and the rotation
//! steps it needs (an [`OpPlan`]), and its `forward` does exactly that on any backend.

mod activation;
mod linear;
mod reshape;

pub use activation::Activation;
pub use linear::{AvgPool2d, Conv2d, Dense};
pub use reshape::{Flatten, Reshape};

use crate::error::{LayerError, Result};
use hetile_backend::Backend;
use hetile_tiles::{OpCost, OpPlan, TileShape, TileTensor};
use ndarray::ArrayD;

/// A layer of an HE-friendly network.
pub trait Layer {
    /// A short name ("dense", "conv2d", ...).
    fn kind(&self) -> &'static str;

    /// The per-sample output shape for a per-sample input shape (e.g. `[C, H, W]` or `[F]`).
    /// Errors: [`LayerError::InvalidInput`] when the layer cannot take that shape.
    fn output_dims(&self, input: &[usize]) -> Result<Vec<usize>>;

    /// The plaintext reference on a batch-first array `[B, ...input dims]`.
    /// Errors: [`LayerError::ArrayShape`] for a wrong shape, [`LayerError::NotCalibrated`]-like
    /// errors for layers that need preparation.
    fn forward_plain(&self, x: &ArrayD<f64>) -> Result<ArrayD<f64>>;

    /// The plan of [`Layer::forward`] on an input packed as `input`: the output tile shape, the
    /// exact operation counts (with `cost.depth` the levels consumed) and the rotation steps.
    /// Errors: [`LayerError::Layout`] when the packing is not accepted.
    fn plan(&self, input: &TileShape) -> Result<OpPlan>;

    /// The encrypted forward (server side), following [`Layer::plan`] exactly.
    /// Errors: layout errors and the backend's errors (missing keys, exhausted levels).
    fn forward<B: Backend>(&self, ev: &B::Evaluator, x: &TileTensor<B>) -> Result<TileTensor<B>>;

    /// The levels the layer consumes on an input packed as `input` (from [`Layer::plan`]).
    fn depth(&self, input: &TileShape) -> Result<usize> {
        Ok(self.plan(input)?.cost.depth)
    }

    /// The rotation steps the layer uses on an input packed as `input` (each needs a Galois
    /// key; from [`Layer::plan`]).
    fn rotation_steps(&self, input: &TileShape) -> Result<std::collections::BTreeSet<i64>> {
        Ok(self.plan(input)?.rotation_steps)
    }
}

/// Checks that a batch-first array has the per-sample shape `dims`; returns the batch size.
pub(crate) fn check_batch(x: &ArrayD<f64>, dims: &[usize]) -> Result<usize> {
    let shape = x.shape();
    if shape.len() != dims.len() + 1 || &shape[1..] != dims {
        let mut expected = vec![shape.first().copied().unwrap_or(0)];
        expected.extend_from_slice(dims);
        return Err(LayerError::ArrayShape {
            given: shape.to_vec(),
            expected,
        });
    }
    Ok(shape[0])
}

/// `cost` repeated `n` times (depth unchanged).
pub(crate) fn times(cost: OpCost, n: usize) -> OpCost {
    OpCost {
        rotations: cost.rotations * n,
        ct_mults: cost.ct_mults * n,
        pt_mults: cost.pt_mults * n,
        scalar_mults: cost.scalar_mults * n,
        additions: cost.additions * n,
        rescales: cost.rescales * n,
        depth: cost.depth,
    }
}
