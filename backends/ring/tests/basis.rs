//! Basis extension and rounded division against i128 references.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use hetile_ring::crt::SmallCrt;
use hetile_ring::primes::ntt_prime_chain;
use hetile_ring::{
    BasisExtender, DivideRound, Representation, RingError, RnsContext, RnsPoly, Sampler,
};
use std::sync::Arc;

fn ctx(n: usize, bits: &[u32]) -> Arc<RnsContext> {
    RnsContext::new(n, &ntt_prime_chain(bits, 2 * n as u64).unwrap()).unwrap()
}

fn values(c: &RnsContext, idx: &[usize]) -> Vec<u64> {
    idx.iter().map(|&i| c.modulus(i).value()).collect()
}

/// The coefficients of a coefficient-form poly as non-negative integers below Q.
fn lift(c: &RnsContext, p: &RnsPoly) -> Vec<i128> {
    let crt = SmallCrt::new(&values(c, p.moduli())).unwrap();
    let q = crt.product() as i128;
    p.to_centered_i128(c)
        .unwrap()
        .into_iter()
        .map(|x| x.rem_euclid(q))
        .collect()
}

#[test]
fn extension_is_x_plus_small_multiple_of_q() {
    let c = ctx(256, &[20, 21, 22, 23, 24, 25, 26]);
    let mut s = Sampler::insecure_from_u64_for_tests(21);
    for (from, to) in [
        (vec![0usize, 1, 2], vec![3usize, 4]),
        (vec![4], vec![0, 1, 2, 3]),
        (vec![6, 0, 5, 3], vec![1, 2, 4]),
    ] {
        let x = s.uniform_poly(&c, &from, Representation::Coefficient);
        let ext = BasisExtender::new(&c, &from, &to).unwrap();
        let y = ext.extend(&c, &x).unwrap();
        assert_eq!(y.moduli(), to.as_slice());
        let q: i128 = values(&c, &from).iter().map(|&p| p as i128).product();
        let xs = lift(&c, &x);
        let mut seen_u = vec![false; from.len()];
        for (coef, &xv) in xs.iter().enumerate() {
            // Find the u that matches the first target limb, then check it against all limbs.
            let u = (0..from.len() as i128)
                .find(|&u| {
                    let p = c.modulus(to[0]).value() as i128;
                    (xv + u * q).rem_euclid(p) == y.limb(0)[coef] as i128
                })
                .unwrap();
            seen_u[u as usize] = true;
            for (k, &t) in to.iter().enumerate() {
                let p = c.modulus(t).value() as i128;
                assert_eq!((xv + u * q).rem_euclid(p), y.limb(k)[coef] as i128);
            }
        }
        assert!(seen_u[0]);
    }
}

#[test]
fn extension_argument_errors() {
    let c = ctx(64, &[20, 21, 22]);
    assert!(matches!(
        BasisExtender::new(&c, &[0, 1], &[1, 2]),
        Err(RingError::InvalidArgument { .. })
    ));
    assert!(BasisExtender::new(&c, &[], &[1]).is_err());
    assert!(BasisExtender::new(&c, &[0], &[5]).is_err());
    let ext = BasisExtender::new(&c, &[0, 1], &[2]).unwrap();
    let mut x = RnsPoly::zero(&c, &[0, 1], Representation::Coefficient);
    assert!(ext
        .extend(&c, &RnsPoly::zero(&c, &[1, 0], Representation::Coefficient))
        .is_err());
    x.to_ntt(&c);
    assert!(matches!(
        ext.extend(&c, &x),
        Err(RingError::WrongRepresentation { .. })
    ));
    assert!(DivideRound::new(&c, &[], &[0]).is_err());
    assert!(DivideRound::new(&c, &[0], &[]).is_err());
    let dr = DivideRound::new(&c, &[0], &[1, 2]).unwrap();
    assert!(dr
        .apply(&c, &RnsPoly::zero(&c, &[0, 2, 1], Representation::Ntt))
        .is_err());
}

/// round(x / D) computed with i128 for the centered representative of every coefficient.
fn expected_division(c: &RnsContext, x: &RnsPoly, drop: &[usize]) -> Vec<i128> {
    let d: i128 = values(c, drop).iter().map(|&p| p as i128).product();
    x.to_centered_i128(c)
        .unwrap()
        .into_iter()
        .map(|v| (v + (d - 1) / 2).div_euclid(d))
        .collect()
}

fn check_division(c: &RnsContext, keep: &[usize], drop: &[usize], x: &RnsPoly) {
    let expect = expected_division(c, x, drop);
    let dr = DivideRound::new(c, keep, drop).unwrap();
    let got = dr.apply(c, x).unwrap();
    assert_eq!(got.moduli(), keep);
    assert_eq!(got.repr(), Representation::Coefficient);
    for (k, &i) in keep.iter().enumerate() {
        let p = c.modulus(i).value() as i128;
        for (coef, e) in expect.iter().enumerate() {
            assert_eq!(
                got.limb(k)[coef] as i128,
                e.rem_euclid(p),
                "coef {coef} limb {k}"
            );
        }
    }
    // NTT form: same result, in NTT form.
    let mut xn = x.clone();
    xn.to_ntt(c);
    let mut got_n = dr.apply(c, &xn).unwrap();
    assert_eq!(got_n.repr(), Representation::Ntt);
    got_n.to_coeff(c);
    assert!(
        got_n == got,
        "NTT path differs: {:?} vs {:?}",
        &got_n.limb(0)[..4],
        &got.limb(0)[..4]
    );
}

#[test]
fn division_by_one_prime_is_exact() {
    let c = ctx(512, &[30, 29, 28, 25]);
    let mut s = Sampler::insecure_from_u64_for_tests(31);
    for (keep, drop) in [(vec![0usize, 1, 2], vec![3usize]), (vec![3, 0], vec![1])] {
        let all: Vec<usize> = keep.iter().chain(&drop).copied().collect();
        let x = s.uniform_poly(&c, &all, Representation::Coefficient);
        check_division(&c, &keep, &drop, &x);
    }
}

#[test]
fn division_by_several_primes_is_exactly_rounded() {
    let c = ctx(1024, &[30, 29, 28, 27, 26]);
    let mut s = Sampler::insecure_from_u64_for_tests(41);
    for (keep, drop) in [
        (vec![0usize, 1], vec![2usize, 3]),
        (vec![4], vec![0, 1, 2]),
        (vec![2], vec![4, 3, 1]),
    ] {
        let all: Vec<usize> = keep.iter().chain(&drop).copied().collect();
        let x = s.uniform_poly(&c, &all, Representation::Coefficient);
        check_division(&c, &keep, &drop, &x);
    }
}

#[test]
fn division_of_structured_values() {
    // Values near multiples of D, near the rounding ties, zero and small negatives.
    let c = ctx(64, &[30, 30, 28, 27]);
    let keep = [0usize, 1];
    let all = [0usize, 1, 2, 3];
    for drop in [vec![2usize, 3], vec![3]] {
        let d: i128 = values(&c, &drop).iter().map(|&p| p as i128).product();
        let mut all = keep.to_vec();
        all.extend(&drop);
        let coeffs: Vec<i128> = (0..64i128)
            .map(|i| {
                let base = (i - 32) * d;
                match i % 8 {
                    0 => base,
                    1 => base + d / 2,
                    2 => base + d / 2 + 1,
                    3 => base - d / 2,
                    4 => base - 1,
                    5 => base + 1,
                    6 => i - 32,
                    _ => base + 12345,
                }
            })
            .collect();
        let mut x = RnsPoly::zero(&c, &all, Representation::Coefficient);
        for (k, &i) in all.iter().enumerate() {
            let m = *c.modulus(i);
            for (dst, &v) in x.limb_mut(k).iter_mut().zip(&coeffs) {
                *dst = m.reduce_i128(v);
            }
        }
        check_division(&c, &keep, &drop, &x);
    }
    let _ = all;
}

#[test]
fn parallel_paths_match() {
    // N * limbs >= 2^15 takes the parallel branches (N = 2^12, 8 limbs).
    let n = 1 << 12;
    let c = ctx(n, &[40, 40, 40, 40, 50, 50, 50, 50]);
    let mut s = Sampler::insecure_from_u64_for_tests(51);
    // Extension 4 -> 4 (parallel) agrees with 4 -> 1 (sequential).
    let digit = s.uniform_poly(&c, &[0, 1, 2, 3], Representation::Coefficient);
    let par = BasisExtender::new(&c, &[0, 1, 2, 3], &[4, 5, 6, 7]).unwrap();
    let seq = BasisExtender::new(&c, &[0, 1, 2, 3], &[6]).unwrap();
    let y_par = par.extend(&c, &digit).unwrap();
    assert_eq!(y_par.limb(2), seq.extend(&c, &digit).unwrap().limb(0));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    assert_eq!(pool.install(|| par.extend(&c, &digit).unwrap()), y_par);

    // Division by D = product of 3 primes of x = D * z + e with |e| < D/2 gives z exactly.
    let (keep, drop) = ([0usize, 1, 2, 3, 4], [5usize, 6, 7]);
    let all: Vec<usize> = keep.iter().chain(&drop).copied().collect();
    let z: Vec<i64> = s.gaussian(n).iter().map(|&g| g * 1_000_003).collect();
    let e: Vec<i64> = (0..n)
        .map(|_| s.uniform_below(1 << 41) as i64 - (1 << 40))
        .collect();
    let mut x = RnsPoly::zero(&c, &all, Representation::Coefficient);
    for (k, &i) in all.iter().enumerate() {
        let m = *c.modulus(i);
        let d_mod = drop
            .iter()
            .fold(1u64, |acc, &j| m.mul(acc, m.reduce(c.modulus(j).value())));
        for (dst, (&zi, &ei)) in x.limb_mut(k).iter_mut().zip(z.iter().zip(&e)) {
            *dst = m.add(m.mul(d_mod, m.reduce_i64(zi)), m.reduce_i64(ei));
        }
    }
    let dr = DivideRound::new(&c, &keep, &drop).unwrap();
    let got = dr.apply(&c, &x).unwrap();
    let expect = RnsPoly::from_signed(&c, &keep, &z).unwrap();
    assert_eq!(got, expect);
    let mut xn = x.clone();
    xn.to_ntt(&c);
    let mut got_n = dr.apply(&c, &xn).unwrap();
    got_n.to_coeff(&c);
    assert_eq!(got_n, expect);
}
