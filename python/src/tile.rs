//! `hetile.TileTensor`: tile tensors of ciphertexts for custom circuits, with the elementwise
//! operators, matrix products and sums of the tiles crate.

use crate::backend::{AnyEvaluator, AnyTensor};
use crate::convert::{to_array, to_numpy};
use crate::errors::{BResult, BindError};
use crate::serial::Codec;
use crate::session::PyClient;
use crate::{dispatch_tensor, dispatch_tensors, with_client};
use hetile_tiles::{TileShape, TileTensor};
use pyo3::prelude::*;
use std::sync::Arc;

/// A tensor packed into ciphertext tiles with a HElayers tile shape such as `"[16/8, */4]"`
/// (`n/t`: size n in tiles of t; `*/t`: replicated; `n?/t`: garbage in unused slots;
/// `n~/t`: interleaved). The product of the tile sizes must equal the slot count.
///
/// Operators: `a + b`, `a - b`, `a * b` (elementwise with broadcasting over replicated
/// dimensions; a product rescales, one level), the same with a float, `-a`, `a @ b`
/// (multiply then sum over the one dimension both operands hold, as the tiles crate's
/// matrix products: e.g. `[a/t0, b/t1, */t2] @ [*/t0, b/t1, c/t2]` sums dimension 1),
/// `a.matmul(b, dim)` to name the summed dimension, and `a.sum(dim)`. Rotations need keys:
/// `Client.from_params` generates every power-of-two step by default.
#[pyclass(name = "TileTensor", module = "hetile", frozen)]
pub struct PyTileTensor {
    tensor: AnyTensor,
    ev: Arc<AnyEvaluator>,
    codec: Codec,
}

impl PyTileTensor {
    fn wrap(&self, tensor: AnyTensor) -> PyTileTensor {
        PyTileTensor {
            tensor,
            ev: Arc::clone(&self.ev),
            codec: self.codec.clone(),
        }
    }

    fn binary(&self, other: &Bound<'_, PyAny>, op: Op) -> PyResult<PyTileTensor> {
        let ev = self.ev.as_ref();
        if let Ok(o) = other.cast::<PyTileTensor>() {
            let o = &o.get().tensor;
            let t = tensor_op(&self.tensor, o, ev, op)?;
            return Ok(self.wrap(t));
        }
        let c: f64 = other.extract().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err("operand must be a TileTensor or a number")
        })?;
        let t = scalar_op(&self.tensor, c, ev, op)?;
        Ok(self.wrap(t))
    }
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    RSub,
    Mul,
}

fn tensor_op(a: &AnyTensor, b: &AnyTensor, ev: &AnyEvaluator, op: Op) -> BResult<AnyTensor> {
    Ok(dispatch_tensors!(a, b, ev; x, y, e => match op {
        Op::Add => x.add(e, y),
        Op::Sub => x.sub(e, y),
        Op::RSub => y.sub(e, x),
        Op::Mul => x.mul(e, y),
    }))
}

fn scalar_op(a: &AnyTensor, c: f64, ev: &AnyEvaluator, op: Op) -> BResult<AnyTensor> {
    Ok(match op {
        Op::Add => dispatch_tensor!(a, ev; x, e => x.add_scalar(e, c)),
        Op::Sub => dispatch_tensor!(a, ev; x, e => x.sub_scalar(e, c)),
        Op::RSub => dispatch_tensor!(a, ev; x, e => x.negate(e).and_then(|n| n.add_scalar(e, c))),
        Op::Mul => dispatch_tensor!(a, ev; x, e => x.mul_scalar(e, c)),
    })
}

/// The one dimension where neither operand is broadcastable (replicated or of size 1).
fn shared_dim(a: &TileShape, b: &TileShape) -> BResult<usize> {
    if a.rank() != b.rank() {
        return Err(BindError::shape(format!(
            "matmul of tensors of rank {} and {}",
            a.rank(),
            b.rank()
        )));
    }
    let shared: Vec<usize> = a
        .dims()
        .iter()
        .zip(b.dims())
        .enumerate()
        .filter(|(_, (x, y))| !x.is_broadcastable() && !y.is_broadcastable())
        .map(|(i, _)| i)
        .collect();
    match shared.as_slice() {
        [d] => Ok(*d),
        _ => Err(BindError::shape(format!(
            "matmul of {a} and {b}: expected exactly one dimension held by both operands, found \
             {shared:?}; use a.matmul(b, dim)"
        ))),
    }
}

fn matmul(a: &AnyTensor, b: &AnyTensor, ev: &AnyEvaluator, dim: usize) -> BResult<AnyTensor> {
    Ok(dispatch_tensors!(a, b, ev; x, y, e => x.mul_sum(e, y, dim)))
}

#[pymethods]
impl PyTileTensor {
    /// Packs `array` (whose shape must be the tile shape's logical shape) into tiles of `shape`
    /// and encrypts them with `client`'s public key. Raises `ShapeError` for a shape that does
    /// not parse, does not fill the slots or does not match the array.
    #[staticmethod]
    fn encrypt(
        py: Python<'_>,
        client: &PyClient,
        array: &Bound<'_, PyAny>,
        shape: &str,
    ) -> PyResult<PyTileTensor> {
        let a = to_array(array)?;
        let s = TileShape::parse(shape).map_err(BindError::from)?;
        let c = client.client.as_ref();
        let t = py.detach(|| -> BResult<AnyTensor> {
            Ok(with_client!(c, cl, B => {
                let t: AnyTensor = TileTensor::<B>::encrypt(cl, &a, s)?.into();
                t
            }))
        })?;
        Ok(PyTileTensor {
            tensor: t,
            ev: Arc::clone(&client.evaluator),
            codec: client.codec.clone(),
        })
    }

    /// Decrypts to the logical array (garbage and unused slots dropped). Raises
    /// `SerializationError` when the client belongs to another backend.
    fn decrypt<'py>(&self, py: Python<'py>, client: &PyClient) -> PyResult<Bound<'py, PyAny>> {
        let c = client.client.as_ref();
        let t = &self.tensor;
        let arr = py.detach(|| -> BResult<ndarray::ArrayD<f64>> {
            Ok(match (c, t) {
                (crate::backend::AnyClient::Native(c), AnyTensor::Native(t)) => t.decrypt(c)?,
                (crate::backend::AnyClient::Mock(c), AnyTensor::Mock(t)) => t.decrypt(c)?,
                (crate::backend::AnyClient::Sim(c), AnyTensor::Sim(t)) => t.decrypt(c)?,
                _ => return Err(crate::backend::mismatch("decrypt")),
            })
        })?;
        to_numpy(py, &arr)
    }

    /// Sums over dimension `dim` (rotate-and-add; no level used). Raises `KeyError` for a
    /// missing rotation key, `ShapeError` for a bad dimension or garbage on it.
    fn sum(&self, py: Python<'_>, dim: usize) -> PyResult<PyTileTensor> {
        let ev = self.ev.as_ref();
        let t = &self.tensor;
        let out = py.detach(|| -> BResult<AnyTensor> {
            Ok(dispatch_tensor!(t, ev; x, e => x.sum(e, dim)))
        })?;
        Ok(self.wrap(out))
    }

    /// Multiply-then-sum over `dim` (by default the one dimension both operands hold): the
    /// tiles crate's matrix product. One level.
    #[pyo3(signature = (other, dim=None))]
    fn matmul(
        &self,
        py: Python<'_>,
        other: &PyTileTensor,
        dim: Option<usize>,
    ) -> PyResult<PyTileTensor> {
        let d = match dim {
            Some(d) => d,
            None => shared_dim(self.tensor.shape(), other.tensor.shape())?,
        };
        let ev = self.ev.as_ref();
        let (a, b) = (&self.tensor, &other.tensor);
        let out = py.detach(|| matmul(a, b, ev, d))?;
        Ok(self.wrap(out))
    }

    fn __matmul__(&self, py: Python<'_>, other: &PyTileTensor) -> PyResult<PyTileTensor> {
        self.matmul(py, other, None)
    }
    fn __add__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTileTensor> {
        self.binary(other, Op::Add)
    }
    fn __radd__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTileTensor> {
        self.binary(other, Op::Add)
    }
    fn __sub__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTileTensor> {
        self.binary(other, Op::Sub)
    }
    fn __rsub__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTileTensor> {
        self.binary(other, Op::RSub)
    }
    fn __mul__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTileTensor> {
        self.binary(other, Op::Mul)
    }
    fn __rmul__(&self, other: &Bound<'_, PyAny>) -> PyResult<PyTileTensor> {
        self.binary(other, Op::Mul)
    }
    fn __neg__(&self) -> PyResult<PyTileTensor> {
        let ev = self.ev.as_ref();
        let t = &self.tensor;
        let out =
            (|| -> BResult<AnyTensor> { Ok(dispatch_tensor!(t, ev; x, e => x.negate(e))) })()?;
        Ok(self.wrap(out))
    }

    /// The tile shape in HElayers notation.
    #[getter]
    fn shape(&self) -> String {
        self.tensor.shape().to_string()
    }
    /// The logical shape (what `decrypt` returns).
    #[getter]
    fn logical_shape(&self) -> Vec<usize> {
        self.tensor.shape().logical_shape()
    }
    /// The level (rescales left).
    #[getter]
    fn level(&self) -> usize {
        self.tensor.level()
    }
    /// The number of ciphertexts.
    #[getter]
    fn num_ciphertexts(&self) -> usize {
        self.tensor.num_tiles()
    }
    fn __repr__(&self) -> String {
        format!(
            "TileTensor(backend={}, shape={}, ciphertexts={}, level={})",
            self.tensor.kind().name(),
            self.tensor.shape(),
            self.tensor.num_tiles(),
            self.tensor.level()
        )
    }
}

impl From<TileTensor<hetile_ckks::CkksBackend>> for AnyTensor {
    fn from(t: TileTensor<hetile_ckks::CkksBackend>) -> Self {
        AnyTensor::Native(t)
    }
}
impl From<TileTensor<hetile_mock::MockBackend>> for AnyTensor {
    fn from(t: TileTensor<hetile_mock::MockBackend>) -> Self {
        AnyTensor::Mock(t)
    }
}
impl From<TileTensor<hetile_sim::SimBackend>> for AnyTensor {
    fn from(t: TileTensor<hetile_sim::SimBackend>) -> Self {
        AnyTensor::Sim(t)
    }
}
