//! Helpers shared by the integration tests: parameter sets, random inputs, precision statistics.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hetile_backend::{Params, ParamsLiteral, SecretDistribution, SecurityLevel};

/// Parameters from bit sizes.
pub fn params(log_n: u32, log_q: &[u32], log_p: &[u32], security: SecurityLevel) -> Params {
    Params::new(ParamsLiteral {
        log_n,
        log_q: log_q.to_vec(),
        log_p: log_p.to_vec(),
        log_scale: 40,
        digits: None,
        security,
        secret: SecretDistribution::Ternary,
    })
    .unwrap()
}

/// N = 2^12, two levels, one special prime: too big for the table at 2^12, so insecure.
pub fn n12() -> Params {
    params(12, &[60, 40, 40], &[60], SecurityLevel::Insecure)
}

/// N = 2^13, two levels, one special prime (200 bits, 128-bit secure).
pub fn n13() -> Params {
    params(13, &[60, 40, 40], &[60], SecurityLevel::Classical128)
}

/// Deterministic uniform values in [-1, 1].
pub fn uniform(count: usize, seed: u64) -> Vec<f64> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..count)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

/// Mean and minimum over slots of `-log2 |got - want|` (an exact slot counts as 60 bits).
pub fn precision(got: &[f64], want: &[f64]) -> (f64, f64) {
    assert_eq!(got.len(), want.len());
    let bits: Vec<f64> = got
        .iter()
        .zip(want)
        .map(|(g, w)| {
            let e = (g - w).abs();
            if e == 0.0 {
                60.0
            } else {
                (-e.log2()).min(60.0)
            }
        })
        .collect();
    let mean = bits.iter().sum::<f64>() / bits.len() as f64;
    let min = bits.iter().copied().fold(f64::INFINITY, f64::min);
    (mean, min)
}
