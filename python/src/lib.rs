//! hetile-py: the pyo3 extension module `hetile._native` behind the `hetile` Python package
//! (built with maturin; see `python/pyproject.toml`).
//!
//! The Python API: `Model` (sequential builder with numpy weights, `load_onnx`), `Plan`
//! (`optimize`, `Plan.manual`, `simulate`, YAML/JSON), `Client` (keys, encrypt, decrypt),
//! `Server` (from the public context only), `EncryptedTensor` (validated serialization),
//! `TileTensor` (custom circuits) and the exception hierarchy rooted at `HetileError`.
//! Long native steps release the GIL (`Python::detach`) and show a progress bar.
//!
//! Objects of the three backends are dispatched through enums ([`backend`]); every Rust error
//! maps to one Python exception class with its message ([`errors`]).

pub mod backend;
pub mod convert;
pub mod datasets;
pub mod errors;
pub mod model;
pub mod plan;
pub mod progress;
pub mod serial;
pub mod session;
pub mod tile;

use pyo3::prelude::*;

/// The native module `hetile._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<model::PyModel>()?;
    m.add_class::<plan::PyPlan>()?;
    m.add_class::<plan::PyReport>()?;
    m.add_class::<session::PyClient>()?;
    m.add_class::<session::PyServer>()?;
    m.add_class::<session::PyEncryptedTensor>()?;
    m.add_class::<tile::PyTileTensor>()?;
    m.add_function(wrap_pyfunction!(model::load_onnx, m)?)?;
    m.add_function(wrap_pyfunction!(plan::optimize, m)?)?;
    m.add_submodule(&datasets::submodule(py)?)?;
    m.add("HetileError", py.get_type::<errors::HetileError>())?;
    m.add("ParameterError", py.get_type::<errors::ParameterError>())?;
    m.add("LevelError", py.get_type::<errors::LevelError>())?;
    m.add("ShapeError", py.get_type::<errors::ShapeError>())?;
    m.add("KeyError", py.get_type::<errors::KeyError>())?;
    m.add(
        "SerializationError",
        py.get_type::<errors::SerializationError>(),
    )?;
    Ok(())
}
