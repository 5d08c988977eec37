//! Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 28x28 grey images of ten kinds of clothing,
//! 60,000 for training and 10,000 for testing.
//!
//! The full data comes from the Debian package `dataset-fashion-mnist` (pinned version and
//! SHA-256 of the `.deb`, [`FASHION_DEB`]): `apt-get download` into a temporary folder under
//! the cache, hash check, `dpkg-deb -x`, each gzipped IDX file decompressed with `gzip -dc`
//! into `<cache>/dataset-fashion-mnist-<version>/<name>` (the layout
//! `tutorials/training/fashion_data.py` uses). No Rust crate is needed for the archive or the
//! compression: the three system tools do it, and each failure is a typed [`TutorialError`]
//! (tool missing, command failed, hash mismatch, member missing, I/O, malformed IDX).
//!
//! A stratified sample of the test split is committed ([`FASHION_SAMPLE_CSV`]).

use crate::data::{cache_dir, io_err, tail, verify_sha256};
use crate::dataset::MnistData;
use crate::error::{Result, TutorialError};
use ndarray::Array2;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A pinned Debian package and the gzipped files it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebPackage {
    /// The package name.
    pub package: &'static str,
    /// Its pinned version (`apt-get download <package>=<version>`).
    pub version: &'static str,
    /// The `.deb`'s SHA-256 (lower-case hex).
    pub sha256: &'static str,
    /// The folder inside the package holding the gzipped members.
    pub dir: &'static str,
}

/// Fashion-MNIST's Debian package (Debian bookworm, `main`).
pub const FASHION_DEB: DebPackage = DebPackage {
    package: "dataset-fashion-mnist",
    version: "0.0~git20200523.55506a9-1",
    sha256: "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0",
    dir: "usr/share/datasets/fashion-mnist",
};

/// The training images (IDX, unsigned bytes, 60000 x 28 x 28).
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
/// The training labels (IDX, 60000).
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
/// The test images (IDX, 10000 x 28 x 28).
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
/// The test labels (IDX, 10000).
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";
/// Every member the loader decompresses.
pub const MEMBERS: [&str; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// The class names, by label.
pub const CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// The committed sample (`tutorials/data/fashion_test_sample.csv`, written by
/// `training/train_fashion.py`): the first 40 test images of each class in test-set order
/// (400 images, 40 per class), sorted by their test-set index. Header
/// `index,label,1x1,...,28x28`.
pub const FASHION_SAMPLE_CSV: &str = include_str!("../data/fashion_test_sample.csv");

/// The programs the loader runs (replaceable for tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tools {
    /// `apt-get` (run as `apt-get download <package>=<version>` in the temporary folder).
    pub apt_get: String,
    /// `dpkg-deb` (run as `dpkg-deb -x <deb> <dir>`).
    pub dpkg_deb: String,
    /// `gzip` (run as `gzip -dc <file>`).
    pub gzip: String,
}

impl Default for Tools {
    fn default() -> Self {
        Tools {
            apt_get: "apt-get".into(),
            dpkg_deb: "dpkg-deb".into(),
            gzip: "gzip".into(),
        }
    }
}

/// The cache folder of `deb`: `<cache>/<package>-<version>`.
pub fn cached_dir(cache: &Path, deb: &DebPackage) -> PathBuf {
    cache.join(format!("{}-{}", deb.package, deb.version))
}

/// Runs `program args` in `dir` (standard output to `stdout` when given).
/// Errors: [`TutorialError::ToolMissing`] when it cannot start, [`TutorialError::CommandFailed`]
/// when it exits with a failure.
fn tool(program: &str, args: &[&str], dir: &Path, stdout: Option<std::fs::File>) -> Result<()> {
    let command = format!("{program} {}", args.join(" "));
    let mut c = Command::new(program);
    c.args(args).current_dir(dir).stderr(Stdio::piped());
    c.stdout(stdout.map_or_else(Stdio::null, Stdio::from));
    let out = c.output().map_err(|e| TutorialError::ToolMissing {
        command: command.clone(),
        reason: e.to_string(),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(TutorialError::CommandFailed {
            command,
            status: out.status.code().unwrap_or(-1),
            stderr: tail(&out.stderr),
        })
    }
}

/// Downloads the `.deb` of `deb` into `dir` with `apt-get download` and returns its path.
/// Errors: as [`Tools`]' commands; [`TutorialError::CommandFailed`] when no `.deb` appears.
pub fn download_deb(deb: &DebPackage, dir: &Path, tools: &Tools) -> Result<PathBuf> {
    let spec = format!("{}={}", deb.package, deb.version);
    tool(&tools.apt_get, &["download", &spec], dir, None)?;
    let entries = std::fs::read_dir(dir).map_err(io_err("listing", dir))?;
    for e in entries {
        let p = e.map_err(io_err("listing", dir))?.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with(deb.package) && name.ends_with(".deb") {
            return Ok(p);
        }
    }
    Err(TutorialError::CommandFailed {
        command: format!("{} download {spec}", tools.apt_get),
        status: 0,
        stderr: format!(
            "no {}*.deb in {} after the download",
            deb.package,
            dir.display()
        ),
    })
}

/// Extracts the `.deb` at `file` into `into` (`dpkg-deb -x`) and decompresses each of
/// `members` (`<dir>/<member>.gz` inside the package) to `dest/<member>` (through a
/// `.partial` file renamed at the end, so an interrupted run leaves no truncated entry).
/// Errors: [`TutorialError::MemberMissing`], tool errors, [`TutorialError::Io`].
pub fn extract_members(
    deb: &DebPackage,
    file: &Path,
    into: &Path,
    members: &[&str],
    dest: &Path,
    tools: &Tools,
) -> Result<()> {
    let (f, x) = (file.display().to_string(), into.display().to_string());
    tool(
        &tools.dpkg_deb,
        &["-x", &f, &x],
        into.parent().unwrap_or(into),
        None,
    )?;
    std::fs::create_dir_all(dest).map_err(io_err("creating", dest))?;
    for m in members {
        let gz = into.join(deb.dir).join(format!("{m}.gz"));
        if !gz.is_file() {
            return Err(TutorialError::MemberMissing {
                wheel: f.clone(),
                member: format!("{}/{m}.gz", deb.dir),
            });
        }
        let partial = dest.join(format!("{m}.partial"));
        let out = std::fs::File::create(&partial).map_err(io_err("creating", &partial))?;
        let gz_s = gz.display().to_string();
        tool(&tools.gzip, &["-dc", &gz_s], dest, Some(out))?;
        let target = dest.join(m);
        std::fs::rename(&partial, &target).map_err(io_err("renaming", &partial))?;
    }
    Ok(())
}

/// The cache folder holding the decompressed [`MEMBERS`] of [`FASHION_DEB`] under `cache`,
/// fetching them first when any is absent: download into a temporary folder under `cache`,
/// check the hash, extract, decompress, remove the temporary folder.
/// Errors: as [`download_deb`], [`verify_sha256`] and [`extract_members`].
pub fn fetch_into(cache: &Path, tools: &Tools) -> Result<PathBuf> {
    let deb = &FASHION_DEB;
    let dest = cached_dir(cache, deb);
    if MEMBERS.iter().all(|m| dest.join(m).is_file()) {
        return Ok(dest);
    }
    let tmp = cache.join(format!(".download-{}-{}", deb.package, std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(io_err("creating", &tmp))?;
    let result = download_deb(deb, &tmp, tools).and_then(|file| {
        verify_sha256(&file, deb.sha256)?;
        extract_members(deb, &file, &tmp.join("x"), &MEMBERS, &dest, tools)
    });
    // best effort: a leftover temporary folder is harmless
    let _ = std::fs::remove_dir_all(&tmp);
    result.map(|()| dest)
}

/// [`fetch_into`] the process's [`cache_dir`] with the system tools.
pub fn fetch() -> Result<PathBuf> {
    fetch_into(&cache_dir()?, &Tools::default())
}

fn idx_err(file: &str, reason: impl Into<String>) -> TutorialError {
    TutorialError::Idx {
        file: file.to_string(),
        reason: reason.into(),
    }
}

/// Parses an IDX file of unsigned bytes (magic `00 00 08 <ndim>`, `ndim` big-endian u32
/// sizes, then the data): its dimensions and data. `file` names it in errors.
/// Errors: [`TutorialError::Idx`] for a bad magic, a data type other than unsigned byte, or a
/// length that disagrees with the dimensions.
pub fn parse_idx<'a>(bytes: &'a [u8], file: &str) -> Result<(Vec<usize>, &'a [u8])> {
    let head = bytes
        .get(..4)
        .ok_or_else(|| idx_err(file, "shorter than 4 bytes"))?;
    if head[0] != 0 || head[1] != 0 {
        return Err(idx_err(
            file,
            format!("bad magic {:02x}{:02x}", head[0], head[1]),
        ));
    }
    if head[2] != 0x08 {
        return Err(idx_err(
            file,
            format!("data type 0x{:02x}, expected 0x08 (unsigned byte)", head[2]),
        ));
    }
    let ndim = usize::from(head[3]);
    let body = 4 + 4 * ndim;
    let sizes = bytes
        .get(4..body)
        .ok_or_else(|| idx_err(file, format!("truncated header ({ndim} dimensions)")))?;
    let dims: Vec<usize> = sizes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| idx_err(file, format!("dimensions {dims:?} overflow")))?;
    let data = &bytes[body..];
    if data.len() != count {
        return Err(idx_err(
            file,
            format!(
                "{} data bytes, dimensions {dims:?} need {count}",
                data.len()
            ),
        ));
    }
    Ok((dims, data))
}

/// Images and labels from the bytes of an IDX image file (`n x 28 x 28`) and an IDX label
/// file (`n`), at most `limit` images when given.
/// Errors: [`TutorialError::Idx`] for malformed files, other image sizes, counts that differ
/// or a label above 9.
pub fn images_from_idx(images: &[u8], labels: &[u8], limit: Option<usize>) -> Result<MnistData> {
    let (idims, pixels) = parse_idx(images, "images")?;
    let (ldims, lab) = parse_idx(labels, "labels")?;
    let n = match idims.as_slice() {
        [n, 28, 28] => *n,
        other => {
            return Err(idx_err(
                "images",
                format!("dimensions {other:?}, expected [n, 28, 28]"),
            ))
        }
    };
    if ldims != [n] {
        return Err(idx_err(
            "labels",
            format!("dimensions {ldims:?}, expected [{n}] (one per image)"),
        ));
    }
    if let Some((i, l)) = lab.iter().enumerate().find(|(_, &l)| l > 9) {
        return Err(idx_err(
            "labels",
            format!("label {l} of image {i} is above 9"),
        ));
    }
    let n = limit.map_or(n, |l| l.min(n));
    let px: Vec<f64> = pixels[..n * 784].iter().map(|&p| f64::from(p)).collect();
    let pixels =
        Array2::from_shape_vec((n, 784), px).map_err(|e| idx_err("images", e.to_string()))?;
    Ok(MnistData {
        pixels,
        labels: lab[..n].iter().map(|&l| usize::from(l)).collect(),
    })
}

/// Reads the test (`test == true`) or training split from the cache folder `dir` (as
/// [`fetch_into`] returns). Errors: [`TutorialError::Io`], as [`images_from_idx`].
pub fn read_split(dir: &Path, test: bool, limit: Option<usize>) -> Result<MnistData> {
    let (i, l) = if test {
        (TEST_IMAGES, TEST_LABELS)
    } else {
        (TRAIN_IMAGES, TRAIN_LABELS)
    };
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read(&p).map_err(io_err("reading", &p))
    };
    images_from_idx(&read(i)?, &read(l)?, limit)
}

fn csv_err(line: usize, reason: impl Into<String>) -> TutorialError {
    TutorialError::Csv {
        what: "fashion sample".into(),
        line,
        reason: reason.into(),
    }
}

/// A parsed sample: the images and each one's index in the test split.
#[derive(Debug, Clone, PartialEq)]
pub struct FashionSample {
    /// Each image's index in the 10,000 test images.
    pub indices: Vec<usize>,
    /// The images.
    pub data: MnistData,
}

/// Parses sample CSV text (`index,label,1x1,...,28x28`), at most `limit` images when given.
/// Errors: [`TutorialError::Csv`] for a bad header, a row without 786 fields, a non-integer,
/// a label above 9 or a pixel above 255.
pub fn parse_sample_csv(text: &str, limit: Option<usize>) -> Result<FashionSample> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    if !header.starts_with("index,label,") || header.split(',').count() != 786 {
        return Err(csv_err(1, "expected header index,label,1x1,...,28x28"));
    }
    let (mut indices, mut labels, mut pixels) = (Vec::new(), Vec::new(), Vec::new());
    for (k, line) in lines.enumerate() {
        if limit.is_some_and(|l| labels.len() >= l) {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let n = k + 2;
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() != 786 {
            return Err(csv_err(n, format!("{} fields, expected 786", f.len())));
        }
        let num = |s: &str| {
            s.parse::<usize>()
                .map_err(|_| csv_err(n, format!("not an integer: {s:?}")))
        };
        indices.push(num(f[0])?);
        let label = num(f[1])?;
        if label > 9 {
            return Err(csv_err(n, format!("label {label}")));
        }
        labels.push(label);
        for s in &f[2..] {
            let v = num(s)?;
            if v > 255 {
                return Err(csv_err(n, format!("pixel {v}")));
            }
            pixels.push(v as f64);
        }
    }
    let pixels = Array2::from_shape_vec((labels.len(), 784), pixels)
        .map_err(|e| csv_err(0, e.to_string()))?;
    Ok(FashionSample {
        indices,
        data: MnistData { pixels, labels },
    })
}
