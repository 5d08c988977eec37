//! [`Plan`]: everything a run needs besides the model and the data, as YAML or JSON.

use crate::error::{OptError, Result};
use crate::predict::{simulate, Prediction};
use hetile_backend::{KeyRequirements, Params, ParamsLiteral};
use hetile_layers::{ConvStrategy, Model, ModelPlan, Packing};
use hetile_sim::CostTable;
use serde::{Deserialize, Serialize};

/// An ONNX model file and the import options it was read with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSource {
    /// The ONNX file's path.
    pub path: String,
    /// Degree of the polynomial approximations of Relu, Sigmoid, Tanh and Gelu.
    pub activation_degree: usize,
    /// The range `[lo, hi]` the approximations were fitted on (`None`: calibrated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_range: Option<[f64; 2]>,
    /// The per-sample input shape, when the graph's is symbolic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_shape: Vec<usize>,
}

/// A complete plan for an encrypted run: CKKS parameters, packing, batch size, the exact
/// rotation keys, thread count and memory cap, and the simulator's prediction.
///
/// `rotation_steps` and `relinearization` are exactly what the model's run uses: key
/// generation from [`Plan::key_requirements`] creates those keys and no others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The CKKS parameters.
    pub params: ParamsLiteral,
    /// The packing tile `[t0, t1, t2]` ([`Packing`]); `t2` samples share a ciphertext.
    pub packing: [usize; 3],
    /// The convolution strategy of each convolution node, in node order ("im2col",
    /// "interleaved", "unrolled"); empty means the model's defaults. Apply with
    /// [`Plan::configure`].
    #[serde(default)]
    pub conv_strategies: Vec<String>,
    /// Samples per run.
    pub batch_size: usize,
    /// The rotation steps of the run (each needs a Galois key), sorted.
    pub rotation_steps: Vec<i64>,
    /// Whether the run multiplies ciphertexts (needs the relinearization key).
    pub relinearization: bool,
    /// The server's thread count.
    pub threads: usize,
    /// The memory cap the plan was chosen under, in bytes.
    pub max_memory_bytes: u64,
    /// Where the model came from (an ONNX file and its import options), for
    /// `hetile simulate plan.yaml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelSource>,
    /// The simulator's prediction for this plan.
    pub predicted: Prediction,
}

impl Plan {
    /// A plan with the caller's parameters, packing and batch size (no search): checks that the
    /// parameters are valid and secure as their literal asks, that the packing fills the slots
    /// and that the chain is deep enough, then derives the keys and predicts with the default
    /// cost table. The memory cap recorded is the machine's available memory.
    /// Errors: [`OptError::Backend`] for bad or insecure parameters, [`OptError::Layer`] when
    /// the model cannot take the packing, [`OptError::InvalidRequirement`] for a packing that
    /// does not fill the slots, a zero batch or thread count, or a chain shorter than the
    /// model's depth.
    pub fn manual(
        model: &Model,
        params: ParamsLiteral,
        packing: [usize; 3],
        batch_size: usize,
        threads: usize,
    ) -> Result<Plan> {
        let costs = CostTable::default_table()?;
        Plan::manual_with(model, params, packing, batch_size, threads, &costs)
    }

    /// [`Plan::manual`] with the caller's cost table.
    pub fn manual_with(
        model: &Model,
        params: ParamsLiteral,
        packing: [usize; 3],
        batch_size: usize,
        threads: usize,
        costs: &CostTable,
    ) -> Result<Plan> {
        let mut plan = Plan::unpredicted(model, params, packing, batch_size, threads)?;
        plan.predicted = simulate(model, &plan, costs)?;
        Ok(plan)
    }

    /// The plan without its prediction (all zeros): validation and keys only. `model` is
    /// taken with its convolution strategies as they are; they are recorded in the plan.
    pub(crate) fn unpredicted(
        model: &Model,
        params: ParamsLiteral,
        packing: [usize; 3],
        batch_size: usize,
        threads: usize,
    ) -> Result<Plan> {
        if batch_size == 0 || threads == 0 {
            return Err(OptError::InvalidRequirement(
                "batch size and threads must be at least 1".into(),
            ));
        }
        let checked = Params::new(params.clone())?;
        let p = Packing::new(packing)?;
        let slots = checked.slots().0;
        if p.slots() != slots {
            return Err(OptError::InvalidRequirement(format!(
                "packing {packing:?} holds {} slots but N = 2^{} has {slots}",
                p.slots(),
                params.log_n
            )));
        }
        let mp = model.plan(&p, batch_size)?;
        if mp.depth > checked.max_level().0 {
            return Err(OptError::InvalidRequirement(format!(
                "the model needs {} levels but the chain has {}",
                mp.depth,
                checked.max_level().0
            )));
        }
        Ok(Plan::assemble(
            model,
            params,
            packing,
            batch_size,
            threads,
            &mp,
            crate::requirements::available_memory_bytes(),
        ))
    }

    /// The plan (prediction all zeros) of `model`, already checked: `mp` is the model's plan
    /// for `packing` and `batch_size`, and the chain of `params` holds its depth.
    pub(crate) fn assemble(
        model: &Model,
        params: ParamsLiteral,
        packing: [usize; 3],
        batch_size: usize,
        threads: usize,
        mp: &ModelPlan,
        max_memory_bytes: u64,
    ) -> Plan {
        Plan {
            params,
            packing,
            conv_strategies: model
                .conv_strategies()
                .iter()
                .map(|c| c.name().to_string())
                .collect(),
            batch_size,
            rotation_steps: mp.keys.rotations.iter().copied().collect(),
            relinearization: mp.keys.relinearization,
            threads,
            max_memory_bytes,
            model: None,
            predicted: Prediction::default(),
        }
    }

    /// The checked parameters.
    /// Errors: [`OptError::Backend`] when the literal is invalid or insecure.
    pub fn params(&self) -> Result<Params> {
        Ok(Params::new(self.params.clone())?)
    }

    /// The packing.
    /// Errors: [`OptError::Layer`] unless every tile entry is a power of two.
    pub fn packing(&self) -> Result<Packing> {
        Ok(Packing::new(self.packing)?)
    }

    /// The evaluation keys of the run: relinearization when needed and exactly the plan's
    /// rotation steps.
    pub fn key_requirements(&self) -> KeyRequirements {
        let keys = KeyRequirements::none().with_rotations(self.rotation_steps.iter().copied());
        if self.relinearization {
            keys.with_relinearization()
        } else {
            keys
        }
    }

    /// `model` with the plan's convolution strategies set (a copy; with no strategies
    /// recorded, the model's own). Every run of the plan uses this model: the packing, the keys
    /// and the depth were chosen for these strategies.
    /// Errors: [`OptError::InvalidRequirement`] for an unknown strategy name, a count that
    /// differs from the model's convolutions, or a strategy the model cannot take.
    pub fn configure(&self, model: &Model) -> Result<Model> {
        let mut m = model.clone();
        if self.conv_strategies.is_empty() {
            return Ok(m);
        }
        let strategies = self
            .conv_strategies
            .iter()
            .map(|s| {
                s.parse::<ConvStrategy>()
                    .map_err(|e| OptError::InvalidRequirement(e.to_string()))
            })
            .collect::<Result<Vec<_>>>()?;
        m.with_conv_strategies(&strategies)
            .map_err(|e| OptError::InvalidRequirement(format!("plan's conv strategies: {e}")))?;
        Ok(m)
    }

    /// Checks that the plan still fits `model` (configured with the plan's strategies): the
    /// packing and batch give exactly the plan's keys and a depth the chain holds.
    /// Errors: [`OptError::InvalidRequirement`] naming the mismatch, layer and backend errors.
    pub fn check_against(&self, model: &Model) -> Result<()> {
        let model = &self.configure(model)?;
        let fresh = Plan::unpredicted(
            model,
            self.params.clone(),
            self.packing,
            self.batch_size,
            self.threads,
        )?;
        if fresh.rotation_steps != self.rotation_steps
            || fresh.relinearization != self.relinearization
        {
            return Err(OptError::InvalidRequirement(
                "the plan's keys do not match this model (was it made for another model?)".into(),
            ));
        }
        Ok(())
    }

    /// The plan as YAML.
    /// Errors: [`OptError::Serialization`].
    pub fn to_yaml(&self) -> Result<String> {
        yaml_serde::to_string(self).map_err(|e| OptError::Serialization(e.to_string()))
    }

    /// A plan from YAML.
    /// Errors: [`OptError::Serialization`] for malformed text or missing fields.
    pub fn from_yaml(text: &str) -> Result<Plan> {
        yaml_serde::from_str(text).map_err(|e| OptError::Serialization(e.to_string()))
    }

    /// The plan as pretty JSON.
    /// Errors: [`OptError::Serialization`].
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| OptError::Serialization(e.to_string()))
    }

    /// A plan from JSON.
    /// Errors: [`OptError::Serialization`] for malformed text or missing fields.
    pub fn from_json(text: &str) -> Result<Plan> {
        serde_json::from_str(text).map_err(|e| OptError::Serialization(e.to_string()))
    }
}
