//! Scalar NTT versus the AVX-512 IFMA NTT (and pointwise kernels) for a 49-bit prime, plus a
//! 40-bit prime at N = 2^14 (the IFMA kernels skip most lazy reductions below about 47 bits).
//!
//! `cargo bench -p hetile-ring --bench ntt_simd -- --warm-up-time 1 --measurement-time 3`
//! On a CPU without IFMA only the scalar rows are measured. With `NTT_MIN_OF=<runs>` set, the
//! IFMA transforms are timed call by call instead (minimum and median of `runs` calls).

#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{black_box, criterion_group, Criterion};
use hetile_ring::primes::ntt_primes;
use hetile_ring::simd::{ifma_available, IfmaModulus, IfmaNtt};
use hetile_ring::{Modulus, NttTable, Sampler};

fn ntt(c: &mut Criterion) {
    if !ifma_available() {
        eprintln!("note: the CPU lacks AVX-512 IFMA, only scalar rows are measured");
    }
    for (log_n, bits) in [(14u32, 49u32), (15, 49), (14, 40)] {
        let n = 1usize << log_n;
        let p = ntt_primes(bits, 2 * n as u64, 1, &[]).unwrap()[0];
        let table = NttTable::new(Modulus::new(p).unwrap(), n).unwrap();
        let ifma = IfmaNtt::new(&table);
        let mut s = Sampler::insecure_from_u64_for_tests(1);
        let mut a: Vec<u64> = (0..n).map(|_| s.uniform_below(p)).collect();
        c.bench_function(&format!("forward/scalar/n=2^{log_n}/{bits}bit"), |b| {
            b.iter(|| table.forward(black_box(&mut a)))
        });
        if let Some(f) = &ifma {
            c.bench_function(&format!("forward/ifma/n=2^{log_n}/{bits}bit"), |b| {
                b.iter(|| f.forward(black_box(&mut a)))
            });
        }
        c.bench_function(&format!("inverse/scalar/n=2^{log_n}/{bits}bit"), |b| {
            b.iter(|| table.inverse(black_box(&mut a)))
        });
        if let Some(f) = &ifma {
            c.bench_function(&format!("inverse/ifma/n=2^{log_n}/{bits}bit"), |b| {
                b.iter(|| f.inverse(black_box(&mut a)))
            });
        }
    }
}

fn pointwise(c: &mut Criterion) {
    let n = 1usize << 14;
    let p = ntt_primes(49, 2 * n as u64, 1, &[]).unwrap()[0];
    let m = Modulus::new(p).unwrap();
    let mut s = Sampler::insecure_from_u64_for_tests(2);
    let x: Vec<u64> = (0..n).map(|_| s.uniform_below(p)).collect();
    let y: Vec<u64> = (0..n).map(|_| s.uniform_below(p)).collect();
    let mut acc: Vec<u64> = (0..n).map(|_| s.uniform_below(p)).collect();
    c.bench_function("mul_add/scalar/n=2^14/49bit", |b| {
        b.iter(|| m.mul_add_assign_slice(black_box(&mut acc), &x, &y))
    });
    if let Some(k) = IfmaModulus::new(&m) {
        c.bench_function("mul_add/ifma/n=2^14/49bit", |b| {
            b.iter(|| k.mul_add_assign_slice(black_box(&mut acc), &x, &y))
        });
    }
}

/// With `NTT_MIN_OF=<runs>` in the environment: the minimum and median over `runs` single
/// calls of each IFMA transform (robust on a shared, noisy machine), instead of criterion.
fn min_of(runs: usize) {
    use std::time::Instant;
    let stats = |f: &mut dyn FnMut()| {
        let mut v: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        v.sort_by(f64::total_cmp);
        (v[0], v[v.len() / 2])
    };
    for (log_n, bits) in [(14u32, 49u32), (15, 49), (14, 40), (14, 50), (12, 49)] {
        let n = 1usize << log_n;
        let p = ntt_primes(bits, 2 * n as u64, 1, &[]).unwrap()[0];
        let table = NttTable::new(Modulus::new(p).unwrap(), n).unwrap();
        let Some(f) = IfmaNtt::new(&table) else {
            eprintln!("note: the CPU lacks AVX-512 IFMA");
            return;
        };
        let mut s = Sampler::insecure_from_u64_for_tests(1);
        let mut a: Vec<u64> = (0..n).map(|_| s.uniform_below(p)).collect();
        let (fmin, fmed) = stats(&mut || f.forward(black_box(&mut a)));
        let (imin, imed) = stats(&mut || f.inverse(black_box(&mut a)));
        println!(
            "n=2^{log_n} {bits}bit forward min {fmin:.2} us median {fmed:.2} us, \
             inverse min {imin:.2} us median {imed:.2} us"
        );
    }
}

criterion_group!(benches, ntt, pointwise);

fn main() {
    if let Some(runs) = std::env::var("NTT_MIN_OF")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        min_of(runs.max(1));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
