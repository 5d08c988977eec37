//! Criterion benchmarks of the native backend's main operations. Names carry the backend and the
//! parameter preset, e.g. `hetile-ckks/N14_L4/mul_relin`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{criterion_group, criterion_main, Criterion};
use hetile_backend::{Client, Evaluator, KeyRequirements, Params};
use hetile_ckks::CkksClient;
use std::hint::black_box;
use std::time::Duration;

const STEPS: [i64; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

fn bench_preset(c: &mut Criterion, preset: &str) {
    let params = Params::preset(preset).unwrap();
    let keys = KeyRequirements::none()
        .with_relinearization()
        .with_rotations(STEPS);
    let client = CkksClient::new_insecure_seeded_for_tests(&params, &keys, 1).unwrap();
    let ev = client.evaluator().unwrap();
    let n = params.slots().get();
    let x: Vec<f64> = (0..n).map(|i| (i as f64 / n as f64) - 0.5).collect();
    let ct = client.encrypt_values(&x).unwrap();
    let pt = ev
        .encode(&x, params.max_level(), params.default_scale())
        .unwrap();
    let prod = ev.mul(&ct, &ct).unwrap();
    let name = |op: &str| format!("hetile-ckks/{preset}/{op}");

    c.bench_function(&name("encode"), |b| {
        b.iter(|| ev.encode(black_box(&x), params.max_level(), params.default_scale()))
    });
    c.bench_function(&name("encrypt_pk"), |b| {
        b.iter(|| client.encrypt(black_box(&pt)))
    });
    c.bench_function(&name("encode_encrypt_pk"), |b| {
        b.iter(|| client.encrypt_values(black_box(&x)))
    });
    c.bench_function(&name("decrypt_decode"), |b| {
        b.iter(|| client.decrypt_values(black_box(&ct)))
    });
    c.bench_function(&name("mul_plain"), |b| {
        b.iter(|| ev.mul_plain(black_box(&ct), &pt))
    });
    c.bench_function(&name("mul_relin"), |b| {
        b.iter(|| ev.mul(black_box(&ct), &ct))
    });
    c.bench_function(&name("rescale"), |b| {
        b.iter(|| ev.rescale(black_box(&prod)))
    });
    c.bench_function(&name("rotate"), |b| b.iter(|| ev.rotate(black_box(&ct), 1)));
    c.bench_function(&name("rotate_x8_single"), |b| {
        b.iter(|| {
            STEPS
                .iter()
                .map(|&s| ev.rotate(black_box(&ct), s))
                .collect::<Result<Vec<_>, _>>()
        })
    });
    c.bench_function(&name("rotate_x8_hoisted"), |b| {
        b.iter(|| ev.rotate_many(black_box(&ct), &STEPS))
    });
}

fn benches(c: &mut Criterion) {
    bench_preset(c, "N14_L4");
    bench_preset(c, "N15_L8");
}

criterion_group! {
    name = ckks;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(ckks);
