//! Progress display around long native steps: the bar itself lives in `hetile._progress`
//! (tqdm when importable, else a small stderr bar) and is refreshed by a Python thread while the
//! native work runs with the GIL released.

use pyo3::prelude::*;

/// Runs `work` with the GIL released, showing a progress bar labelled `label` unless
/// `progress` is `Some(false)` (or `None` and the global setting is off). `expected_seconds`,
/// when known (the simulator's prediction), sizes the bar.
pub fn run<T: Send>(
    py: Python<'_>,
    label: &str,
    progress: Option<bool>,
    expected_seconds: Option<f64>,
    work: impl FnOnce() -> T + Send,
) -> PyResult<T> {
    let module = py.import("hetile._progress").ok();
    let bar = match (module, progress) {
        (_, Some(false)) | (None, _) => None,
        (Some(m), p) => {
            let enabled = match p {
                Some(v) => v,
                None => m.call_method0("enabled")?.extract::<bool>()?,
            };
            if enabled {
                Some(m.call_method1("start", (label, expected_seconds))?)
            } else {
                None
            }
        }
    };
    let out = py.detach(work);
    if let Some(b) = bar {
        b.call_method0("close")?;
    }
    Ok(out)
}
