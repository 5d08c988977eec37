//! Interleaved tile convolution: chained convolutions and squares stay interleaved, against the
//! plaintext reference, on the mock and on CKKS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{max_diff, params, uniform};
use hetile_backend::{Backend, Client, KeyRequirements};
use hetile_ckks::CkksBackend;
use hetile_layers::interleaved::InterleavedPacking;
use hetile_layers::{Conv2d, Layer};
use hetile_mock::MockBackend;
use ndarray::{Array1, Ix4};

fn conv(cout: usize, cin: usize, k: usize, hw: usize, seed: u64) -> Conv2d {
    let s = 1.0 / ((cin * k * k) as f64).sqrt();
    let w = uniform(&[cout, cin, k, k], -s, s, seed)
        .into_dimensionality::<Ix4>()
        .unwrap();
    let b = Array1::from(
        uniform(&[cout], -0.1, 0.1, seed + 1)
            .into_raw_vec_and_offset()
            .0,
    );
    Conv2d::new(w, b, [1, 1], [0, 0], [cin, hw, hw]).unwrap()
}

/// conv 3x3 (2 -> 3 channels) -> square -> conv 2x2 (3 -> 2) on 4 images 10x10, packed in a
/// [4, 4, 4] tile (eh = ew = 3 tiles per axis), without repacking between layers.
fn chain<B: Backend>(seed: u64) -> f64 {
    let c1 = conv(3, 2, 3, 10, 1);
    let c2 = conv(2, 3, 2, 8, 3);
    let packing = InterleavedPacking::new([4, 4, 4]).unwrap();
    let steps = packing.rotation_steps(10, 10, 3, 3);
    // eh = ew = 3 tiles per axis: offsets crossing a tile row/column need a rotation
    assert_eq!(steps.iter().copied().collect::<Vec<_>>(), [4, 16, 20]);
    let keys = KeyRequirements::none()
        .with_relinearization()
        .with_rotations(steps.into_iter().collect::<Vec<_>>());
    let p = params(7, 3);
    let client = B::Client::new_insecure_seeded_for_tests(&p, &keys, seed).unwrap();
    let ev = client.evaluator().unwrap();
    let x = uniform(&[4, 2, 10, 10], -1.0, 1.0, 5);
    let ct = packing.encrypt::<B>(&client, &x).unwrap();
    let y = ct
        .conv(&ev, &c1)
        .unwrap()
        .square(&ev)
        .unwrap()
        .conv(&ev, &c2)
        .unwrap();
    assert_eq!(y.valid_dims(), [2, 7, 7]);
    assert_eq!(y.level(), 0);
    let got = y.decrypt(&client).unwrap();
    let want = c2
        .forward_plain(&c1.forward_plain(&x).unwrap().mapv(|v| v * v))
        .unwrap();
    max_diff(&got, &want)
}

#[test]
fn interleaved_chain_on_mock() {
    let err = chain::<MockBackend>(1);
    println!("interleaved conv chain on the mock: max error {err:.2e}");
    assert!(err < 1e-9, "mock error {err}");
}

#[test]
fn interleaved_chain_on_ckks() {
    let err = chain::<CkksBackend>(2);
    println!("interleaved conv chain on CKKS N=2^7: max error {err:.2e}");
    assert!(err < 1e-3, "ckks error {err}");
}

#[test]
fn strided_convolution_is_refused() {
    let w = uniform(&[1, 1, 2, 2], -1.0, 1.0, 1)
        .into_dimensionality::<Ix4>()
        .unwrap();
    let c = Conv2d::new(w, Array1::zeros(1), [2, 2], [0, 0], [1, 8, 8]).unwrap();
    let packing = InterleavedPacking::new([4, 4, 2]).unwrap();
    let p = params(6, 2);
    let client = <MockBackend as Backend>::Client::new_insecure_seeded_for_tests(
        &p,
        &KeyRequirements::none(),
        1,
    )
    .unwrap();
    let ev = client.evaluator().unwrap();
    let ct = packing
        .encrypt::<MockBackend>(&client, &uniform(&[2, 1, 8, 8], 0.0, 1.0, 2))
        .unwrap();
    assert!(ct.conv(&ev, &c).is_err());
}
