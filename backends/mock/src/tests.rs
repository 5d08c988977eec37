//! Unit tests of the mock's bookkeeping.

use crate::{MockBackend, MockClient, MockEvaluator, NoiseModel};
use hetile_backend::{
    Client, Complex, Error, Evaluator, KeyRequirements, Level, Meta, Params, ParamsLiteral, Scale,
    SecretDistribution, SecurityLevel,
};

fn small() -> Params {
    Params::new(ParamsLiteral {
        log_n: 4,
        log_q: vec![50, 40, 40, 40],
        log_p: vec![50],
        log_scale: 40,
        digits: None,
        security: SecurityLevel::Insecure,
        secret: SecretDistribution::Ternary,
    })
    .unwrap()
}

fn all_keys() -> KeyRequirements {
    KeyRequirements::none()
        .with_relinearization()
        .with_conjugation()
        .with_rotations([1, -1, 3])
}

fn setup() -> (Params, MockClient, MockEvaluator) {
    let params = small();
    let client = MockClient::new_insecure_seeded_for_tests(&params, &all_keys(), 1).unwrap();
    let ev = client.evaluator().unwrap();
    (params, client, ev)
}

fn ramp(n: usize) -> Vec<f64> {
    (0..n).map(|i| i as f64 / n as f64 - 0.5).collect()
}

#[test]
fn mul_then_rescale_has_scale_s_squared_over_q() {
    let (params, client, ev) = setup();
    let s = params.default_scale();
    let top = params.max_level();
    let a = client.encrypt_values(&[0.5, -0.25]).unwrap();
    let b = client.encrypt_values(&[0.5, 2.0]).unwrap();
    let prod = ev.mul(&a, &b).unwrap();
    assert_eq!(prod.level(), top);
    assert_eq!(prod.scale().value(), s.value() * s.value());
    let r = ev.rescale(&prod).unwrap();
    let q = params.prime_at(top).unwrap() as f64;
    assert_eq!(r.level(), Level(top.0 - 1));
    assert_eq!(r.scale().value(), s.value() * s.value() / q);
    let out = client.decrypt_values(&r).unwrap();
    assert_eq!(&out[..3], &[0.25, -0.5, 0.0]);
    // A second product and rescale: (s^2/q_L)^2 / q_{L-1}.
    let r2 = ev.rescale(&ev.square(&r).unwrap()).unwrap();
    let q2 = params.prime_at(Level(top.0 - 1)).unwrap() as f64;
    assert_eq!(
        r2.scale().value(),
        (s.value() * s.value() / q) * (s.value() * s.value() / q) / q2
    );
    assert_eq!(r2.level(), Level(top.0 - 2));
}

#[test]
fn mul_scalar_then_rescale_restores_the_scale() {
    let (params, client, ev) = setup();
    let a = client.encrypt_values(&[1.0, -0.5]).unwrap();
    let q = params.prime_at(a.level()).unwrap() as f64;
    let m = ev.mul_scalar(&a, 0.3).unwrap();
    assert_eq!(m.scale().value(), a.scale().value() * q);
    let r = ev.rescale(&m).unwrap();
    assert_eq!(r.scale(), a.scale());
    let out = client.decrypt_values(&r).unwrap();
    assert_eq!(&out[..2], &[0.3, -0.15]);
    let low = ev.drop_to_level(&a, Level(0)).unwrap();
    assert!(matches!(
        ev.mul_scalar(&low, 2.0),
        Err(Error::LevelExhausted { .. })
    ));
    assert!(matches!(
        ev.mul_scalar(&a, f64::NAN),
        Err(Error::NonFiniteValue { .. })
    ));
}

#[test]
fn products_that_do_not_fit_overflow() {
    let (params, client, ev) = setup();
    let s = params.default_scale();
    let a = client.encrypt_values(&[1.0]).unwrap();
    let low = ev.drop_to_level(&a, Level(0)).unwrap();
    // q_0 has 50 bits: s^2 = 2^80 does not fit.
    assert!(matches!(
        ev.mul(&low, &low),
        Err(Error::ScaleOverflow { .. })
    ));
    let p = client.encode(&[1.0], Level(0), s).unwrap();
    assert!(matches!(
        ev.mul_plain(&low, &p),
        Err(Error::ScaleOverflow { .. })
    ));
    let one = ev.drop_to_level(&a, Level(1)).unwrap();
    let sq = ev.mul(&one, &one).unwrap(); // 2^80 below 2^90
    assert!(matches!(
        ev.mul_scalar(&sq, 1.0),
        Err(Error::ScaleOverflow { .. })
    ));
}

#[test]
fn alignment_rules_match_the_contract() {
    let (params, client, ev) = setup();
    let s = params.default_scale();
    let a = client.encrypt_values(&[1.0]).unwrap();
    let b = ev.drop_to_level(&a, Level(1)).unwrap();
    assert_eq!(
        ev.add(&a, &b).unwrap_err(),
        Error::LevelMismatch {
            left: Level(3),
            right: Level(1)
        }
    );
    let c = ev.rescale(&ev.square(&a).unwrap()).unwrap();
    let d = ev.drop_to_level(&a, Level(2)).unwrap();
    assert!(matches!(ev.sub(&c, &d), Err(Error::ScaleMismatch { .. })));
    // A plaintext above the ciphertext's level is fine, below is not.
    let p_top = client.encode(&[2.0], params.max_level(), s).unwrap();
    let sum = ev.add_plain(&b, &p_top).unwrap();
    assert_eq!(client.decrypt_values(&sum).unwrap()[0], 3.0);
    let p_low = client.encode(&[2.0], Level(0), s).unwrap();
    assert!(matches!(
        ev.add_plain(&b, &p_low),
        Err(Error::LevelMismatch { .. })
    ));
    assert!(matches!(
        ev.drop_to_level(&b, Level(2)),
        Err(Error::InvalidLevel { .. })
    ));
    assert!(matches!(
        ev.rescale(&ev.drop_to_level(&a, Level(0)).unwrap()),
        Err(Error::LevelExhausted { .. })
    ));
    assert!(matches!(
        client.encode(&[1.0], Level(4), s),
        Err(Error::InvalidLevel { .. })
    ));
}

#[test]
fn rotations_move_slot_i_plus_k_to_i() {
    let (params, client, ev) = setup();
    let n = params.slots().get();
    let x = ramp(n);
    let a = client.encrypt_values(&x).unwrap();
    for step in [1i64, -1, 3, 0, n as i64 + 1, -(n as i64) + 3] {
        let r = client
            .decrypt_values(&ev.rotate(&a, step).unwrap())
            .unwrap();
        let k = step.rem_euclid(n as i64) as usize;
        for i in 0..n {
            assert_eq!(r[i], x[(i + k) % n], "step {step} slot {i}");
        }
    }
    assert_eq!(
        ev.rotate(&a, 2).unwrap_err(),
        Error::MissingRotationKey { step: 2 }
    );
    assert!(ev.has_rotation_key(n as i64 - 1));
    assert!(!ev.has_rotation_key(2));
    assert!(matches!(
        ev.rotate_many(&a, &[1, 2]),
        Err(Error::MissingRotationKey { step: 2 })
    ));
}

#[test]
fn conjugation_and_complex_slots() {
    let (params, client, ev) = setup();
    let z = [Complex::new(0.5, 0.25), Complex::new(-1.0, 0.75)];
    let p = client
        .encode_complex(&z, params.max_level(), params.default_scale())
        .unwrap();
    let c = client.encrypt(&p).unwrap();
    let conj = client
        .decode_complex(&client.decrypt(&ev.conjugate(&c).unwrap()).unwrap())
        .unwrap();
    assert_eq!(conj[0], Complex::new(0.5, -0.25));
    assert_eq!(conj[1], Complex::new(-1.0, -0.75));
    let prod = client
        .decode_complex(&client.decrypt(&ev.mul(&c, &c).unwrap()).unwrap())
        .unwrap();
    assert_eq!(prod[0], Complex::new(0.25 - 0.0625, 0.25));
}

#[test]
fn missing_keys_are_reported() {
    let params = small();
    let client = MockClient::new(&params, &KeyRequirements::none()).unwrap();
    let ev = client.evaluator().unwrap();
    let a = client.encrypt_values(&[1.0]).unwrap();
    assert_eq!(
        ev.mul(&a, &a).unwrap_err(),
        Error::MissingRelinearizationKey
    );
    assert_eq!(ev.conjugate(&a).unwrap_err(), Error::MissingConjugationKey);
    assert_eq!(
        ev.rotate(&a, -1).unwrap_err(),
        Error::MissingRotationKey { step: -1 }
    );
    assert!(ev.rotate(&a, 0).is_ok());
}

#[test]
fn objects_from_other_parameters_are_refused() {
    let (_, client, ev) = setup();
    let other = Params::preset("N14_L4").unwrap();
    let other_client = MockClient::new(&other, &all_keys()).unwrap();
    let foreign = other_client.encrypt_values(&[1.0]).unwrap();
    let mine = client.encrypt_values(&[1.0]).unwrap();
    assert!(matches!(
        ev.add(&mine, &foreign),
        Err(Error::ContextMismatch { .. })
    ));
    assert!(matches!(
        client.decrypt(&foreign),
        Err(Error::ContextMismatch { .. })
    ));
}

#[test]
fn noise_is_seeded_and_has_the_requested_deviation() {
    let params = Params::new(ParamsLiteral {
        log_n: 12,
        ..small().literal().clone()
    })
    .unwrap();
    let noise = NoiseModel {
        fresh: 1e-3,
        per_op: 1e-4,
    };
    let run = |seed| {
        let client = MockClient::with_noise(&params, &all_keys(), noise, seed).unwrap();
        let ev = client.evaluator().unwrap();
        let a = client.encrypt_values(&[]).unwrap();
        let fresh = client.decrypt_values(&a).unwrap();
        let rot = client.decrypt_values(&ev.rotate(&a, 1).unwrap()).unwrap();
        (fresh, rot)
    };
    let (fresh, rot) = run(5);
    let n = fresh.len() as f64;
    let sd = (fresh.iter().map(|v| v * v).sum::<f64>() / n).sqrt();
    assert!((sd / 1e-3 - 1.0).abs() < 0.1, "fresh deviation {sd}");
    let extra: Vec<f64> = (0..fresh.len())
        .map(|i| rot[i] - fresh[(i + 1) % fresh.len()])
        .collect();
    let sd_op = (extra.iter().map(|v| v * v).sum::<f64>() / n).sqrt();
    assert!((sd_op / 1e-4 - 1.0).abs() < 0.1, "per-op deviation {sd_op}");
    assert_eq!(run(5), (fresh, rot));
    assert_ne!(run(6).0, run(5).0);
    assert!(MockClient::with_noise(
        &params,
        &all_keys(),
        NoiseModel {
            fresh: -1.0,
            per_op: 0.0
        },
        1
    )
    .is_err());
}

#[test]
fn backend_name_and_exact_default_client() {
    use hetile_backend::Backend;
    assert_eq!(MockBackend::NAME, "mock");
    let params = small();
    let client = MockClient::new(&params, &all_keys()).unwrap();
    assert!(client.noise().is_none());
    let x = ramp(params.slots().get());
    let ct = client
        .encrypt_symmetric(
            &client
                .encode(&x, Level(2), Scale::from_log2(30.0).unwrap())
                .unwrap(),
        )
        .unwrap();
    assert_eq!(ct.level(), Level(2));
    assert_eq!(client.decrypt_values(&ct).unwrap(), x);
}
