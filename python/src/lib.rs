//! hetile-py: the Python bindings (issue 10). Nothing is implemented yet; the pyo3 module will
//! live here and be built with maturin.
