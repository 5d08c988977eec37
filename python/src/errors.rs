//! The Python exception hierarchy and the mapping of every Rust error onto it.
//!
//! `HetileError` is the base; `ParameterError`, `LevelError`, `ShapeError`, `KeyError` and
//! `SerializationError` derive from it. Each Rust error variant maps to one of them and keeps the
//! Rust message (see [`to_py`]).

use hetile_backend::Error as BackendError;
use hetile_layers::LayerError;
use hetile_sim::SimError;
use hetile_tiles::TileError;
use pyo3::exceptions::PyException;
use pyo3::PyErr;

pyo3::create_exception!(
    hetile,
    HetileError,
    PyException,
    "Base class of every error raised by hetile."
);
pyo3::create_exception!(
    hetile,
    ParameterError,
    HetileError,
    "Invalid or insecure parameters, an invalid argument or an unsupported model."
);
pyo3::create_exception!(
    hetile,
    LevelError,
    HetileError,
    "A level or scale rule was broken: exhausted chain, level or scale mismatch, too little depth."
);
pyo3::create_exception!(
    hetile,
    ShapeError,
    HetileError,
    "An array or tile shape does not fit: wrong array shape, tile shape, slot count or layout."
);
pyo3::create_exception!(
    hetile,
    KeyError,
    HetileError,
    "A needed evaluation key (rotation, relinearization, conjugation) was not generated. \
     Note: inside the hetile module this name shadows the builtin KeyError."
);
pyo3::create_exception!(
    hetile,
    SerializationError,
    HetileError,
    "Bytes or text could not be decoded, or were made under another context."
);

/// Which Python exception class an error maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `HetileError` itself.
    Base,
    /// `ParameterError`.
    Parameter,
    /// `LevelError`.
    Level,
    /// `ShapeError`.
    Shape,
    /// `KeyError`.
    Key,
    /// `SerializationError`.
    Serialization,
}

/// An error of the bindings: a class and the Rust message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BindError {
    /// The Python class.
    pub class: Class,
    /// The message.
    pub message: String,
}

impl BindError {
    /// An error of class `class` with `message`.
    pub fn new(class: Class, message: impl Into<String>) -> BindError {
        BindError {
            class,
            message: message.into(),
        }
    }
    /// A `ParameterError`.
    pub fn param(message: impl Into<String>) -> BindError {
        BindError::new(Class::Parameter, message)
    }
    /// A `ShapeError`.
    pub fn shape(message: impl Into<String>) -> BindError {
        BindError::new(Class::Shape, message)
    }
    /// A `SerializationError`.
    pub fn serial(message: impl Into<String>) -> BindError {
        BindError::new(Class::Serialization, message)
    }
    /// The same message under another class.
    pub fn reclass(self, class: Class) -> BindError {
        BindError { class, ..self }
    }
}

/// The class of a backend error.
pub fn backend_class(e: &BackendError) -> Class {
    match e {
        BackendError::LevelExhausted { .. }
        | BackendError::LevelMismatch { .. }
        | BackendError::ScaleMismatch { .. }
        | BackendError::ScaleOverflow { .. }
        | BackendError::InvalidLevel { .. } => Class::Level,
        BackendError::MissingRotationKey { .. }
        | BackendError::MissingRelinearizationKey
        | BackendError::MissingConjugationKey => Class::Key,
        BackendError::SlotOverflow { .. } => Class::Shape,
        BackendError::NonFiniteValue { .. }
        | BackendError::ValueOutOfRange { .. }
        | BackendError::InvalidParameters { .. }
        | BackendError::InsecureParameters { .. } => Class::Parameter,
        BackendError::ContextMismatch { .. } | BackendError::Serialization { .. } => {
            Class::Serialization
        }
        _ => Class::Base,
    }
}

/// The class of a tile-tensor error.
pub fn tile_class(e: &TileError) -> Class {
    match e {
        TileError::Backend(b) => backend_class(b),
        TileError::InconsistentTiles { .. } => Class::Level,
        _ => Class::Shape,
    }
}

/// The class of a layer or model error.
pub fn layer_class(e: &LayerError) -> Class {
    match e {
        LayerError::Tile(t) => tile_class(t),
        LayerError::Backend(b) => backend_class(b),
        LayerError::InvalidInput { .. }
        | LayerError::ArrayShape { .. }
        | LayerError::Layout { .. }
        | LayerError::InvalidModel { .. } => Class::Shape,
        LayerError::InvalidParameter { .. }
        | LayerError::NotCalibrated { .. }
        | LayerError::Onnx { .. } => Class::Parameter,
        LayerError::InsufficientDepth { .. } => Class::Level,
        LayerError::OnnxRead { .. } => Class::Serialization,
        _ => Class::Base,
    }
}

/// The class of a simulator error.
pub fn sim_class(e: &SimError) -> Class {
    match e {
        SimError::Backend(b) => backend_class(b),
        SimError::Yaml { .. } => Class::Serialization,
        _ => Class::Parameter,
    }
}

impl From<BackendError> for BindError {
    fn from(e: BackendError) -> Self {
        BindError::new(backend_class(&e), e.to_string())
    }
}
impl From<TileError> for BindError {
    fn from(e: TileError) -> Self {
        BindError::new(tile_class(&e), e.to_string())
    }
}
impl From<LayerError> for BindError {
    fn from(e: LayerError) -> Self {
        BindError::new(layer_class(&e), e.to_string())
    }
}
impl From<SimError> for BindError {
    fn from(e: SimError) -> Self {
        BindError::new(sim_class(&e), e.to_string())
    }
}

/// The Python exception for a bindings error.
pub fn to_py(e: BindError) -> PyErr {
    let m = e.message;
    match e.class {
        Class::Base => HetileError::new_err(m),
        Class::Parameter => ParameterError::new_err(m),
        Class::Level => LevelError::new_err(m),
        Class::Shape => ShapeError::new_err(m),
        Class::Key => KeyError::new_err(m),
        Class::Serialization => SerializationError::new_err(m),
    }
}

impl From<BindError> for PyErr {
    fn from(e: BindError) -> Self {
        to_py(e)
    }
}

/// The result type of the bindings' Rust side.
pub type BResult<T> = std::result::Result<T, BindError>;

/// The class of an optimizer error.
pub fn opt_class(e: &hetile_opt::OptError) -> Class {
    use hetile_opt::OptError;
    match e {
        OptError::Layer(l) => layer_class(l),
        OptError::Sim(s) => sim_class(s),
        OptError::Backend(b) => backend_class(b),
        OptError::Serialization(_) => Class::Serialization,
        _ => Class::Parameter,
    }
}

impl From<hetile_opt::OptError> for BindError {
    fn from(e: hetile_opt::OptError) -> Self {
        BindError::new(opt_class(&e), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hetile_backend::Level;

    #[test]
    fn backend_errors_map_to_their_class() {
        let cases = [
            (
                BackendError::LevelExhausted {
                    op: "rescale",
                    level: Level(0),
                },
                Class::Level,
            ),
            (BackendError::MissingRotationKey { step: 3 }, Class::Key),
            (
                BackendError::SlotOverflow { given: 9, slots: 8 },
                Class::Shape,
            ),
            (
                BackendError::Serialization { reason: "x".into() },
                Class::Serialization,
            ),
            (
                BackendError::InvalidParameters { reason: "x".into() },
                Class::Parameter,
            ),
        ];
        for (e, class) in cases {
            let b = BindError::from(e.clone());
            assert_eq!(b.class, class, "{e}");
            assert_eq!(b.message, e.to_string());
        }
    }

    #[test]
    fn layer_errors_unwrap_their_source() {
        let e = LayerError::Backend(BackendError::MissingRelinearizationKey);
        assert_eq!(layer_class(&e), Class::Key);
        let e = LayerError::InsufficientDepth {
            needed: 5,
            available: 2,
        };
        assert_eq!(layer_class(&e), Class::Level);
        let e = LayerError::Tile(TileError::EmptyShape);
        assert_eq!(layer_class(&e), Class::Shape);
    }
}
