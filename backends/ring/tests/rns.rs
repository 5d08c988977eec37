//! RnsPoly conversions, arithmetic and CRT reconstruction.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use hetile_ring::crt::SmallCrt;
use hetile_ring::primes::ntt_prime_chain;
use hetile_ring::{Representation, RingError, RnsContext, RnsPoly, Sampler};
use proptest::prelude::*;
use std::sync::Arc;
use zeroize::Zeroize;

fn ctx(n: usize, bits: &[u32]) -> Arc<RnsContext> {
    RnsContext::new(n, &ntt_prime_chain(bits, 2 * n as u64).unwrap()).unwrap()
}

#[test]
fn context_validation() {
    let good = ntt_prime_chain(&[30, 30], 64).unwrap();
    assert!(RnsContext::new(32, &good).is_ok());
    assert!(matches!(
        RnsContext::new(32, &[good[0], good[0]]),
        Err(RingError::InvalidModulus { .. })
    ));
    assert!(RnsContext::new(32, &[]).is_err());
    assert!(matches!(
        RnsContext::new(48, &good),
        Err(RingError::InvalidDegree { .. })
    ));
    // A prime that is 1 mod 64 but not 1 mod 128 is refused at N = 64.
    let odd_one = hetile_ring::primes::ntt_primes(30, 64, 10, &[])
        .unwrap()
        .into_iter()
        .find(|p| p % 128 != 1)
        .unwrap();
    assert!(RnsContext::new(32, &[odd_one]).is_ok());
    assert!(RnsContext::new(64, &[odd_one]).is_err());
    let c = RnsContext::new(32, &good).unwrap();
    assert_eq!((c.degree(), c.len(), c.is_empty()), (32, 2, false));
    assert!(RnsPoly::from_signed(&c, &[0, 2], &[0; 32]).is_err());
    assert!(RnsPoly::from_signed(&c, &[1, 1], &[0; 32]).is_err());
    assert!(RnsPoly::from_signed(&c, &[0], &[0; 31]).is_err());
}

#[test]
fn signed_and_float_round_trips() {
    let c = ctx(64, &[40, 41, 42]);
    let all = [0usize, 1, 2];
    let coeffs: Vec<i64> = (0..64i64)
        .map(|i| (i - 32) * 1_000_000_007 * (i % 5))
        .collect();
    let p = RnsPoly::from_signed(&c, &all, &coeffs).unwrap();
    let back = p.to_centered_i128(&c).unwrap();
    assert_eq!(back, coeffs.iter().map(|&x| x as i128).collect::<Vec<_>>());
    let extremes = [i64::MIN + 1, i64::MAX, -1, 0, 1];
    let mut e = vec![0i64; 64];
    e[..5].copy_from_slice(&extremes);
    let p = RnsPoly::from_signed(&c, &all, &e).unwrap();
    let back = p.to_centered_i128(&c).unwrap();
    assert_eq!(&back[..5], &extremes.map(|x| x as i128));

    // Floats, including values far above 2^63 (exact through mantissa * 2^exp).
    let mut f = vec![0.0f64; 64];
    f[0] = 2.5;
    f[1] = -2.5;
    f[2] = 1e15 + 0.4;
    f[3] = -(2f64.powi(100)) * 1.75;
    f[4] = 2f64.powi(119) * 1.5 + 2f64.powi(80);
    f[5] = -0.49;
    f[6] = 2f64.powi(63);
    // Ties and near-ties around the rounding fast path's limits (ties away from zero).
    let edges = [
        0.5,
        -0.5,
        1.5,
        -1.5,
        0.499_999_999_999_999_94,
        -0.499_999_999_999_999_94,
        4_503_599_627_370_495.5,
        -4_503_599_627_370_495.5,
        2f64.powi(52) + 1.0,
        -(2f64.powi(62)) - 2048.0,
        2f64.powi(63) - 1024.0,
        -(2f64.powi(63)),
    ];
    f[8..8 + edges.len()].copy_from_slice(&edges);
    let p = RnsPoly::from_f64_rounded(&c, &all, &f).unwrap();
    let back = p.to_centered_i128(&c).unwrap();
    let expect: Vec<i128> = f.iter().map(|x| x.round() as i128).collect();
    assert_eq!(back, expect);
    let back_f = p.to_centered_f64(&c).unwrap();
    for (a, b) in back_f.iter().zip(&f) {
        assert_eq!(*a, b.round());
    }
    f[7] = f64::NAN;
    assert!(matches!(
        RnsPoly::from_f64_rounded(&c, &all, &f),
        Err(RingError::InvalidArgument { .. })
    ));
}

#[test]
fn big_crt_matches_small_crt_and_handles_many_limbs() {
    // 2 x 60 bits: i128 path available, compare both.
    let c = ctx(256, &[60, 60]);
    let mut s = Sampler::insecure_from_u64_for_tests(11);
    let u = s.uniform_poly(&c, &[0, 1], Representation::Coefficient);
    let exact = u.to_centered_i128(&c).unwrap();
    let approx = u.to_centered_f64(&c).unwrap();
    for (e, a) in exact.iter().zip(&approx) {
        let rel = ((*e as f64) - a).abs() / (*e as f64).abs().max(1.0);
        assert!(rel < 1e-15, "{e} {a}");
    }
    // 12 limbs (~720 bits): small signed values must come back exactly, and NTT form is refused.
    let c = ctx(64, &[60; 12]);
    let all: Vec<usize> = (0..12).collect();
    let v: Vec<i64> = (0..64).map(|i| (i as i64 - 30) << 40).collect();
    let mut p = RnsPoly::from_signed(&c, &all, &v).unwrap();
    assert_eq!(
        p.to_centered_f64(&c).unwrap(),
        v.iter().map(|&x| x as f64).collect::<Vec<_>>()
    );
    assert!(p.to_centered_i128(&c).is_err());
    p.to_ntt(&c);
    assert!(matches!(
        p.to_centered_f64(&c),
        Err(RingError::WrongRepresentation { .. })
    ));
}

#[test]
fn arithmetic_in_both_representations() {
    let c = ctx(128, &[30, 40, 50]);
    let mods = [2usize, 0];
    let a: Vec<i64> = (0..128).map(|i| (i * 7 % 23) - 11).collect();
    let b: Vec<i64> = (0..128).map(|i| (i * 5 % 17) - 8).collect();
    let pa = RnsPoly::from_signed(&c, &mods, &a).unwrap();
    let pb = RnsPoly::from_signed(&c, &mods, &b).unwrap();
    // Coefficient-form add/sub/neg/scalar.
    let mut s = pa.clone();
    s.add_assign(&c, &pb).unwrap();
    s.sub_assign(&c, &pb).unwrap();
    assert_eq!(s, pa);
    s.neg_assign(&c);
    s.mul_scalar_assign(&c, -3);
    let got = s.to_centered_i128(&c).unwrap();
    assert_eq!(got, a.iter().map(|&x| 3 * x as i128).collect::<Vec<_>>());
    // Multiplication needs NTT form.
    let mut m = pa.clone();
    assert!(matches!(
        m.mul_assign(&c, &pb),
        Err(RingError::WrongRepresentation { .. })
    ));
    let (mut na, mut nb) = (pa.clone(), pb.clone());
    na.to_ntt(&c);
    nb.to_ntt(&c);
    let mut prod = na.clone();
    prod.mul_assign(&c, &nb).unwrap();
    let mut acc = RnsPoly::zero(&c, &mods, Representation::Ntt);
    acc.mul_add_assign(&c, &na, &nb).unwrap();
    acc.mul_add_assign(&c, &na, &nb).unwrap();
    prod.mul_rns_scalar_assign(&c, &[2, 2]).unwrap();
    assert_eq!(acc, prod);
    prod.to_coeff(&c);
    let got = prod.to_centered_i128(&c).unwrap();
    let mut expect = vec![0i128; 128];
    for i in 0..128 {
        for j in 0..128 {
            let v = 2 * a[i] as i128 * b[j] as i128;
            if i + j < 128 {
                expect[i + j] += v;
            } else {
                expect[i + j - 128] -= v;
            }
        }
    }
    assert_eq!(got, expect);
    // Shape mismatches.
    let other = RnsPoly::zero(&c, &[0, 2], Representation::Coefficient);
    assert!(matches!(
        pa.clone().add_assign(&c, &other),
        Err(RingError::Mismatch { .. })
    ));
    assert!(pa.clone().add_assign(&c, &na).is_err());
    assert!(pa.clone().mul_rns_scalar_assign(&c, &[1]).is_err());
}

#[test]
fn limb_selection_truncation_and_zeroize() {
    let c = ctx(32, &[30, 31, 32, 33]);
    let mut s = Sampler::insecure_from_u64_for_tests(9);
    let mut p = s.uniform_poly(&c, &[0, 1, 2, 3], Representation::Ntt);
    let mid = p.select_limbs(1..3);
    assert_eq!(mid.moduli(), &[1, 2]);
    assert_eq!(mid.limb(0), p.limb(1));
    assert_eq!(mid.limb(1), p.limb(2));
    assert_eq!(mid.repr(), Representation::Ntt);
    assert_eq!(p.select_limbs(3..9).num_limbs(), 1);
    assert!(p.limb(7).is_empty());
    p.truncate_limbs(2);
    assert_eq!(p.moduli(), &[0, 1]);
    assert_eq!(p.as_slice().len(), 64);
    p.zeroize();
    assert_eq!(p.num_limbs(), 2);
    assert!(p.as_slice().iter().all(|&x| x == 0));
    let raw = RnsPoly::from_raw_parts(&c, &[1], Representation::Ntt, vec![0; 32]).unwrap();
    assert_eq!(raw.num_limbs(), 1);
    assert!(RnsPoly::from_raw_parts(&c, &[1], Representation::Ntt, vec![u64::MAX; 32]).is_err());
}

#[test]
fn parallel_ntt_matches_sequential() {
    // 8 limbs at 2^12 = 2^15 coefficients: the parallel path.
    let c = ctx(1 << 12, &[50, 50, 50, 50, 60, 60, 60, 60]);
    let mut s = Sampler::insecure_from_u64_for_tests(4);
    let p = s.uniform_poly(&c, &[0, 1, 2, 3, 4, 5, 6, 7], Representation::Coefficient);
    let mut par = p.clone();
    par.to_ntt(&c);
    for k in 0..8 {
        let mut limb = p.limb(k).to_vec();
        c.ntt(k).forward(&mut limb);
        assert_eq!(par.limb(k), limb.as_slice());
    }
    par.to_ntt(&c); // no-op
    par.to_coeff(&c);
    assert_eq!(par, p);
}

#[test]
fn automorphism_of_rns_polys() {
    use hetile_ring::{automorphism_coeff, automorphism_permutation, galois_element_for_rotation};
    let c = ctx(256, &[40, 50, 60]);
    let mods = [0usize, 2, 1];
    let mut s = Sampler::insecure_from_u64_for_tests(77);
    let x = s.uniform_poly(&c, &mods, Representation::Coefficient);
    let mut xn = x.clone();
    xn.to_ntt(&c);
    for g in [galois_element_for_rotation(3, 256), 511] {
        // One permutation (from any table) serves every limb.
        let perm = automorphism_permutation(c.ntt(1), g).unwrap();
        let mut out = RnsPoly::zero(&c, &mods, Representation::Ntt);
        xn.automorphism_ntt(&perm, &mut out).unwrap();
        out.to_coeff(&c);
        for (k, &i) in mods.iter().enumerate() {
            let mut expect = vec![0u64; 256];
            automorphism_coeff(c.modulus(i), x.limb(k), g, &mut expect);
            assert_eq!(out.limb(k), expect.as_slice());
        }
        let mut wrong = RnsPoly::zero(&c, &mods[..2], Representation::Ntt);
        assert!(xn.automorphism_ntt(&perm, &mut wrong).is_err());
        assert!(x.automorphism_ntt(&perm, &mut out).is_err());
        assert!(xn.automorphism_ntt(&perm[..10], &mut out).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn from_f64_matches_integer_rounding(v in prop::collection::vec(-1e30f64..1e30, 16), scale in 0i32..90) {
        let c = ctx(16, &[60, 60]);
        let f: Vec<f64> = v.iter().map(|x| x / 2f64.powi(scale)).collect();
        let p = RnsPoly::from_f64_rounded(&c, &[0, 1], &f).unwrap();
        let back = p.to_centered_i128(&c).unwrap();
        let expect: Vec<i128> = f.iter().map(|x| x.round() as i128).collect();
        prop_assert_eq!(back, expect);
    }

    #[test]
    fn crt_centers(r in prop::collection::vec(any::<u64>(), 3)) {
        let c = ctx(16, &[40, 41, 42]);
        let primes: Vec<u64> = (0..3).map(|i| c.modulus(i).value()).collect();
        let residues: Vec<u64> = r.iter().zip(&primes).map(|(x, p)| x % p).collect();
        let crt = SmallCrt::new(&primes).unwrap();
        let q = crt.product() as i128;
        let x = crt.centered(&residues);
        prop_assert!(2 * x <= q && 2 * x > -q);
        for (res, p) in residues.iter().zip(&primes) {
            prop_assert_eq!(x.rem_euclid(*p as i128), *res as i128);
        }
        let mut data = vec![0u64; 48];
        for k in 0..3 {
            data[k * 16] = residues[k];
        }
        let poly = RnsPoly::from_raw_parts(&c, &[0, 1, 2], Representation::Coefficient, data).unwrap();
        let f = poly.to_centered_f64(&c).unwrap()[0];
        prop_assert!((f - x as f64).abs() <= (x as f64).abs() * 1e-15);
    }

    #[test]
    fn from_signed_round_trip(v in prop::collection::vec(any::<i64>(), 32)) {
        let c = ctx(32, &[50, 50]);
        let p = RnsPoly::from_signed(&c, &[1, 0], &v).unwrap();
        let back = p.to_centered_i128(&c).unwrap();
        prop_assert_eq!(back, v.iter().map(|&x| x as i128).collect::<Vec<_>>());
    }
}

/// `linear_maps` equals the term-by-term `mul_rns_scalar_assign` + `add_assign` path, on
/// IFMA-sized (< 2^50) and wide (60-bit) primes, with weights beyond the modulus, in both
/// representations, for sparse rows, repeated inputs and an empty row, over a degree that is
/// not a multiple of the coefficient block; shape errors are typed.
#[test]
fn linear_maps_match_scalar_products() {
    use hetile_ring::linear::linear_maps;
    for (n, bits) in [
        (2048, [45u32, 50, 49]),
        (4096, [60, 61, 59]),
        (64, [40, 41, 42]),
    ] {
        let c = ctx(n, &bits);
        let mods = [0, 1, 2];
        let mut s = Sampler::insecure_from_u64_for_tests(31);
        for repr in [Representation::Coefficient, Representation::Ntt] {
            let inputs: Vec<RnsPoly> = (0..13).map(|_| s.uniform_poly(&c, &mods, repr)).collect();
            let weights: Vec<Vec<u64>> = (0..40u64)
                .map(|k| vec![k.wrapping_mul(0x9E37_79B9_7F4A_7C15), u64::MAX - k, k + 1])
                .collect();
            // Row j uses inputs (j * 3 + t) % 13 for t < j + 1 (some inputs twice), row 0 none.
            let rows: Vec<Vec<(usize, &[u64])>> = (0..6)
                .map(|j| {
                    (0..j * 7)
                        .map(|t| ((j * 3 + t) % 13, weights[(j + t) % 40].as_slice()))
                        .collect()
                })
                .collect();
            // Dense rows (every input, same order): groups of four share one pass.
            let dense: Vec<Vec<(usize, &[u64])>> = (0..6)
                .map(|j| {
                    (0..13)
                        .map(|k| (k, weights[(j * 5 + k) % 40].as_slice()))
                        .collect()
                })
                .collect();
            let refs: Vec<&RnsPoly> = inputs.iter().collect();
            let mut got = linear_maps(&c, &refs, &rows).unwrap();
            assert_eq!(got.len(), rows.len());
            got.extend(linear_maps(&c, &refs, &dense).unwrap());
            for (row, out) in rows.iter().chain(&dense).zip(&got) {
                let mut expect = RnsPoly::zero(&c, &mods, repr);
                for &(k, w) in row {
                    let mut p = inputs[k].clone();
                    p.mul_rns_scalar_assign(&c, w).unwrap();
                    expect.add_assign(&c, &p).unwrap();
                }
                assert_eq!(out, &expect, "{bits:?} {repr:?}");
            }
            // Errors: no input, an unknown input, a short weight, inputs of different shapes.
            assert!(linear_maps(&c, &[], &rows).is_err());
            let short: &[u64] = &[1, 2];
            assert!(linear_maps(&c, &refs, &[vec![(13, weights[0].as_slice())]]).is_err());
            assert!(linear_maps(&c, &refs, &[vec![(0, short)]]).is_err());
            let other = RnsPoly::zero(&c, &[0, 1], repr);
            assert!(matches!(
                linear_maps(&c, &[refs[0], &other], &[]),
                Err(RingError::Mismatch { .. })
            ));
        }
    }
}

/// Outputs on recycled (non-zero) pooled buffers: an empty row, alone or in a group of four
/// sharing one pass, still gives the zero polynomial, and a non-empty row its exact sum (the
/// pooled buffers are not zeroed first, so every coefficient must be written).
#[test]
fn linear_maps_write_every_coefficient_of_pooled_buffers() {
    use hetile_ring::linear::linear_maps;
    // One limb of 2^15 words (256 KiB) is large enough to be pooled.
    let n = 1 << 15;
    let c = ctx(n, &[45]);
    let mut s = Sampler::insecure_from_u64_for_tests(5);
    let x = s.uniform_poly(&c, &[0], Representation::Ntt);
    let w: &[u64] = &[3];
    for _ in 0..8 {
        s.uniform_poly(&c, &[0], Representation::Ntt).recycle();
    }
    let rows: Vec<Vec<(usize, &[u64])>> = vec![vec![], vec![], vec![], vec![], vec![(0, w)]];
    let got = linear_maps(&c, &[&x], &rows).unwrap();
    let zero = RnsPoly::zero(&c, &[0], Representation::Ntt);
    for out in &got[..4] {
        assert_eq!(out, &zero);
    }
    let mut expect = x.clone();
    expect.mul_rns_scalar_assign(&c, w).unwrap();
    assert_eq!(got[4], expect);
    // The non-zeroing constructor over a recycled buffer has the requested shape.
    s.uniform_poly(&c, &[0], Representation::Ntt).recycle();
    let dirty = RnsPoly::uninit_pooled(&c, &[0], Representation::Coefficient);
    assert_eq!(dirty.num_limbs(), 1);
    assert_eq!(dirty.as_slice().len(), n);
}
