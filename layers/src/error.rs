//! The one error type of the layers crate.

use hetile_tiles::TileError;
use thiserror::Error;

/// Every way building or running a layer or a model can fail. Variants carry the values that
/// broke the rule.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LayerError {
    /// A tile-tensor operation failed (shapes, layouts, or a backend error inside it).
    #[error(transparent)]
    Tile(#[from] TileError),
    /// A backend operation failed (missing key, exhausted level, scale mismatch, ...).
    #[error(transparent)]
    Backend(#[from] hetile_backend::Error),
    /// A layer cannot take an input of this per-sample shape.
    #[error("{layer}: input shape {input:?} is not accepted: {reason}")]
    InvalidInput {
        /// The layer kind.
        layer: &'static str,
        /// The per-sample input shape given.
        input: Vec<usize>,
        /// Why it is refused.
        reason: String,
    },
    /// A layer's parameters are inconsistent (weight shapes, strides, degrees, ranges).
    #[error("{layer}: invalid parameters: {reason}")]
    InvalidParameter {
        /// The layer kind.
        layer: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A plaintext array has the wrong shape.
    #[error("array shape {given:?} differs from the expected {expected:?}")]
    ArrayShape {
        /// The array's shape.
        given: Vec<usize>,
        /// The expected shape (batch first).
        expected: Vec<usize>,
    },
    /// A polynomial approximation has no range yet: calibrate the model first.
    #[error(
        "node {node}: the {activation} approximation has no input range; call Model::calibrate"
    )]
    NotCalibrated {
        /// The node index.
        node: usize,
        /// The approximated function.
        activation: &'static str,
    },
    /// An encrypted tensor is not in a layout the layer accepts.
    #[error("{layer}: encrypted input of tile shape {shape} is not accepted: {reason}")]
    Layout {
        /// The layer kind.
        layer: &'static str,
        /// The tile shape given.
        shape: String,
        /// Why it is refused.
        reason: String,
    },
    /// The model graph is malformed (a residual reference to a later node, an empty model, a
    /// batch-norm without a preceding linear layer, ...).
    #[error("invalid model: {reason}")]
    InvalidModel {
        /// What is wrong.
        reason: String,
    },
    /// A convolution strategy does not fit the model at a node (image-to-column on a
    /// non-first convolution, interleaved where the input is not interleaved, padding on a
    /// chained interleaved convolution, a stride that does not divide the tile grid, ...).
    #[error("node {node}: the {strategy} convolution strategy does not fit: {reason}")]
    ConvStrategy {
        /// The node index.
        node: usize,
        /// The strategy's name (`"im2col"`, `"interleaved"`, `"unrolled"`).
        strategy: &'static str,
        /// Why, and what to do.
        reason: String,
    },
    /// The encrypted input has fewer levels than the model consumes.
    #[error("the model needs {needed} levels but the input is at level {available}")]
    InsufficientDepth {
        /// Levels the model consumes.
        needed: usize,
        /// Level of the input.
        available: usize,
    },
    /// An ONNX file cannot be read or decoded.
    #[error("ONNX: {reason}")]
    OnnxRead {
        /// What failed.
        reason: String,
    },
    /// An ONNX node cannot be mapped onto a model.
    #[error("ONNX node '{node}' ({op}): {reason}")]
    Onnx {
        /// The node name (or its first output when unnamed).
        node: String,
        /// The ONNX op type.
        op: String,
        /// Why, and what to do.
        reason: String,
    },
}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, LayerError>;
