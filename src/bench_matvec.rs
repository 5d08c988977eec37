//! The 64x784 plain-matrix x encrypted-vector benchmark of the tile-tensor issue, in the layouts
//! hetile-tiles offers, on any backend; `hetile bench matvec` prints it as JSON next to what
//! `../shared/peers/pyhelayers_ml.py` measures for HElayers (tile [64,128], N = 2^14).

use crate::bench::OpStats;
use hetile_backend::{Backend, Client, Params};
use hetile_tiles::{MatVecLayout, PlainMatrix};
use ndarray::{Array1, Array2};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;
use std::time::Instant;

/// Rows of the benchmark matrix.
pub const ROWS: usize = 64;
/// Columns of the benchmark matrix (an MNIST image).
pub const COLS: usize = 784;
/// The layouts measured: (layout, tile dims).
pub const LAYOUTS: [(MatVecLayout, [usize; 2]); 4] = [
    (MatVecLayout::Rows, [64, 128]),
    (MatVecLayout::Columns, [128, 64]),
    (MatVecLayout::Rows, [8, 1024]),
    (MatVecLayout::Columns, [1024, 8]),
];

/// One layout's measurement.
#[derive(Debug, Clone, Serialize)]
pub struct MatvecResult {
    /// Layout name and tile dims, e.g. `rows_64x128`.
    pub layout: String,
    /// Server-side evaluation (multiply, rescale, sum) time.
    pub eval: OpStats,
    /// Client-side encode + encrypt of the vector.
    pub encrypt: OpStats,
    /// Rotations the plan predicts (and the evaluation performs).
    pub rotations: usize,
    /// Largest absolute error of the decrypted result against ndarray.
    pub max_abs_err: f64,
}

fn stats(
    mut f: impl FnMut() -> hetile_tiles::Result<()>,
    reps: usize,
) -> hetile_tiles::Result<OpStats> {
    f()?;
    let mut ts = Vec::with_capacity(reps);
    for _ in 0..reps.max(1) {
        let t0 = Instant::now();
        f()?;
        ts.push(t0.elapsed().as_secs_f64());
    }
    Ok(OpStats::from_seconds(ts))
}

/// Measures every layout of [`LAYOUTS`] on `params` (the matrix scaled like HElayers' test:
/// uniform in [-1, 1] / sqrt(784); the vector uniform in [-1, 1]).
pub fn bench_matvec<B: Backend>(
    params: &Params,
    reps: usize,
) -> hetile_tiles::Result<Vec<MatvecResult>> {
    let mut rng = ChaCha20Rng::seed_from_u64(0);
    let mut uniform = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
    let m = Array2::from_shape_fn((ROWS, COLS), |_| uniform() / (COLS as f64).sqrt());
    let v = Array1::from_shape_fn(COLS, |_| uniform());
    let want = m.dot(&v);
    let mut out = Vec::new();
    for (layout, tile) in LAYOUTS {
        let plan = layout.plan(ROWS, COLS, tile)?;
        let client = B::Client::new(params, &plan.key_requirements())?;
        let ev = client.evaluator()?;
        let matrix = PlainMatrix::<B>::encode(&ev, &m, layout, tile, params.max_level())?;
        let encrypt = stats(|| matrix.encrypt_vector(&client, &v).map(|_| ()), reps)?;
        let x = matrix.encrypt_vector(&client, &v)?;
        let eval = stats(|| matrix.apply(&ev, &x).map(|_| ()), reps)?;
        let y = matrix.apply(&ev, &x)?;
        let got = layout.output_vector(&y.decrypt(&client)?)?;
        let max_abs_err = got
            .iter()
            .zip(want.iter())
            .map(|(g, w)| (g - w).abs())
            .fold(0.0, f64::max);
        out.push(MatvecResult {
            layout: format!("{layout:?}_{}x{}", tile[0], tile[1]).to_lowercase(),
            eval,
            encrypt,
            rotations: plan.cost.rotations,
            max_abs_err,
        });
    }
    Ok(out)
}
