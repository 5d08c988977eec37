//! What the caller asks of a plan: [`Requirements`], [`Objective`], [`BatchSize`].

use crate::error::{OptError, Result};
use hetile_backend::SecurityLevel;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What the optimizer minimizes or maximizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// The server's time for one batch (smallest first).
    Latency,
    /// Samples per second at the plan's batch size (largest first).
    Throughput,
    /// Peak memory of the server's run (smallest first).
    Memory,
}

impl Objective {
    /// The objective's name: `"latency"`, `"throughput"` or `"memory"`.
    pub fn name(self) -> &'static str {
        match self {
            Objective::Latency => "latency",
            Objective::Throughput => "throughput",
            Objective::Memory => "memory",
        }
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Objective {
    type Err = OptError;
    /// Parses `"latency"`, `"throughput"` or `"memory"` (case-insensitive).
    fn from_str(s: &str) -> Result<Objective> {
        match s.to_ascii_lowercase().as_str() {
            "latency" => Ok(Objective::Latency),
            "throughput" => Ok(Objective::Throughput),
            "memory" => Ok(Objective::Memory),
            other => Err(OptError::InvalidRequirement(format!(
                "unknown objective {other:?}: use latency, throughput or memory"
            ))),
        }
    }
}

/// The batch size: fixed by the caller or chosen by the optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchSize {
    /// Exactly this many samples per run (at least 1).
    Fixed(usize),
    /// The optimizer picks: the samples one ciphertext packs along the batch dimension (for
    /// the latency objective, 1).
    Choose,
}

impl fmt::Display for BatchSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchSize::Fixed(n) => write!(f, "{n}"),
            BatchSize::Choose => f.write_str("choose"),
        }
    }
}

impl FromStr for BatchSize {
    type Err = OptError;
    /// Parses `"choose"` or a positive integer.
    fn from_str(s: &str) -> Result<BatchSize> {
        if s.eq_ignore_ascii_case("choose") {
            return Ok(BatchSize::Choose);
        }
        match s.parse::<usize>() {
            Ok(n) if n > 0 => Ok(BatchSize::Fixed(n)),
            _ => Err(OptError::InvalidRequirement(format!(
                "batch size {s:?}: use a positive integer or \"choose\""
            ))),
        }
    }
}

/// The requirements of a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requirements {
    /// What to optimize.
    pub objective: Objective,
    /// The batch size, or let the optimizer choose.
    pub batch: BatchSize,
    /// Classical security in bits: 128 (default), 192 or 256 (the HE-standard table on
    /// log2(QP)).
    pub security_bits: u32,
    /// The least output precision, in bits, the plan must give (estimated from the scale, the
    /// ring degree and the depth; see [`crate::chain::estimated_precision_bits`]).
    pub min_precision_bits: f64,
    /// The memory cap in bytes; `None` means the memory available on this machine now.
    pub max_memory_bytes: Option<u64>,
    /// The thread count of the server's run (at least 1).
    pub threads: usize,
}

impl Default for Requirements {
    /// Latency, batch 1, 128-bit security, 12 bits of precision, the machine's available
    /// memory, rayon's thread count.
    fn default() -> Requirements {
        Requirements {
            objective: Objective::Latency,
            batch: BatchSize::Fixed(1),
            security_bits: 128,
            min_precision_bits: 12.0,
            max_memory_bytes: None,
            threads: rayon::current_num_threads().max(1),
        }
    }
}

impl Requirements {
    /// Checks the requirements and returns the security level and the memory cap in bytes.
    /// Errors: [`OptError::InvalidRequirement`] for zero threads, a zero batch, a security other
    /// than 128/192/256 bits or a precision that is not a positive finite number.
    pub fn resolve(&self) -> Result<(SecurityLevel, u64)> {
        if self.threads == 0 {
            return Err(OptError::InvalidRequirement(
                "threads must be at least 1".into(),
            ));
        }
        if self.batch == BatchSize::Fixed(0) {
            return Err(OptError::InvalidRequirement(
                "batch size must be at least 1".into(),
            ));
        }
        if !(self.min_precision_bits.is_finite() && self.min_precision_bits > 0.0) {
            return Err(OptError::InvalidRequirement(format!(
                "min_precision_bits must be positive, got {}",
                self.min_precision_bits
            )));
        }
        let security = match self.security_bits {
            128 => SecurityLevel::Classical128,
            192 => SecurityLevel::Classical192,
            256 => SecurityLevel::Classical256,
            b => {
                return Err(OptError::InvalidRequirement(format!(
                    "security of {b} bits: use 128, 192 or 256"
                )))
            }
        };
        let cap = match self.max_memory_bytes {
            Some(0) => {
                return Err(OptError::InvalidRequirement(
                    "memory cap must be positive".into(),
                ))
            }
            Some(b) => b,
            None => available_memory_bytes(),
        };
        Ok((security, cap))
    }
}

/// The memory available on this machine now (`MemAvailable` of `/proc/meminfo`), or 8 GiB where
/// it cannot be read.
pub fn available_memory_bytes() -> u64 {
    const FALLBACK: u64 = 8 << 30;
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(FALLBACK, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_resolve() {
        assert_eq!(
            "Throughput".parse::<Objective>().unwrap(),
            Objective::Throughput
        );
        assert!("speed".parse::<Objective>().is_err());
        assert_eq!("choose".parse::<BatchSize>().unwrap(), BatchSize::Choose);
        assert_eq!("64".parse::<BatchSize>().unwrap(), BatchSize::Fixed(64));
        assert!("0".parse::<BatchSize>().is_err());
        let mut r = Requirements::default();
        assert!(r.resolve().unwrap().1 > 0);
        r.security_bits = 100;
        assert!(matches!(r.resolve(), Err(OptError::InvalidRequirement(_))));
        r.security_bits = 192;
        r.threads = 0;
        assert!(r.resolve().is_err());
    }
}
