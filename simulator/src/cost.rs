//! [`CostTable`]: measured per-operation latencies and object sizes, with interpolation, and the
//! latency and memory predictions built on it.

use crate::error::{Result, SimError};
use crate::memory::{MemoryProfile, NominalSizes};
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
    /// Wall time per call when `threads` independent calls run at once (one per thread), as
    /// the tile code runs the ciphertexts of a wide node: the per-call share of a parallel
    /// batch, contention for memory bandwidth included. Optional; without it a parallel call
    /// costs its single-thread latency divided by the thread count.
    #[serde(default)]
    pub parallel: Vec<CostEntry>,
    /// The key-switching structure of the chain measured at each ring degree: rotations,
    /// products and conjugations of another chain are scaled by their relative key-switching
    /// work ([`key_switch_work`]). Optional (no scaling without it).
    #[serde(default)]
    pub chains: Vec<ChainEntry>,
    /// Single-thread latencies of the operations that switch no key and are not fused, on
    /// operands that stay in the cache (two of them, used in turn), where [`CostTable::latencies`]
    /// cycles through more operands than the caches hold. A node whose ciphertexts fit in
    /// [`CostTable::cache_bytes`] (a batch-1 layer) runs these from the cache: its calls are
    /// priced with the ratio of the two ([`CostTable::warm_factor`]). Optional.
    #[serde(default)]
    pub warm: Vec<CostEntry>,
    /// Bytes of the last-level cache of the calibration machine (0: unknown, no node is priced
    /// warm).
    #[serde(default)]
    pub cache_bytes: u64,
    /// Resident bytes of the native runtime beyond the live ciphertexts, plaintexts, keys,
    /// scratch pool and NTT tables (allocator and thread overhead), added to every memory
    /// prediction. `hetile calibrate` writes 0 (the modelled parts cover the measured plans to
    /// within a few percent); set it by hand for a runtime with a larger fixed footprint.
    #[serde(default)]
    pub runtime_base_bytes: u64,
}

/// The key-switching structure of a measured chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainEntry {
    /// log2 of the ring degree.
    pub log_n: u32,
    /// Ciphertext primes (top level + 1).
    pub q_primes: usize,
    /// Special primes.
    pub p_primes: usize,
    /// Key-switching digits.
    pub digits: usize,
}

impl ChainEntry {
    /// The structure of `sizes`' chain at `log_n`.
    pub fn of(log_n: u32, sizes: &NominalSizes) -> ChainEntry {
        ChainEntry {
            log_n,
            q_primes: sizes.q_primes,
            p_primes: sizes.p_primes,
            digits: sizes.digits,
        }
    }
}

/// The relative work of one key switch at `level` under a chain of `q_primes` ciphertext
/// primes split into `digits` contiguous digits (larger first) and `p_primes` special primes:
/// `(active digits + 2) * (level + 1 + p_primes)`, the number transforms and products of the
/// decomposition, the raised inner products and the reduction grow with. A digit is active when
/// its first prime is at or below `level`.
pub fn key_switch_work(q_primes: usize, p_primes: usize, digits: usize, level: usize) -> f64 {
    let digits = digits.clamp(1, q_primes.max(1));
    let (base, extra) = (q_primes / digits, q_primes % digits);
    let mut start = 0;
    let mut active = 0usize;
    for j in 0..digits {
        if start <= level {
            active += 1;
        }
        start += base + usize::from(j < extra);
    }
    ((active + 2) * (level + 1 + p_primes)) as f64
}

/// The native backend's scratch pool cap (`MAX_POOLED_BYTES` of `hetile_ring::scratch`): freed
/// coefficient buffers it keeps resident.
pub const SCRATCH_POOL_BYTES: u64 = 64 << 20;

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
    /// The native runtime's own memory: the scratch pool's resident buffers (up to its cap, as
    /// many as the run frees), the client's secret and public keys, the NTT tables, and the
    /// table's fixed base.
    #[serde(default)]
    pub runtime_bytes: u64,
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
        lookup(&self.latencies, op, log_n, level, threads)
    }

    /// The wall time per call of `op` when `threads` independent calls run at once, one per
    /// thread ([`CostTable::parallel`], interpolated as [`CostTable::latency`] over degrees and
    /// levels, the nearest measured thread count scaled to `threads`); without measurements
    /// the single-thread latency divided by `threads`.
    /// Errors with [`SimError::MissingCost`] when `op` was never measured.
    pub fn parallel_latency(
        &self,
        op: OpKind,
        log_n: u32,
        level: usize,
        threads: usize,
    ) -> Result<f64> {
        let threads = threads.max(1);
        if threads == 1 {
            return self.latency(op, log_n, level, 1);
        }
        let measured = self
            .parallel
            .iter()
            .filter(|e| e.op == op)
            .map(|e| e.threads)
            .min_by_key(|&c| (c.abs_diff(threads), c));
        match measured {
            Some(t) => Ok(lookup(&self.parallel, op, log_n, level, t)? * t as f64 / threads as f64),
            None => Ok(self.latency(op, log_n, level, 1)? / threads as f64),
        }
    }

    /// The factor (at most 1) from the cold to the warm price of `op` ([`CostTable::warm`]) at
    /// `2^log_n` and `level`: 1 for kinds that switch keys or are fused, or were not measured
    /// warm.
    pub fn warm_factor(&self, op: OpKind, log_n: u32, level: usize) -> f64 {
        if op.switches_keys() || op.is_fused() || !self.warm.iter().any(|e| e.op == op) {
            return 1.0;
        }
        match (
            lookup(&self.warm, op, log_n, level, 1),
            self.latency(op, log_n, level, 1),
        ) {
            (Ok(w), Ok(c)) if c > 0.0 && w > 0.0 => (w / c).min(1.0),
            _ => 1.0,
        }
    }

    /// The factor scaling a measured key-switching operation (rotation, product, conjugation)
    /// at `level` from the table's chain at `2^log_n` ([`CostTable::chains`]) to the chain of
    /// `sizes`: the ratio of their [`key_switch_work`]. 1 for other kinds, without `sizes` or
    /// without a measured chain at this degree.
    pub fn structure_factor(
        &self,
        op: OpKind,
        log_n: u32,
        level: usize,
        sizes: Option<&NominalSizes>,
    ) -> f64 {
        let (Some(s), true) = (sizes, op.switches_keys()) else {
            return 1.0;
        };
        let Some(c) = self.chains.iter().find(|c| c.log_n == log_n) else {
            return 1.0;
        };
        if c.p_primes == 0 || s.p_primes == 0 {
            return 1.0;
        }
        // beyond the measured chain the table extrapolates by (level + 1): compare with the
        // measured chain's structure at its top, extended the same way
        let measured = if level < c.q_primes {
            key_switch_work(c.q_primes, c.p_primes, c.digits, level)
        } else {
            let top = c.q_primes.saturating_sub(1);
            key_switch_work(c.q_primes, c.p_primes, c.digits, top) * (level + 1) as f64
                / (top + 1) as f64
        };
        let planned = key_switch_work(s.q_primes, s.p_primes, s.digits, level);
        if measured > 0.0 {
            planned / measured
        } else {
            1.0
        }
    }

    /// Predicted latency of `counts` when the calls run `threads` at a time on independent
    /// ciphertexts ([`CostTable::parallel_latency`]); fused kinds, which use every thread inside
    /// one call, at their `threads`-thread latency.
    /// Errors with [`SimError::MissingCost`] for a counted kind the table lacks.
    pub fn predict_parallel(
        &self,
        counts: &OpCounts,
        log_n: u32,
        threads: usize,
    ) -> Result<LatencyPrediction> {
        self.predict_parallel_for(counts, log_n, threads, None)
    }

    /// As [`CostTable::predict_parallel`], key-switching operations scaled to the chain of
    /// `sizes` ([`CostTable::structure_factor`]).
    /// Errors with [`SimError::MissingCost`] for a counted kind the table lacks.
    pub fn predict_parallel_for(
        &self,
        counts: &OpCounts,
        log_n: u32,
        threads: usize,
        sizes: Option<&NominalSizes>,
    ) -> Result<LatencyPrediction> {
        self.predict_parallel_in(counts, log_n, threads, sizes, false)
    }

    /// As [`CostTable::predict_parallel_for`]; with `warm`, the operations that switch no key
    /// are priced from the cache ([`CostTable::warm_factor`]).
    /// Errors with [`SimError::MissingCost`] for a counted kind the table lacks.
    pub fn predict_parallel_in(
        &self,
        counts: &OpCounts,
        log_n: u32,
        threads: usize,
        sizes: Option<&NominalSizes>,
        warm: bool,
    ) -> Result<LatencyPrediction> {
        self.sum_latency(counts, log_n, sizes, warm, |kind, level| {
            if kind.is_fused() {
                self.latency(kind, log_n, level, threads)
            } else {
                self.parallel_latency(kind, log_n, level, threads)
            }
        })
    }

    /// `sum count x each(kind, level) x structure factor` over the non-zero `counts`, per kind
    /// and in total. Errors: `each`'s.
    fn sum_latency(
        &self,
        counts: &OpCounts,
        log_n: u32,
        sizes: Option<&NominalSizes>,
        warm: bool,
        each: impl Fn(OpKind, usize) -> Result<f64>,
    ) -> Result<LatencyPrediction> {
        let mut p = LatencyPrediction::default();
        // tables calibrated before linear maps were priced per input folded the input reads
        // into their per-term price: there, inputs cost nothing extra
        let inputs_priced = self
            .latencies
            .iter()
            .any(|e| e.op == OpKind::LinearMapInput);
        for (key, stat) in counts.iter() {
            if stat.count == 0 || (key.kind == OpKind::LinearMapInput && !inputs_priced) {
                continue;
            }
            let warmth = if warm {
                self.warm_factor(key.kind, log_n, key.level)
            } else {
                1.0
            };
            let s = stat.count as f64
                * each(key.kind, key.level)?
                * warmth
                * self.structure_factor(key.kind, log_n, key.level, sizes);
            *p.by_kind.entry(key.kind).or_default() += s;
            p.total_seconds += s;
        }
        Ok(p)
    }
}

/// The latency of one `op` in `entries` (see [`CostTable::latency`] for the interpolation).
fn lookup(
    entries: &[CostEntry],
    op: OpKind,
    log_n: u32,
    level: usize,
    threads: usize,
) -> Result<f64> {
    {
        let missing = || SimError::MissingCost { op };
        let counts: BTreeSet<usize> = entries
            .iter()
            .filter(|e| e.op == op)
            .map(|e| e.threads)
            .collect();
        let t = counts
            .iter()
            .copied()
            .min_by_key(|&c| (c.abs_diff(threads), c))
            .ok_or_else(missing)?;
        let mut by_degree: BTreeMap<u32, Vec<(usize, f64)>> = BTreeMap::new();
        for e in entries.iter().filter(|e| e.op == op && e.threads == t) {
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
}

impl CostTable {
    /// Predicted latency of `counts` (sum over kinds and levels of count x [`CostTable::latency`])
    /// at ring degree `2^log_n` with `threads` threads.
    /// Errors with [`SimError::MissingCost`] for a counted kind the table lacks.
    pub fn predict_latency(
        &self,
        counts: &OpCounts,
        log_n: u32,
        threads: usize,
    ) -> Result<LatencyPrediction> {
        self.predict_latency_for(counts, log_n, threads, None)
    }

    /// As [`CostTable::predict_latency`], key-switching operations scaled to the chain of
    /// `sizes` ([`CostTable::structure_factor`]).
    /// Errors with [`SimError::MissingCost`] for a counted kind the table lacks.
    pub fn predict_latency_for(
        &self,
        counts: &OpCounts,
        log_n: u32,
        threads: usize,
        sizes: Option<&NominalSizes>,
    ) -> Result<LatencyPrediction> {
        self.predict_latency_in(counts, log_n, threads, sizes, false)
    }

    /// As [`CostTable::predict_latency_for`]; with `warm`, the operations that switch no key
    /// are priced from the cache ([`CostTable::warm_factor`]).
    /// Errors with [`SimError::MissingCost`] for a counted kind the table lacks.
    pub fn predict_latency_in(
        &self,
        counts: &OpCounts,
        log_n: u32,
        threads: usize,
        sizes: Option<&NominalSizes>,
        warm: bool,
    ) -> Result<LatencyPrediction> {
        self.sum_latency(counts, log_n, sizes, warm, |kind, level| {
            self.latency(kind, log_n, level, threads)
        })
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
        // the measured key size holds for the calibration chain's structure only (special
        // primes and digits change it): other chains get the nominal size
        let same_chain = profile.sizes.as_ref().is_none_or(|s| {
            self.chains
                .iter()
                .find(|c| c.log_n == log_n)
                .is_none_or(|c| *c == ChainEntry::of(log_n, s))
        });
        m.key_bytes = self
            .keys
            .iter()
            .find(|k| same_chain && k.log_n == log_n && k.max_level == max_level)
            .map(|k| k.switching_key_bytes * profile.switching_keys)
            .unwrap_or(profile.key_bytes);
        m.runtime_bytes = self.runtime_bytes(profile);
        m.total_bytes = m.ciphertext_bytes + m.plaintext_bytes + m.key_bytes + m.runtime_bytes;
        m
    }

    /// The native runtime's memory besides the objects a run holds
    /// ([`MemoryPrediction::runtime_bytes`]): the scratch pool's buffers (the bytes of pooled
    /// objects the run freed, up to [`SCRATCH_POOL_BYTES`]), the client's secret and public keys
    /// (three polynomials over every prime), the NTT tables (two per prime, `N` words each) and
    /// the table's fixed base ([`CostTable::runtime_base_bytes`]).
    pub fn runtime_bytes(&self, profile: &MemoryProfile) -> u64 {
        let pool = profile.recycled_bytes.min(SCRATCH_POOL_BYTES);
        let fixed = profile.sizes.map_or(0, |s| {
            let per_prime = s.degree as u64 * 8 * (s.q_primes + s.p_primes) as u64;
            3 * per_prime + 2 * per_prime
        });
        pool + fixed + self.runtime_base_bytes
    }
}
