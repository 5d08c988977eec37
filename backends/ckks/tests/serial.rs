//! Serialization: round trips, seed compression, validation and context binding.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hetile_backend::{
    Client, Error, Evaluator, KeyRequirements, Level, Params, ParamsLiteral, SecurityLevel,
};
use hetile_ckks::serial::{HEADER_LEN, MAGIC};
use hetile_ckks::{
    Ciphertext, CkksClient, EvaluationKeys, GaloisKey, ParamsBytes, Plaintext, PublicContext,
    PublicKey, SwitchingKey,
};

fn params(log_q: &[u32]) -> Params {
    Params::new(ParamsLiteral {
        log_n: 10,
        log_q: log_q.to_vec(),
        log_p: vec![60],
        log_scale: 40,
        digits: None,
        security: SecurityLevel::Insecure,
        secret: Default::default(),
    })
    .unwrap()
}

fn client(p: &Params, seed: u64) -> CkksClient {
    let keys = KeyRequirements::none()
        .with_relinearization()
        .with_rotations([1, 2, -1])
        .with_conjugation();
    CkksClient::new_insecure_seeded_for_tests(p, &keys, seed).unwrap()
}

fn values() -> Vec<f64> {
    (0..512).map(|i| (f64::from(i) * 0.37).sin()).collect()
}

fn max_err(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn params_round_trip_and_refuse_corruption() {
    let p = params(&[60, 40, 40]);
    let bytes = p.to_bytes().unwrap();
    assert_eq!(&bytes[..4], &MAGIC);
    assert_eq!(Params::from_bytes(&bytes).unwrap(), p);
    let preset = Params::preset("N14_L4").unwrap();
    assert_eq!(
        Params::from_bytes(&preset.to_bytes().unwrap()).unwrap(),
        preset
    );
    // A changed fingerprint is refused.
    let mut bad = bytes.clone();
    bad[HEADER_LEN - 1] ^= 1;
    assert!(matches!(
        Params::from_bytes(&bad),
        Err(Error::Serialization { .. })
    ));
    // A version from the future is refused.
    let mut bad = bytes.clone();
    bad[4] = 9;
    assert!(matches!(
        Params::from_bytes(&bad),
        Err(Error::Serialization { .. })
    ));
    // Insecure parameters rewritten to claim 128-bit security fail the table check on load.
    let mut lit = p.literal().clone();
    lit.security = SecurityLevel::Classical128;
    lit.log_q = vec![60; 10];
    assert!(Params::new(lit).is_err());
}

#[test]
fn ciphertexts_round_trip_compressed_and_full() {
    let p = params(&[60, 40, 40]);
    let c = client(&p, 1);
    let ctx = c.context().clone();
    let v = values();
    let pt = c.encode(&v, p.max_level(), p.default_scale()).unwrap();

    let sk_ct = c.encrypt_symmetric(&pt).unwrap();
    let pk_ct = c.encrypt(&pt).unwrap();
    let compressed = sk_ct.to_bytes(&ctx).unwrap();
    let full = pk_ct.to_bytes(&ctx).unwrap();
    // Seed compression stores c0 and a 32-byte seed instead of c1: about half.
    let ratio = compressed.len() as f64 / full.len() as f64;
    assert!((0.49..0.52).contains(&ratio), "{ratio}");

    let back = Ciphertext::from_bytes(&ctx, &compressed).unwrap();
    assert_eq!(back, sk_ct);
    assert!(back.seed().is_some());
    let back_pk = Ciphertext::from_bytes(&ctx, &full).unwrap();
    assert_eq!(back_pk, pk_ct);
    assert!(max_err(&c.decrypt_values(&back).unwrap(), &v) < 1e-5);

    // After an operation the seed is gone and the ciphertext is stored in full.
    let ev = c.evaluator().unwrap();
    let sq = ev.rescale(&ev.square(&back).unwrap()).unwrap();
    let sq_bytes = sq.to_bytes(&ctx).unwrap();
    let sq_back = Ciphertext::from_bytes(&ctx, &sq_bytes).unwrap();
    assert_eq!(sq_back, sq);
    let want: Vec<f64> = v.iter().map(|x| x * x).collect();
    assert!(max_err(&c.decrypt_values(&sq_back).unwrap(), &want) < 1e-4);

    // Plaintexts too.
    let pt_bytes = pt.to_bytes(&ctx).unwrap();
    assert_eq!(Plaintext::from_bytes(&ctx, &pt_bytes).unwrap(), pt);
}

#[test]
fn keys_round_trip_and_compression_halves_switching_keys() {
    let p = params(&[60, 40, 40]);
    let c = client(&p, 2);
    let ctx = c.context().clone();
    let pk = c.public_key();
    assert_eq!(
        PublicKey::from_bytes(&ctx, &pk.to_bytes(&ctx).unwrap())
            .unwrap()
            .b(),
        pk.b()
    );
    let relin = c.evaluation_keys().relinearization().unwrap();
    let small = relin.to_bytes(&ctx).unwrap();
    let big = relin.to_bytes_uncompressed(&ctx).unwrap();
    let ratio = small.len() as f64 / big.len() as f64;
    assert!((0.49..0.52).contains(&ratio), "{ratio}");
    for bytes in [&small, &big] {
        let k = SwitchingKey::from_bytes(&ctx, bytes).unwrap();
        assert_eq!(k.seeds(), relin.seeds());
        assert_eq!(format!("{k:?}"), format!("{relin:?}"));
    }
    let g = c.evaluation_keys().rotation_key(2).unwrap();
    let g_back = GaloisKey::from_bytes(&ctx, &g.to_bytes(&ctx).unwrap()).unwrap();
    assert_eq!(g_back.galois_element(), g.galois_element());
    let ek =
        EvaluationKeys::from_bytes(&ctx, &c.evaluation_keys().to_bytes(&ctx).unwrap()).unwrap();
    assert_eq!(
        ek.rotation_steps().collect::<Vec<_>>(),
        c.evaluation_keys().rotation_steps().collect::<Vec<_>>()
    );
    assert!(ek.conjugation_key().is_some());
}

#[test]
fn a_server_built_from_bytes_computes_what_the_client_expects() {
    let p = params(&[60, 40, 40]);
    let c = client(&p, 3);
    let public_bytes = c.public_context().to_bytes().unwrap();
    let v = values();
    let ct = c.encrypt_values(&v).unwrap();
    let ct_bytes = ct.to_bytes(c.context()).unwrap();

    // Server side: bytes only.
    let public = PublicContext::from_bytes(&public_bytes).unwrap();
    let ev = public.evaluator();
    let x = Ciphertext::from_bytes(public.context(), &ct_bytes).unwrap();
    let y = ev.rotate(&x, 1).unwrap();
    let z = ev.rescale(&ev.mul(&x, &y).unwrap()).unwrap();
    let out = z.to_bytes(public.context()).unwrap();

    let result = Ciphertext::from_bytes(c.context(), &out).unwrap();
    let got = c.decrypt_values(&result).unwrap();
    let want: Vec<f64> = (0..512).map(|i| v[i] * v[(i + 1) % 512]).collect();
    assert!(max_err(&got, &want) < 1e-4);

    // The context can also be loaded into an existing CkksContext.
    assert!(PublicContext::from_bytes_in(c.context(), &public_bytes).is_ok());
}

#[test]
fn objects_of_another_context_are_refused() {
    let pa = params(&[60, 40, 40]);
    let pb = params(&[60, 40, 41]);
    let a = client(&pa, 4);
    let b = client(&pb, 5);
    let ct = a.encrypt_values(&values()).unwrap();
    let bytes = ct.to_bytes(a.context()).unwrap();
    // Context B refuses A's ciphertext instead of decrypting garbage.
    match Ciphertext::from_bytes(b.context(), &bytes) {
        Err(Error::ContextMismatch { .. }) => {}
        other => panic!("{other:?}"),
    }
    // Even with a forged fingerprint the shapes do not fit B's chain.
    let mut forged = bytes.clone();
    forged[8..16].copy_from_slice(&pb.fingerprint().to_le_bytes());
    assert!(Ciphertext::from_bytes(b.context(), &forged).is_err());
    // Keys and contexts are bound the same way.
    let pk = a.public_key().to_bytes(a.context()).unwrap();
    assert!(matches!(
        PublicKey::from_bytes(b.context(), &pk),
        Err(Error::ContextMismatch { .. })
    ));
    let public_a = a.public_context().to_bytes().unwrap();
    assert!(matches!(
        PublicContext::from_bytes_in(b.context(), &public_a),
        Err(Error::ContextMismatch { .. })
    ));
    // And the in-memory checks refuse a foreign ciphertext too.
    assert!(matches!(b.decrypt(&ct), Err(Error::ContextMismatch { .. })));
}

#[test]
fn validation_refuses_bad_levels_scales_and_residues() {
    let p = params(&[60, 40, 40]);
    let c = client(&p, 6);
    let ctx = c.context().clone();
    let pt = c.encode(&values(), Level(0), p.default_scale()).unwrap();
    let bytes = pt.to_bytes(&ctx).unwrap();
    // Body: level varint (1 byte), scale f64 (8 bytes), then the polynomial.
    assert_eq!(bytes[HEADER_LEN], 0);
    let mut bad_level = bytes.clone();
    bad_level[HEADER_LEN] = 3;
    assert!(Plaintext::from_bytes(&ctx, &bad_level).is_err());
    for scale in [f64::NAN, f64::INFINITY, 0.5, 2f64.powi(60)] {
        let mut bad_scale = bytes.clone();
        bad_scale[HEADER_LEN + 1..HEADER_LEN + 9].copy_from_slice(&scale.to_le_bytes());
        assert!(
            matches!(
                Plaintext::from_bytes(&ctx, &bad_scale),
                Err(Error::Serialization { .. })
            ),
            "{scale}"
        );
    }
    // A residue at or above its prime (all bits set in the first residue).
    let mut bad_residue = bytes.clone();
    let start = bytes.len() - (1024 * 60) / 8;
    bad_residue[start..start + 8].fill(0xff);
    assert!(Plaintext::from_bytes(&ctx, &bad_residue).is_err());
    // Truncated, extended, empty.
    assert!(Plaintext::from_bytes(&ctx, &bytes[..bytes.len() - 1]).is_err());
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Plaintext::from_bytes(&ctx, &longer).is_err());
    assert!(Plaintext::from_bytes(&ctx, &[]).is_err());
    // A ciphertext blob is not a plaintext.
    let ct = c.encrypt(&pt).unwrap().to_bytes(&ctx).unwrap();
    assert!(Plaintext::from_bytes(&ctx, &ct).is_err());
}

#[test]
fn serialization_is_deterministic_for_a_fixed_seed() {
    // Known-answer property: the same seeded client writes the same bytes.
    let p = params(&[60, 40]);
    let a = client(&p, 9);
    let b = client(&p, 9);
    assert_eq!(
        a.public_context().to_bytes().unwrap(),
        b.public_context().to_bytes().unwrap()
    );
    let pt = a.encode(&[0.5], p.max_level(), p.default_scale()).unwrap();
    let x = a
        .encrypt_symmetric(&pt)
        .unwrap()
        .to_bytes(a.context())
        .unwrap();
    let y = b
        .encrypt_symmetric(&pt)
        .unwrap()
        .to_bytes(b.context())
        .unwrap();
    assert_eq!(x, y);
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Known answers that pin the format: the exact bytes of the N14_L4 parameters, and digests of
/// a fixed-seed seed-compressed ciphertext and of a public context.
#[test]
fn format_known_answers() {
    let p = Params::preset("N14_L4").unwrap();
    let hex: String = p
        .to_bytes()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(hex, KAT_N14_L4_PARAMS);
    let small = params(&[60, 40]);
    let c = client(&small, 42);
    let pt = c
        .encode(&[0.5, -0.25], small.max_level(), small.default_scale())
        .unwrap();
    let ct = c
        .encrypt_symmetric(&pt)
        .unwrap()
        .to_bytes(c.context())
        .unwrap();
    assert_eq!(fnv(&ct), KAT_CT_SEED_42, "got {:#018x}", fnv(&ct));
    let public = c.public_context().to_bytes().unwrap();
    assert_eq!(
        fnv(&public),
        KAT_PUBLIC_SEED_42,
        "got {:#018x}",
        fnv(&public)
    );
}

// Format version 2 (bytes 4..6): the public key holds its limb of the first special prime.
const KAT_N14_L4_PARAMS: &str = "48544c45020001009b81281728841b2a0e053228282828033232322801020000";
const KAT_CT_SEED_42: u64 = 0x87ec_8278_8be8_9369;
const KAT_PUBLIC_SEED_42: u64 = 0x3586_5d9a_fda6_781b;
