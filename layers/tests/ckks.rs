//! Encrypted forward on the native CKKS backend (small insecure parameters) against the
//! plaintext reference.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{argmax_rows, cryptonets, kernel, mat, max_diff, params, uniform, vec1};
use hetile_backend::{Backend, Client};
use hetile_ckks::CkksBackend;
use hetile_layers::{ActivationFn, Model, Packing};
use ndarray::ArrayD;
use std::time::Instant;

/// Runs on CKKS with exactly the planned keys; returns (encrypted, plaintext) outputs.
fn run(
    model: &Model,
    x: &ArrayD<f64>,
    packing: &Packing,
    log_n: u32,
) -> (ArrayD<f64>, ArrayD<f64>) {
    let plan = model.plan(packing, x.shape()[0]).unwrap();
    let p = params(log_n, plan.depth);
    let start = Instant::now();
    let client =
        <CkksBackend as Backend>::Client::new_insecure_seeded_for_tests(&p, &plan.keys, 5).unwrap();
    let keygen = start.elapsed();
    let got = model
        .run_encrypted::<CkksBackend>(&client, x, packing)
        .unwrap();
    println!(
        "N=2^{log_n}, depth {}, {} rotation keys: keygen {keygen:?}, run {:?}; {}",
        plan.depth,
        plan.keys.rotations.len(),
        start.elapsed() - keygen,
        plan.cost
    );
    (got, model.forward_plain(x).unwrap())
}

#[test]
fn mlp_with_batch_packing_on_ckks() {
    // 30 -> 16 -> square -> 1, 4096 samples in one ciphertext per feature
    let model = Model::sequential(&[30])
        .dense(mat(16, 30, 1), vec1(16, 2))
        .square()
        .dense(mat(1, 16, 3), vec1(1, 4))
        .build()
        .unwrap();
    let x = uniform(&[4096, 30], -1.0, 1.0, 5);
    let packing = Packing::new([1, 1, 4096]).unwrap();
    // one weight per tile: scalar products, no encoded weights
    let cost = model.plan(&packing, 4096).unwrap().cost;
    assert_eq!((cost.scalar_mults, cost.pt_mults), (30 * 16 + 16, 0));
    let (got, want) = run(&model, &x, &packing, 13);
    let err = max_diff(&got, &want);
    println!("mlp square: max error {err:.2e}");
    assert!(err < 1e-4, "error {err}");
}

#[test]
fn approximated_activations_on_ckks() {
    // features and batch both in the slots (rotations), a calibrated sigmoid and a GELU
    let mut model = Model::sequential(&[30])
        .dense(mat(16, 30, 6), vec1(16, 7))
        .approx(ActivationFn::Sigmoid, 7)
        .dense(mat(8, 16, 8), vec1(8, 9))
        .approx(ActivationFn::Gelu, 3)
        .dense(mat(1, 8, 10), vec1(1, 11))
        .build()
        .unwrap();
    let x = uniform(&[64, 30], -1.0, 1.0, 12);
    model.calibrate(&x, 0.05).unwrap();
    let (got, want) = run(&model, &x, &Packing::new([32, 16, 4]).unwrap(), 12);
    let err = max_diff(&got, &want);
    println!("mlp sigmoid/gelu: max error {err:.2e}");
    assert!(err < 1e-3, "error {err}");
}

#[test]
fn cryptonets_on_ckks() {
    let model = cryptonets();
    let x = uniform(&[4, 1, 28, 28], 0.0, 1.0, 36);
    let (got, want) = run(&model, &x, &Packing::new([32, 32, 4]).unwrap(), 13);
    let err = max_diff(&got, &want);
    println!("cryptonets: max error {err:.2e}");
    assert!(err < 1e-3, "error {err}");
    assert_eq!(argmax_rows(&got), argmax_rows(&want));
}

#[test]
fn unrolled_conv_pool_and_residual_on_ckks() {
    // conv (image-to-column) -> square -> conv (unrolled) -> avg pool -> dense -> poly + skip
    let b = Model::sequential(&[1, 8, 8])
        .conv2d(kernel([2, 1, 3, 3], 40), vec1(2, 41), 1, 0)
        .square()
        .conv2d(kernel([2, 2, 3, 3], 42), vec1(2, 43), 1, 1)
        .avg_pool(2, 2)
        .flatten()
        .dense(mat(8, 18, 44), vec1(8, 45));
    let skip = b.current();
    let model = b
        .poly(vec![0.5, 1.0, 0.25])
        .add_from(skip)
        .dense(mat(3, 8, 46), vec1(3, 47))
        .build()
        .unwrap();
    let x = uniform(&[4, 1, 8, 8], 0.0, 1.0, 48);
    let (got, want) = run(&model, &x, &Packing::new([16, 32, 4]).unwrap(), 12);
    let err = max_diff(&got, &want);
    println!("conv/pool/residual: max error {err:.2e}");
    assert!(err < 1e-3, "error {err}");
}

#[test]
fn cryptonets_on_ckks_with_secure_parameters() {
    // N = 2^14, 60 + 6 x 40 + 60 = 360 bits <= 438: 128-bit secure; 8 images per ciphertext
    let model = cryptonets();
    let packing = Packing::new([32, 32, 8]).unwrap();
    let plan = model.plan(&packing, 8).unwrap();
    let mut log_q = vec![60];
    log_q.extend(std::iter::repeat_n(40, plan.depth));
    let p = hetile_backend::Params::new(hetile_backend::ParamsLiteral {
        log_n: 14,
        log_q,
        log_p: vec![60],
        log_scale: 40,
        digits: None,
        security: hetile_backend::SecurityLevel::Classical128,
        secret: hetile_backend::SecretDistribution::Ternary,
    })
    .unwrap();
    let start = Instant::now();
    let client = <CkksBackend as Backend>::Client::new(&p, &plan.keys).unwrap();
    let x = uniform(&[8, 1, 28, 28], 0.0, 1.0, 37);
    let got = model
        .run_encrypted::<CkksBackend>(&client, &x, &packing)
        .unwrap();
    let want = model.forward_plain(&x).unwrap();
    let err = max_diff(&got, &want);
    println!(
        "cryptonets N=2^14 secure, 8 images: {:?}, max error {err:.2e}",
        start.elapsed()
    );
    assert!(err < 1e-3, "error {err}");
    assert_eq!(argmax_rows(&got), argmax_rows(&want));
}
