//! Shared helpers of the simulator's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use hetile_backend::{Params, ParamsLiteral, SecretDistribution, SecurityLevel};

/// Small insecure parameters: N = 2^log_n, `levels` scaling primes of 40 bits.
pub fn small_params(log_n: u32, levels: usize) -> Params {
    let mut log_q = vec![50];
    log_q.extend(std::iter::repeat_n(40, levels));
    Params::new(ParamsLiteral {
        log_n,
        log_q,
        log_p: vec![50, 50],
        log_scale: 40,
        digits: None,
        security: SecurityLevel::Insecure,
        secret: SecretDistribution::Ternary,
    })
    .unwrap()
}
