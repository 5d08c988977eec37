//! The conformance suite's error checks that need no decrypted values, run on the simulator,
//! and sim-specific versions of the two that do (missing rotation and relinearization keys).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions unwrap too

mod common;

use hetile_backend::{Client, Error, Evaluator, KeyRequirements, Meta};
use hetile_conformance::SuiteConfig;
use hetile_sim::SimBackend;

fn config() -> SuiteConfig {
    SuiteConfig::new(common::small_params(10, 3), 20.0)
}

macro_rules! value_free_checks {
    ($($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() -> Result<(), hetile_conformance::Failure> {
                hetile_conformance::$check::<SimBackend>(&config())
            }
        )*
    };
}

value_free_checks!(
    check_error_level_mismatch,
    check_error_scale_mismatch,
    check_error_scale_overflow,
    check_error_level_exhausted,
    check_error_invalid_level,
    check_error_missing_conjugation_key,
    check_error_slot_overflow,
    check_error_non_finite_value,
    check_error_value_out_of_range,
);

#[test]
fn missing_rotation_key_is_reported_with_the_step() {
    let params = common::small_params(10, 3);
    let slots = params.slots().get() as i64;
    let keys = KeyRequirements::none().with_rotations([1, -2]);
    let client = <SimBackend as hetile_backend::Backend>::Client::new(&params, &keys).unwrap();
    let ev = client.evaluator().unwrap();
    let a = client.encrypt_values(&[1.0]).unwrap();
    assert_eq!(
        ev.rotate(&a, 3).unwrap_err(),
        Error::MissingRotationKey { step: 3 }
    );
    // -2 and slots - 2 share a key; 0 needs none
    assert!(ev.rotate(&a, slots - 2).is_ok());
    assert!(ev.rotate(&a, 0).is_ok());
    assert!(ev.has_rotation_key(-2) && !ev.has_rotation_key(2));
    assert_eq!(
        ev.rotate_many(&a, &[1, 5, 7]).unwrap_err(),
        Error::MissingRotationKey { step: 5 }
    );
    let r = ev.rotate(&a, 1).unwrap();
    assert_eq!((r.level(), r.scale()), (a.level(), a.scale()));
}

#[test]
fn missing_relinearization_key_is_reported_after_the_level_check() {
    let params = common::small_params(10, 3);
    let client =
        <SimBackend as hetile_backend::Backend>::Client::new(&params, &KeyRequirements::none())
            .unwrap();
    let ev = client.evaluator().unwrap();
    let a = client.encrypt_values(&[1.0]).unwrap();
    assert_eq!(
        ev.mul(&a, &a).unwrap_err(),
        Error::MissingRelinearizationKey
    );
    let low = ev.drop_to_level(&a, hetile_backend::Level(1)).unwrap();
    assert!(matches!(ev.mul(&a, &low), Err(Error::LevelMismatch { .. })));
    // plaintext products need no key
    let pt = ev
        .encode(&[2.0], a.level(), params.default_scale())
        .unwrap();
    assert!(ev.mul_plain(&a, &pt).is_ok());
}

#[test]
fn decryption_gives_zeros_at_the_right_level_and_scale() {
    let params = common::small_params(10, 3);
    let client =
        <SimBackend as hetile_backend::Backend>::Client::new(&params, &KeyRequirements::none())
            .unwrap();
    let a = client.encrypt_values(&[1.0, 2.0]).unwrap();
    let pt = client.decrypt(&a).unwrap();
    assert_eq!((pt.level(), pt.scale()), (a.level(), a.scale()));
    let v = client.decode(&pt).unwrap();
    assert_eq!(v.len(), params.slots().get());
    assert!(v.iter().all(|&x| x == 0.0));
}
