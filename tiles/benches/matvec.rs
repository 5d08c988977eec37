//! The matvec benchmark: a 64x784 plain matrix times an encrypted 784-vector, server
//! side only (the product of `PlainMatrix::apply`), on the mock and the native CKKS backend at
//! N = 2^14 in several tile layouts. Benchmark names carry backend, parameters and layout:
//! `matvec_64x784/mock/N14_L4/<layout>_<t0>x<t1>`.
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use criterion::{criterion_group, criterion_main, Criterion};
use hetile_backend::{Backend, Client, Params};
use hetile_ckks::CkksBackend;
use hetile_mock::MockBackend;
use hetile_tiles::{MatVecLayout, PlainMatrix, TileTensor};
use ndarray::{Array1, Array2};
use std::error::Error;

const LAYOUTS: [(MatVecLayout, [usize; 2]); 4] = [
    (MatVecLayout::Rows, [8, 1024]),
    (MatVecLayout::Rows, [64, 128]),
    (MatVecLayout::Columns, [128, 64]),
    (MatVecLayout::Columns, [1024, 8]),
];

/// Everything a benchmark iteration needs for one layout.
struct Setup<B: Backend> {
    ev: B::Evaluator,
    matrix: PlainMatrix<B>,
    vector: TileTensor<B>,
}

fn setup<B: Backend>(
    params: &Params,
    layout: MatVecLayout,
    tile: [usize; 2],
) -> Result<Setup<B>, Box<dyn Error>> {
    let plan = layout.plan(64, 784, tile)?;
    let client = B::Client::new_insecure_seeded_for_tests(params, &plan.key_requirements(), 1)?;
    let ev = client.evaluator()?;
    let m = Array2::from_shape_fn((64, 784), |(i, j)| ((i * 784 + j) % 17) as f64 / 17.0 - 0.5);
    let v = Array1::from_shape_fn(784, |j| (j % 13) as f64 / 13.0 - 0.5);
    let matrix = PlainMatrix::encode(&ev, &m, layout, tile, params.max_level())?;
    let vector = matrix.encrypt_vector(&client, &v)?;
    Ok(Setup { ev, matrix, vector })
}

fn bench_backend<B: Backend>(c: &mut Criterion, preset: &str) {
    let params = match Params::preset(preset) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("skipping {preset}: {e}");
            return;
        }
    };
    let mut group = c.benchmark_group(format!("matvec_64x784/{}/{preset}", B::NAME));
    group.sample_size(20);
    for (layout, [t0, t1]) in LAYOUTS {
        let s = match setup::<B>(&params, layout, [t0, t1]) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("skipping {layout:?} {t0}x{t1}: {e}");
                continue;
            }
        };
        let name = format!("{layout:?}_{t0}x{t1}").to_lowercase();
        group.bench_function(name, |b| {
            b.iter(|| s.matrix.apply(&s.ev, &s.vector).map(|t| t.level()))
        });
    }
    group.finish();
}

fn matvec(c: &mut Criterion) {
    bench_backend::<MockBackend>(c, "N14_L4");
    bench_backend::<CkksBackend>(c, "N14_L4");
}

criterion_group!(benches, matvec);
criterion_main!(benches);
