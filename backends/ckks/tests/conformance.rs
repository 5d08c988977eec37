//! The shared conformance suite on the native backend, and the same seeded random circuits run on
//! the native backend and on the exact mock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hetile_backend::{Params, ParamsLiteral, SecretDistribution, SecurityLevel};
use hetile_ckks::CkksBackend;
use hetile_mock::MockBackend;

/// N = 2^12, three levels, one special prime, scale 2^40 (insecure: the chain does not fit the
/// 109-bit budget of N = 2^12; it keeps the suite fast).
fn n12() -> Params {
    Params::new(ParamsLiteral {
        log_n: 12,
        log_q: vec![60, 40, 40, 40],
        log_p: vec![60],
        log_scale: 40,
        digits: None,
        security: SecurityLevel::Insecure,
        secret: SecretDistribution::Ternary,
    })
    .unwrap()
}

/// N = 2^13 with 48 + 2 x 40 + 48 + 40 = 216 bits: 128-bit secure, two key-switching digits of
/// two and one primes, two special primes (P = 2^88 covers the largest digit, 2^88).
fn n13_secure() -> Params {
    Params::new(ParamsLiteral {
        log_n: 13,
        log_q: vec![48, 40, 40],
        log_p: vec![48, 40],
        log_scale: 40,
        digits: Some(2),
        security: SecurityLevel::Classical128,
        secret: SecretDistribution::Ternary,
    })
    .unwrap()
}

// Worst-slot precision (over all N/2 slots) after public-key encryption, an addition or a rotation
// is about 21-23 bits at N = 2^12 and 20-22 bits at N = 2^13 (sigma 3.2, ternary secret, scale
// 2^40; the mean is about 26-27 bits), and the suite compares two noisy results in places.
hetile_conformance::conformance_suite!(CkksBackend, n12, 20.0);

mod secure_n13 {
    use super::*;
    hetile_conformance::conformance_suite!(CkksBackend, n13_secure, 19.0);
}

/// The same random circuits on the native backend and the exact mock agree within the precision
/// the circuit's depth allows, and the mock's exact result equals the circuit's own reference.
#[test]
fn random_circuit_matches_the_mock() {
    for params in [n12(), n13_secure()] {
        let depth = params.max_level().0;
        for seed in [1u64, 2, 3] {
            let (native, want) =
                hetile_conformance::random_circuit::<CkksBackend>(&params, seed, depth).unwrap();
            let (mock, want_mock) =
                hetile_conformance::random_circuit::<MockBackend>(&params, seed, depth).unwrap();
            assert_eq!(want, want_mock, "both backends must run the same circuit");
            let bits = hetile_conformance::precision_bits(&native, &mock);
            eprintln!(
                "random circuit N={} seed {seed}: {bits:.2} bits vs mock",
                params.degree().get()
            );
            assert!(bits >= 15.0, "seed {seed}: {bits:.2} bits");
        }
    }
}
