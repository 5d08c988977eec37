//! [`CostTable`]: measured per-operation latencies and object sizes, with interpolation, and the
//! latency and memory predictions built on it.

use crate::error::{Result, SimError};
use crate::memory::MemoryProfile;
use crate::ops::{OpCounts, OpKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The default table shipped with the crate, measured by `hetile calibrate` (see its header for
/// the machine).
pub const DEFAULT_TABLE_YAML: &str = include_str!("default_costs.yaml");

/// One measured latency: an operation kind at a ring degree, operand level and thread count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostEntry {
    /// The operation kind.
    pub op: OpKind,
    /// log2 of the ring degree.
    pub log_n: u32,
    /// The operand level.
    pub level: usize,
    /// Worker threads the measurement ran with.
    pub threads: usize,
    /// Latency of one call, in seconds.
    pub seconds: f64,
}

/// Object sizes at one ring degree and level, in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeEntry {
    /// log2 of the ring degree.
    pub log_n: u32,
    /// The level.
    pub level: usize,
    /// Bytes of a ciphertext.
    pub ciphertext_bytes: u64,
    /// Bytes of a plaintext.
    pub plaintext_bytes: u64,
}

/// The size of one key-switching key (relinearization, rotation or conjugation) under a chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySizeEntry {
    /// log2 of the ring degree.
    pub log_n: u32,
    /// The top level of the chain the key was made for.
    pub max_level: usize,
    /// Bytes of one key-switching key.
    pub switching_key_bytes: u64,
}

/// Per-operation latencies by kind, ring degree, level and thread count, and object sizes.
///
/// Lookups interpolate what was not measured (see [`CostTable::latency`]). Serialized as YAML
/// ([`CostTable::to_yaml`], [`CostTable::from_yaml`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CostTable {
    /// Free-form description of where and how the table was measured.
    #[serde(default)]
    pub machine: String,
    /// The backend measured.
    #[serde(default)]
    pub backend: String,
    /// Measured latencies.
    pub latencies: Vec<CostEntry>,
    /// Object sizes.
    #[serde(default)]
    pub sizes: Vec<SizeEntry>,
    /// Key sizes.
    #[serde(default)]
    pub keys: Vec<KeySizeEntry>,
}

/// A latency prediction: the total and its split by operation kind.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LatencyPrediction {
    /// Predicted total, in seconds (sum of count x latency).
    pub total_seconds: f64,
    /// Predicted seconds per operation kind.
    pub by_kind: BTreeMap<OpKind, f64>,
}

/// A memory prediction at the peak of live objects, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MemoryPrediction {
    /// Ciphertexts alive at the peak.
    pub ciphertext_bytes: u64,
    /// Plaintexts alive at the peak.
    pub plaintext_bytes: u64,
    /// Evaluation keys.
    pub key_bytes: u64,
    /// The sum.
    pub total_bytes: u64,
}

/// Linear interpolation of `(x, y)` points sorted by `x` at `x`; outside the range, the nearest
/// point scaled by `(x + 1) / (x_nearest + 1)` (costs grow linearly with the number of primes).
fn along_levels(points: &[(usize, f64)], level: usize) -> Option<f64> {
    let first = points.first()?;
    let last = points.last()?;
    if level <= first.0 {
        return Some(first.1 * (level as f64 + 1.0) / (first.0 as f64 + 1.0));
    }
    if level >= last.0 {
        return Some(last.1 * (level as f64 + 1.0) / (last.0 as f64 + 1.0));
    }
    let upper = points.iter().position(|p| p.0 >= level)?;
    let (x1, y1) = points[upper];
    if x1 == level {
        return Some(y1);
    }
    let (x0, y0) = points[upper.checked_sub(1)?];
    let t = (level - x0) as f64 / (x1 - x0) as f64;
    Some(y0 + t * (y1 - y0))
}

impl CostTable {
    /// Parses a table from YAML and validates it ([`CostTable::validate`]).
    /// Errors: [`SimError::Yaml`], [`SimError::InvalidTable`].
    pub fn from_yaml(text: &str) -> Result<CostTable> {
        let table: CostTable = yaml_serde::from_str(text).map_err(|e| SimError::Yaml {
            reason: e.to_string(),
        })?;
        table.validate()?;
        Ok(table)
    }

    /// The table as YAML. Errors: [`SimError::Yaml`] (only if serialization itself fails).
    pub fn to_yaml(&self) -> Result<String> {
        yaml_serde::to_string(self).map_err(|e| SimError::Yaml {
            reason: e.to_string(),
        })
    }

    /// The table shipped with the crate ([`DEFAULT_TABLE_YAML`]). Errors as
    /// [`CostTable::from_yaml`] (a test checks that it parses).
    pub fn default_table() -> Result<CostTable> {
        CostTable::from_yaml(DEFAULT_TABLE_YAML)
    }

    /// Errors with [`SimError::InvalidTable`] when a latency is negative or not finite, a thread
    /// count is 0 or a ring degree is outside `1..=20`.
    pub fn validate(&self) -> Result<()> {
        for e in &self.latencies {
            if !e.seconds.is_finite() || e.seconds < 0.0 {
                return Err(SimError::InvalidTable {
                    reason: format!(
                        "{} at log_n {} level {}: latency {}",
                        e.op, e.log_n, e.level, e.seconds
                    ),
                });
            }
            if e.threads == 0 || !(1..=20).contains(&e.log_n) {
                return Err(SimError::InvalidTable {
                    reason: format!(
                        "{}: threads {} and log_n {} must be positive and log_n at most 20",
                        e.op, e.threads, e.log_n
                    ),
                });
            }
        }
        Ok(())
    }

    /// The thread counts measured for `op`.
    pub fn thread_counts(&self, op: OpKind) -> BTreeSet<usize> {
        self.latencies
            .iter()
            .filter(|e| e.op == op)
            .map(|e| e.threads)
            .collect()
    }

    /// The latency of one `op` at ring degree `2^log_n`, operand `level` and `threads` threads,
    /// in seconds. What was not measured is interpolated:
    /// - threads: the measured thread count nearest to `threads` (the lower one on a tie);
    /// - level: linearly between the nearest measured levels; below or above them, the nearest
    ///   scaled by `(level + 1) / (nearest + 1)`;
    /// - ring degree: geometrically between the nearest measured degrees; outside them, the
    ///   nearest scaled by `N log N` (`2^d * log_n / nearest_log_n`, `d` the difference).
    ///
    /// Errors with [`SimError::MissingCost`] when `op` was never measured.
    pub fn latency(&self, op: OpKind, log_n: u32, level: usize, threads: usize) -> Result<f64> {
        let missing = || SimError::MissingCost { op };
        let counts = self.thread_counts(op);
        let t = counts
            .iter()
            .copied()
            .min_by_key(|&c| (c.abs_diff(threads), c))
            .ok_or_else(missing)?;
        let mut by_degree: BTreeMap<u32, Vec<(usize, f64)>> = BTreeMap::new();
        for e in self
            .latencies
            .iter()
            .filter(|e| e.op == op && e.threads == t)
        {
            by_degree
                .entry(e.log_n)
                .or_default()
                .push((e.level, e.seconds));
        }
        for points in by_degree.values_mut() {
            points.sort_by_key(|p| p.0);
        }
        let at = |d: u32| -> Result<f64> {
            by_degree
                .get(&d)
                .and_then(|p| along_levels(p, level))
                .ok_or_else(missing)
        };
        if by_degree.contains_key(&log_n) {
            return at(log_n);
        }
        let below = by_degree.range(..log_n).next_back().map(|(&d, _)| d);
        let above = by_degree.range(log_n..).next().map(|(&d, _)| d);
        match (below, above) {
            (Some(lo), Some(hi)) => {
                let (c0, c1) = (at(lo)?.max(1e-15), at(hi)?.max(1e-15));
                let t = f64::from(log_n - lo) / f64::from(hi - lo);
                Ok((c0.ln() + t * (c1.ln() - c0.ln())).exp())
            }
            (Some(d), None) | (None, Some(d)) => {
                let factor =
                    (f64::from(log_n) - f64::from(d)).exp2() * f64::from(log_n) / f64::from(d);
                Ok(at(d)? * factor)
            }
            (None, None) => Err(missing()),
        }
    }

    /// Predicted latency of `counts` (sum over kinds and levels of count x [`CostTable::latency`])
    /// at ring degree `2^log_n` with `threads` threads.
    /// Errors with [`SimError::MissingCost`] for a counted kind the table lacks.
    pub fn predict_latency(
        &self,
        counts: &OpCounts,
        log_n: u32,
        threads: usize,
    ) -> Result<LatencyPrediction> {
        let mut p = LatencyPrediction::default();
        for (key, stat) in counts.iter() {
            if stat.count == 0 {
                continue;
            }
            let s = stat.count as f64 * self.latency(key.kind, log_n, key.level, threads)?;
            *p.by_kind.entry(key.kind).or_default() += s;
            p.total_seconds += s;
        }
        Ok(p)
    }

    /// Bytes of a ciphertext and of a plaintext at `2^log_n` and `level`: the table's sizes when
    /// measured, else the nominal ones (8 bytes per residue: `2 N (level + 1) 8` and
    /// `N (level + 1) 8`).
    pub fn object_bytes(&self, log_n: u32, level: usize) -> (u64, u64) {
        self.sizes
            .iter()
            .find(|s| s.log_n == log_n && s.level == level)
            .map(|s| (s.ciphertext_bytes, s.plaintext_bytes))
            .unwrap_or_else(|| {
                let pt = (1u64 << log_n.min(40)) * (level as u64 + 1) * 8;
                (2 * pt, pt)
            })
    }

    /// Predicted peak memory of a simulated run at `2^log_n`: the ciphertexts and plaintexts
    /// alive per level at the peak ([`MemoryProfile`]) times their sizes
    /// ([`CostTable::object_bytes`]), plus the keys: the table's key size for this degree and the
    /// chain's top level (`max_level`) when measured, else the profile's nominal key bytes.
    pub fn predict_memory(
        &self,
        profile: &MemoryProfile,
        log_n: u32,
        max_level: usize,
    ) -> MemoryPrediction {
        let mut m = MemoryPrediction::default();
        for (level, &n) in profile.peak_ciphertexts.iter().enumerate() {
            m.ciphertext_bytes += n * self.object_bytes(log_n, level).0;
        }
        for (level, &n) in profile.peak_plaintexts.iter().enumerate() {
            m.plaintext_bytes += n * self.object_bytes(log_n, level).1;
        }
        m.key_bytes = self
            .keys
            .iter()
            .find(|k| k.log_n == log_n && k.max_level == max_level)
            .map(|k| k.switching_key_bytes * profile.switching_keys)
            .unwrap_or(profile.key_bytes);
        m.total_bytes = m.ciphertext_bytes + m.plaintext_bytes + m.key_bytes;
        m
    }
}
