//! `hetile.Client` (key generation, encryption, decryption; holds the secret key),
//! `hetile.Server` (evaluation keys only) and `hetile.EncryptedTensor` (serializable
//! ciphertexts).

use crate::backend::{AnyClient, AnyEvaluator, AnyTensor, Kind};
use crate::convert::{to_array, to_numpy};
use crate::errors::{BResult, BindError, Class};
use crate::plan::{parse_params, PyPlan};
use crate::progress;
use crate::serial::{self, Codec};
use crate::with_client;
use hetile_backend::{Backend, KeyRequirements, Params};
use hetile_layers::{Model, Packing};
use hetile_mock::MockEvaluator;
use hetile_opt::Plan;
use hetile_sim::SimClient;
use ndarray::ArrayD;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use std::sync::Arc;
use std::time::Duration;

/// The codec of a client.
fn client_codec(c: &AnyClient) -> Codec {
    match c {
        AnyClient::Native(c) => Codec::Native(Arc::clone(c.context())),
        AnyClient::Mock(c) => Codec::Mock(hetile_backend::Client::params(c).clone()),
        AnyClient::Sim(c) => Codec::Sim(hetile_backend::Client::params(c).clone()),
    }
}

fn packing(plan: &Plan) -> BResult<Packing> {
    Ok(plan.packing()?)
}

/// Runs `model` on an encrypted input with `threads` worker threads, calling `on_node(i,
/// elapsed)` after each node (see `Model::forward_encrypted_observed`).
fn forward(
    model: &Model,
    ev: &AnyEvaluator,
    x: &AnyTensor,
    threads: usize,
    on_node: &mut (dyn FnMut(usize, Duration) + Send),
) -> BResult<AnyTensor> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| BindError::new(Class::Base, e.to_string()))?;
    pool.install(|| {
        Ok(match (x, ev) {
            (AnyTensor::Native(t), AnyEvaluator::Native(e)) => AnyTensor::Native(
                model.forward_encrypted_observed::<hetile_ckks::CkksBackend>(e, t, on_node)?,
            ),
            (AnyTensor::Mock(t), AnyEvaluator::Mock(e)) => AnyTensor::Mock(
                model.forward_encrypted_observed::<hetile_mock::MockBackend>(e, t, on_node)?,
            ),
            (AnyTensor::Sim(t), AnyEvaluator::Sim(e)) => AnyTensor::Sim(
                model.forward_encrypted_observed::<hetile_sim::SimBackend>(e, t, on_node)?,
            ),
            _ => return Err(crate::backend::mismatch("predict")),
        })
    })
}

/// The secret-key holder: generates the keys a plan needs, encrypts inputs and decrypts
/// results. Its public half (`public_context()`) is what a server receives.
///
/// `Client(plan, backend="native")`: key generation for the plan's parameters and exactly its
/// evaluation keys. Backends: "native" (real CKKS), "mock" (clear values with exact CKKS
/// bookkeeping; no security) and "simulator" (metadata only: decryption gives zeros).
/// `seed` makes keys and noise deterministic: tests only, never for real data.
#[pyclass(name = "Client", module = "hetile", frozen)]
pub struct PyClient {
    pub(crate) client: Arc<AnyClient>,
    pub(crate) evaluator: Arc<AnyEvaluator>,
    pub(crate) codec: Codec,
    plan: Option<(Plan, Arc<Model>)>,
}

impl PyClient {
    fn build(
        py: Python<'_>,
        kind: Kind,
        params: Params,
        keys: KeyRequirements,
        seed: Option<u64>,
        progress: Option<bool>,
        plan: Option<(Plan, Arc<Model>)>,
    ) -> PyResult<PyClient> {
        let (client, evaluator) =
            progress::run(py, "key generation", progress, None, move || {
                let c = AnyClient::new(kind, &params, &keys, seed)?;
                let e = c.evaluator()?;
                Ok::<_, BindError>((c, e))
            })??;
        Ok(PyClient {
            codec: client_codec(&client),
            client: Arc::new(client),
            evaluator: Arc::new(evaluator),
            plan,
        })
    }

    fn planned(&self) -> BResult<&(Plan, Arc<Model>)> {
        self.plan.as_ref().ok_or_else(|| {
            BindError::param("this client was made without a plan: use TileTensor.encrypt")
        })
    }
}

#[pymethods]
impl PyClient {
    /// Generates a secret key and the evaluation keys of `plan` for `backend`.
    /// Raises `ParameterError` for an unknown backend or invalid parameters.
    #[new]
    #[pyo3(signature = (plan, backend="native", seed=None, progress=None))]
    fn py_new(
        py: Python<'_>,
        plan: &PyPlan,
        backend: &str,
        seed: Option<u64>,
        progress: Option<bool>,
    ) -> PyResult<PyClient> {
        let kind = Kind::parse(backend)?;
        let params = plan.plan.params().map_err(BindError::from)?;
        let keys = plan.plan.key_requirements();
        let pm = Some((plan.plan.clone(), Arc::clone(&plan.model)));
        PyClient::build(py, kind, params, keys, seed, progress, pm)
    }

    /// A client for custom tile-tensor circuits (no model): `params` a preset name or dict,
    /// `rotations` the rotation steps to generate keys for (default: every power of two below
    /// the slot count, which `TileTensor.sum` uses), `relinearization` for ciphertext products.
    #[staticmethod]
    #[pyo3(signature = (params, rotations=None, relinearization=true, backend="mock", seed=None, progress=None))]
    fn from_params(
        py: Python<'_>,
        params: &Bound<'_, PyAny>,
        rotations: Option<Vec<i64>>,
        relinearization: bool,
        backend: &str,
        seed: Option<u64>,
        progress: Option<bool>,
    ) -> PyResult<PyClient> {
        let kind = Kind::parse(backend)?;
        let params = Params::new(parse_params(params)?).map_err(BindError::from)?;
        let slots = params.slots().get();
        let steps = rotations.unwrap_or_else(|| {
            (0..usize::BITS)
                .map(|b| 1usize << b)
                .take_while(|&s| s < slots)
                .map(|s| s as i64)
                .collect()
        });
        let mut keys = KeyRequirements::none().with_rotations(steps);
        if relinearization {
            keys = keys.with_relinearization();
        }
        PyClient::build(py, kind, params, keys, seed, progress, None)
    }

    /// The public context as bytes: parameters and evaluation keys (native backend), or only
    /// parameters and key requirements (mock and simulator, which have no keys). Never holds
    /// the secret key.
    fn public_context<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let c = &self.client;
        let native = match c.as_ref() {
            AnyClient::Native(n) => Some(n.public_context()),
            _ => None,
        };
        let bytes = py.detach(|| {
            serial::context_to_bytes(c.kind(), c.params(), c.key_requirements(), native.as_ref())
        })?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Packs and encrypts a batch `x` of shape `[B, *model.input_dims]` (B at most the plan's
    /// batch size) as the plan says. Raises `ShapeError` for a wrong shape.
    #[pyo3(signature = (x, progress=None))]
    fn encrypt(
        &self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        progress: Option<bool>,
    ) -> PyResult<PyEncryptedTensor> {
        let (plan, model) = self.planned()?;
        let x = to_array(x)?;
        let b = x.shape().first().copied().unwrap_or(0);
        if b == 0 || b > plan.batch_size {
            return Err(BindError::shape(format!(
                "the batch holds {b} samples; the plan takes 1..={}",
                plan.batch_size
            ))
            .into());
        }
        let p = packing(plan)?;
        let expected = Some(plan.predicted.encrypt_seconds);
        let c = &self.client;
        let t = progress::run(
            py,
            "encrypt",
            progress,
            expected,
            || -> BResult<AnyTensor> {
                Ok(
                    with_client!(c.as_ref(), cl, B => AnyTensor::from(encrypt_input::<B>(model, cl, &x, &p)?)),
                )
            },
        )??;
        Ok(PyEncryptedTensor {
            tensor: t,
            codec: self.codec.clone(),
        })
    }

    /// Decrypts a model output to a numpy array `[B, *model.output_dims]`.
    #[pyo3(signature = (y, progress=None))]
    fn decrypt<'py>(
        &self,
        py: Python<'py>,
        y: &PyEncryptedTensor,
        progress: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (plan, model) = self.planned()?;
        let expected = Some(plan.predicted.decrypt_seconds);
        let c = &self.client;
        let out = progress::run(py, "decrypt", progress, expected, || {
            decrypt_output(model, c, &y.tensor)
        })??;
        to_numpy(py, &out)
    }

    /// The backend name.
    #[getter]
    fn backend(&self) -> &'static str {
        self.client.kind().name()
    }

    /// The parameters, in words.
    #[getter]
    fn params(&self) -> String {
        self.client.params().to_string()
    }

    /// The rotation steps that have a key.
    #[getter]
    fn rotation_steps(&self) -> Vec<i64> {
        self.client
            .key_requirements()
            .rotations
            .iter()
            .copied()
            .collect()
    }

    fn __repr__(&self) -> String {
        let k = self.client.key_requirements();
        format!(
            "Client(backend={}, {}, {} rotation keys, relinearization {})",
            self.client.kind().name(),
            self.client.params(),
            k.rotations.len(),
            k.relinearization
        )
    }
}

fn encrypt_input<B: Backend>(
    model: &Model,
    client: &B::Client,
    x: &ArrayD<f64>,
    p: &Packing,
) -> BResult<hetile_tiles::TileTensor<B>> {
    Ok(model.encrypt_input::<B>(client, x, p)?)
}

fn decrypt_output(model: &Model, c: &AnyClient, y: &AnyTensor) -> BResult<ArrayD<f64>> {
    Ok(match (c, y) {
        (AnyClient::Native(c), AnyTensor::Native(t)) => model.decrypt_output(c, t)?,
        (AnyClient::Mock(c), AnyTensor::Mock(t)) => model.decrypt_output(c, t)?,
        (AnyClient::Sim(c), AnyTensor::Sim(t)) => model.decrypt_output(c, t)?,
        _ => return Err(crate::backend::mismatch("decrypt")),
    })
}

/// The server: runs a model on encrypted inputs with the client's public evaluation keys only.
/// It cannot decrypt.
#[pyclass(name = "Server", module = "hetile", frozen)]
pub struct PyServer {
    pub(crate) codec: Codec,
    evaluator: AnyEvaluator,
    plan: Plan,
    model: Arc<Model>,
}

#[pymethods]
impl PyServer {
    /// A server from a client's public context bytes, the plan and the model (the server's
    /// own copy of the weights). Raises `SerializationError` for invalid bytes,
    /// `ParameterError` when the plan's parameters differ from the context's or the plan does
    /// not fit the model, and `KeyError` when the context lacks a key the plan needs.
    #[staticmethod]
    fn from_public_context(
        py: Python<'_>,
        ctx_bytes: &[u8],
        plan: &PyPlan,
        model: &crate::model::PyModel,
    ) -> PyResult<PyServer> {
        let model = model.model()?;
        let plan = plan.plan.clone();
        let (model, (codec, evaluator)) = py.detach(|| -> BResult<(Arc<Model>, (Codec, AnyEvaluator))> {
            let loaded = serial::context_from_bytes(ctx_bytes)?;
            let params = plan.params()?;
            if params.fingerprint() != loaded.params.fingerprint() {
                return Err(BindError::param(format!(
                    "the public context was made for other parameters ({}) than the plan's ({params})",
                    loaded.params
                )));
            }
            let need = plan.key_requirements();
            if need.relinearization && !loaded.keys.relinearization {
                return Err(BindError::new(
                    Class::Key,
                    "the public context has no relinearization key, which the plan needs",
                ));
            }
            if let Some(s) = need.rotations.difference(&loaded.keys.rotations).next() {
                return Err(BindError::new(
                    Class::Key,
                    format!("the public context has no rotation key for step {s}, which the plan needs"),
                ));
            }
            plan.check_against(&model)?;
            let configured = Arc::new(plan.configure(&model)?);
            Ok((configured, match (loaded.kind, loaded.native) {
                (Kind::Native, Some(pc)) => (
                    Codec::Native(Arc::clone(pc.context())),
                    AnyEvaluator::Native(pc.evaluator()),
                ),
                (Kind::Mock, _) => (
                    Codec::Mock(loaded.params.clone()),
                    AnyEvaluator::Mock(MockEvaluator::new(&loaded.params, &loaded.keys)),
                ),
                (Kind::Simulator, _) => {
                    let c = <SimClient as hetile_backend::Client<hetile_sim::SimBackend>>::new(
                        &loaded.params,
                        &loaded.keys,
                    )?;
                    (
                        Codec::Sim(loaded.params.clone()),
                        AnyEvaluator::Sim(hetile_backend::Client::evaluator(&c)?),
                    )
                }
                (Kind::Native, None) => {
                    return Err(BindError::serial("native context without keys"));
                }
            }))
        })?;
        Ok(PyServer {
            codec,
            evaluator,
            plan,
            model,
        })
    }

    /// Runs the model on an encrypted batch with the plan's thread count (the GIL is released)
    /// and returns the encrypted output. Raises `LevelError` when the input has too few levels,
    /// `KeyError` for a missing key, `SerializationError` for a tensor of another backend.
    #[pyo3(signature = (x, progress=None))]
    fn predict(
        &self,
        py: Python<'_>,
        x: &PyEncryptedTensor,
        progress: Option<bool>,
    ) -> PyResult<PyEncryptedTensor> {
        let expected = Some(self.plan.predicted.latency_seconds);
        let out = progress::run(py, "predict", progress, expected, || {
            forward(
                &self.model,
                &self.evaluator,
                &x.tensor,
                self.plan.threads,
                &mut |_, _| {},
            )
        })??;
        Ok(PyEncryptedTensor {
            tensor: out,
            codec: self.codec.clone(),
        })
    }

    /// As `predict`, and also measures each layer: returns `(y, layers)` where `layers` lists
    /// one dict per model node in order, `{"index": i, "kind": "dense", "seconds": t}` (the
    /// node's wall-clock time on the server), matching by `index` (and `kind`) the entries of
    /// `plan.simulate().to_dict()["layers"]`. Raises as `predict`.
    #[pyo3(signature = (x, progress=None))]
    fn predict_profiled<'py>(
        &self,
        py: Python<'py>,
        x: &PyEncryptedTensor,
        progress: Option<bool>,
    ) -> PyResult<(PyEncryptedTensor, Bound<'py, PyList>)> {
        let expected = Some(self.plan.predicted.latency_seconds);
        let mut times: Vec<(usize, f64)> = Vec::with_capacity(self.model.nodes().len());
        let out = progress::run(py, "predict", progress, expected, || {
            forward(
                &self.model,
                &self.evaluator,
                &x.tensor,
                self.plan.threads,
                &mut |i, d| times.push((i, d.as_secs_f64())),
            )
        })??;
        let layers = PyList::empty(py);
        for (index, seconds) in times {
            let kind = self.model.nodes().get(index).map_or("?", |n| n.kind());
            let d = PyDict::new(py);
            d.set_item("index", index)?;
            d.set_item("kind", kind)?;
            d.set_item("seconds", seconds)?;
            layers.append(d)?;
        }
        let y = PyEncryptedTensor {
            tensor: out,
            codec: self.codec.clone(),
        };
        Ok((y, layers))
    }

    /// The backend name.
    #[getter]
    fn backend(&self) -> &'static str {
        self.evaluator.kind().name()
    }

    fn __repr__(&self) -> String {
        format!(
            "Server(backend={}, {}, threads={})",
            self.evaluator.kind().name(),
            self.evaluator.params(),
            self.plan.threads
        )
    }
}

/// Encrypted data of a model run (a tile tensor of ciphertexts). Serialize with `to_bytes()`
/// and load with `EncryptedTensor.from_bytes(data, context)` where `context` is the `Client`
/// or `Server` that will use it (its parameters and backend are checked).
#[pyclass(name = "EncryptedTensor", module = "hetile", frozen)]
pub struct PyEncryptedTensor {
    pub(crate) tensor: AnyTensor,
    pub(crate) codec: Codec,
}

/// The codec of a `Client` or `Server`.
pub fn codec_of(context: &Bound<'_, PyAny>) -> PyResult<Codec> {
    if let Ok(c) = context.cast::<PyClient>() {
        return Ok(c.get().codec.clone());
    }
    if let Ok(s) = context.cast::<PyServer>() {
        return Ok(s.get().codec.clone());
    }
    Err(pyo3::exceptions::PyTypeError::new_err(
        "context must be a hetile.Client or hetile.Server",
    ))
}

#[pymethods]
impl PyEncryptedTensor {
    /// The ciphertexts as bytes (validated on load; see `from_bytes`).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let b = py.detach(|| serial::tensor_to_bytes(&self.tensor, &self.codec))?;
        Ok(PyBytes::new(py, &b))
    }

    /// Loads ciphertexts for `context` (a `Client` or `Server`). Raises `SerializationError`
    /// for garbage, another backend or other parameters.
    #[staticmethod]
    fn from_bytes(
        py: Python<'_>,
        data: &[u8],
        context: &Bound<'_, PyAny>,
    ) -> PyResult<PyEncryptedTensor> {
        let codec = codec_of(context)?;
        let tensor = py.detach(|| serial::tensor_from_bytes(data, &codec))?;
        Ok(PyEncryptedTensor { tensor, codec })
    }

    /// The tile shape in HElayers notation.
    #[getter]
    fn shape(&self) -> String {
        self.tensor.shape().to_string()
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
    /// The backend name.
    #[getter]
    fn backend(&self) -> &'static str {
        self.tensor.kind().name()
    }
    fn __repr__(&self) -> String {
        format!(
            "EncryptedTensor(backend={}, shape={}, ciphertexts={}, level={}, scale=2^{:.2})",
            self.tensor.kind().name(),
            self.tensor.shape(),
            self.tensor.num_tiles(),
            self.tensor.level(),
            self.tensor.log2_scale()
        )
    }
}
