//! Tests of the IFMA kernels against the scalar [`NttTable`] and [`Modulus`].
//!
//! Tests of the vector code return early (with a note) on CPUs without IFMA; the scalar model
//! of the same 52-bit algorithms is tested everywhere.

use super::*;
use crate::modular::Modulus;
use crate::ntt::NttTable;
use crate::primes::ntt_primes;
use proptest::prelude::*;

fn skip() -> bool {
    if ifma_available() {
        false
    } else {
        eprintln!("note: the CPU lacks AVX-512 IFMA, vector test skipped");
        true
    }
}

fn table(bits: u32, n: usize, index: usize) -> NttTable {
    let p = ntt_primes(bits, 2 * n as u64, index + 1, &[]).unwrap()[index];
    NttTable::new(Modulus::new(p).unwrap(), n).unwrap()
}

/// Seeded xorshift values below `bound`, with the extreme values mixed in.
fn random_values(seed: u64, len: usize, bound: u64) -> Vec<u64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            match i % 97 {
                3 => 0,
                5 => bound - 1,
                _ => s % bound,
            }
        })
        .collect()
}

/// (bits, log_n) pairs: every degree 2^4..2^15 (the depth-first blocks start at 2^12), several
/// prime sizes in 30..50 bits: every forward scheme (no reduction up to about 47 bits, every
/// other stage up to 49 bits, Harvey's at 50) and every inverse mode (skipped levels for small
/// primes, tracked bounds for 47..49 bits, uniform reductions at 50).
fn cases() -> Vec<(u32, u32)> {
    let mut v = Vec::new();
    for log_n in 4..=15u32 {
        let sizes: &[u32] = if log_n <= 12 {
            &[30, 36, 41, 45, 47, 49, 50]
        } else {
            &[31, 47, 49, 50]
        };
        for &bits in sizes {
            v.push((bits, log_n));
        }
    }
    v
}

#[test]
fn types_can_be_owned_by_a_shared_table() {
    fn owned<T: Clone + std::fmt::Debug + Send + Sync + PartialEq + 'static>() {}
    owned::<IfmaNtt>();
    owned::<IfmaModulus>();
}

#[test]
fn constructors_refuse_unsupported_parameters() {
    let big = table(51, 16, 0);
    assert!(IfmaNtt::build(&big).is_none());
    assert!(IfmaNtt::new(&big).is_none());
    let small_n = table(40, 8, 0);
    assert!(IfmaNtt::build(&small_n).is_none());
    let ok = table(49, 16, 0);
    assert!(IfmaNtt::build(&ok).is_some());
    assert_eq!(IfmaNtt::new(&ok).is_some(), ifma_available());
    let m = Modulus::new((1u64 << 50) + 55).unwrap();
    assert!(IfmaModulus::build(&m).is_none());
    assert!(IfmaModulus::new(&m).is_none());
    let m = Modulus::new((1u64 << 50) - 27).unwrap();
    assert_eq!(IfmaModulus::new(&m).is_some(), ifma_available());
}

#[test]
fn scalar_model_matches_table() {
    for (bits, log_n) in cases().into_iter().filter(|c| c.1 <= 11) {
        let n = 1usize << log_n;
        let t = table(bits, n, 1);
        let f = IfmaNtt::build(&t).unwrap();
        let p = t.modulus().value();
        let a = random_values(u64::from(bits * 100 + log_n), n, 4 * p);
        let (mut x, mut y) = (a.clone(), a.clone());
        t.forward_scalar(&mut x);
        f.forward_scalar(&mut y);
        assert_eq!(x, y, "forward bits={bits} n=2^{log_n}");
        let b = random_values(u64::from(bits * 7 + log_n), n, 2 * p);
        let (mut x, mut y) = (b.clone(), b.clone());
        t.inverse_scalar(&mut x);
        f.inverse_scalar(&mut y);
        assert_eq!(x, y, "inverse bits={bits} n=2^{log_n}");
    }
}

#[test]
fn vector_ntt_is_bit_identical_to_table() {
    if skip() {
        return;
    }
    for (bits, log_n) in cases() {
        let n = 1usize << log_n;
        for index in [0usize, 2] {
            let t = table(bits, n, index);
            let f = IfmaNtt::new(&t).unwrap();
            assert_eq!((f.degree(), f.modulus()), (n, t.modulus()));
            let p = t.modulus().value();
            let seed = u64::from(bits * 1000 + log_n) + index as u64;
            // Canonical inputs, then the full lazy input ranges (< 4p forward, < 2p inverse).
            for bound in [p, 4 * p] {
                let a = random_values(seed, n, bound);
                let (mut x, mut y) = (a.clone(), a);
                t.forward_scalar(&mut x);
                f.forward(&mut y);
                assert_eq!(x, y, "forward bits={bits} n=2^{log_n} p={p} bound={bound}");
            }
            for bound in [p, 2 * p] {
                let a = random_values(seed ^ 0xABCD, n, bound);
                let (mut x, mut y) = (a.clone(), a);
                t.inverse_scalar(&mut x);
                f.inverse(&mut y);
                assert_eq!(x, y, "inverse bits={bits} n=2^{log_n} p={p} bound={bound}");
            }
        }
    }
}

#[test]
fn vector_round_trip_and_wrong_lengths() {
    if skip() {
        return;
    }
    for (bits, log_n) in [(49u32, 15u32), (30, 4), (50, 10)] {
        let n = 1usize << log_n;
        let t = table(bits, n, 0);
        let f = IfmaNtt::new(&t).unwrap();
        let p = t.modulus().value();
        let a = random_values(11, n, p);
        let mut b = a.clone();
        f.forward(&mut b);
        assert_ne!(a, b);
        assert!(b.iter().all(|&x| x < p));
        f.inverse(&mut b);
        assert_eq!(a, b);
        let mut short = vec![1u64; n / 2];
        f.forward(&mut short);
        f.inverse(&mut short);
        assert_eq!(short, vec![1u64; n / 2]);
    }
}

#[test]
fn barrett_constants_are_exact_at_the_edges() {
    let mut primes = vec![3u64, 5, 7, 65_537];
    for bits in [20u32, 30, 40, 45, 49, 50] {
        primes.extend(ntt_primes(bits, 1 << 12, 2, &[]).unwrap());
    }
    primes.push((1u64 << 50) - 27);
    for p in primes {
        let m = Modulus::new(p).unwrap();
        let k = IfmaModulus::build(&m).unwrap();
        let edges = [0, 1, 2, p / 2, p - 2, p - 1];
        let mut vals = edges.to_vec();
        vals.extend(random_values(p, 64, p));
        for &a in &vals {
            for &b in &edges {
                for acc in [0, p - 1] {
                    let want = m.add(acc, m.mul(a, b));
                    assert_eq!(k.barrett_model(a, b, acc), want, "p={p} a={a} b={b}");
                    assert_eq!(k.barrett_model(b, a, acc), want, "p={p} a={b} b={a}");
                }
            }
        }
    }
}

#[test]
fn pointwise_edges_match_scalar() {
    if skip() {
        return;
    }
    for bits in [30u32, 36, 42, 49, 50] {
        let p = ntt_primes(bits, 1 << 10, 1, &[]).unwrap()[0];
        let m = Modulus::new(p).unwrap();
        let k = IfmaModulus::new(&m).unwrap();
        let len = 203;
        let a: Vec<u64> = (0..len)
            .map(|i| if i % 2 == 0 { p - 1 } else { 0 })
            .collect();
        let b = random_values(5, len, p);
        let z = vec![p - 1; len];
        let (mut x, mut y) = (a.clone(), a.clone());
        m.mul_assign_slice_scalar(&mut x, &b);
        k.mul_assign_slice(&mut y, &b);
        assert_eq!(x, y);
        let (mut x, mut y) = (z.clone(), z.clone());
        m.mul_add_assign_slice_scalar(&mut x, &a, &b);
        k.mul_add_assign_slice(&mut y, &a, &b);
        assert_eq!(x, y);
        // Out of place: the same products, over a stale destination.
        let (mut x, mut y) = (a.clone(), z.clone());
        m.mul_assign_slice_scalar(&mut x, &b);
        k.mul_to_slice(&mut y, &a, &b);
        assert_eq!(x, y);
        for c in [0, 1, p - 1] {
            let (mut x, mut y) = (b.clone(), b.clone());
            m.mul_scalar_assign_slice_scalar(&mut x, c);
            k.mul_scalar_shoup_assign_slice(&mut y, c);
            assert_eq!(x, y);
        }
    }
}

/// A value below `p` most of the time, sometimes any word (outside the vector domain).
fn word(p: u64) -> impl Strategy<Value = u64> {
    prop_oneof![8 => 0..p, 1 => any::<u64>(), 1 => Just(p - 1)]
}

fn prime_below_2_50() -> impl Strategy<Value = u64> {
    prop::sample::select(vec![
        3u64,
        65_537,
        1_073_479_681,         // 30-bit, 1 mod 2^15
        562_949_953_392_641,   // 49-bit
        1_125_899_906_826_241, // 50-bit
        (1u64 << 50) - 27,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn pointwise_kernels_match_scalar(
        (p, v) in prime_below_2_50().prop_flat_map(|p| {
            (Just(p), prop::collection::vec((word(p), word(p), word(p)), 0..70))
        }),
        c in any::<u64>(),
        extra in 0usize..3,
    ) {
        if !ifma_available() {
            return Ok(());
        }
        let m = Modulus::new(p).unwrap();
        let k = IfmaModulus::new(&m).unwrap();
        prop_assert_eq!(k.modulus(), &m);
        let a: Vec<u64> = v.iter().map(|t| t.0).collect();
        let mut b: Vec<u64> = v.iter().map(|t| t.1).collect();
        b.extend(std::iter::repeat_n(1, extra));
        let z: Vec<u64> = v.iter().map(|t| t.2).collect();
        let (mut x, mut y) = (a.clone(), a.clone());
        m.mul_assign_slice_scalar(&mut x, &b);
        k.mul_assign_slice(&mut y, &b);
        prop_assert_eq!(&x, &y);
        let (mut x, mut y) = (z.clone(), z.clone());
        m.mul_add_assign_slice_scalar(&mut x, &a, &b);
        k.mul_add_assign_slice(&mut y, &a, &b);
        prop_assert_eq!(&x, &y);
        // Out of place over a stale destination, against copy + in place, both dispatchers.
        // The fused pair of inner products against the reference sequence, one to three terms
        // (rotations of the same vectors), over stale outputs.
        for terms in 1..=3usize {
            let rows: Vec<Vec<u64>> = (0..3)
                .map(|r| {
                    let mut v = [&a, &b, &z][r][..a.len()].to_vec();
                    let l = v.len();
                    if l > 0 {
                        v.rotate_left(r % l);
                    }
                    v
                })
                .collect();
            let d: Vec<&[u64]> = (0..terms).map(|j| rows[j % 3].as_slice()).collect();
            let kb: Vec<&[u64]> = (0..terms).map(|j| rows[(j + 1) % 3].as_slice()).collect();
            let ka: Vec<&[u64]> = (0..terms).map(|j| rows[(j + 2) % 3].as_slice()).collect();
            let (mut e0, mut e1) = (d[0].to_vec(), d[0].to_vec());
            m.mul_assign_slice_scalar(&mut e0, kb[0]);
            m.mul_assign_slice_scalar(&mut e1, ka[0]);
            for j in 1..terms {
                m.mul_add_assign_slice_scalar(&mut e0, d[j], kb[j]);
                m.mul_add_assign_slice_scalar(&mut e1, d[j], ka[j]);
            }
            let (mut g0, mut g1) = (z.clone(), b[..a.len()].to_vec());
            k.dot_pair_slice(&mut g0, &mut g1, &d, &kb, &ka);
            prop_assert_eq!(&e0, &g0);
            prop_assert_eq!(&e1, &g1);
        }
        let mut x = a.clone();
        m.mul_assign_slice_scalar(&mut x, &b);
        let (mut y, mut w) = (z.clone(), z.clone());
        k.mul_to_slice(&mut y, &a, &b);
        m.mul_to_slice(&mut w, &a, &b);
        prop_assert_eq!(&x[..], &y[..]);
        prop_assert_eq!(&x[..], &w[..]);
        for c in [c % p, c] {
            let (mut x, mut y) = (a.clone(), a.clone());
            m.mul_scalar_assign_slice_scalar(&mut x, c);
            k.mul_scalar_shoup_assign_slice(&mut y, c);
            prop_assert_eq!(&x, &y);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn add_sub_and_dot_kernels_match_scalar(
        (p, v) in prime_below_2_50().prop_flat_map(|p| {
            (Just(p), prop::collection::vec((0..p, 0..p, word(p)), 0..70))
        }),
        w in prop::collection::vec(any::<u64>(), 0..5),
    ) {
        if !ifma_available() {
            return Ok(());
        }
        let m = Modulus::new(p).unwrap();
        let k = IfmaModulus::new(&m).unwrap();
        let a: Vec<u64> = v.iter().map(|t| t.0).collect();
        let b: Vec<u64> = v.iter().map(|t| t.1).collect();
        let (mut x, mut y) = (a.clone(), a.clone());
        m.add_assign_slice_scalar(&mut x, &b);
        k.add_assign_slice(&mut y, &b);
        prop_assert_eq!(&x, &y);
        let (mut x, mut y) = (a.clone(), a.clone());
        m.sub_assign_slice_scalar(&mut x, &b);
        k.sub_assign_slice(&mut y, &b);
        prop_assert_eq!(&x, &y);
        // Rows: canonical values, and the third column with arbitrary words (scalar groups).
        let c: Vec<u64> = v.iter().map(|t| t.2).collect();
        let rows: Vec<&[u64]> = [&a[..], &b[..], &c[..]]
            .into_iter()
            .cycle()
            .take(w.len())
            .collect();
        let mut got = vec![0u64; a.len()];
        k.dot_scalar_slice(&mut got, &rows, &w);
        let want: Vec<u64> = (0..a.len())
            .map(|i| {
                let acc = rows
                    .iter()
                    .zip(&w)
                    .fold(0u128, |s, (r, &wk)| s + r[i] as u128 * (wk % p) as u128);
                (acc % p as u128) as u64
            })
            .collect();
        prop_assert_eq!(got, want);
    }
}
