//! The interleaved convolution strategy as a model path: encrypted runs against the plaintext
//! reference (exact mock, CKKS), planned counts against the counting decorator, agreement with
//! the image-to-column and unrolled strategies, and typed errors for strategies that do not fit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    assert_counts, counting_mock, cryptonets, kernel, mat, max_diff, params, uniform, vec1, CMock,
};
use hetile_backend::{Backend, Client, Level};
use hetile_ckks::CkksBackend;
use hetile_layers::{
    ActivationFn, ConvStrategy, Dense, Layer, LayerError, Model, ModelBuilder, Packing,
};
use hetile_mock::MockBackend;
use hetile_tiles::TileShape;
use ndarray::ArrayD;

use ConvStrategy::{Im2col, Interleaved, Unrolled};

/// Runs `model` on the counting mock with exactly the planned keys and levels; checks the
/// output shape, the level (planned depth = real depth), the counts against the plan and the
/// values against the plaintext reference (1e-6). Returns the decrypted output.
fn check_mock(model: &Model, x: &ArrayD<f64>, packing: &Packing, log_n: u32) -> ArrayD<f64> {
    let plan = model.plan(packing, x.shape()[0]).unwrap();
    let p = params(log_n, plan.depth);
    let (client, ev) = counting_mock(&p, &plan.keys);
    let ct = model.encrypt_input::<CMock>(&client, x, packing).unwrap();
    assert_eq!(ct.shape(), &plan.input);
    let out = model.forward_encrypted::<CMock>(&ev, &ct).unwrap();
    assert_eq!(out.level(), Level(0), "planned depth {}", plan.depth);
    assert_eq!(out.shape(), &plan.nodes.last().unwrap().plan.output);
    assert_counts(&ev.counts, plan.cost);
    let got = model.decrypt_output::<CMock>(&client, &out).unwrap();
    let want = model.forward_plain(x).unwrap();
    let err = max_diff(&got, &want);
    assert!(err < 1e-6, "error {err}\n{plan}");
    got
}

/// conv 3x3 stride 2 pad 1 (1 -> 2) -> square -> conv 3x3 stride 1 (2 -> 3) -> square ->
/// avg pool 2 -> flatten -> dense 12 -> 3, on 1x14x14 images.
fn chain_model() -> ModelBuilder {
    Model::sequential(&[1, 14, 14])
        .conv2d(kernel([2, 1, 3, 3], 1), vec1(2, 2), 2, 1)
        .square()
        .conv2d(kernel([3, 2, 3, 3], 3), vec1(3, 4), 1, 0)
        .square()
        .avg_pool(2, 2)
        .flatten()
        .dense(mat(3, 12, 5), vec1(3, 6))
}

#[test]
fn strategy_names_round_trip() {
    for s in ConvStrategy::ALL {
        assert_eq!(s.name().parse::<ConvStrategy>().unwrap(), s);
        assert_eq!(s.to_string(), s.name());
    }
    assert_eq!(
        "Interleaved".parse::<ConvStrategy>().unwrap(),
        ConvStrategy::Interleaved
    );
    assert!(matches!(
        "winograd".parse::<ConvStrategy>(),
        Err(LayerError::InvalidParameter { .. })
    ));
}

#[test]
fn default_and_explicit_strategies() {
    let mut model = chain_model().build().unwrap();
    assert_eq!(model.conv_strategies(), vec![Im2col, Unrolled]);
    model
        .with_conv_strategies(&[Interleaved, Interleaved])
        .unwrap();
    assert_eq!(model.conv_strategies(), vec![Interleaved, Interleaved]);
    model.set_conv_strategy(2, Unrolled).unwrap();
    assert_eq!(model.conv_strategies(), vec![Interleaved, Unrolled]);
    // the interleaved input: the padded 16x16 image, th = tw = 4 (4 tiles per axis), 128 samples
    let packing = Packing::image(4, 4, 128).unwrap();
    assert_eq!(packing.image_tile(), [4, 4, 128]);
    assert_eq!(
        model.input_shape(&packing, 4).unwrap().to_string(),
        "[1/1, 16~/4, 16~/4, 4/128]"
    );
    let all = Packing::enumerate(2048, 128).unwrap();
    assert_eq!(all.len(), 5);
    assert!(all.contains(&packing));
    assert!(all.iter().all(|p| p.slots() == 2048));
}

#[test]
fn each_interleaved_layer_matches_the_reference() {
    let x = uniform(&[4, 1, 14, 14], -1.0, 1.0, 7);
    let packing = Packing::image(4, 4, 32).unwrap();
    // growing prefixes of the chain: conv, square, conv, square, pool (outputs interleaved),
    // then flatten and dense (reading the interleaved form)
    let steps: Vec<Box<dyn Fn(ModelBuilder) -> ModelBuilder>> = vec![
        Box::new(|b| b.conv2d(kernel([2, 1, 3, 3], 1), vec1(2, 2), 2, 1)),
        Box::new(|b| b.square()),
        Box::new(|b| b.conv2d(kernel([3, 2, 3, 3], 3), vec1(3, 4), 1, 0)),
        Box::new(|b| b.poly(vec![0.1, 0.5, 0.25])),
        Box::new(|b| b.avg_pool(2, 2)),
        Box::new(|b| b.flatten().dense(mat(3, 12, 5), vec1(3, 6))),
    ];
    let mut b = Model::sequential(&[1, 14, 14]);
    for (k, step) in steps.iter().enumerate() {
        b = step(b);
        let mut model = b.clone().build().unwrap();
        let convs = model.conv_strategies().len();
        model
            .with_conv_strategies(&vec![Interleaved; convs])
            .unwrap();
        let plan = model.plan(&packing, 4).unwrap();
        let last = plan.nodes.last().unwrap().plan.output.to_string();
        match k {
            0 => assert_eq!(last, "[2/1, 8~/4, 8~/4, 4?/32]"),
            4 => assert_eq!(last, "[3/1, 4~/4, 4~/4, 4?/32]"),
            // 3 outputs in groups of 2: the replicated rows form
            5 => assert_eq!(last, "[*/8, 3/2, 4?/32]"),
            _ => {}
        }
        let got = check_mock(&model, &x, &packing, 10);
        assert_eq!(&got.shape()[1..], model.output_dims());
    }
}

#[test]
fn chain_agrees_with_im2col_and_unrolled() {
    let x = uniform(&[4, 1, 14, 14], -1.0, 1.0, 8);
    let packing = Packing::new([4, 4, 128]).unwrap();
    let mut outputs = Vec::new();
    for strategies in [
        [Interleaved, Interleaved],
        [Im2col, Unrolled],
        [Unrolled, Unrolled],
        [Interleaved, Unrolled],
    ] {
        let mut model = chain_model().build().unwrap();
        model.with_conv_strategies(&strategies).unwrap();
        let plan = model.plan(&packing, 4).unwrap();
        println!("{strategies:?}: depth {}, {}", plan.depth, plan.cost);
        outputs.push(check_mock(&model, &x, &packing, 12));
    }
    let interleaved = model_plan_text(&[Interleaved, Interleaved], &packing);
    assert!(interleaved.contains("conv2d   -> [2/1, 8~/4, 8~/4, 4?/128]"));
    assert!(interleaved.contains("avg_pool -> [3/1, 4~/4, 4~/4, 4?/128]"));
    for o in &outputs[1..] {
        assert!(max_diff(o, &outputs[0]) < 1e-9);
    }
}

fn model_plan_text(strategies: &[ConvStrategy], packing: &Packing) -> String {
    let mut model = chain_model().build().unwrap();
    model.with_conv_strategies(strategies).unwrap();
    model.plan(packing, 4).unwrap().to_string()
}

#[test]
fn interleaved_exact_counts_for_a_strided_conv() {
    // one conv, 1 -> 2 channels, 3x3 stride 2 pad 1 on 14x14 (padded 16x16, 4x4 tiles of 4x4):
    // output grid 2x2; every output tile: 9 scalar products, 9 additions (bias included), one
    // rescale; rotations: per output tile row r and offset a, input tile (2r + a) mod 4 shifted
    // by (2r + a) div 4 rows: only tile 0 shifted by 1 on each axis, so the rotated tiles are
    // (0, s) by a row (4), (r, 0) by a column (4) and (0, 0) by both (1): 9 rotations, 3 steps
    let mut model = Model::sequential(&[1, 14, 14])
        .conv2d(kernel([2, 1, 3, 3], 1), vec1(2, 2), 2, 1)
        .build()
        .unwrap();
    model.with_conv_strategies(&[Interleaved]).unwrap();
    let packing = Packing::image(4, 4, 32).unwrap();
    let plan = model.plan(&packing, 4).unwrap();
    let c = plan.cost;
    assert_eq!(c.scalar_mults, 2 * 4 * 9);
    assert_eq!(c.additions, 2 * 4 * 9);
    assert_eq!(c.rescales, 2 * 4);
    assert_eq!(c.rotations, 9);
    assert_eq!(plan.depth, 1);
    // steps: one row (tw tb = 128), one column (tb = 32), both (160)
    assert_eq!(
        plan.keys.rotations.iter().copied().collect::<Vec<_>>(),
        [32, 128, 160]
    );
    assert!(!plan.keys.relinearization);
    check_mock(
        &model,
        &uniform(&[4, 1, 14, 14], -1.0, 1.0, 9),
        &packing,
        10,
    );
}

#[test]
fn batch_across_several_tiles_and_pool_fallback() {
    // 40 samples with tb = 16: three batch tiles; the pool's stride 3 does not divide the
    // 2x2 grid, so it reads the interleaved form as its matrix; a dense chain follows
    let mut model = Model::sequential(&[2, 10, 10])
        .conv2d(kernel([2, 2, 3, 3], 10), vec1(2, 11), 1, 1)
        .square()
        .avg_pool(3, 3)
        .flatten()
        .dense(mat(4, 18, 12), vec1(4, 13))
        .square()
        .dense(mat(2, 4, 14), vec1(2, 15))
        .build()
        .unwrap();
    model.with_conv_strategies(&[Interleaved]).unwrap();
    let packing = Packing::image(8, 4, 16).unwrap();
    let plan = model.plan(&packing, 40).unwrap();
    assert_eq!(plan.input.to_string(), "[2/1, 12~/8, 12~/4, 40/16]");
    assert_eq!(
        plan.nodes[2].plan.output.to_string(),
        "[*/16, 18/2, 40?/16]"
    );
    check_mock(
        &model,
        &uniform(&[40, 2, 10, 10], -1.0, 1.0, 16),
        &packing,
        10,
    );
}

#[test]
fn unrolled_conv_and_approximation_after_interleaved() {
    let mut model = Model::sequential(&[1, 8, 8])
        .conv2d(kernel([2, 1, 3, 3], 20), vec1(2, 21), 1, 0)
        .approx(ActivationFn::Relu, 3)
        .conv2d(kernel([2, 2, 3, 3], 22), vec1(2, 23), 1, 1)
        .flatten()
        .dense(mat(3, 72, 24), vec1(3, 25))
        .build()
        .unwrap();
    let x = uniform(&[4, 1, 8, 8], -1.0, 1.0, 26);
    model.calibrate(&x, 0.05).unwrap();
    model
        .with_conv_strategies(&[Interleaved, Unrolled])
        .unwrap();
    let packing = Packing::image(4, 4, 32).unwrap();
    check_mock(&model, &x, &packing, 10);
}

#[test]
fn residual_add_on_the_interleaved_form() {
    // conv (pad 1) -> poly -> + conv output -> conv -> flatten -> dense, all interleaved
    let b = Model::sequential(&[1, 8, 8]).conv2d(kernel([2, 1, 3, 3], 50), vec1(2, 51), 1, 1);
    let skip = b.current();
    let mut model = b
        .poly(vec![0.0, 0.5, 0.5])
        .add_from(skip)
        .conv2d(kernel([2, 2, 3, 3], 52), vec1(2, 53), 1, 0)
        .flatten()
        .dense(mat(3, 72, 54), vec1(3, 55))
        .build()
        .unwrap();
    model
        .with_conv_strategies(&[Interleaved, Interleaved])
        .unwrap();
    let packing = Packing::image(4, 4, 32).unwrap();
    let plan = model.plan(&packing, 4).unwrap();
    assert_eq!(plan.input.to_string(), "[1/1, 10~/4, 10~/4, 4/32]");
    let x = uniform(&[4, 1, 8, 8], -1.0, 1.0, 56);
    check_mock(&model, &x, &packing, 10);
}

#[test]
fn chained_padding_is_applied_in_place() {
    // conv 3x3 (no pad) -> square -> conv 3x3 pad 1 -> square -> conv 3x3 pad 1 -> flatten ->
    // dense; 9x9 images in tiles of 4x4 (3x3 grid, extent 12): the valid 7x7 window padded to
    // 9x9 fits, twice
    let mut model = Model::sequential(&[1, 9, 9])
        .conv2d(kernel([2, 1, 3, 3], 60), vec1(2, 61), 1, 0)
        .square()
        .conv2d(kernel([2, 2, 3, 3], 62), vec1(2, 63), 1, 1)
        .square()
        .conv2d(kernel([2, 2, 3, 3], 64), vec1(2, 65), 1, 1)
        .flatten()
        .dense(mat(3, 98, 66), vec1(3, 67))
        .build()
        .unwrap();
    model
        .with_conv_strategies(&[Interleaved, Interleaved, Interleaved])
        .unwrap();
    let packing = Packing::image(4, 4, 32).unwrap();
    let plan = model.plan(&packing, 5).unwrap();
    // the padded convolutions take two levels each (mask, product)
    assert_eq!(plan.nodes[2].plan.cost.depth, 2);
    assert_eq!(plan.depth, 1 + 1 + 2 + 1 + 2 + 1);
    let x = uniform(&[5, 1, 9, 9], -1.0, 1.0, 68);
    check_mock(&model, &x, &packing, 10);
    // on CKKS
    let p = params(10, plan.depth);
    let client =
        <CkksBackend as Backend>::Client::new_insecure_seeded_for_tests(&p, &plan.keys, 6).unwrap();
    let got = model
        .run_encrypted::<CkksBackend>(&client, &x, &packing)
        .unwrap();
    let err = max_diff(&got, &model.forward_plain(&x).unwrap());
    println!("chained padding on CKKS N=2^10: max error {err:.2e}");
    assert!(err < 1e-3, "error {err}");
}

fn err_node(e: LayerError) -> (usize, &'static str, String) {
    match e {
        LayerError::ConvStrategy {
            node,
            strategy,
            reason,
        } => (node, strategy, reason),
        other => panic!("expected a strategy error, got {other}"),
    }
}

#[test]
fn strategies_that_do_not_fit_are_typed_errors() {
    let mut model = chain_model().build().unwrap();
    // image-to-column on a later convolution
    let (node, s, _) = err_node(model.with_conv_strategies(&[Im2col, Im2col]).unwrap_err());
    assert_eq!((node, s), (2, "im2col"));
    // interleaved after an unrolled first convolution
    let (node, s, _) = err_node(
        model
            .with_conv_strategies(&[Unrolled, Interleaved])
            .unwrap_err(),
    );
    assert_eq!((node, s), (2, "interleaved"));
    // the model is unchanged after an error
    assert_eq!(model.conv_strategies(), vec![Im2col, Unrolled]);
    // wrong count, not a convolution
    assert!(matches!(
        model.with_conv_strategies(&[Interleaved]),
        Err(LayerError::InvalidParameter { .. })
    ));
    assert!(matches!(
        model.set_conv_strategy(1, Interleaved),
        Err(LayerError::InvalidParameter { .. })
    ));
    // padding on a chained interleaved convolution whose padded window exceeds the layout:
    // 8x8 images in 8x8 tiles, the valid 6x6 window padded by 2 needs 10x10
    let mut padded = Model::sequential(&[1, 8, 8])
        .conv2d(kernel([2, 1, 3, 3], 1), vec1(2, 2), 1, 0)
        .square()
        .conv2d(kernel([2, 2, 5, 5], 3), vec1(2, 4), 1, 2)
        .build()
        .unwrap();
    padded
        .with_conv_strategies(&[Interleaved, Interleaved])
        .unwrap();
    let (node, s, reason) = err_node(
        padded
            .plan(&Packing::image(8, 8, 8).unwrap(), 4)
            .unwrap_err(),
    );
    assert_eq!((node, s), (2, "interleaved"));
    assert!(
        reason.contains("exceeds the interleaved layout"),
        "{reason}"
    );
    // a stride that does not divide the tile grid: 16x16 padded image in 8x8 tiles (2x2
    // grid) is fine for stride 2, but with 16x16 tiles (1x1 grid) it is not
    model
        .with_conv_strategies(&[Interleaved, Interleaved])
        .unwrap();
    assert!(model.plan(&Packing::image(8, 8, 32).unwrap(), 4).is_ok());
    let (node, s, reason) = err_node(
        model
            .plan(&Packing::image(16, 16, 8).unwrap(), 4)
            .unwrap_err(),
    );
    assert_eq!((node, s), (0, "interleaved"));
    assert!(reason.contains("stride"), "{reason}");
    // a reshape of interleaved images other than a flatten
    let mut reshaped = Model::sequential(&[1, 8, 8])
        .conv2d(kernel([2, 1, 3, 3], 1), vec1(2, 2), 1, 0)
        .reshape(&[2, 36])
        .flatten()
        .dense(mat(2, 72, 3), vec1(2, 4))
        .build()
        .unwrap();
    assert!(matches!(
        reshaped.with_conv_strategies(&[Interleaved]),
        Err(LayerError::ConvStrategy { node: 1, .. })
    ));
    // a dense layer outside a model cannot read the interleaved form: a layout error
    let d = Dense::new(mat(2, 72, 5), vec1(2, 6)).unwrap();
    let shape: TileShape = "[2/1, 8~/4, 8~/4, 4/32]".parse().unwrap();
    assert!(matches!(d.plan(&shape), Err(LayerError::Layout { .. })));
}

#[test]
fn cryptonets_im2col_and_interleaved_agree_on_the_mock() {
    let x = uniform(&[4, 1, 28, 28], 0.0, 1.0, 36);
    let im2col = cryptonets();
    let a = check_mock(&im2col, &x, &Packing::new([32, 32, 4]).unwrap(), 13);
    let mut inter = cryptonets();
    inter.with_conv_strategies(&[Interleaved]).unwrap();
    // padded 30x30 in 16x16 tiles: a 2x2 grid, halved by the stride
    let packing = Packing::image(16, 16, 16).unwrap();
    let plan = inter.plan(&packing, 4).unwrap();
    println!("{plan}");
    assert_eq!(plan.input.to_string(), "[1/1, 30~/16, 30~/16, 4/16]");
    assert_eq!(plan.depth, 5);
    let b = check_mock(&inter, &x, &packing, 13);
    assert!(max_diff(&a, &b) < 1e-9);
}

#[test]
fn cryptonets_interleaved_on_ckks() {
    let x = uniform(&[4, 1, 28, 28], 0.0, 1.0, 37);
    let want = cryptonets().forward_plain(&x).unwrap();
    let mut outputs = Vec::new();
    for (strategy, packing) in [
        (Im2col, Packing::new([32, 32, 4]).unwrap()),
        (Interleaved, Packing::image(16, 16, 16).unwrap()),
    ] {
        let mut model = cryptonets();
        model.with_conv_strategies(&[strategy]).unwrap();
        let plan = model.plan(&packing, 4).unwrap();
        let p = params(13, plan.depth);
        let client =
            <CkksBackend as Backend>::Client::new_insecure_seeded_for_tests(&p, &plan.keys, 3)
                .unwrap();
        let start = std::time::Instant::now();
        let got = model
            .run_encrypted::<CkksBackend>(&client, &x, &packing)
            .unwrap();
        let err = max_diff(&got, &want);
        println!(
            "cryptonets {strategy} on CKKS N=2^13: depth {}, {} keys, {:?}, max error {err:.2e}; {}",
            plan.depth,
            plan.keys.rotations.len(),
            start.elapsed(),
            plan.cost
        );
        assert!(err < 1e-3, "{strategy}: error {err}");
        outputs.push(got);
    }
    assert!(max_diff(&outputs[0], &outputs[1]) < 2e-3);
}

#[test]
fn chain_on_ckks() {
    let x = uniform(&[4, 1, 14, 14], -1.0, 1.0, 40);
    let mut model = chain_model().build().unwrap();
    model
        .with_conv_strategies(&[Interleaved, Interleaved])
        .unwrap();
    let packing = Packing::image(4, 4, 128).unwrap();
    let plan = model.plan(&packing, 4).unwrap();
    let p = params(12, plan.depth);
    let client =
        <CkksBackend as Backend>::Client::new_insecure_seeded_for_tests(&p, &plan.keys, 4).unwrap();
    let got = model
        .run_encrypted::<CkksBackend>(&client, &x, &packing)
        .unwrap();
    let err = max_diff(&got, &model.forward_plain(&x).unwrap());
    println!("interleaved chain on CKKS N=2^12: max error {err:.2e}");
    assert!(err < 1e-3, "error {err}");
}

#[test]
fn mock_backend_without_counting_runs_too() {
    // the plain mock client with exactly the planned keys (no decorator)
    let mut model = chain_model().build().unwrap();
    model
        .with_conv_strategies(&[Interleaved, Interleaved])
        .unwrap();
    let packing = Packing::image(4, 4, 32).unwrap();
    let plan = model.plan(&packing, 4).unwrap();
    let client =
        <MockBackend as Backend>::Client::new(&params(10, plan.depth), &plan.keys).unwrap();
    let x = uniform(&[4, 1, 14, 14], -1.0, 1.0, 41);
    let got = model
        .run_encrypted::<MockBackend>(&client, &x, &packing)
        .unwrap();
    assert!(max_diff(&got, &model.forward_plain(&x).unwrap()) < 1e-6);
}

/// One pixel per tile (`th = tw = 1`, the batch-packed form the throughput plans choose): the
/// dense layer reading the interleaved form is a linear map of constants (scalar products, no
/// rotation), over several batch tiles, with a bias; exact counts and values on the counting
/// mock, and the same result on CKKS.
#[test]
fn one_pixel_per_tile_dense_is_a_linear_map() {
    let model = || {
        let mut m = Model::sequential(&[2, 6, 6])
            .conv2d(kernel([3, 2, 3, 3], 21), vec1(3, 22), 2, 1)
            .square()
            .flatten()
            .dense(mat(4, 27, 23), vec1(4, 24))
            .build()
            .unwrap();
        m.with_conv_strategies(&[Interleaved]).unwrap();
        m
    };
    let x = uniform(&[1100, 2, 6, 6], -1.0, 1.0, 25);
    let packing = Packing::image(1, 1, 512).unwrap();
    let m = model();
    let plan = m.plan(&packing, 1100).unwrap();
    let dense = &plan.nodes.last().unwrap().plan;
    assert_eq!(dense.output.to_string(), "[*/1, 4/1, 1100?/512]");
    assert_eq!((dense.cost.pt_mults, dense.cost.rotations), (0, 0));
    // 4 outputs x (3 channels x a 4x4 grid holding the 3x3 window) x 3 batch tiles
    assert_eq!(dense.cost.scalar_mults, 4 * (3 * 4 * 4) * 3);
    check_mock(&m, &x, &packing, 10);
    let packing = Packing::image(1, 1, 2048).unwrap();
    let plan = m.plan(&packing, 1100).unwrap();
    let p = params(12, plan.depth);
    let client =
        <CkksBackend as Backend>::Client::new_insecure_seeded_for_tests(&p, &plan.keys, 5).unwrap();
    let got = m
        .run_encrypted::<CkksBackend>(&client, &x, &packing)
        .unwrap();
    let want = m.forward_plain(&x).unwrap();
    assert!(max_diff(&got, &want) < 1e-3, "{}", max_diff(&got, &want));
}
