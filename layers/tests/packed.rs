//! The channel-packed executor: exact on the mock against the plaintext model, CKKS within
//! noise, the simulator-style metadata path with the same op counts, and typed errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{counting_mock, kernel, mat, params, uniform, vec1};
use hetile_backend::{Backend, Client, Evaluator};
use hetile_ckks::CkksBackend;
use hetile_layers::packed::{PackedNet, Stage};
use hetile_layers::Model;
use hetile_mock::MockBackend;
use ndarray::{Array1, ArrayD};

/// A small AlexNet: strided first convolution, pools of stride 2 (the first one over phases,
/// the second leaving gaps that the next convolutions fill with a second channel), a third
/// convolution on the multiplexed layout, a pool folded into the dense layer, two dense layers.
fn small_alexnet() -> Model {
    Model::sequential(&[3, 30, 30])
        .conv2d(kernel([6, 3, 5, 5], 1) * 0.3, vec1(6, 2), 2, 2)
        .square()
        .avg_pool(3, 2)
        .conv2d(kernel([8, 6, 3, 3], 3) * 0.3, vec1(8, 4), 1, 1)
        .square()
        .avg_pool(3, 2)
        .conv2d(kernel([5, 8, 3, 3], 5) * 0.3, vec1(5, 6), 1, 1)
        .square()
        .avg_pool(2, 1)
        .flatten()
        .dense(mat(12, 5 * 2 * 2, 7) * 0.5, vec1(12, 8))
        .square()
        .dense(mat(4, 12, 9), Array1::zeros(4))
        .build()
        .unwrap()
}

fn image(model: &Model, seed: u64) -> ArrayD<f64> {
    let d = model.input_dims();
    uniform(&[1, d[0], d[1], d[2]], -1.0, 1.0, seed)
}

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

#[test]
fn lowering_uses_phases_and_multiplexing() {
    let model = small_alexnet();
    let net = PackedNet::new(&model, 2048).unwrap();
    let kinds: Vec<&str> = net.stages().iter().map(Stage::kind).collect();
    assert_eq!(
        kinds,
        [
            "conv",
            "square",
            "phase-pool",
            "conv",
            "square",
            "pool",
            "conv",
            "square",
            "pool",
            "dense",
            "square",
            "dense"
        ]
    );
    // input 30 + 4 padding = 34, space-to-depth by 2 * 2 = 4: 9x9 grid, pitch 16, block 256
    let p = net.input_packing();
    assert_eq!(
        (p.factor, p.grid.h, p.grid.pitch, p.grid.block),
        (4, 9, 16, 256)
    );
    assert_eq!(p.grid.channels, 48);
    // the third convolution reads values 2 apart and writes two channels per block axis
    match &net.stages()[6] {
        Stage::Conv { input, output, .. } => {
            assert_eq!((input.stride, input.mux), (2, 1));
            assert_eq!((output.stride, output.mux), (2, 2));
        }
        s => panic!("stage 6 is {}", s.kind()),
    }
    assert_eq!(net.depth().unwrap(), 9);
}

#[test]
fn mock_run_equals_the_plaintext_model() {
    let model = small_alexnet();
    let x = image(&model, 11);
    let want: Vec<f64> = model.forward_plain(&x).unwrap().iter().copied().collect();
    for slots in [1024, 4096] {
        let net = PackedNet::new(&model, slots).unwrap();
        let p = params(slots.trailing_zeros() + 1, net.depth().unwrap());
        let client = <MockBackend as Backend>::Client::new(&p, &net.key_requirements()).unwrap();
        let ev = client.evaluator().unwrap();
        let flat: Vec<f64> = x.iter().copied().collect();
        let cts = net.encrypt_input::<MockBackend>(&client, &flat).unwrap();
        let mut seen = Vec::new();
        let (out, report) = net
            .forward::<MockBackend>(&ev, cts, &mut |r| seen.push(r.kind))
            .unwrap();
        assert_eq!(seen.len(), net.stages().len());
        assert_eq!(report.stages.len(), seen.len());
        let got = net.decrypt_output::<MockBackend>(&client, &out).unwrap();
        assert_eq!(got.len(), want.len());
        let err = max_rel(&want, &got);
        assert!(err < 1e-9, "slots {slots}: relative error {err}");
    }
}

#[test]
fn ckks_run_matches_within_noise() {
    let model = small_alexnet();
    let x = image(&model, 12);
    let want: Vec<f64> = model.forward_plain(&x).unwrap().iter().copied().collect();
    let net = PackedNet::new(&model, 2048).unwrap();
    let p = params(12, net.depth().unwrap());
    let client = <CkksBackend as Backend>::Client::new_insecure_seeded_for_tests(
        &p,
        &net.key_requirements(),
        3,
    )
    .unwrap();
    let ev = client.evaluator().unwrap();
    let flat: Vec<f64> = x.iter().copied().collect();
    let cts = net.encrypt_input::<CkksBackend>(&client, &flat).unwrap();
    let (out, _) = net.forward::<CkksBackend>(&ev, cts, &mut |_| {}).unwrap();
    let got = net.decrypt_output::<CkksBackend>(&client, &out).unwrap();
    let err = max_rel(&want, &got);
    assert!(err < 1e-4, "relative error {err}");
}

#[test]
fn counts_do_not_depend_on_values() {
    // the metadata path (no diagonal values) must perform the same operations: run the counting
    // mock twice, on two different images, and compare the tallies
    let model = small_alexnet();
    let net = PackedNet::new(&model, 1024).unwrap();
    let p = params(11, net.depth().unwrap());
    let mut tallies = Vec::new();
    for seed in [1, 2] {
        let (client, ev) = counting_mock(&p, &net.key_requirements());
        let flat: Vec<f64> = image(&model, seed).iter().copied().collect();
        let cts = net.encrypt_input::<common::CMock>(&client, &flat).unwrap();
        net.forward::<common::CMock>(&ev, cts, &mut |_| {}).unwrap();
        tallies.push(format!("{:?}", ev.counts.snapshot()));
    }
    assert_eq!(tallies[0], tallies[1]);
}

#[test]
fn bad_inputs_are_typed_errors() {
    let model = small_alexnet();
    // too few slots for one channel block of the packed image
    assert!(PackedNet::new(&model, 128).is_err());
    let net = PackedNet::new(&model, 1024).unwrap();
    assert!(net.pack_input(&[0.0; 5]).is_err());
    let mut bad = vec![0.0; 3 * 30 * 30];
    bad[7] = f64::NAN;
    assert!(net.pack_input(&bad).is_err());
    // a missing rotation key is the backend's typed error, not a panic
    let p = params(11, net.depth().unwrap());
    let client = <MockBackend as Backend>::Client::new(
        &p,
        &hetile_backend::KeyRequirements::none().with_relinearization(),
    )
    .unwrap();
    let ev = client.evaluator().unwrap();
    let cts = net
        .encrypt_input::<MockBackend>(&client, &vec![0.5; 3 * 30 * 30])
        .unwrap();
    assert!(net.forward::<MockBackend>(&ev, cts, &mut |_| {}).is_err());
    // a later strided convolution is refused at lowering
    let strided = Model::sequential(&[1, 16, 16])
        .conv2d(kernel([2, 1, 3, 3], 1), vec1(2, 1), 1, 1)
        .square()
        .conv2d(kernel([2, 2, 3, 3], 2), vec1(2, 2), 2, 1)
        .flatten()
        .dense(mat(3, 2 * 8 * 8, 3), vec1(3, 4))
        .build()
        .unwrap();
    assert!(PackedNet::new(&strided, 1024).is_err());
    // too few levels: the backend's level error
    let short = params(11, 3);
    let client = <MockBackend as Backend>::Client::new(&short, &net.key_requirements()).unwrap();
    let ev = client.evaluator().unwrap();
    let cts = net
        .encrypt_input::<MockBackend>(&client, &vec![0.5; 3 * 30 * 30])
        .unwrap();
    assert!(net.forward::<MockBackend>(&ev, cts, &mut |_| {}).is_err());
    let _ = ev.params();
}
