//! CSV parsing of the two data sets into ndarray, and the committed samples.
//!
//! - Fraud: header `[Row,]Time,V1..V28,Amount,Class` (the optional `Row` column is the row's
//!   index in the full `creditcard.csv`; quotes around fields are accepted).
//! - MNIST: header `label,1x1,...,28x28`, then one image per line (pixels 0..255).

use crate::error::{Result, TutorialError};
use crate::split;
use ndarray::Array2;

/// The committed fraud sample (`tutorials/data/fraud_test_sample.csv`): every fraud of the test
/// split and the first non-frauds of the test split in the split rule's hash order (1,800 rows,
/// frauds enriched from 0.17% to about 5.4%).
pub const FRAUD_SAMPLE_CSV: &str = include_str!("../data/fraud_test_sample.csv");

/// The committed MNIST sample (`tutorials/data/mnist_test_sample.csv`): the first 500 images of
/// `mnist_test.csv`.
pub const MNIST_SAMPLE_CSV: &str = include_str!("../data/mnist_test_sample.csv");

/// Number of fraud features (Time, V1..V28, Amount).
pub const FRAUD_FEATURES: usize = 30;

/// Fraud rows.
#[derive(Debug, Clone, PartialEq)]
pub struct FraudData {
    /// Each row's index in the full `creditcard.csv` (its position when the file has no `Row`
    /// column).
    pub rows: Vec<usize>,
    /// Raw features `(n, 30)`: Time, V1..V28, Amount.
    pub features: Array2<f64>,
    /// `true` for a fraud (`Class` 1).
    pub labels: Vec<bool>,
}

impl FraudData {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Number of frauds.
    pub fn frauds(&self) -> usize {
        self.labels.iter().filter(|&&l| l).count()
    }
    /// The rows at `indices` (in that order). Indices out of range are an
    /// [`TutorialError::Invalid`] error.
    pub fn select(&self, indices: &[usize]) -> Result<FraudData> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(TutorialError::Invalid(format!(
                "row {bad} of {} rows",
                self.len()
            )));
        }
        Ok(FraudData {
            rows: indices.iter().map(|&i| self.rows[i]).collect(),
            features: self.features.select(ndarray::Axis(0), indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        })
    }
    /// The test split of the full data set ([`split`]): rows in file order.
    /// Errors: none in practice (indices come from the data).
    pub fn test_split(&self) -> Result<FraudData> {
        let labels: Vec<usize> = self.labels.iter().map(|&l| usize::from(l)).collect();
        self.select(&split::test_rows(&labels, 2))
    }
}

fn csv_err(what: &str, line: usize, reason: impl Into<String>) -> TutorialError {
    TutorialError::Csv {
        what: what.to_string(),
        line,
        reason: reason.into(),
    }
}

fn fields(line: &str) -> impl Iterator<Item = &str> {
    line.split(',').map(|f| f.trim().trim_matches('"'))
}

/// Parses fraud CSV text. Errors: [`TutorialError::Csv`] for a missing or unexpected header,
/// a row with the wrong number of fields, a non-numeric field or a class other than 0/1.
pub fn parse_fraud_csv(text: &str) -> Result<FraudData> {
    const WHAT: &str = "fraud";
    let mut lines = text.lines();
    let header: Vec<&str> = fields(lines.next().unwrap_or("")).collect();
    let has_row = header.first() == Some(&"Row");
    let cols = &header[usize::from(has_row)..];
    let ok = cols.len() == FRAUD_FEATURES + 1
        && cols.first() == Some(&"Time")
        && cols.get(FRAUD_FEATURES - 1) == Some(&"Amount")
        && cols.last() == Some(&"Class");
    if !ok {
        return Err(csv_err(
            WHAT,
            1,
            "expected header [Row,]Time,V1..V28,Amount,Class",
        ));
    }
    let width = header.len();
    let mut rows = Vec::new();
    let mut data = Vec::new();
    let mut labels = Vec::new();
    for (k, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let n = k + 2;
        let f: Vec<&str> = fields(line).collect();
        if f.len() != width {
            return Err(csv_err(
                WHAT,
                n,
                format!("{} fields, expected {width}", f.len()),
            ));
        }
        let num = |s: &str| {
            s.parse::<f64>()
                .map_err(|_| csv_err(WHAT, n, format!("not a number: {s:?}")))
        };
        let row = if has_row {
            f[0].parse::<usize>()
                .map_err(|_| csv_err(WHAT, n, format!("bad row index {:?}", f[0])))?
        } else {
            labels.len()
        };
        let start = usize::from(has_row);
        for s in &f[start..start + FRAUD_FEATURES] {
            data.push(num(s)?);
        }
        let class = num(f[width - 1])?;
        if class != 0.0 && class != 1.0 {
            return Err(csv_err(WHAT, n, format!("class {class} is not 0 or 1")));
        }
        rows.push(row);
        labels.push(class == 1.0);
    }
    let features = Array2::from_shape_vec((labels.len(), FRAUD_FEATURES), data)
        .map_err(|e| csv_err(WHAT, 0, e.to_string()))?;
    Ok(FraudData {
        rows,
        features,
        labels,
    })
}

/// MNIST images.
#[derive(Debug, Clone, PartialEq)]
pub struct MnistData {
    /// Pixels `(n, 784)`, 0..255, row-major 28x28.
    pub pixels: Array2<f64>,
    /// Digits 0..9.
    pub labels: Vec<usize>,
}

impl MnistData {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// Whether there is no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Parses MNIST CSV text (at most `limit` images when given). Errors: [`TutorialError::Csv`]
/// for a missing header, a row without 785 fields, a label outside 0..9 or a pixel outside
/// 0..255.
pub fn parse_mnist_csv(text: &str, limit: Option<usize>) -> Result<MnistData> {
    const WHAT: &str = "mnist";
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    if !header.starts_with("label") || fields(header).count() != 785 {
        return Err(csv_err(WHAT, 1, "expected header label,1x1,...,28x28"));
    }
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (k, line) in lines.enumerate() {
        if limit.is_some_and(|l| labels.len() >= l) {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let n = k + 2;
        let mut count = 0;
        for (j, s) in fields(line).enumerate() {
            let v: u32 = s
                .parse()
                .map_err(|_| csv_err(WHAT, n, format!("not an integer: {s:?}")))?;
            if j == 0 {
                if v > 9 {
                    return Err(csv_err(WHAT, n, format!("label {v}")));
                }
                labels.push(v as usize);
            } else {
                if v > 255 {
                    return Err(csv_err(WHAT, n, format!("pixel {v}")));
                }
                pixels.push(f64::from(v));
            }
            count += 1;
        }
        if count != 785 {
            return Err(csv_err(WHAT, n, format!("{count} fields, expected 785")));
        }
    }
    let pixels = Array2::from_shape_vec((labels.len(), 784), pixels)
        .map_err(|e| csv_err(WHAT, 0, e.to_string()))?;
    Ok(MnistData { pixels, labels })
}
