//! The optimizer's contract: valid, deterministic, serializable plans whose keys are exactly
//! what the run needs, rejections with reasons, and a simulator whose counts equal a real
//! (mock) run's for every layer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hetile_backend::{Backend, Client, KeyRequirements, ParamsLiteral, SecurityLevel};
use hetile_layers::{ActivationFn, Model, Packing};
use hetile_mock::MockBackend;
use hetile_opt::{optimize, simulate, BatchSize, Objective, OptError, Plan, Requirements};
use hetile_sim::{CostTable, Counting, OpKind, SimBackend};
use hetile_tiles::TileTensor;
use ndarray::{Array1, Array2, Array4, ArrayD, Dimension, IxDyn};

fn mlp() -> Model {
    let w1 = Array2::from_shape_fn((8, 30), |(o, i)| ((o * 3 + i) % 7) as f64 * 0.04 - 0.1);
    let w2 = Array2::from_shape_fn((2, 8), |(o, i)| (o + i) as f64 * 0.05 - 0.2);
    Model::sequential(&[30])
        .dense(w1, Array1::from_elem(8, 0.01))
        .square()
        .dense(w2, Array1::zeros(2))
        .build()
        .unwrap()
}

fn small_cnn() -> Model {
    let conv = Array4::from_shape_fn((2, 1, 3, 3), |(c, _, i, j)| {
        0.1 * (c + i) as f64 - 0.05 * j as f64
    });
    let dense = Array2::from_shape_fn((3, 8), |(o, f)| 0.1 * ((o * 8 + f) % 5) as f64 - 0.2);
    Model::sequential(&[1, 6, 6])
        .conv2d(conv, Array1::from(vec![0.1, -0.1]), 1, 0)
        .square()
        .avg_pool(2, 2)
        .flatten()
        .dense(dense, Array1::zeros(3))
        .build()
        .unwrap()
}

fn insecure(log_n: u32, levels: usize) -> ParamsLiteral {
    let mut log_q = vec![50];
    log_q.extend(std::iter::repeat_n(40, levels));
    ParamsLiteral {
        log_n,
        log_q,
        log_p: vec![50, 50, 50],
        log_scale: 40,
        digits: None,
        security: SecurityLevel::Insecure,
        secret: Default::default(),
    }
}

fn req(objective: Objective, batch: BatchSize) -> Requirements {
    Requirements {
        objective,
        batch,
        threads: 1,
        ..Requirements::default()
    }
}

#[test]
fn plans_are_valid_deterministic_and_round_trip() {
    let model = mlp();
    let mut r = req(Objective::Throughput, BatchSize::Choose);
    r.max_memory_bytes = Some(16 << 30);
    let a = optimize(&model, &r).unwrap();
    let b = optimize(&model, &r).unwrap();
    assert_eq!(a.best, b.best, "the search is deterministic");
    let plan = &a.best;
    assert!(plan.params().is_ok(), "secure at 128 bits");
    assert_eq!(plan.batch_size, plan.packing[2]);
    assert!(plan.predicted.latency_seconds > 0.0 && plan.predicted.peak_memory_bytes > 0);
    assert_eq!(Plan::from_yaml(&plan.to_yaml().unwrap()).unwrap(), *plan);
    assert_eq!(Plan::from_json(&plan.to_json().unwrap()).unwrap(), *plan);
    assert!(matches!(
        Plan::from_yaml("params: 3"),
        Err(OptError::Serialization(_))
    ));
    // the best simulated candidates are ranked
    let sims: Vec<_> = a.candidates.iter().filter(|c| c.simulated).collect();
    assert!(sims.len() >= 2);
    for w in sims.windows(2) {
        assert!(w[0].score(Objective::Throughput) <= w[1].score(Objective::Throughput));
    }
    // latency with batch 1 chooses one sample per ciphertext
    let lat = optimize(&model, &req(Objective::Latency, BatchSize::Fixed(1))).unwrap();
    assert_eq!(lat.best.batch_size, 1);
    assert!(lat.best.predicted.latency_seconds <= plan.predicted.latency_seconds);
}

#[test]
fn generated_keys_are_exactly_the_plans_steps() {
    let model = small_cnn();
    let plan = Plan::manual(&model, insecure(12, 6), [16, 128, 1], 1, 1).unwrap();
    let p = plan.params().unwrap();
    let packing = plan.packing().unwrap();
    let x = ArrayD::from_shape_fn(IxDyn(&[1, 1, 6, 6]), |ix| (ix[2] * ix[3] % 5) as f64 / 5.0);
    let client = <MockBackend as Backend>::Client::new(&p, &plan.key_requirements()).unwrap();
    let got = model
        .run_encrypted::<MockBackend>(&client, &x, &packing)
        .unwrap();
    let want = model.forward_plain(&x).unwrap();
    assert!(got
        .iter()
        .zip(want.iter())
        .all(|(g, w)| (g - w).abs() < 1e-6));
    assert!(!plan.rotation_steps.is_empty());
    // every step is needed: without any one of them the run fails
    for skip in &plan.rotation_steps {
        let keys = KeyRequirements::none()
            .with_relinearization()
            .with_rotations(plan.rotation_steps.iter().copied().filter(|s| s != skip));
        let c = <MockBackend as Backend>::Client::new(&p, &keys).unwrap();
        assert!(
            model
                .run_encrypted::<MockBackend>(&c, &x, &packing)
                .is_err(),
            "step {skip}"
        );
    }
}

#[test]
fn rejections_carry_reasons() {
    let model = mlp();
    let mut r = req(Objective::Latency, BatchSize::Fixed(1));
    r.max_memory_bytes = Some(1 << 20);
    match optimize(&model, &r) {
        Err(OptError::NoValidPlan { reasons }) => assert!(reasons.contains("memory"), "{reasons}"),
        other => panic!("expected NoValidPlan, got {other:?}"),
    }
    let mut r = req(Objective::Latency, BatchSize::Fixed(1));
    r.min_precision_bits = 40.0;
    match optimize(&model, &r) {
        Err(OptError::NoValidPlan { reasons }) => {
            assert!(reasons.contains("precision"), "{reasons}")
        }
        other => panic!("expected NoValidPlan, got {other:?}"),
    }
    let mut r = req(Objective::Memory, BatchSize::Fixed(4));
    r.security_bits = 256;
    let found = optimize(&model, &r).unwrap();
    let p = found.best.params().unwrap();
    assert_eq!(p.security(), SecurityLevel::Classical256);
    assert!(found
        .rejected
        .iter()
        .any(|x| x.reason.starts_with("security") || x.reason.starts_with("precision")));
    let mut bad = req(Objective::Latency, BatchSize::Fixed(1));
    bad.threads = 0;
    assert!(matches!(
        optimize(&model, &bad),
        Err(OptError::InvalidRequirement(_))
    ));
}

#[test]
fn manual_plans_are_checked() {
    let model = small_cnn();
    // depth 5 does not fit a 3-level chain
    assert!(matches!(
        Plan::manual(&model, insecure(12, 3), [16, 128, 1], 1, 1),
        Err(OptError::InvalidRequirement(_))
    ));
    // the packing must fill the slots
    assert!(Plan::manual(&model, insecure(12, 6), [16, 64, 1], 1, 1).is_err());
    // insecure parameters without the opt-out are refused
    let mut lit = insecure(12, 6);
    lit.security = SecurityLevel::Classical128;
    assert!(matches!(
        Plan::manual(&model, lit, [16, 128, 1], 1, 1),
        Err(OptError::Backend(_))
    ));
    let plan = Plan::manual(&model, insecure(12, 6), [16, 128, 1], 1, 1).unwrap();
    assert!(plan.check_against(&model).is_ok());
    assert!(plan.check_against(&mlp()).is_err());
}

/// One model per layer kind: the simulator's counts (per kind and level) equal those of the
/// same run counted on the mock.
#[test]
fn simulated_counts_equal_mock_counts_for_every_layer() {
    let conv = Array4::from_shape_fn((2, 1, 3, 3), |(c, _, i, j)| {
        0.1 * (c + i) as f64 - 0.05 * j as f64
    });
    let d = |o: usize, i: usize| {
        Array2::from_shape_fn((o, i), |(a, b)| ((a * 5 + b) % 7) as f64 * 0.03 - 0.09)
    };
    let mut approx = Model::sequential(&[6])
        .dense(d(4, 6), Array1::zeros(4))
        .approx(ActivationFn::Relu, 5)
        .dense(d(2, 4), Array1::zeros(2))
        .build()
        .unwrap();
    let samples = ArrayD::from_shape_fn(IxDyn(&[16, 6]), |ix| {
        ((ix[0] * 7 + ix[1]) % 11) as f64 / 5.0 - 1.0
    });
    approx.calibrate(&samples, 0.1).unwrap();
    let models: Vec<(&str, Model, Vec<usize>)> = vec![
        (
            "dense",
            Model::sequential(&[6])
                .dense(d(3, 6), Array1::zeros(3))
                .build()
                .unwrap(),
            vec![6],
        ),
        (
            "dense+square+dense",
            Model::sequential(&[6])
                .dense(d(4, 6), Array1::zeros(4))
                .square()
                .dense(d(2, 4), Array1::zeros(2))
                .build()
                .unwrap(),
            vec![6],
        ),
        (
            "poly",
            Model::sequential(&[6])
                .dense(d(4, 6), Array1::zeros(4))
                .poly(vec![0.1, 0.5, 0.25, 0.05])
                .build()
                .unwrap(),
            vec![6],
        ),
        ("approx", approx, vec![6]),
        (
            "residual",
            Model::sequential(&[6])
                .dense(d(6, 6), Array1::zeros(6))
                .square()
                .add_from(1)
                .dense(d(2, 6), Array1::zeros(2))
                .build()
                .unwrap(),
            vec![6],
        ),
        ("conv+pool+dense", small_cnn(), vec![1, 6, 6]),
        (
            "conv+flatten",
            Model::sequential(&[1, 6, 6])
                .conv2d(conv, Array1::zeros(2), 2, 1)
                .flatten()
                .build()
                .unwrap(),
            vec![1, 6, 6],
        ),
    ];
    // tiles packing features (plaintext weights: fused `mul_plain_sum`) and batch-only tiles
    // (constant weights per tile: fused linear maps)
    let mut kinds_seen = std::collections::BTreeSet::new();
    for ((name, model, dims), tile) in models
        .iter()
        .flat_map(|m| [(m, [16, 64, 2]), (m, [1, 1, 2048])])
    {
        let Ok(plan) = Plan::manual(model, insecure(12, 8), tile, 2, 1) else {
            assert_ne!(tile, [16, 64, 2], "{name}");
            continue;
        };
        let p = plan.params().unwrap();
        let packing: Packing = plan.packing().unwrap();
        let keys = plan.key_requirements();
        let mut shape = vec![2];
        shape.extend(dims.iter().copied());
        let x = ArrayD::from_shape_fn(IxDyn(&shape), |ix| {
            (ix.slice().iter().sum::<usize>() % 5) as f64 / 5.0
        });
        let counts = |mock: bool| {
            if mock {
                let c = <Counting<MockBackend> as Backend>::Client::new(&p, &keys).unwrap();
                let ct = model
                    .encrypt_input::<Counting<MockBackend>>(&c, &x, &packing)
                    .unwrap();
                c.counter().reset();
                let ev = c.evaluator().unwrap();
                model
                    .forward_encrypted::<Counting<MockBackend>>(&ev, &ct)
                    .unwrap();
                c.snapshot().counts_only()
            } else {
                let c = <Counting<SimBackend> as Backend>::Client::new(&p, &keys).unwrap();
                let ct = model
                    .encrypt_input::<Counting<SimBackend>>(&c, &x, &packing)
                    .unwrap();
                c.counter().reset();
                let ev = c.evaluator().unwrap();
                let out: TileTensor<Counting<SimBackend>> = model
                    .forward_encrypted::<Counting<SimBackend>>(&ev, &ct)
                    .unwrap();
                drop(out);
                c.snapshot().counts_only()
            }
        };
        let sim_counts = counts(false);
        assert_eq!(counts(true), sim_counts, "{name} {tile:?}");
        kinds_seen.extend(sim_counts.keys().map(|k| k.kind));
        // and the prediction is built from a run of the same code
        let pred = simulate(model, &plan, &CostTable::default_table().unwrap()).unwrap();
        assert_eq!(pred.layers.len(), model.nodes().len(), "{name}");
        assert!(pred.latency_seconds > 0.0, "{name}");
    }
    for kind in [
        OpKind::LinearMapTerm,
        OpKind::LinearMapOutput,
        OpKind::MulPlainSumTerm,
        OpKind::MulPlainSumOutput,
    ] {
        assert!(kinds_seen.contains(&kind), "no model ran a fused {kind}");
    }
}

#[test]
fn conv_strategies_are_searched_and_applied() {
    let model = small_cnn();
    let mut r = req(Objective::Throughput, BatchSize::Choose);
    r.max_memory_bytes = Some(8 << 30);
    let found = optimize(&model, &r).unwrap();
    let seen: std::collections::BTreeSet<&str> = found
        .candidates
        .iter()
        .flat_map(|c| c.plan.conv_strategies.iter().map(String::as_str))
        .collect();
    assert!(
        seen.contains("im2col") && seen.contains("interleaved"),
        "{seen:?}"
    );
    // every simulated candidate runs (mock) with its own strategies, keys and packing
    for c in found.candidates.iter().filter(|c| c.simulated).take(4) {
        let plan = &c.plan;
        let mut lit = plan.params.clone();
        lit.security = SecurityLevel::Insecure;
        let p = hetile_backend::Params::new(lit).unwrap();
        let configured = plan.configure(&model).unwrap();
        let n = plan.batch_size.min(3);
        let x = ArrayD::from_shape_fn(IxDyn(&[n, 1, 6, 6]), |ix| {
            ((ix[0] + ix[2] * ix[3]) % 5) as f64 / 5.0
        });
        let client = <MockBackend as Backend>::Client::new(&p, &plan.key_requirements()).unwrap();
        let got = configured
            .run_encrypted::<MockBackend>(&client, &x, &plan.packing().unwrap())
            .unwrap();
        let want = model.forward_plain(&x).unwrap();
        let err = got
            .iter()
            .zip(want.iter())
            .map(|(g, w)| (g - w).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-6, "{} err {err}", c.describe());
    }
    let mut bad = found.best.clone();
    bad.conv_strategies = vec!["fft".into()];
    assert!(matches!(
        bad.configure(&model),
        Err(OptError::InvalidRequirement(_))
    ));
}
