//! The ONNX model arguments shared by `inspect`, `optimize` and `simulate`.

use super::CliError;
use clap::Args;
use hetile::layers::Model;
use hetile::optimizer::ModelSource;
use std::path::PathBuf;

/// How to import an ONNX model.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The ONNX file.
    pub model: PathBuf,
    /// The per-sample input shape, when the graph's is symbolic (e.g. 1,28,28).
    #[arg(long, value_delimiter = ',')]
    pub input_shape: Vec<usize>,
    /// Degree of the polynomial approximations of Relu, Sigmoid, Tanh and Gelu.
    #[arg(long, default_value_t = 7)]
    pub degree: usize,
    /// The range lo,hi the approximations are fitted on.
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        default_value = "-4,4"
    )]
    pub range: Vec<f64>,
}

impl ModelArgs {
    /// The model's source as a plan records it.
    /// Errors: a malformed `--range`.
    pub fn source(&self) -> Result<ModelSource, CliError> {
        let range = match self.range.as_slice() {
            [lo, hi] if lo < hi => [*lo, *hi],
            r => {
                return Err(CliError::new(format!(
                    "--range {r:?}: expected lo,hi with lo < hi"
                )))
            }
        };
        // an absolute path, so that a plan written here can be simulated from anywhere
        let path = std::fs::canonicalize(&self.model).unwrap_or_else(|_| self.model.clone());
        Ok(ModelSource {
            path: path.display().to_string(),
            activation_degree: self.degree,
            activation_range: Some(range),
            input_shape: self.input_shape.clone(),
        })
    }

    /// Imports the model.
    /// Errors: a malformed `--range`, import errors.
    pub fn load(&self) -> Result<Model, CliError> {
        load_source(&self.source()?)
    }
}

/// Imports the model a plan names ([`hetile::plan_model::load_source`]).
/// Errors: import errors (missing file, unsupported operator, ...).
pub fn load_source(src: &ModelSource) -> Result<Model, CliError> {
    hetile::plan_model::load_source(src).map_err(|e| CliError::new(format!("{}: {e}", src.path)))
}
