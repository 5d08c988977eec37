//! `hetile.Plan`, `hetile.SimulationReport` and `hetile.optimize`: bindings of `hetile-opt`.

use crate::convert::to_json;
use crate::errors::{BResult, BindError};
use crate::model::PyModel;
use crate::progress;
use hetile_backend::ParamsLiteral;
use hetile_layers::Model;
use hetile_opt::{BatchSize, Objective, Plan, Prediction, Requirements};
use hetile_sim::CostTable;
use pyo3::prelude::*;
use std::sync::Arc;

/// A JSON-serializable value as a Python object (through `json.loads`).
fn to_py_value<'py, T: serde::Serialize>(py: Python<'py>, v: &T) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(v).map_err(|e| BindError::serial(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// Parameters from a preset name (`"N14_L4"`, `"N15_L4"`, `"N15_L8"`) or a dict with the
/// literal's fields (`log_n`, `log_q`, `log_p`, `log_scale`, optional `digits`, `security`
/// such as `"insecure"`: the explicit opt-out of the 128-bit check, `secret`).
pub fn parse_params(params: &Bound<'_, PyAny>) -> PyResult<ParamsLiteral> {
    if let Ok(name) = params.extract::<String>() {
        return Ok(ParamsLiteral::preset(&name).map_err(BindError::from)?);
    }
    let text = to_json(params)?;
    Ok(serde_json::from_str::<ParamsLiteral>(&text)
        .map_err(|e| BindError::param(format!("invalid parameters {text}: {e}")))?)
}

/// A cost table: the shipped default, or one in YAML (as written by `hetile calibrate`).
fn cost_table(costs: Option<&str>) -> BResult<CostTable> {
    Ok(match costs {
        Some(text) => CostTable::from_yaml(text)?,
        None => CostTable::default_table()?,
    })
}

/// The simulator's prediction for one run of a plan: latency, throughput, client times,
/// memory, keys and a per-layer split. `repr()` prints it as a table; `to_dict()` gives every
/// field.
#[pyclass(name = "SimulationReport", module = "hetile", frozen)]
pub struct PyReport {
    p: Prediction,
}

#[pymethods]
impl PyReport {
    /// The server's predicted time for one batch with the plan's threads, in seconds.
    #[getter]
    fn latency_seconds(&self) -> f64 {
        self.p.latency_seconds
    }
    /// The server's predicted time for one batch on one thread, in seconds.
    #[getter]
    fn latency_single_thread_seconds(&self) -> f64 {
        self.p.latency_single_thread_seconds
    }
    /// Predicted samples per second at the plan's batch size.
    #[getter]
    fn throughput_per_second(&self) -> f64 {
        self.p.throughput_per_second
    }
    /// Predicted peak memory of the server's run, in bytes.
    #[getter]
    fn peak_memory_bytes(&self) -> u64 {
        self.p.peak_memory_bytes
    }
    /// Levels the run consumes.
    #[getter]
    fn depth(&self) -> usize {
        self.p.depth
    }
    /// Every field as a dict (layers as a list of dicts).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py_value(py, &self.p)
    }
    fn __repr__(&self) -> String {
        self.p.to_string()
    }
}

/// A complete plan of an encrypted run: CKKS parameters, packing tile, batch size, the exact
/// evaluation keys, threads and the simulator's prediction; tied to its model.
///
/// Make one with `hetile.optimize(model, ...)` or, for experts, `Plan.manual(model, params,
/// tile, batch_size)`. Plans round-trip through `to_yaml()` / `Plan.from_yaml(text, model)`.
#[pyclass(name = "Plan", module = "hetile", frozen)]
pub struct PyPlan {
    pub(crate) plan: Plan,
    pub(crate) model: Arc<Model>,
}

impl PyPlan {
    /// Wraps a plan for `model`.
    pub fn new(plan: Plan, model: Arc<Model>) -> BResult<PyPlan> {
        // runs of the plan use the model with the plan's convolution strategies
        let model = Arc::new(plan.configure(&model)?);
        Ok(PyPlan { plan, model })
    }
}

fn default_threads(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(|| rayon::current_num_threads().max(1))
}

#[pymethods]
impl PyPlan {
    /// A plan with your parameters (a preset name such as `"N14_L4"` or a dict, see the module
    /// docs), packing `tile` `[t0, t1, t2]` (powers of two whose product is the slot count;
    /// `t2` samples share a ciphertext) and `batch_size`; validated and predicted with the
    /// default cost table. Raises `ParameterError` for bad or insecure parameters, a tile
    /// that does not fill the slots or a chain shorter than the model's depth.
    #[staticmethod]
    #[pyo3(signature = (model, params, tile, batch_size=1, threads=None))]
    fn manual(
        py: Python<'_>,
        model: &PyModel,
        params: &Bound<'_, PyAny>,
        tile: [usize; 3],
        batch_size: usize,
        threads: Option<usize>,
    ) -> PyResult<PyPlan> {
        let m = model.model()?;
        let literal = parse_params(params)?;
        let threads = default_threads(threads);
        let mm = Arc::clone(&m);
        let plan = py
            .detach(move || Plan::manual(&mm, literal, tile, batch_size, threads))
            .map_err(BindError::from)?;
        Ok(PyPlan::new(plan, m)?)
    }

    /// Re-runs the simulator on this plan (with the default cost table, or `costs`: a cost
    /// table in YAML as written by `hetile calibrate`) and returns its report.
    #[pyo3(signature = (costs=None))]
    fn simulate(&self, py: Python<'_>, costs: Option<&str>) -> PyResult<PyReport> {
        let table = cost_table(costs)?;
        let p = py
            .detach(|| hetile_opt::simulate(&self.model, &self.plan, &table))
            .map_err(BindError::from)?;
        Ok(PyReport { p })
    }

    /// The prediction stored in the plan (made when the plan was chosen).
    #[getter]
    fn predicted(&self) -> PyReport {
        PyReport {
            p: self.plan.predicted.clone(),
        }
    }

    /// The plan as YAML.
    fn to_yaml(&self) -> PyResult<String> {
        Ok(self.plan.to_yaml().map_err(BindError::from)?)
    }

    /// The plan as JSON.
    fn to_json(&self) -> PyResult<String> {
        Ok(self.plan.to_json().map_err(BindError::from)?)
    }

    /// A plan from YAML for `model`, checked against it (same keys and a deep enough chain).
    /// Raises `SerializationError` for malformed text, `ParameterError` when the plan does not
    /// fit the model.
    #[staticmethod]
    fn from_yaml(text: &str, model: &PyModel) -> PyResult<PyPlan> {
        let plan = Plan::from_yaml(text).map_err(BindError::from)?;
        let m = model.model()?;
        plan.check_against(&m).map_err(BindError::from)?;
        Ok(PyPlan::new(plan, m)?)
    }

    /// A plan from JSON for `model`, as `from_yaml`.
    #[staticmethod]
    fn from_json(text: &str, model: &PyModel) -> PyResult<PyPlan> {
        let plan = Plan::from_json(text).map_err(BindError::from)?;
        let m = model.model()?;
        plan.check_against(&m).map_err(BindError::from)?;
        Ok(PyPlan::new(plan, m)?)
    }

    /// The CKKS parameters literal as a dict.
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py_value(py, &self.plan.params)
    }
    /// The packing tile `[t0, t1, t2]`.
    #[getter]
    fn tile(&self) -> [usize; 3] {
        self.plan.packing
    }
    /// Samples per run.
    #[getter]
    fn batch_size(&self) -> usize {
        self.plan.batch_size
    }
    /// The server's thread count.
    #[getter]
    fn threads(&self) -> usize {
        self.plan.threads
    }
    /// The memory cap the plan was chosen under, in bytes (per server process: with
    /// `hetile.distributed` each worker must stay under it). `optimize(max_memory=...)` records
    /// its argument; `Plan.manual` and `optimize` without a cap record the machine's available
    /// memory.
    #[getter]
    fn max_memory_bytes(&self) -> u64 {
        self.plan.max_memory_bytes
    }
    /// The rotation steps key generation creates (exactly those the run uses).
    #[getter]
    fn rotation_steps(&self) -> Vec<i64> {
        self.plan.rotation_steps.clone()
    }
    /// Whether the run needs the relinearization key.
    #[getter]
    fn relinearization(&self) -> bool {
        self.plan.relinearization
    }
    /// The model the plan is for.
    #[getter]
    fn model(&self) -> PyModel {
        PyModel::from_model((*self.model).clone())
    }

    fn __repr__(&self) -> String {
        let p = &self.plan;
        format!(
            "Plan(N=2^{}, levels={}, scale=2^{}, security={:?}, tile={:?}, batch_size={}, \
             threads={}, rotation_keys={}, relinearization={}, predicted latency {:.4} s, \
             throughput {:.1}/s, memory {:.1} MiB)",
            p.params.log_n,
            p.params.log_q.len().saturating_sub(1),
            p.params.log_scale,
            p.params.security,
            p.packing,
            p.batch_size,
            p.threads,
            p.rotation_steps.len(),
            p.relinearization,
            p.predicted.latency_seconds,
            p.predicted.throughput_per_second,
            p.predicted.peak_memory_bytes as f64 / 1048576.0
        )
    }
}

/// Chooses a plan for `model`: ring degree, prime chain, packing tile and batch size, ranked
/// by the simulator's prediction for `objective` ("latency", "throughput" or "memory").
/// `batch_size` is a number or "choose"; `max_memory` caps the predicted peak in bytes (None:
/// the machine's available memory); `security` is 128, 192 or 256 bits; `min_precision_bits`
/// bounds the estimated output precision; `threads` defaults to all cores.
/// Raises `ParameterError` for a malformed requirement or when no plan fits.
#[pyfunction]
#[pyo3(signature = (model, objective="latency", batch_size=None, max_memory=None, security=128,
                    min_precision_bits=12.0, threads=None, progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn optimize(
    py: Python<'_>,
    model: &PyModel,
    objective: &str,
    batch_size: Option<&Bound<'_, PyAny>>,
    max_memory: Option<u64>,
    security: u32,
    min_precision_bits: f64,
    threads: Option<usize>,
    progress: Option<bool>,
) -> PyResult<PyPlan> {
    let m = model.model()?;
    let objective: Objective = objective.parse().map_err(BindError::from)?;
    let batch = match batch_size {
        None => BatchSize::Fixed(1),
        Some(b) => match b.extract::<usize>() {
            Ok(n) => BatchSize::Fixed(n),
            Err(_) => b
                .extract::<String>()
                .map_err(|_| BindError::param("batch_size must be an int or \"choose\""))?
                .parse()
                .map_err(BindError::from)?,
        },
    };
    let req = Requirements {
        objective,
        batch,
        security_bits: security,
        min_precision_bits,
        max_memory_bytes: max_memory,
        threads: default_threads(threads),
    };
    let mm = Arc::clone(&m);
    let found = progress::run(py, "optimize", progress, None, move || {
        hetile_opt::optimize(&mm, &req)
    })?
    .map_err(BindError::from)?;
    Ok(PyPlan::new(found.best, m)?)
}
