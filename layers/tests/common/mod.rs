//! Test helpers: small parameters, the counting mock (the decorator lives in
//! `hetile_conformance::counting`) and test arrays.
#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use hetile_backend::{KeyRequirements, Params};
use hetile_layers::Model;
use hetile_mock::MockBackend;
use hetile_tiles::OpCost;
use ndarray::{Array1, Array2, Array4, ArrayD, Ix2, Ix4, IxDyn};

/// Insecure test parameters (see `hetile_conformance::counting::insecure_test_params`).
pub fn params(log_n: u32, levels: usize) -> Params {
    hetile_conformance::counting::insecure_test_params(log_n, levels).unwrap()
}

pub use hetile_conformance::counting::{
    all_keys, Counting, CountingClient, CountingEvaluator, Counts, Tally,
};

/// The counting mock.
pub type CMock = Counting<MockBackend>;

/// A counting mock client (exact, seeded) and its evaluator.
pub fn counting_mock(
    params: &Params,
    keys: &KeyRequirements,
) -> (CountingClient<MockBackend>, CountingEvaluator<MockBackend>) {
    hetile_conformance::counting::counting_client::<MockBackend>(params, keys, 1).unwrap()
}

/// Deterministic uniform values in `[lo, hi)` (xorshift), shaped `shape`.
pub fn uniform(shape: &[usize], lo: f64, hi: f64, seed: u64) -> ArrayD<f64> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    ArrayD::from_shape_fn(IxDyn(shape), |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        lo + (hi - lo) * ((state >> 11) as f64 / (1u64 << 53) as f64)
    })
}

/// Largest absolute difference of two arrays of the same shape.
pub fn max_diff(a: &ArrayD<f64>, b: &ArrayD<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// A tally of counted operations as an [`OpCost`] (depth 0: counts cannot tell it).
pub fn as_cost(t: Tally) -> OpCost {
    OpCost {
        rotations: t.rotations,
        ct_mults: t.ct_mults,
        pt_mults: t.pt_mults,
        scalar_mults: t.scalar_mults,
        additions: t.additions,
        rescales: t.rescales,
        depth: 0,
    }
}

/// Checks that the counted operations equal the plan's cost (depth excluded), then resets.
pub fn assert_counts(counts: &Counts, cost: OpCost) {
    let mut expected = cost;
    expected.depth = 0;
    assert_eq!(as_cost(counts.snapshot()), expected, "counted vs planned");
    counts.reset();
}

/// Row-wise argmax of a `[B, n]` array.
pub fn argmax_rows(a: &ArrayD<f64>) -> Vec<usize> {
    a.outer_iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &v)| {
                    if v > bv {
                        (i, v)
                    } else {
                        (bi, bv)
                    }
                })
                .0
        })
        .collect()
}

/// A `rows x cols` matrix, uniform in +-1/sqrt(cols) (seeded).
pub fn mat(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let s = 1.0 / (cols as f64).sqrt();
    uniform(&[rows, cols], -s, s, seed)
        .into_dimensionality::<Ix2>()
        .unwrap()
}

/// A vector uniform in +-0.1 (seeded).
pub fn vec1(n: usize, seed: u64) -> Array1<f64> {
    Array1::from(uniform(&[n], -0.1, 0.1, seed).into_raw_vec_and_offset().0)
}

/// A convolution kernel `[cout, cin, kh, kw]`, uniform in +-1/sqrt(fan-in) (seeded).
pub fn kernel(shape: [usize; 4], seed: u64) -> Array4<f64> {
    let s = 1.0 / ((shape[1] * shape[2] * shape[3]) as f64).sqrt();
    uniform(&shape, -s, s, seed)
        .into_dimensionality::<Ix4>()
        .unwrap()
}

/// conv 5x5 stride 2 (5 maps, padding 1: 5 x 13 x 13) -> square -> dense 100 -> square ->
/// dense 10 on 1x28x28, as the ONNX test model.
pub fn cryptonets() -> Model {
    Model::sequential(&[1, 28, 28])
        .conv2d(kernel([5, 1, 5, 5], 30), vec1(5, 31), 2, 1)
        .square()
        .flatten()
        .dense(mat(100, 845, 32), vec1(100, 33))
        .square()
        .dense(mat(10, 100, 34), vec1(10, 35))
        .build()
        .unwrap()
}
