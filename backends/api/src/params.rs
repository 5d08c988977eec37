//! CKKS parameters: a serde literal and the checked, immutable [`Params`] built from it.

use crate::error::{Error, Result};
use crate::security::{check_security, SecurityLevel};
use crate::types::{Level, RingDegree, Scale, SlotCount};
use hetile_ring::primes::ntt_prime_chain;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// Smallest supported log2 of the ring degree (only with [`SecurityLevel::Insecure`] below 2^10).
pub const MIN_LOG_N: u32 = 3;
/// Largest supported log2 of the ring degree.
pub const MAX_LOG_N: u32 = 17;
/// Most primes a chain may hold (ciphertext and special primes together).
pub const MAX_PRIMES: usize = 64;

/// Distribution of the secret key's coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretDistribution {
    /// Uniform over {-1, 0, 1} (what the security table assumes).
    #[default]
    Ternary,
    /// Ternary with exactly this many non-zero coefficients (sparse secrets are not covered by the
    /// security table, so they need [`SecurityLevel::Insecure`] until a separate estimate exists).
    HammingWeight(usize),
}

/// The parameters as a user writes them (YAML/JSON). Validate with [`Params::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamsLiteral {
    /// log2 of the ring degree N.
    pub log_n: u32,
    /// Bit sizes of the ciphertext primes: the first prime `q_0`, then one scaling prime per level.
    pub log_q: Vec<u32>,
    /// Bit sizes of the special primes P used by hybrid key switching.
    pub log_p: Vec<u32>,
    /// log2 of the default scale.
    pub log_scale: u32,
    /// Number of key-switching decomposition digits (dnum). Default: ceil(|Q| / |P|).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digits: Option<usize>,
    /// The security level the parameters must reach.
    #[serde(default)]
    pub security: SecurityLevel,
    /// The secret-key distribution.
    #[serde(default)]
    pub secret: SecretDistribution,
}

impl ParamsLiteral {
    /// Names of the built-in presets, usable with [`ParamsLiteral::preset`].
    pub const PRESETS: [&'static str; 3] = ["N14_L4", "N15_L4", "N15_L8"];

    /// A named preset. The names match the peers' benchmark scripts (ring degree, number of
    /// rescale levels, scale 2^40, 128-bit classical security); the prime sizes and key-switching
    /// digits are hetile's fastest measured choice. Every prime is below 2^50 so that all limbs
    /// take the AVX-512 IFMA kernels:
    /// * `N14_L4`: N = 2^14, primes 50 + 4 x 40, three 50-bit special primes, 2 digits
    ///   (log2 QP = 360 of the 438 allowed);
    /// * `N15_L4`: N = 2^15, the same chain as `N14_L4` (log2 QP = 360 of 881);
    /// * `N15_L8`: N = 2^15, primes 50 + 8 x 40, three 50-bit special primes, 3 digits
    ///   (log2 QP = 520 of 881).
    ///
    /// The special primes are at least as large as the widest digit (130 bits), as
    /// [`Params::new`] requires.
    ///
    /// Errors: [`Error::InvalidParameters`] for an unknown name.
    pub fn preset(name: &str) -> Result<ParamsLiteral> {
        let (log_n, levels, digits) = match name {
            "N14_L4" => (14, 4, 2),
            "N15_L4" => (15, 4, 2),
            "N15_L8" => (15, 8, 3),
            other => {
                return Err(Error::InvalidParameters {
                    reason: format!(
                        "unknown preset {other:?}; known presets: {}",
                        Self::PRESETS.join(", ")
                    ),
                })
            }
        };
        let mut log_q = vec![50];
        log_q.extend(std::iter::repeat_n(40, levels));
        Ok(ParamsLiteral {
            log_n,
            log_q,
            log_p: vec![50, 50, 50],
            log_scale: 40,
            digits: Some(digits),
            security: SecurityLevel::Classical128,
            secret: SecretDistribution::Ternary,
        })
    }
}

#[derive(Debug, PartialEq)]
struct Inner {
    literal: ParamsLiteral,
    degree: RingDegree,
    q: Vec<u64>,
    p: Vec<u64>,
    digits: usize,
    digit_ranges: Vec<Range<usize>>,
    log_qp: u32,
    scale: Scale,
}

/// Splits `0..count` into `parts` contiguous ranges whose sizes differ by at most one (larger
/// ranges first); empty ranges are left out.
fn partition(count: usize, parts: usize) -> Vec<Range<usize>> {
    if parts == 0 {
        return Vec::new();
    }
    let base = count / parts;
    let extra = count % parts;
    let mut start = 0;
    (0..parts)
        .map(|j| {
            let len = base + usize::from(j < extra);
            let r = start..start + len;
            start += len;
            r
        })
        .filter(|r| !r.is_empty())
        .collect()
}

/// Checked, immutable CKKS parameters with their concrete prime chain. Cheap to clone.
///
/// The primes are generated deterministically from the bit sizes (largest NTT-friendly primes
/// below each power of two), so the same literal always yields the same chain in every backend.
#[derive(Clone, PartialEq)]
pub struct Params(Arc<Inner>);

impl Params {
    /// Validates a literal and generates its prime chain.
    ///
    /// Errors: [`Error::InvalidParameters`] for a malformed literal (ring degree, prime sizes,
    /// scale, digits) and [`Error::InsecureParameters`] when log2(QP) exceeds the
    /// HomomorphicEncryption.org table for the requested security level.
    pub fn new(literal: ParamsLiteral) -> Result<Params> {
        let invalid = |reason: String| Err(Error::InvalidParameters { reason });
        if !(MIN_LOG_N..=MAX_LOG_N).contains(&literal.log_n) {
            return invalid(format!(
                "log_n = {} is outside {MIN_LOG_N}..={MAX_LOG_N}",
                literal.log_n
            ));
        }
        if literal.log_q.is_empty() {
            return invalid("log_q must hold at least the first prime".into());
        }
        if literal.log_q.len() + literal.log_p.len() > MAX_PRIMES {
            return invalid(format!("at most {MAX_PRIMES} primes are supported"));
        }
        if literal.log_scale == 0 || literal.log_scale >= literal.log_q[0] {
            return invalid(format!(
                "log_scale = {} must be positive and below the first prime's {} bits",
                literal.log_scale, literal.log_q[0]
            ));
        }
        let digits = match (literal.digits, literal.log_p.is_empty()) {
            (Some(d), _) if d == 0 || d > literal.log_q.len() => {
                return invalid(format!(
                    "digits = {d} must be in 1..={} (the number of ciphertext primes)",
                    literal.log_q.len()
                ))
            }
            (Some(_), true) => {
                return invalid("digits given but no special primes (log_p is empty)".into())
            }
            (Some(d), false) => d,
            (None, true) => 0,
            (None, false) => literal.log_q.len().div_ceil(literal.log_p.len()),
        };
        let log_qp: u32 = literal.log_q.iter().chain(&literal.log_p).sum();
        if let SecretDistribution::HammingWeight(h) = literal.secret {
            if h == 0 || h > (1usize << literal.log_n) {
                return invalid(format!("Hamming weight {h} must be in 1..=N"));
            }
            if literal.security != SecurityLevel::Insecure {
                return invalid(
                    "sparse secrets are not covered by the security table; use a ternary secret \
                     or opt out with security: insecure"
                        .into(),
                );
            }
        }
        check_security(literal.log_n, log_qp, literal.security)?;
        let degree =
            RingDegree::from_log2(literal.log_n).ok_or_else(|| Error::InvalidParameters {
                reason: format!("log_n = {}", literal.log_n),
            })?;
        let two_n = 2 * degree.get() as u64;
        let all_bits: Vec<u32> = literal
            .log_q
            .iter()
            .chain(&literal.log_p)
            .copied()
            .collect();
        let mut chain = ntt_prime_chain(&all_bits, two_n)?;
        let p = chain.split_off(literal.log_q.len());
        let digit_ranges = partition(literal.log_q.len(), digits);
        let log_p_total: u32 = literal.log_p.iter().sum();
        if let Some(widest) = digit_ranges
            .iter()
            .map(|r| literal.log_q[r.clone()].iter().sum::<u32>())
            .max()
        {
            if widest > log_p_total {
                return invalid(format!(
                    "the special primes ({log_p_total} bits) must be at least as large as the widest \
                     key-switching digit ({widest} bits), or key switching loses the message; add \
                     special primes or digits"
                ));
            }
        }
        let scale = Scale::from_log2(f64::from(literal.log_scale)).ok_or_else(|| {
            Error::InvalidParameters {
                reason: format!("log_scale = {}", literal.log_scale),
            }
        })?;
        Ok(Params(Arc::new(Inner {
            scale,
            literal,
            degree,
            q: chain,
            p,
            digits,
            digit_ranges,
            log_qp,
        })))
    }

    /// Builds parameters from a named preset (see [`ParamsLiteral::preset`]).
    pub fn preset(name: &str) -> Result<Params> {
        Params::new(ParamsLiteral::preset(name)?)
    }

    /// The literal these parameters were built from.
    pub fn literal(&self) -> &ParamsLiteral {
        &self.0.literal
    }
    /// The ring degree N.
    pub fn degree(&self) -> RingDegree {
        self.0.degree
    }
    /// The number of real (or complex) slots, N/2.
    pub fn slots(&self) -> SlotCount {
        self.0.degree.slots()
    }
    /// The top level of the chain (number of scaling primes).
    pub fn max_level(&self) -> Level {
        Level(self.0.q.len() - 1)
    }
    /// The ciphertext primes `q_0, ..., q_L`.
    pub fn q(&self) -> &[u64] {
        &self.0.q
    }
    /// The special primes P.
    pub fn p(&self) -> &[u64] {
        &self.0.p
    }
    /// The prime a rescale at `level` divides by (`q_level`), or `None` above the chain.
    pub fn prime_at(&self, level: Level) -> Option<u64> {
        self.0.q.get(level.0).copied()
    }
    /// log2 of the ciphertext modulus `q_0 * ... * q_level` (exact to f64 precision).
    pub fn log_q_at(&self, level: Level) -> f64 {
        self.0
            .q
            .iter()
            .take(level.0 + 1)
            .map(|&q| (q as f64).log2())
            .sum()
    }
    /// The number of key-switching decomposition digits (0 when there are no special primes).
    pub fn digits(&self) -> usize {
        self.0.digits
    }
    /// The partition of the ciphertext primes `0..=L` into the contiguous key-switching digits
    /// (sizes differ by at most one prime, larger digits first; empty without special primes).
    pub fn digit_partition(&self) -> &[Range<usize>] {
        &self.0.digit_ranges
    }
    /// Total bit size of all primes, as the security table counts it.
    pub fn log_qp(&self) -> u32 {
        self.0.log_qp
    }
    /// The default scale `2^log_scale`.
    pub fn default_scale(&self) -> Scale {
        self.0.scale
    }
    /// The security level the parameters were checked against.
    pub fn security(&self) -> SecurityLevel {
        self.0.literal.security
    }
    /// The secret-key distribution.
    pub fn secret(&self) -> SecretDistribution {
        self.0.literal.secret
    }
    /// A 64-bit fingerprint (FNV-1a) of everything that defines the ring and key space: degree,
    /// primes, digits and secret distribution. Objects made under different parameters differ in it.
    pub fn fingerprint(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |x: u64| {
            for b in x.to_le_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        eat(u64::from(self.0.literal.log_n));
        eat(self.0.q.len() as u64);
        self.0.q.iter().for_each(|&q| eat(q));
        eat(self.0.p.len() as u64);
        self.0.p.iter().for_each(|&p| eat(p));
        eat(self.0.digits as u64);
        eat(match self.0.literal.secret {
            SecretDistribution::Ternary => 0,
            SecretDistribution::HammingWeight(h) => 1 + h as u64,
        });
        h
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Params")
            .field("log_n", &self.0.literal.log_n)
            .field("q", &self.0.q)
            .field("p", &self.0.p)
            .field("digits", &self.0.digits)
            .field("log_scale", &self.0.literal.log_scale)
            .field("log_qp", &self.0.log_qp)
            .field("security", &self.0.literal.security)
            .finish()
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "N = 2^{}, {} levels, primes Q = {:?} bits, P = {:?} bits, {} digits, scale 2^{}, log2(QP) = {}, {}",
            self.0.literal.log_n,
            self.0.q.len() - 1,
            self.0.literal.log_q,
            self.0.literal.log_p,
            self.0.digits,
            self.0.literal.log_scale,
            self.0.log_qp,
            self.0.literal.security
        )
    }
}

impl Serialize for Params {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.literal.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Params {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let literal = ParamsLiteral::deserialize(d)?;
        Params::new(literal).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_is_balanced_and_contiguous() {
        assert_eq!(partition(5, 2), vec![0..3, 3..5]);
        assert_eq!(partition(5, 5), vec![0..1, 1..2, 2..3, 3..4, 4..5]);
        assert_eq!(partition(4, 1), vec![0..4]);
        assert_eq!(partition(3, 0), Vec::<Range<usize>>::new());
    }

    #[test]
    fn special_primes_must_cover_the_widest_digit() {
        let mut lit = ParamsLiteral::preset("N14_L4").unwrap_or_else(|e| panic!("{e}"));
        lit.log_p = vec![60];
        lit.digits = Some(2);
        match Params::new(lit.clone()) {
            Err(Error::InvalidParameters { reason }) => assert!(reason.contains("widest")),
            other => panic!("{other:?}"),
        }
        lit.log_p = vec![60, 60];
        lit.digits = Some(3);
        let p = Params::new(lit).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.digit_partition(), &[0..2, 2..4, 4..5]);
    }
}
