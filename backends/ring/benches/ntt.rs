//! NTT and basis-extension throughput.
//!
//! `cargo bench -p hetile-ring --bench ntt -- --warm-up-time 1 --measurement-time 2`

#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use hetile_ring::primes::{ntt_prime_chain, ntt_primes};
use hetile_ring::{
    BasisExtender, DivideRound, Modulus, NttTable, Representation, RnsContext, Sampler,
};

fn ntt(c: &mut Criterion) {
    for log_n in [14u32, 15] {
        let n = 1usize << log_n;
        for bits in [50u32, 60] {
            let p = ntt_primes(bits, 2 * n as u64, 1, &[]).unwrap()[0];
            let table = NttTable::new(Modulus::new(p).unwrap(), n).unwrap();
            let mut s = Sampler::insecure_from_u64_for_tests(1);
            let mut a: Vec<u64> = (0..n).map(|_| s.uniform_below(p)).collect();
            c.bench_function(&format!("ntt_forward/n=2^{log_n}/{bits}bit"), |b| {
                b.iter(|| table.forward(black_box(&mut a)))
            });
            c.bench_function(&format!("ntt_inverse/n=2^{log_n}/{bits}bit"), |b| {
                b.iter(|| table.inverse(black_box(&mut a)))
            });
        }
    }
}

fn basis(c: &mut Criterion) {
    for log_n in [14u32, 15] {
        let n = 1usize << log_n;
        let chain = ntt_prime_chain(&[60, 40, 40, 40, 60], 2 * n as u64).unwrap();
        let ctx = RnsContext::new(n, &chain).unwrap();
        let mut s = Sampler::insecure_from_u64_for_tests(2);
        let x = s.uniform_poly(&ctx, &[0, 1, 2, 3], Representation::Coefficient);
        let ext = BasisExtender::new(&ctx, &[0, 1, 2, 3], &[4]).unwrap();
        c.bench_function(&format!("basis_extend_4_to_5/n=2^{log_n}"), |b| {
            b.iter(|| ext.extend(&ctx, black_box(&x)).unwrap())
        });
        let y = s.uniform_poly(&ctx, &[0, 1, 2, 3, 4], Representation::Ntt);
        let rescale = DivideRound::new(&ctx, &[0, 1, 2, 3], &[4]).unwrap();
        c.bench_function(&format!("divide_round_ntt_5_to_4/n=2^{log_n}"), |b| {
            b.iter(|| rescale.apply(&ctx, black_box(&y)).unwrap())
        });
        // The N14_L4 / N15_L8 preset layout: 50 + 4 x 40-bit primes, three 50-bit special
        // primes. ModUp of a 3-prime digit to the other 5 primes of Q u P, and ModDown of an
        // 8-limb NTT-form key-switching output by the special primes (the IFMA kernels).
        let chain = ntt_prime_chain(&[50, 40, 40, 40, 40, 50, 50, 50], 2 * n as u64).unwrap();
        let ctx = RnsContext::new(n, &chain).unwrap();
        let x = s.uniform_poly(&ctx, &[0, 1, 2], Representation::Coefficient);
        let ext = BasisExtender::new(&ctx, &[0, 1, 2], &[3, 4, 5, 6, 7]).unwrap();
        c.bench_function(&format!("basis_extend_3_to_5_50bit/n=2^{log_n}"), |b| {
            b.iter(|| ext.extend(&ctx, black_box(&x)).unwrap())
        });
        let all: Vec<usize> = (0..8).collect();
        let y = s.uniform_poly(&ctx, &all, Representation::Ntt);
        let mod_down = DivideRound::new(&ctx, &[0, 1, 2, 3, 4], &[5, 6, 7]).unwrap();
        c.bench_function(&format!("mod_down_ntt_8_to_5_50bit/n=2^{log_n}"), |b| {
            b.iter(|| mod_down.apply(&ctx, black_box(&y)).unwrap())
        });
    }
}

criterion_group!(benches, ntt, basis);
criterion_main!(benches);
