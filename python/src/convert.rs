//! numpy <-> ndarray conversions (by value: the bindings copy data in and out), and small
//! helpers for Python arguments.

use crate::errors::BindError;
use ndarray::{ArrayD, IxDyn};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Any array-like (list, numpy array of any real dtype) as a float64 `ArrayD`.
/// Errors: `TypeError`/`ValueError` from numpy for non-numeric input.
pub fn to_array(x: &Bound<'_, PyAny>) -> PyResult<ArrayD<f64>> {
    let py = x.py();
    let np = py.import("numpy")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", np.getattr("float64")?)?;
    let arr = np.call_method("ascontiguousarray", (x,), Some(&kwargs))?;
    let ro: PyReadonlyArrayDyn<'_, f64> = arr.extract()?;
    let shape = ro.shape().to_vec();
    let data = ro
        .as_slice()
        .map_err(|e| BindError::shape(format!("array is not contiguous: {e}")))?
        .to_vec();
    Ok(ArrayD::from_shape_vec(IxDyn(&shape), data).map_err(|e| BindError::shape(e.to_string()))?)
}

/// An `ArrayD` as a new float64 numpy array.
pub fn to_numpy<'py>(py: Python<'py>, a: &ArrayD<f64>) -> PyResult<Bound<'py, PyAny>> {
    let shape = a.shape().to_vec();
    let data: Vec<f64> = a.iter().copied().collect();
    Ok(PyArray1::from_vec(py, data).reshape(shape)?.into_any())
}

/// A Python object as a JSON value string (through the `json` module), for serde literals.
pub fn to_json(x: &Bound<'_, PyAny>) -> PyResult<String> {
    x.py()
        .import("json")?
        .call_method1("dumps", (x,))?
        .extract()
}
