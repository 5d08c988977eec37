//! Binary-classification and multi-class metrics: ROC-AUC, PR-AUC (average precision),
//! recall at a fixed precision, the confusion matrix, decision agreement and argmax accuracy.
//!
//! Labels are `bool` (`true` = positive, e.g. fraud); scores are higher for "more positive".
//! Every function checks its inputs and returns [`TutorialError::Metric`] when the metric is
//! undefined (lengths differ, a class is missing, a NaN score), never a panic.

use crate::error::{Result, TutorialError};
use serde::Serialize;

fn err(metric: &'static str, reason: impl Into<String>) -> TutorialError {
    TutorialError::Metric {
        metric,
        reason: reason.into(),
    }
}

fn check(metric: &'static str, labels: &[bool], scores: &[f64]) -> Result<(usize, usize)> {
    if labels.len() != scores.len() {
        return Err(err(
            metric,
            format!("{} labels but {} scores", labels.len(), scores.len()),
        ));
    }
    if scores.iter().any(|s| s.is_nan()) {
        return Err(err(metric, "a score is NaN"));
    }
    let pos = labels.iter().filter(|&&l| l).count();
    let neg = labels.len() - pos;
    if pos == 0 || neg == 0 {
        return Err(err(
            metric,
            format!("needs both classes ({pos} positives, {neg} negatives)"),
        ));
    }
    Ok((pos, neg))
}

/// Indices sorted by descending score (stable: ties keep input order).
fn descending(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    idx
}

/// The operating points at each distinct score threshold, from the highest score down:
/// `(threshold, true positives, false positives)` counting every sample with score
/// `>= threshold`.
fn operating_points(labels: &[bool], scores: &[f64]) -> Vec<(f64, usize, usize)> {
    let order = descending(scores);
    let mut points = Vec::new();
    let (mut tp, mut fp) = (0usize, 0usize);
    for (k, &i) in order.iter().enumerate() {
        if labels[i] {
            tp += 1;
        } else {
            fp += 1;
        }
        let last_of_tie = order.get(k + 1).is_none_or(|&j| scores[j] != scores[i]);
        if last_of_tie {
            points.push((scores[i], tp, fp));
        }
    }
    points
}

/// The area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half (the Mann-Whitney statistic).
/// Errors: [`TutorialError::Metric`] for lengths that differ, a NaN score, or a missing class.
pub fn roc_auc(labels: &[bool], scores: &[f64]) -> Result<f64> {
    let (pos, neg) = check("roc_auc", labels, scores)?;
    let mut area = 0.0;
    let (mut prev_tp, mut prev_fp) = (0usize, 0usize);
    for (_, tp, fp) in operating_points(labels, scores) {
        // trapezoid between the previous and this point (a tie group moves diagonally)
        area += (fp - prev_fp) as f64 * (tp + prev_tp) as f64 / 2.0;
        prev_tp = tp;
        prev_fp = fp;
    }
    Ok(area / (pos as f64 * neg as f64))
}

/// Average precision (the step-wise area under the precision-recall curve, scikit-learn's
/// `average_precision_score`): the sum over thresholds of (recall increase) x precision.
/// Errors: as [`roc_auc`].
pub fn average_precision(labels: &[bool], scores: &[f64]) -> Result<f64> {
    let (pos, _) = check("average_precision", labels, scores)?;
    let mut ap = 0.0;
    let mut prev_recall = 0.0;
    for (_, tp, fp) in operating_points(labels, scores) {
        let recall = tp as f64 / pos as f64;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
    }
    Ok(ap)
}

/// An operating point chosen by [`recall_at_precision`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OperatingPoint {
    /// Samples with score `>= threshold` are flagged positive.
    pub threshold: f64,
    /// Recall (true-positive rate) at the threshold.
    pub recall: f64,
    /// Precision at the threshold.
    pub precision: f64,
}

/// The highest recall among thresholds whose precision is at least `min_precision`
/// (`0 < min_precision <= 1`), with that threshold (the lowest such threshold on ties).
/// When no threshold reaches the precision, recall 0 at a threshold above every score.
/// Errors: as [`roc_auc`], and for `min_precision` outside `(0, 1]`.
pub fn recall_at_precision(
    labels: &[bool],
    scores: &[f64],
    min_precision: f64,
) -> Result<OperatingPoint> {
    let (pos, _) = check("recall_at_precision", labels, scores)?;
    if !(min_precision > 0.0 && min_precision <= 1.0) {
        return Err(err(
            "recall_at_precision",
            format!("precision {min_precision} outside (0, 1]"),
        ));
    }
    let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut best = OperatingPoint {
        threshold: if top.is_finite() { top + 1.0 } else { top },
        recall: 0.0,
        precision: 1.0,
    };
    for (t, tp, fp) in operating_points(labels, scores) {
        let precision = tp as f64 / (tp + fp) as f64;
        let recall = tp as f64 / pos as f64;
        if precision >= min_precision && recall >= best.recall {
            best = OperatingPoint {
                threshold: t,
                recall,
                precision,
            };
        }
    }
    Ok(best)
}

/// A binary confusion matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Confusion {
    /// Positives flagged.
    pub true_positives: usize,
    /// Negatives flagged.
    pub false_positives: usize,
    /// Negatives not flagged.
    pub true_negatives: usize,
    /// Positives missed.
    pub false_negatives: usize,
}

impl Confusion {
    /// The matrix of the decisions `score >= threshold` against `labels`.
    /// Errors: [`TutorialError::Metric`] when the lengths differ.
    pub fn at(labels: &[bool], scores: &[f64], threshold: f64) -> Result<Confusion> {
        if labels.len() != scores.len() {
            return Err(err(
                "confusion",
                format!("{} labels but {} scores", labels.len(), scores.len()),
            ));
        }
        let mut c = Confusion::default();
        for (&l, &s) in labels.iter().zip(scores) {
            match (l, s >= threshold) {
                (true, true) => c.true_positives += 1,
                (false, true) => c.false_positives += 1,
                (false, false) => c.true_negatives += 1,
                (true, false) => c.false_negatives += 1,
            }
        }
        Ok(c)
    }
}

/// The fraction of samples on which `a >= threshold` and `b >= threshold` agree.
/// Errors: [`TutorialError::Metric`] for lengths that differ or no sample.
pub fn decision_agreement(a: &[f64], b: &[f64], threshold: f64) -> Result<f64> {
    if a.len() != b.len() || a.is_empty() {
        return Err(err(
            "decision_agreement",
            format!(
                "lengths {} and {} (must be equal, non-zero)",
                a.len(),
                b.len()
            ),
        ));
    }
    let same = a
        .iter()
        .zip(b)
        .filter(|(x, y)| (**x >= threshold) == (**y >= threshold))
        .count();
    Ok(same as f64 / a.len() as f64)
}

/// The index of the largest entry of each row (`rows x classes`, row-major; the first on ties).
/// Errors: [`TutorialError::Metric`] when `classes` is zero or does not divide the length.
pub fn argmax_rows(values: &[f64], classes: usize) -> Result<Vec<usize>> {
    if classes == 0 || !values.len().is_multiple_of(classes) {
        return Err(err(
            "argmax",
            format!("{} values are not rows of {classes}", values.len()),
        ));
    }
    Ok(values
        .chunks_exact(classes)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &v)| {
                    if v > bv {
                        (i, v)
                    } else {
                        (bi, bv)
                    }
                })
                .0
        })
        .collect())
}

/// The fraction of equal entries of `a` and `b` (accuracy of predictions against labels, or
/// the agreement of two prediction lists).
/// Errors: [`TutorialError::Metric`] for lengths that differ or no entry.
pub fn fraction_equal(a: &[usize], b: &[usize]) -> Result<f64> {
    if a.len() != b.len() || a.is_empty() {
        return Err(err(
            "accuracy",
            format!(
                "lengths {} and {} (must be equal, non-zero)",
                a.len(),
                b.len()
            ),
        ));
    }
    Ok(a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64)
}
