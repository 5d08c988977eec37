//! The conformance suite on the mock backend: an exact client must reach 40 bits everywhere.

use hetile_backend::{Params, ParamsLiteral, SecretDistribution, SecurityLevel};
use hetile_conformance::{Failure, SuiteConfig};
use hetile_mock::MockBackend;

/// N = 2^10, three levels above a 50-bit first prime, scale 2^40.
fn small() -> hetile_backend::Result<Params> {
    Params::new(ParamsLiteral {
        log_n: 10,
        log_q: vec![50, 40, 40, 40],
        log_p: vec![50],
        log_scale: 40,
        digits: None,
        security: SecurityLevel::Insecure,
        secret: SecretDistribution::Ternary,
    })
}

hetile_conformance::conformance_suite!(MockBackend, || small().unwrap(), 40.0);

/// The same suite, generated inside a module, at N = 2^4 (the smallest ring the suite accepts).
mod tiny {
    use super::*;
    hetile_conformance::conformance_suite!(
        MockBackend,
        || Params::new(ParamsLiteral {
            log_n: 5,
            ..small().unwrap().literal().clone()
        })
        .unwrap(),
        40.0
    );
}

fn n14() -> Result<SuiteConfig, Failure> {
    Ok(SuiteConfig::new(Params::preset("N14_L4")?, 40.0))
}

#[test]
fn n14_l4_depth_chain() -> Result<(), Failure> {
    hetile_conformance::check_depth_chain::<MockBackend>(&n14()?)
}

#[test]
fn n14_l4_random_circuit() -> Result<(), Failure> {
    hetile_conformance::check_random_circuit::<MockBackend>(&n14()?)
}

#[test]
fn n14_l4_rotations() -> Result<(), Failure> {
    hetile_conformance::check_rotate_steps::<MockBackend>(&n14()?)
}

#[test]
fn random_circuit_is_deterministic_and_uses_the_whole_depth() -> Result<(), Failure> {
    let params = small()?;
    let depth = params.max_level().0;
    let a = hetile_conformance::random_circuit::<MockBackend>(&params, 9, depth)?;
    let b = hetile_conformance::random_circuit::<MockBackend>(&params, 9, depth)?;
    assert_eq!(a, b);
    let c = hetile_conformance::random_circuit::<MockBackend>(&params, 10, depth)?;
    assert_ne!(a.1, c.1);
    assert!(hetile_conformance::random_circuit::<MockBackend>(&params, 9, depth + 1).is_err());
    // The exact mock agrees with f64 arithmetic to far more than 40 bits.
    assert!(hetile_conformance::precision_bits(&a.0, &a.1) > 45.0);
    Ok(())
}

#[test]
fn random_circuits_are_not_degenerate() -> Result<(), Failure> {
    let params = small()?;
    let depth = params.max_level().0;
    for seed in 0..64 {
        let (got, want) = hetile_conformance::random_circuit::<MockBackend>(&params, seed, depth)?;
        let largest = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(largest > 1e-3, "seed {seed}: max |value| {largest}");
        assert!(hetile_conformance::precision_bits(&got, &want) > 45.0);
    }
    Ok(())
}
