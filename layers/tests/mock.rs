//! Encrypted forward on the mock backend (exact and noisy) against the plaintext reference;
//! planned depth, operation counts and evaluation keys against the real run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    argmax_rows, assert_counts, counting_mock, kernel, mat, max_diff, params, uniform, vec1, CMock,
};
use hetile_backend::{Backend, Client, Level, Meta};
use hetile_layers::{
    evaluate_ciphertext, poly_cost, ActivationFn, ChebyshevSeries, Model, Node, Packing,
};
use hetile_mock::{MockBackend, MockClient, NoiseModel};
use ndarray::ArrayD;

/// Runs `model` on the counting mock with exactly the planned keys; checks values, depth and
/// counts against the plan.
fn check_on_counting_mock(model: &Model, x: &ArrayD<f64>, packing: &Packing, log_n: u32) {
    let batch = x.shape()[0];
    let plan = model.plan(packing, batch).unwrap();
    let p = params(log_n, plan.depth);
    let (client, ev) = counting_mock(&p, &plan.keys);
    let ct = model.encrypt_input::<CMock>(&client, x, packing).unwrap();
    assert_eq!(ct.shape(), &plan.input);
    let out = model.forward_encrypted::<CMock>(&ev, &ct).unwrap();
    assert_eq!(
        out.level(),
        Level(0),
        "planned depth {} is the real one",
        plan.depth
    );
    assert_eq!(out.shape(), &plan.nodes.last().unwrap().plan.output);
    assert_counts(&ev.counts, plan.cost);
    let got = model.decrypt_output::<CMock>(&client, &out).unwrap();
    let want = model.forward_plain(x).unwrap();
    let err = max_diff(&got, &want);
    assert!(err < 1e-6, "error {err}");
}

#[test]
fn polynomial_evaluation_has_the_planned_depth_counts_and_scale() {
    let p = params(10, 9);
    let slots = 512;
    for degree in [1usize, 2, 3, 4, 5, 7, 8, 9, 15, 16, 27, 31, 63] {
        for unit in [true, false] {
            let (a, b) = if unit { (-1.0, 1.0) } else { (-3.0, 5.0) };
            let series = ChebyshevSeries::fit(|x| (0.7 * x).sin() + 0.1 * x, a, b, degree).unwrap();
            let depth = series.depth();
            let l = (degree + 1).next_power_of_two().trailing_zeros() as usize;
            assert_eq!(depth, l + 1 + usize::from(!unit));
            let cost = poly_cost(&series).unwrap();
            assert_eq!(cost.depth, depth);
            let (client, ev) = counting_mock(
                &p,
                &hetile_backend::KeyRequirements::none().with_relinearization(),
            );
            let xs: Vec<f64> = (0..slots)
                .map(|i| a + (b - a) * i as f64 / slots as f64)
                .collect();
            let pt = client.encode(&xs, Level(depth), p.default_scale()).unwrap();
            let ct = client.encrypt(&pt).unwrap();
            let out = evaluate_ciphertext::<CMock>(&ev, &ct, &series).unwrap();
            assert_eq!(out.level(), Level(0));
            assert!((out.scale().value() / ct.scale().value() - 1.0).abs() < 1e-12);
            assert_counts(&ev.counts, cost);
            let got = client.decrypt_values(&out).unwrap();
            for (x, g) in xs.iter().zip(&got) {
                assert!((series.eval(*x) - g).abs() < 1e-6, "degree {degree}");
            }
            if depth > 1 {
                let low = client
                    .encode(&xs, Level(depth - 1), p.default_scale())
                    .unwrap();
                let low = client.encrypt(&low).unwrap();
                assert!(evaluate_ciphertext::<CMock>(&ev, &low, &series).is_err());
                ev.counts.reset();
            }
        }
    }
}

#[test]
fn mlp_with_row_column_and_garbage_forms() {
    let model = Model::sequential(&[30])
        .dense(mat(16, 30, 1), vec1(16, 2))
        .poly(vec![0.1, 0.5, 0.25])
        .dense(mat(8, 16, 3), vec1(8, 4))
        .square()
        .dense(mat(3, 8, 5), vec1(3, 6))
        .build()
        .unwrap();
    let x = uniform(&[20, 30], -1.0, 1.0, 7);
    // dense from columns -> rows, poly, dense from rows -> garbage, square, clear + dense
    check_on_counting_mock(&model, &x, &Packing::new([8, 16, 16]).unwrap(), 12);
    // batch only in the slots: no rotation at all
    let packing = Packing::new([1, 1, 2048]).unwrap();
    let plan = model.plan(&packing, 20).unwrap();
    assert!(plan.keys.rotations.is_empty());
    check_on_counting_mock(&model, &x, &packing, 12);
}

#[test]
fn single_output_dense_clears_the_garbage_with_its_weights() {
    // the fraud MLP's shape: the last dense reads the garbage form and has one output row
    let model = Model::sequential(&[30])
        .dense(mat(16, 30, 11), vec1(16, 12))
        .square()
        .dense(mat(8, 16, 13), vec1(8, 14))
        .square()
        .dense(mat(1, 8, 15), vec1(1, 16))
        .build()
        .unwrap();
    let packing = Packing::new([8, 16, 16]).unwrap();
    let plan = model.plan(&packing, 3).unwrap();
    let last = &plan.nodes[4];
    assert!(plan.nodes[3].plan.output.to_string().contains('?'));
    // one plaintext product, no mask, no replication: one level and only the sum's rotations
    assert_eq!(last.plan.cost.depth, 1);
    assert_eq!(last.plan.cost.rotations, 3);
    assert_eq!(plan.depth, 5);
    let x = uniform(&[3, 30], -1.0, 1.0, 17);
    check_on_counting_mock(&model, &x, &packing, 12);
}

#[test]
fn cached_weights_serve_later_runs_and_other_parameters() {
    let model = Model::sequential(&[30])
        .dense(mat(16, 30, 21), vec1(16, 22))
        .square()
        .dense(mat(1, 16, 23), vec1(1, 24))
        .build()
        .unwrap();
    let packing = Packing::new([16, 32, 16]).unwrap();
    let x = uniform(&[1, 30], -1.0, 1.0, 25);
    let want = model.forward_plain(&x).unwrap();
    let plan = model.plan(&packing, 1).unwrap();
    let dense = |i: usize| match &model.nodes()[i] {
        Node::Dense(d) => d.weight_cache().bytes(),
        _ => unreachable!(),
    };
    let run = |levels: usize| {
        let p = params(14, levels);
        let (client, ev) = counting_mock(&p, &plan.keys);
        let ct = model.encrypt_input::<CMock>(&client, &x, &packing).unwrap();
        let out = model.forward_encrypted::<CMock>(&ev, &ct).unwrap();
        let got = model.decrypt_output::<CMock>(&client, &out).unwrap();
        assert!(max_diff(&got, &want) < 1e-6);
    };
    run(plan.depth);
    assert_eq!(dense(0), 0, "off by default");
    model.cache_encoded_weights(true);
    run(plan.depth);
    let first = dense(0);
    assert!(first > 0 && dense(2) > 0);
    run(plan.depth);
    assert_eq!(dense(0), first, "the second run reads the cache");
    // other parameters (and levels) get their own entries, never the first ones
    run(plan.depth + 1);
    assert!(dense(0) > first);
    model.cache_encoded_weights(false);
    assert_eq!(dense(0), 0);
}

#[test]
fn dense_weights_at_batch_tiles_are_scalar_products() {
    // 30 -> 16 -> square -> 4: at tile [1, 1, B] every weight tile holds one weight, multiplied
    // in with mul_scalar (no encoding); at a tile spreading features over slots, with mul_plain
    let model = Model::sequential(&[30])
        .dense(mat(16, 30, 21), vec1(16, 22))
        .square()
        .dense(mat(4, 16, 23), vec1(4, 24))
        .build()
        .unwrap();
    let x = uniform(&[300, 30], -1.0, 1.0, 25);
    let batch_tiles = Packing::new([1, 1, 512]).unwrap();
    let plan = model.plan(&batch_tiles, 300).unwrap();
    assert_eq!(plan.cost.pt_mults, 0);
    assert_eq!(plan.cost.scalar_mults, 30 * 16 + 16 * 4);
    check_on_counting_mock(&model, &x, &batch_tiles, 10);
    let spread = Packing::new([32, 1, 16]).unwrap();
    let plan = model.plan(&spread, 300).unwrap();
    assert!(plan.cost.pt_mults > 0);
    assert_eq!(plan.cost.scalar_mults, 0);
    check_on_counting_mock(&model, &x, &spread, 10);
}

#[test]
fn small_mlp_scores_a_full_batch_per_ciphertext() {
    // 30 -> 16 -> square -> 1, 8192 samples in 2 ciphertexts per feature (4096 slots)
    let model = Model::sequential(&[30])
        .dense(mat(16, 30, 8), vec1(16, 9))
        .square()
        .dense(mat(1, 16, 10), vec1(1, 11))
        .build()
        .unwrap();
    let x = uniform(&[8192, 30], -1.0, 1.0, 12);
    let packing = Packing::new([1, 1, 4096]).unwrap();
    let plan = model.plan(&packing, 8192).unwrap();
    assert_eq!(plan.depth, 3);
    assert_eq!(plan.input.to_string(), "[30/1, */1, 8192/4096]");
    check_on_counting_mock(&model, &x, &packing, 13);
    // the same with features in the slots too
    check_on_counting_mock(
        &model,
        &x.slice(ndarray::s![..256, ..]).to_owned().into_dyn(),
        &Packing::new([32, 1, 128]).unwrap(),
        13,
    );
}

#[test]
fn conv_pool_residual_and_approximations() {
    let mut model = Model::sequential(&[2, 8, 8])
        .conv2d(kernel([3, 2, 3, 3], 13), vec1(3, 14), 1, 1)
        .approx(ActivationFn::Relu, 7)
        .avg_pool(2, 2)
        .flatten()
        .dense(mat(12, 48, 15), vec1(12, 16))
        .approx(ActivationFn::Gelu, 5);
    let skip = model.current();
    model = model
        .dense(mat(12, 12, 17), vec1(12, 18))
        .approx(ActivationFn::Tanh, 3)
        .add_from(skip)
        .approx(ActivationFn::Sigmoid, 4)
        .dense(mat(4, 12, 19), vec1(4, 20));
    let mut model = model.build().unwrap();
    let x = uniform(&[4, 2, 8, 8], 0.0, 1.0, 21);
    model.calibrate(&x, 0.05).unwrap();
    check_on_counting_mock(&model, &x, &Packing::new([32, 16, 4]).unwrap(), 12);
}

#[test]
fn convolution_after_an_activation_runs_unrolled() {
    let model = Model::sequential(&[1, 6, 6])
        .square()
        .conv2d(kernel([2, 1, 3, 3], 22), vec1(2, 23), 2, 1)
        .poly(vec![0.0, 1.0, 0.5])
        .flatten()
        .dense(mat(3, 18, 24), vec1(3, 25))
        .build()
        .unwrap();
    let x = uniform(&[3, 1, 6, 6], -1.0, 1.0, 26);
    check_on_counting_mock(&model, &x, &Packing::new([64, 8, 4]).unwrap(), 12);
}

fn cryptonets(seed: u64) -> Model {
    // conv 5x5 stride 2 (5 maps, padding 1: 5 x 13 x 13) -> square -> dense 100 -> square -> dense 10
    Model::sequential(&[1, 28, 28])
        .conv2d(kernel([5, 1, 5, 5], seed), vec1(5, seed + 1), 2, 1)
        .square()
        .flatten()
        .dense(mat(100, 845, seed + 2), vec1(100, seed + 3))
        .square()
        .dense(mat(10, 100, seed + 4), vec1(10, seed + 5))
        .build()
        .unwrap()
}

#[test]
fn cryptonets_on_the_mock() {
    let model = cryptonets(30);
    let x = uniform(&[8, 1, 28, 28], 0.0, 1.0, 31);
    let packing = Packing::new([32, 32, 8]).unwrap();
    let plan = model.plan(&packing, 8).unwrap();
    assert_eq!(plan.depth, 6);
    let text = plan.to_string();
    println!("{text}");
    assert!(text.starts_with("input [25/32, 845/32, 8/8]"));
    assert!(text.contains("conv2d   -> [*/32, 845/32, 8/8]"));
    // conv: 5 steps (sum over 32 patch slots); dense 845 -> 100: 5; clear + replicate: 5
    assert_eq!(plan.keys.rotations.len(), 15);
    assert!(plan.keys.relinearization);
    let p = params(14, plan.depth);
    let client = <MockBackend as Backend>::Client::new(&p, &plan.keys).unwrap();
    let got = model
        .run_encrypted::<MockBackend>(&client, &x, &packing)
        .unwrap();
    let want = model.forward_plain(&x).unwrap();
    assert!(max_diff(&got, &want) < 1e-6);
    assert_eq!(argmax_rows(&got), argmax_rows(&want));
    // the counting run agrees with the plan
    check_on_counting_mock(&model, &x, &packing, 14);
}

#[test]
fn noisy_mock_stays_close() {
    let mut model = Model::sequential(&[30])
        .dense(mat(16, 30, 40), vec1(16, 41))
        .approx(ActivationFn::Sigmoid, 7)
        .dense(mat(1, 16, 42), vec1(1, 43))
        .build()
        .unwrap();
    let x = uniform(&[64, 30], -1.0, 1.0, 44);
    model.calibrate(&x, 0.1).unwrap();
    let packing = Packing::new([32, 1, 64]).unwrap();
    let plan = model.plan(&packing, 64).unwrap();
    let p = params(12, plan.depth);
    let noise = NoiseModel {
        fresh: 1e-7,
        per_op: 1e-8,
    };
    let client = MockClient::with_noise(&p, &plan.keys, noise, 7).unwrap();
    let got = model
        .run_encrypted::<MockBackend>(&client, &x, &packing)
        .unwrap();
    let want = model.forward_plain(&x).unwrap();
    let err = max_diff(&got, &want);
    assert!(err < 1e-4 && err > 0.0, "error {err}");
}

#[test]
fn missing_keys_and_levels_are_errors() {
    let model = cryptonets(50);
    let x = uniform(&[2, 1, 28, 28], 0.0, 1.0, 51);
    let packing = Packing::new([32, 64, 2]).unwrap();
    let plan = model.plan(&packing, 2).unwrap();
    // one level short
    let p = params(13, plan.depth - 1);
    let client = <MockBackend as Backend>::Client::new(&p, &plan.keys).unwrap();
    assert!(matches!(
        model.run_encrypted::<MockBackend>(&client, &x, &packing),
        Err(hetile_layers::LayerError::InsufficientDepth { .. })
    ));
    // one rotation key short
    let mut keys = plan.keys.clone();
    let first = *keys.rotations.iter().next().unwrap();
    keys.rotations.remove(&first);
    let p = params(13, plan.depth);
    let client = <MockBackend as Backend>::Client::new(&p, &keys).unwrap();
    assert!(model
        .run_encrypted::<MockBackend>(&client, &x, &packing)
        .is_err());
}

#[test]
fn range_map_is_folded_into_the_preceding_linear_layer() {
    let x = uniform(&[16, 30], -1.0, 1.0, 60);
    let packing = Packing::new([32, 4, 16]).unwrap();
    let mut fused = Model::sequential(&[30])
        .dense(mat(16, 30, 61), vec1(16, 62))
        .approx(ActivationFn::Sigmoid, 7)
        .dense(mat(2, 16, 63), vec1(2, 64))
        .build()
        .unwrap();
    fused.calibrate(&x, 0.1).unwrap();
    let plan = fused.plan(&packing, 16).unwrap();
    // degree 7: ceil(log2 8) + 1 = 4 levels, the map x -> t rides on the dense layer
    assert_eq!(plan.nodes[1].plan.cost.depth, 4);
    assert_eq!(plan.depth, 1 + 4 + 1);
    check_on_counting_mock(&fused, &x, &packing, 12);
    // when the dense output also feeds a residual, the map costs its own level
    let b = Model::sequential(&[30]).dense(mat(16, 30, 61), vec1(16, 62));
    let skip = b.current();
    let mut unfused = b
        .approx(ActivationFn::Sigmoid, 7)
        .add_from(skip)
        .dense(mat(2, 16, 63), vec1(2, 64))
        .build()
        .unwrap();
    unfused.calibrate(&x, 0.1).unwrap();
    let plan = unfused.plan(&packing, 16).unwrap();
    assert_eq!(plan.nodes[1].plan.cost.depth, 5);
    check_on_counting_mock(&unfused, &x, &packing, 12);
}
