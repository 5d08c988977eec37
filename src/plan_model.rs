//! What running a plan needs besides the plan itself: the model it names, and a deterministic
//! batch to feed it (shared by `hetile simulate --measure` and the diagnostic examples).

use hetile_layers::{LayerError, Model};
use hetile_opt::{ModelSource, Plan};
use ndarray::{ArrayD, IxDyn};

/// Imports the model a plan names, with the plan's activation degree, range and input shape.
/// Errors: import errors (missing file, unsupported operator, ...).
#[cfg(feature = "onnx")]
pub fn load_source(src: &ModelSource) -> Result<Model, LayerError> {
    use hetile_layers::onnx::{self, ApproxSpec, ImportOptions};
    let options = ImportOptions {
        activation: ApproxSpec {
            degree: src.activation_degree,
            range: src.activation_range.map(|[lo, hi]| (lo, hi)),
        },
        input_shape: (!src.input_shape.is_empty()).then(|| src.input_shape.clone()),
        ..ImportOptions::default()
    };
    onnx::load(&src.path, &options)
}

/// A deterministic input batch of the plan's batch size for `model` (values in `[-0.4, 0.6)`).
/// Errors: [`LayerError`] when the model's input dimensions give no valid array shape.
pub fn sample_batch(plan: &Plan, model: &Model) -> Result<ArrayD<f64>, LayerError> {
    let mut dims = vec![plan.batch_size];
    dims.extend_from_slice(model.input_dims());
    let n: usize = dims.iter().product();
    let values = (0..n)
        .map(|i| ((i * 7919) % 13) as f64 / 13.0 - 0.4)
        .collect();
    ArrayD::from_shape_vec(IxDyn(&dims), values).map_err(|e| LayerError::InvalidModel {
        reason: format!("input batch {dims:?}: {e}"),
    })
}
