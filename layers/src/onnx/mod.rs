//! ONNX import (feature `onnx`): [`load`] / [`load_bytes`] parse an ONNX file with
//! `tract-onnx` (its protobuf reader and tensor loader) and walk the graph in order, mapping
//! each node onto the sequential [`Model`] (plus residual adds):
//!
//! | ONNX | model |
//! | --- | --- |
//! | `Conv` (group 1, dilation 1, symmetric pads, a preceding zero `Pad` folded in) | [`crate::layers::Conv2d`] |
//! | `Gemm`, `MatMul` by a constant | [`crate::layers::Dense`] (a batched `MatMul` as its Kronecker matrix) |
//! | `Add`/`Sub`/`Mul`/`Div` by a constant, `BatchNormalization` | folded into the preceding `Conv`/`Gemm`/`MatMul` when it feeds only this node; else a degree-1 polynomial (scalar) or a diagonal dense layer (per channel) |
//! | `Add` of two activations | residual add (one operand must be the latest value) |
//! | `Mul(x, x)`, `Pow(x, k)` (integer `1 <= k <= 8`) | square / power polynomial |
//! | `AveragePool` (square, unpadded), `GlobalAveragePool` (square) | [`crate::layers::AvgPool2d`]; padded (a `Pad` before it, or `pads` with `count_include_pad`) or non-square: a depthwise averaging [`crate::layers::Conv2d`] |
//! | `Flatten` (axis 1), `Reshape`, `Squeeze`, `Unsqueeze`, `Transpose` keeping data order | [`crate::layers::Flatten`] / [`crate::layers::Reshape`] (free) |
//! | `Transpose` moving data, `ReduceSum`, `ReduceMean` | a dense layer with the exact 0/1 (or mean) matrix |
//! | `Identity`, `Dropout`, `Constant`, initializers | aliases and constants |
//! | `Relu`, `Sigmoid`, `Tanh`, `Gelu` | Chebyshev approximations ([`ImportOptions`]: degree and range) |
//!
//! The batch is ONNX's first axis and must never be touched. Any other op, or a supported op
//! in an unsupported form, is a [`LayerError::Onnx`] naming the node, its op type and what to
//! do (e.g. `MaxPool: replace by AveragePool`).

mod convert;
mod nn;
mod proto;
mod shape;

use crate::error::{LayerError, Result};
use crate::model::Model;
use std::collections::BTreeMap;
use std::path::Path;
use tract_onnx::prelude::Framework;

/// How one approximated activation is imported: the Chebyshev degree and the input range it
/// is fitted on (`None`: left unfitted; call [`Model::calibrate`] before planning or running).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApproxSpec {
    /// The degree (at least 1); depth `ceil(log2(degree + 1)) + 1`.
    pub degree: usize,
    /// The range `[a, b]` (`a < b`) the approximation is fitted on.
    pub range: Option<(f64, f64)>,
}

/// Options of the ONNX import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOptions {
    /// The approximation of `Relu`, `Sigmoid`, `Tanh` and `Gelu` nodes (default: degree 7 on
    /// `[-4, 4]`).
    pub activation: ApproxSpec,
    /// Overrides of [`ImportOptions::activation`] by ONNX op type (`"Relu"`, ...) or node
    /// name; a node name wins over an op type.
    pub overrides: BTreeMap<String, ApproxSpec>,
    /// The per-sample input shape (without the batch), required when the graph's input shape
    /// is symbolic beyond the batch axis; when given it must agree with the graph's.
    pub input_shape: Option<Vec<usize>>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            activation: ApproxSpec {
                degree: 7,
                range: Some((-4.0, 4.0)),
            },
            overrides: BTreeMap::new(),
            input_shape: None,
        }
    }
}

impl ImportOptions {
    /// The approximation for a node (its name first, then its op type, then the default).
    pub fn spec_for(&self, node_name: &str, op_type: &str) -> ApproxSpec {
        self.overrides
            .get(node_name)
            .or_else(|| self.overrides.get(op_type))
            .copied()
            .unwrap_or(self.activation)
    }
}

/// Imports the ONNX model at `path`.
/// Errors: [`LayerError::OnnxRead`] when the file cannot be read or decoded,
/// [`LayerError::Onnx`] for a node that cannot be mapped (naming it and what to do), and the
/// model builder's errors ([`LayerError::InvalidModel`]).
pub fn load(path: impl AsRef<Path>, options: &ImportOptions) -> Result<Model> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| LayerError::OnnxRead {
        reason: format!("reading {}: {e}", path.display()),
    })?;
    load_bytes(&bytes, options)
}

/// Imports an ONNX model from its serialized bytes (external tensor data is not supported).
/// Errors: as [`load`].
pub fn load_bytes(bytes: &[u8], options: &ImportOptions) -> Result<Model> {
    let mut reader = bytes;
    let proto = tract_onnx::onnx()
        .proto_model_for_read(&mut reader)
        .map_err(|e| LayerError::OnnxRead {
            reason: format!("decoding the protobuf: {e}"),
        })?;
    let graph = proto.graph.as_ref().ok_or_else(|| LayerError::OnnxRead {
        reason: "the model has no graph".into(),
    })?;
    convert::convert(graph, options)
}
