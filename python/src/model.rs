//! `hetile.Model`: a network of HE-friendly layers with plain weights, built layer by layer
//! from numpy weights or imported from ONNX.

use crate::convert::{to_array, to_numpy};
use crate::errors::{BResult, BindError};
use hetile_layers::onnx::{ApproxSpec, ImportOptions};
use hetile_layers::{ActivationFn, Model, ModelBuilder};
use ndarray::{Array1, Array2, Array4, Ix1, Ix2, Ix4};
use pyo3::prelude::*;
use std::sync::Arc;

/// A neural network of HE-friendly layers with plain weights.
///
/// Build one with `Model.sequential(input_dims)` and chained layer methods (each returns a new
/// model; a bad weight shape raises `ShapeError` at once), or import one with
/// `hetile.load_onnx(path)`. `forward_plain(x)` is the plaintext reference of the encrypted run.
#[pyclass(name = "Model", module = "hetile", frozen)]
pub struct PyModel {
    builder: Option<ModelBuilder>,
    model: Option<Arc<Model>>,
    input: Vec<usize>,
}

fn parse_fn(name: &str) -> BResult<ActivationFn> {
    match name.to_ascii_lowercase().as_str() {
        "relu" => Ok(ActivationFn::Relu),
        "sigmoid" => Ok(ActivationFn::Sigmoid),
        "tanh" => Ok(ActivationFn::Tanh),
        "gelu" => Ok(ActivationFn::Gelu),
        other => Err(BindError::param(format!(
            "unknown activation {other:?}: use relu, sigmoid, tanh or gelu"
        ))),
    }
}

fn dims_err(what: &str, want: usize, got: usize) -> BindError {
    BindError::shape(format!("{what} must have {want} dimensions, got {got}"))
}

fn arr1(x: &Bound<'_, PyAny>, what: &str) -> PyResult<Array1<f64>> {
    let a = to_array(x)?;
    let n = a.ndim();
    Ok(a.into_dimensionality::<Ix1>()
        .map_err(|_| dims_err(what, 1, n))?)
}

impl PyModel {
    /// The built model. Errors: `ShapeError` for a model without layers.
    pub fn model(&self) -> BResult<Arc<Model>> {
        self.model
            .clone()
            .ok_or_else(|| BindError::shape("the model has no layers yet"))
    }

    /// Runs a plaintext forward `f` of the model on the numpy batch `x` with the GIL released.
    fn run_plain<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        f: fn(&Model, &ndarray::ArrayD<f64>) -> hetile_layers::Result<ndarray::ArrayD<f64>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let m = self.model()?;
        let x = to_array(x)?;
        let y = py.detach(|| f(&m, &x)).map_err(BindError::from)?;
        to_numpy(py, &y)
    }

    /// Wraps a built model (ONNX import, calibration).
    pub fn from_model(model: Model) -> PyModel {
        PyModel {
            input: model.input_dims().to_vec(),
            builder: None,
            model: Some(Arc::new(model)),
        }
    }

    fn push(&self, f: impl FnOnce(ModelBuilder) -> ModelBuilder) -> BResult<PyModel> {
        let b = self.builder.clone().ok_or_else(|| {
            BindError::param("layers can only be appended to a model built with Model.sequential")
        })?;
        let b = f(b);
        if let Some(e) = b.error() {
            return Err(BindError::shape(e.to_string()));
        }
        let model = b.clone().build()?;
        Ok(PyModel {
            builder: Some(b),
            model: Some(Arc::new(model)),
            input: self.input.clone(),
        })
    }
}

#[pymethods]
impl PyModel {
    /// Starts a sequential model on per-sample inputs of shape `input` (`[C, H, W]` or `[F]`).
    #[staticmethod]
    fn sequential(input: Vec<usize>) -> PyModel {
        PyModel {
            builder: Some(Model::sequential(&input)),
            model: None,
            input,
        }
    }

    /// Appends a convolution: `weights` `[C_out, C_in, kh, kw]`, `bias` `[C_out]`, equal
    /// stride and zero padding on both axes. As the first layer it reads image-to-column
    /// patches. Raises `ShapeError` for inconsistent shapes.
    #[pyo3(signature = (weights, bias, stride=1, padding=0))]
    fn conv2d(
        &self,
        weights: &Bound<'_, PyAny>,
        bias: &Bound<'_, PyAny>,
        stride: usize,
        padding: usize,
    ) -> PyResult<PyModel> {
        let w = to_array(weights)?;
        let n = w.ndim();
        let w: Array4<f64> = w
            .into_dimensionality::<Ix4>()
            .map_err(|_| dims_err("conv2d weights", 4, n))?;
        let b = arr1(bias, "conv2d bias")?;
        Ok(self.push(|m| m.conv2d(w, b, stride, padding))?)
    }

    /// Appends a dense layer: `weights` `[out, in]`, `bias` `[out]` (zeros when omitted). The
    /// input must be flat (call `flatten()` first). Raises `ShapeError` for inconsistent shapes.
    #[pyo3(signature = (weights, bias=None))]
    fn dense(
        &self,
        weights: &Bound<'_, PyAny>,
        bias: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyModel> {
        let w = to_array(weights)?;
        let n = w.ndim();
        let w: Array2<f64> = w
            .into_dimensionality::<Ix2>()
            .map_err(|_| dims_err("dense weights", 2, n))?;
        let b = match bias {
            Some(b) => arr1(b, "dense bias")?,
            None => Array1::zeros(w.nrows()),
        };
        Ok(self.push(|m| m.dense(w, b))?)
    }

    /// Appends `x -> x^2` (one level).
    fn square(&self) -> PyResult<PyModel> {
        Ok(self.push(|m| m.square())?)
    }

    /// Appends a polynomial activation given by power-basis coefficients `c0 + c1 x + ...`.
    fn poly(&self, coeffs: Vec<f64>) -> PyResult<PyModel> {
        Ok(self.push(|m| m.poly(coeffs))?)
    }

    /// Appends a Chebyshev approximation of `func` ("relu", "sigmoid", "tanh", "gelu") of
    /// degree `degree`; fit it with `calibrate(samples)` before planning.
    fn approx(&self, func: &str, degree: usize) -> PyResult<PyModel> {
        let f = parse_fn(func)?;
        Ok(self.push(|m| m.approx(f, degree))?)
    }

    /// Appends average pooling with a square `kernel` and `stride` (default: the kernel).
    #[pyo3(signature = (kernel, stride=None))]
    fn avg_pool(&self, kernel: usize, stride: Option<usize>) -> PyResult<PyModel> {
        Ok(self.push(|m| m.avg_pool(kernel, stride.unwrap_or(kernel)))?)
    }

    /// Appends a flatten (channel-height-width order; free).
    fn flatten(&self) -> PyResult<PyModel> {
        Ok(self.push(|m| m.flatten())?)
    }

    /// Appends a reshape of the per-sample tensor (free).
    fn reshape(&self, shape: Vec<usize>) -> PyResult<PyModel> {
        Ok(self.push(|m| m.reshape(&shape))?)
    }

    /// Folds an inference batch normalization into the preceding dense or convolution layer.
    #[pyo3(signature = (gamma, beta, mean, var, eps=1e-5))]
    fn batch_norm(
        &self,
        gamma: &Bound<'_, PyAny>,
        beta: &Bound<'_, PyAny>,
        mean: &Bound<'_, PyAny>,
        var: &Bound<'_, PyAny>,
        eps: f64,
    ) -> PyResult<PyModel> {
        let (g, b) = (arr1(gamma, "gamma")?, arr1(beta, "beta")?);
        let (m, v) = (arr1(mean, "mean")?, arr1(var, "var")?);
        Ok(self.push(|x| x.batch_norm(&g, &b, &m, &v, eps))?)
    }

    /// Appends a residual add of value `index` (0 = the input, `i` = output of layer `i - 1`;
    /// see `current`) to the current value.
    fn add_from(&self, index: usize) -> PyResult<PyModel> {
        Ok(self.push(|m| m.add_from(index))?)
    }

    /// The index of the current value, for `add_from`.
    #[getter]
    fn current(&self) -> usize {
        self.model.as_ref().map_or(0, |m| m.nodes().len())
    }

    /// The per-sample input shape.
    #[getter]
    fn input_dims(&self) -> Vec<usize> {
        self.input.clone()
    }

    /// The per-sample output shape. Raises `ShapeError` for a model without layers.
    #[getter]
    fn output_dims(&self) -> PyResult<Vec<usize>> {
        Ok(self.model()?.output_dims().to_vec())
    }

    /// The plaintext reference of the encrypted run (activations are their polynomials) on a
    /// batch `x` of shape `[B, *input_dims]`; returns `[B, *output_dims]`.
    /// Raises `ShapeError` for a wrong input shape, `ParameterError` when not calibrated.
    fn forward_plain<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.run_plain(py, x, Model::forward_plain)
    }

    /// The original network (approximated activations use their exact functions), as
    /// `forward_plain`.
    fn forward_exact<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.run_plain(py, x, Model::forward_exact)
    }

    /// A copy of the model whose approximated activations are fitted on the range their inputs
    /// take over `samples` (`[B, *input_dims]`), widened by `margin` of the width on each side.
    /// Calibrate after the last layer: no layers can be appended to the copy.
    #[pyo3(signature = (samples, margin=0.1))]
    fn calibrate(&self, samples: &Bound<'_, PyAny>, margin: f64) -> PyResult<PyModel> {
        let mut m = (*self.model()?).clone();
        let x = to_array(samples)?;
        m.calibrate(&x, margin).map_err(BindError::from)?;
        let mut out = PyModel::from_model(m);
        out.builder = None;
        Ok(out)
    }

    /// A readable description: one line per layer with its kind and output shape.
    fn inspect(&self) -> PyResult<String> {
        let m = self.model()?;
        let mut s = format!("Model: input {:?}\n", m.input_dims());
        let dims = m.value_dims();
        for (i, n) in m.nodes().iter().enumerate() {
            let out = dims.get(i + 1).cloned().unwrap_or_default();
            s.push_str(&format!("{i:>4}  {:<12} -> {out:?}\n", n.kind()));
        }
        s.push_str(&format!("output {:?}", m.output_dims()));
        Ok(s)
    }

    /// The number of layers.
    fn __len__(&self) -> usize {
        self.model.as_ref().map_or(0, |m| m.nodes().len())
    }

    fn __repr__(&self) -> String {
        match &self.model {
            None => format!("Model(input={:?}, no layers)", self.input),
            Some(m) => {
                let kinds: Vec<&str> = m.nodes().iter().map(|n| n.kind()).collect();
                format!(
                    "Model(input={:?}, output={:?}, layers=[{}])",
                    m.input_dims(),
                    m.output_dims(),
                    kinds.join(", ")
                )
            }
        }
    }
}

/// Where an ONNX model comes from: a file path, or the model's bytes (as read from a file or
/// shipped through a process boundary, e.g. Ray's object store).
#[derive(FromPyObject)]
pub enum OnnxSource {
    /// The file's contents (`bytes`).
    Bytes(Vec<u8>),
    /// A path (`str` or `os.PathLike`).
    Path(std::path::PathBuf),
}

/// Imports an ONNX model from a file path or from the model's `bytes` (both validated the same
/// way). `activation_degree` and `activation_range` set the Chebyshev
/// approximation of Relu/Sigmoid/Tanh/Gelu nodes (range `None`: fit later with
/// `Model.calibrate`); `input_shape` gives the per-sample input shape when the graph's is
/// symbolic. Raises `SerializationError` for an unreadable file or malformed bytes and
/// `ParameterError` for an unsupported node (naming it and what to do).
#[pyfunction]
#[pyo3(signature = (path, activation_degree=7, activation_range=Some((-4.0, 4.0)), input_shape=None))]
pub fn load_onnx(
    py: Python<'_>,
    path: OnnxSource,
    activation_degree: usize,
    activation_range: Option<(f64, f64)>,
    input_shape: Option<Vec<usize>>,
) -> PyResult<PyModel> {
    let options = ImportOptions {
        activation: ApproxSpec {
            degree: activation_degree,
            range: activation_range,
        },
        input_shape,
        ..ImportOptions::default()
    };
    let m = py
        .detach(|| match &path {
            OnnxSource::Path(p) => hetile_layers::onnx::load(p, &options),
            OnnxSource::Bytes(b) => hetile_layers::onnx::load_bytes(b, &options),
        })
        .map_err(BindError::from)?;
    Ok(PyModel::from_model(m))
}
