//! Every evaluator operation against the plaintext computation, the shared error rules, and a
//! fixed-seed known-answer test for key generation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{precision, uniform};
use hetile_backend::{
    Client, Complex, Error, Evaluator, KeyRequirements, Level, Meta, Params, Scale,
};
use hetile_ckks::{CkksBackend, CkksClient, CkksEvaluator};

fn setup(keys: KeyRequirements) -> (Params, CkksClient, CkksEvaluator) {
    let p = common::n12();
    let c = CkksClient::new_insecure_seeded_for_tests(&p, &keys, 11).unwrap();
    let e = c.evaluator().unwrap();
    (p, c, e)
}

fn check(c: &CkksClient, ct: &hetile_ckks::Ciphertext, want: &[f64], bits: f64, what: &str) {
    let (mean, min) = precision(&c.decrypt_values(ct).unwrap(), want);
    assert!(mean >= bits, "{what}: mean {mean:.2} min {min:.2}");
}

#[test]
fn additive_operations() {
    let (p, c, e) = setup(KeyRequirements::none());
    let n = p.slots().get();
    let (x, y) = (uniform(n, 1), uniform(n, 2));
    let (cx, cy) = (c.encrypt_values(&x).unwrap(), c.encrypt_values(&y).unwrap());
    let zip =
        |f: fn(f64, f64) -> f64| -> Vec<f64> { x.iter().zip(&y).map(|(a, b)| f(*a, *b)).collect() };
    check(
        &c,
        &e.add(&cx, &cy).unwrap(),
        &zip(|a, b| a + b),
        24.0,
        "add",
    );
    check(
        &c,
        &e.sub(&cx, &cy).unwrap(),
        &zip(|a, b| a - b),
        24.0,
        "sub",
    );
    check(&c, &e.negate(&cx).unwrap(), &zip(|a, _| -a), 24.0, "negate");
    let py = e.encode(&y, p.max_level(), p.default_scale()).unwrap();
    check(
        &c,
        &e.add_plain(&cx, &py).unwrap(),
        &zip(|a, b| a + b),
        24.0,
        "add_plain",
    );
    check(
        &c,
        &e.sub_plain(&cx, &py).unwrap(),
        &zip(|a, b| a - b),
        24.0,
        "sub_plain",
    );
    check(
        &c,
        &e.add_scalar(&cx, -0.75).unwrap(),
        &zip(|a, _| a - 0.75),
        24.0,
        "add_scalar",
    );
    check(
        &c,
        &e.mul_integer(&cx, -3).unwrap(),
        &zip(|a, _| -3.0 * a),
        22.0,
        "mul_integer",
    );
    // A plaintext above the ciphertext's level is used truncated.
    let low = e.drop_to_level(&cx, Level(1)).unwrap();
    assert_eq!(low.level(), Level(1));
    check(
        &c,
        &e.add_plain(&low, &py).unwrap(),
        &zip(|a, b| a + b),
        24.0,
        "add_plain truncated",
    );
}

#[test]
fn multiplicative_operations() {
    let (p, c, e) = setup(KeyRequirements::none().with_relinearization());
    let n = p.slots().get();
    let (x, y) = (uniform(n, 3), uniform(n, 4));
    let cx = c.encrypt_values(&x).unwrap();
    let prod: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a * b).collect();

    let py = e.encode(&y, p.max_level(), p.default_scale()).unwrap();
    let mut m = e.mul_plain(&cx, &py).unwrap();
    e.rescale_assign(&mut m).unwrap();
    check(&c, &m, &prod, 24.0, "mul_plain");

    // add_scalar at a scale of about 2^80 (the constant exceeds 2^63 and is reduced exactly).
    let mut big = e.mul_plain(&cx, &py).unwrap();
    e.add_scalar_assign(&mut big, 0.5).unwrap();
    e.rescale_assign(&mut big).unwrap();
    let want: Vec<f64> = prod.iter().map(|v| v + 0.5).collect();
    check(&c, &big, &want, 24.0, "add_scalar at scale 2^80");

    let before = cx.scale();
    let mut s = e.mul_scalar(&cx, 0.3).unwrap();
    e.rescale_assign(&mut s).unwrap();
    assert!((s.scale().value() / before.value() - 1.0).abs() < 1e-12);
    let want: Vec<f64> = x.iter().map(|a| 0.3 * a).collect();
    check(&c, &s, &want, 24.0, "mul_scalar");

    let sq = e.rescale(&e.square(&cx).unwrap()).unwrap();
    let want: Vec<f64> = x.iter().map(|a| a * a).collect();
    check(&c, &sq, &want, 22.0, "square");

    // set_scale (default method built on encode + mul_plain + rescale).
    let target = Scale::from_log2(39.0).unwrap();
    let ss = e.set_scale(&cx, target).unwrap();
    assert!((ss.scale().value() / target.value() - 1.0).abs() < 1e-9);
    check(&c, &ss, &x, 22.0, "set_scale");
}

#[test]
fn complex_slots_and_conjugation() {
    let (p, c, e) = setup(
        KeyRequirements::none()
            .with_conjugation()
            .with_rotations([2]),
    );
    let n = p.slots().get();
    let re = uniform(n, 5);
    let im = uniform(n, 6);
    let z: Vec<Complex> = re
        .iter()
        .zip(&im)
        .map(|(&a, &b)| Complex::new(a, b))
        .collect();
    let pt = c
        .encode_complex(&z, p.max_level(), p.default_scale())
        .unwrap();
    let ct = c.encrypt(&pt).unwrap();
    let back = c.decode_complex(&c.decrypt(&ct).unwrap()).unwrap();
    let got_im: Vec<f64> = back.iter().map(|v| v.im).collect();
    assert!(precision(&got_im, &im).0 >= 24.0);
    let conj = c
        .decode_complex(&c.decrypt(&e.conjugate(&ct).unwrap()).unwrap())
        .unwrap();
    let neg_im: Vec<f64> = im.iter().map(|v| -v).collect();
    let got_re: Vec<f64> = conj.iter().map(|v| v.re).collect();
    let got_im: Vec<f64> = conj.iter().map(|v| v.im).collect();
    assert!(precision(&got_re, &re).0 >= 24.0);
    assert!(precision(&got_im, &neg_im).0 >= 24.0);
    // Rotations move complex slots too; step 0 and step n are identities.
    let rot = c
        .decode_complex(&c.decrypt(&e.rotate(&ct, 2 - n as i64).unwrap()).unwrap())
        .unwrap();
    let want_im: Vec<f64> = (0..n).map(|i| im[(i + 2) % n]).collect();
    let got_im: Vec<f64> = rot.iter().map(|v| v.im).collect();
    assert!(precision(&got_im, &want_im).0 >= 24.0);
    assert!(e.has_rotation_key(0) && e.has_rotation_key(n as i64) && e.has_rotation_key(2));
    assert_eq!(e.rotate(&ct, 0).unwrap(), ct);
}

#[test]
fn errors_follow_the_shared_rules() {
    let (p, c, e) = setup(KeyRequirements::none());
    let n = p.slots().get();
    let x = uniform(n, 7);
    let ct = c.encrypt_values(&x).unwrap();
    let low = e.drop_to_level(&ct, Level(0)).unwrap();
    assert_eq!(
        e.add(&ct, &low).unwrap_err(),
        Error::LevelMismatch {
            left: Level(2),
            right: Level(0)
        }
    );
    assert_eq!(
        e.mul(&ct, &ct).unwrap_err(),
        Error::MissingRelinearizationKey
    );
    assert_eq!(
        e.rotate(&ct, 1).unwrap_err(),
        Error::MissingRotationKey { step: 1 }
    );
    assert_eq!(
        e.rotate_many(&ct, &[0, -4]).unwrap_err(),
        Error::MissingRotationKey { step: -4 }
    );
    assert_eq!(e.conjugate(&ct).unwrap_err(), Error::MissingConjugationKey);
    assert!(matches!(
        e.rescale(&low).unwrap_err(),
        Error::LevelExhausted { op: "rescale", .. }
    ));
    assert!(matches!(
        e.mul_scalar(&low, 2.0).unwrap_err(),
        Error::LevelExhausted {
            op: "mul_scalar",
            ..
        }
    ));
    assert!(matches!(
        e.drop_to_level(&low, Level(1)).unwrap_err(),
        Error::InvalidLevel { .. }
    ));
    let pt_low = e.encode(&x, Level(0), p.default_scale()).unwrap();
    assert!(matches!(
        e.add_plain(&ct, &pt_low).unwrap_err(),
        Error::LevelMismatch { .. }
    ));
    let other_scale = e
        .encode(&x, Level(2), Scale::from_log2(30.0).unwrap())
        .unwrap();
    assert!(matches!(
        e.add_plain(&ct, &other_scale).unwrap_err(),
        Error::ScaleMismatch { .. }
    ));
    assert!(matches!(
        e.add_scalar(&ct, f64::NAN).unwrap_err(),
        Error::NonFiniteValue { .. }
    ));
    assert!(matches!(
        e.encode(&vec![0.0; n + 1], Level(0), p.default_scale())
            .unwrap_err(),
        Error::SlotOverflow { .. }
    ));
    // Objects from other parameters are refused.
    let other = common::n13();
    let c2 =
        CkksClient::new_insecure_seeded_for_tests(&other, &KeyRequirements::none(), 1).unwrap();
    let foreign = c2.encrypt_values(&[1.0]).unwrap();
    assert!(matches!(
        e.add(&ct, &foreign).unwrap_err(),
        Error::ContextMismatch { .. }
    ));
    assert!(matches!(
        c.decrypt(&foreign).unwrap_err(),
        Error::ContextMismatch { .. }
    ));
}

#[test]
fn keys_need_special_primes() {
    let p = common::params(12, &[60, 40], &[], hetile_backend::SecurityLevel::Insecure);
    let keys = KeyRequirements::none().with_relinearization();
    assert!(matches!(
        CkksClient::new_insecure_seeded_for_tests(&p, &keys, 1).unwrap_err(),
        Error::InvalidParameters { .. }
    ));
    // Without evaluation keys, encryption still works.
    let c = CkksClient::new_insecure_seeded_for_tests(&p, &KeyRequirements::none(), 1).unwrap();
    let x = uniform(p.slots().get(), 9);
    check(
        &c,
        &c.encrypt_values(&x).unwrap(),
        &x,
        24.0,
        "no special primes",
    );
}

#[test]
fn one_thread_gives_the_same_ciphertexts() {
    let keys = KeyRequirements::none()
        .with_relinearization()
        .with_rotations([1, 3]);
    let run = || {
        let (p, c, e) = setup(keys.clone());
        let ct = c.encrypt_values(&uniform(p.slots().get(), 10)).unwrap();
        let m = e.rescale(&e.mul(&ct, &ct).unwrap()).unwrap();
        let r = e.rotate_many(&m, &[1, 3]).unwrap();
        (m, r)
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    assert_eq!(pool.install(run), run());
}

/// `encrypt_values` (message folded into the encryption's NTTs) gives exactly the ciphertext of
/// `encrypt(encode(..))` for the same randomness, with and without special primes, and the
/// public-key encryption of a level below the top decrypts correctly.
#[test]
fn fused_encode_encrypt_equals_encode_then_encrypt() {
    for p in [
        common::n12(),
        common::params(12, &[60, 40], &[], hetile_backend::SecurityLevel::Insecure),
    ] {
        let keys = KeyRequirements::none();
        let a = CkksClient::new_insecure_seeded_for_tests(&p, &keys, 21).unwrap();
        let b = CkksClient::new_insecure_seeded_for_tests(&p, &keys, 21).unwrap();
        let x = uniform(p.slots().get(), 21);
        let fused = a.encrypt_values(&x).unwrap();
        let pt = b.encode(&x, p.max_level(), p.default_scale()).unwrap();
        assert_eq!(fused, b.encrypt(&pt).unwrap());
        let low = b.encode(&x, Level(0), p.default_scale()).unwrap();
        let ct = b.encrypt(&low).unwrap();
        assert_eq!(ct.level(), Level(0));
        check(&b, &ct, &x, 25.0, "public-key encryption at level 0");
    }
}

#[test]
fn symmetric_ciphertexts_regenerate_from_their_seed() {
    let (p, c, e) = setup(KeyRequirements::none());
    let x = uniform(p.slots().get(), 12);
    let pt = c.encode(&x, Level(1), p.default_scale()).unwrap();
    let ct = c.encrypt_symmetric(&pt).unwrap();
    let seed = ct.seed().unwrap();
    let ring = c.context().ring();
    let a = hetile_ring::sampling::Sampler::from_seed(seed).uniform_poly(
        ring,
        &[0, 1],
        hetile_ring::Representation::Ntt,
    );
    assert_eq!(&a, ct.c1());
    // Any operation forgets the seed.
    assert!(e.negate(&ct).unwrap().seed().is_none());
    check(&c, &ct, &x, 28.0, "symmetric at level 1");
}

#[test]
fn galois_keys_for_exactly_the_normalized_steps() {
    let (p, c, e) = setup(KeyRequirements::none().with_rotations([1, 1 - 2048, 0, 5, 2048]));
    assert_eq!(p.slots().get(), 2048);
    let steps: Vec<usize> = c.evaluation_keys().rotation_steps().collect();
    assert_eq!(steps, vec![1, 5]);
    assert!(c.evaluation_keys().relinearization().is_none());
    assert!(c.evaluation_keys().conjugation_key().is_none());
    assert!(e.has_rotation_key(-2047) && !e.has_rotation_key(2));
    let key = c.evaluation_keys().rotation_key(1).unwrap();
    assert_eq!(key.galois_element(), 5);
    assert_eq!(key.key().digits(), p.digits());
}

#[test]
fn rotations_at_every_level() {
    let (p, c, e) = setup(
        KeyRequirements::none()
            .with_rotations([1, -5])
            .with_conjugation(),
    );
    let n = p.slots().get();
    let x = uniform(n, 13);
    let top = c.encrypt_values(&x).unwrap();
    for level in (0..=p.max_level().0).rev() {
        let ct = e.drop_to_level(&top, Level(level)).unwrap();
        let rots = e.rotate_many(&ct, &[1, 0, -5]).unwrap();
        for (step, r) in [1i64, 0, -5].iter().zip(&rots) {
            let k = step.rem_euclid(n as i64) as usize;
            let want: Vec<f64> = (0..n).map(|i| x[(i + k) % n]).collect();
            assert_eq!(r.level(), Level(level));
            check(
                &c,
                r,
                &want,
                24.0,
                &format!("rotate {step} at level {level}"),
            );
        }
        check(
            &c,
            &e.conjugate(&ct).unwrap(),
            &x,
            24.0,
            "conjugate real slots",
        );
    }
}

#[test]
fn sparse_secret_keys_work() {
    let p = Params::new(hetile_backend::ParamsLiteral {
        secret: hetile_backend::SecretDistribution::HammingWeight(64),
        ..common::n12().literal().clone()
    })
    .unwrap();
    let keys = KeyRequirements::none()
        .with_relinearization()
        .with_rotations([3]);
    let c = CkksClient::new_insecure_seeded_for_tests(&p, &keys, 5).unwrap();
    let e = c.evaluator().unwrap();
    let n = p.slots().get();
    let x = uniform(n, 14);
    let ct = c.encrypt_values(&x).unwrap();
    let sq = e.rescale(&e.mul(&ct, &ct).unwrap()).unwrap();
    let r = e.rotate(&sq, 3).unwrap();
    let want: Vec<f64> = (0..n).map(|i| x[(i + 3) % n] * x[(i + 3) % n]).collect();
    check(&c, &r, &want, 24.0, "sparse secret");
}

#[test]
fn os_entropy_clients_have_distinct_keys() {
    let p = common::n12();
    let a = <CkksClient as Client<CkksBackend>>::new(&p, &KeyRequirements::none()).unwrap();
    let b = <CkksClient as Client<CkksBackend>>::new(&p, &KeyRequirements::none()).unwrap();
    assert_ne!(a.public_key().a(), b.public_key().a());
    let x = uniform(p.slots().get(), 15);
    check(
        &a,
        &a.encrypt_values(&x).unwrap(),
        &x,
        24.0,
        "OS-entropy client",
    );
    // A ciphertext's Debug output shows metadata only.
    let dbg = format!("{:?}", a.encrypt_values(&x).unwrap());
    assert!(dbg.len() < 200, "{dbg}");
}

#[test]
fn secret_key_debug_is_redacted() {
    let (_, c, _) = setup(KeyRequirements::none());
    let s = format!("{c:?}");
    assert!(s.contains("redacted"), "{s}");
}

/// FNV-1a of the first 16 coefficients of both limbs 0 of the public key for seed 42.
#[test]
fn key_generation_known_answer() {
    let p = common::n12();
    let c = CkksClient::new_insecure_seeded_for_tests(&p, &KeyRequirements::none(), 42).unwrap();
    let pk = c.public_key();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for v in pk.b().limb(0)[..16].iter().chain(&pk.a().limb(0)[..16]) {
        for byte in v.to_le_bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    assert_eq!(h, KAT_PK_SEED_42, "got {h:#018x}");
}

// Changed when the public key gained its limb of the first special prime (the uniform `a` is
// drawn over one more limb): formerly 0xd2e0_fefb_95f1_ad11.
const KAT_PK_SEED_42: u64 = 0x0a15_33a5_dcb7_d24f;

#[allow(dead_code)]
fn _backend_is_a_backend() -> &'static str {
    <CkksBackend as hetile_backend::Backend>::NAME
}

/// The fused sums of products are bit-identical to the term-by-term operations they replace.
#[test]
fn fused_sums_are_bit_identical_to_term_by_term() {
    let (p, c, e) = setup(KeyRequirements::none());
    let n = p.slots().get();
    let cts: Vec<_> = (0..9)
        .map(|k| c.encrypt_values(&uniform(n, 40 + k)).unwrap())
        .collect();
    let refs: Vec<&hetile_ckks::Ciphertext> = cts.iter().collect();
    let consts = [0.3, -1.25, 0.0, 7.5, -0.001, 1.0, 2.0, -3.0, 0.5];
    let fused = e.linear_combination(&refs, &consts).unwrap();
    let mut slow = e.mul_scalar(refs[0], consts[0]).unwrap();
    for (x, &k) in refs.iter().zip(&consts).skip(1) {
        e.add_assign(&mut slow, &e.mul_scalar(x, k).unwrap())
            .unwrap();
    }
    assert_eq!((fused.c0(), fused.c1()), (slow.c0(), slow.c1()));
    assert_eq!((fused.level(), fused.scale()), (slow.level(), slow.scale()));
    let pts: Vec<_> = (0..9)
        .map(|k| {
            e.encode(&uniform(n, 60 + k), p.max_level(), p.default_scale())
                .unwrap()
        })
        .collect();
    let prefs: Vec<&hetile_ckks::Plaintext> = pts.iter().collect();
    let fused = e.mul_plain_sum(&refs, &prefs).unwrap();
    let mut slow = e.mul_plain(refs[0], prefs[0]).unwrap();
    for (x, q) in refs.iter().zip(&prefs).skip(1) {
        e.add_assign(&mut slow, &e.mul_plain(x, q).unwrap())
            .unwrap();
    }
    assert_eq!((fused.c0(), fused.c1()), (slow.c0(), slow.c1()));
    assert_eq!((fused.level(), fused.scale()), (slow.level(), slow.scale()));
}
