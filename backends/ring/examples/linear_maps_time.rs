//! Times `linear::linear_maps` on a dense layer's shape: `hetile-ring` example
//! `cargo run --release -p hetile-ring --example linear_maps_time -- [inputs] [outputs] [limbs]`
//! (defaults: CryptoNets' 845 -> 100 at N = 2^14 with 7 limbs of 40-50 bits). Prints one JSON
//! line with the seconds of one call (best of 3) and the input bytes streamed per second.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hetile_ring::linear::linear_maps;
use hetile_ring::primes::ntt_prime_chain;
use hetile_ring::{Representation, RnsContext, RnsPoly, Sampler};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let (inputs, outputs, limbs) = (
        *args.first().unwrap_or(&845),
        *args.get(1).unwrap_or(&100),
        *args.get(2).unwrap_or(&7),
    );
    let n = 1 << 14;
    let bits: Vec<u32> = (0..limbs).map(|i| if i == 0 { 50 } else { 40 }).collect();
    let ctx = RnsContext::new(n, &ntt_prime_chain(&bits, 2 * n as u64).unwrap()).unwrap();
    let mods: Vec<usize> = (0..limbs).collect();
    let mut s = Sampler::insecure_from_u64_for_tests(1);
    let xs: Vec<RnsPoly> = (0..inputs)
        .map(|_| s.uniform_poly(&ctx, &mods, Representation::Ntt))
        .collect();
    let weights: Vec<Vec<u64>> = (0..inputs as u64)
        .map(|k| vec![k * 7919 + 1; limbs])
        .collect();
    let rows: Vec<Vec<(usize, &[u64])>> = (0..outputs)
        .map(|_| (0..inputs).map(|k| (k, weights[k].as_slice())).collect())
        .collect();
    let refs: Vec<&RnsPoly> = xs.iter().collect();
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let out = linear_maps(&ctx, &refs, &rows).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(out);
    }
    let terms = (inputs * outputs * limbs * n) as f64;
    println!(
        "{{\"inputs\": {inputs}, \"outputs\": {outputs}, \"limbs\": {limbs}, \"seconds\": {best:.4}, \"ns_per_term_coefficient\": {:.4}}}",
        best * 1e9 / terms
    );
}
