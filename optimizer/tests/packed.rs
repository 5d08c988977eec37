//! Packed (one-sample, channel-packed) plans: the simulator's counts equal the counting mock's
//! per stage, the search keeps the fastest candidate under the memory cap, and a cap nothing
//! fits is a typed error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hetile_backend::{Backend, Client, Params, SecurityLevel};
use hetile_layers::packed::PackedNet;
use hetile_layers::Model;
use hetile_mock::MockBackend;
use hetile_opt::chain::chains;
use hetile_opt::packed::{plan_packed, simulate_packed};
use hetile_opt::OptError;
use hetile_sim::{CostTable, Counting, OpCounts, SimBackend};
use ndarray::{Array1, Array2, Array4};

fn small_alexnet() -> Model {
    let k = |o: usize, i: usize, s: usize| {
        Array4::from_shape_fn((o, i, s, s), |(a, b, c, d)| {
            ((a * 7 + b * 5 + c * 3 + d) % 11) as f64 / 40.0 - 0.12
        })
    };
    let v = |n: usize| Array1::from_shape_fn(n, |i| (i % 5) as f64 / 20.0);
    Model::sequential(&[3, 30, 30])
        .conv2d(k(6, 3, 5), v(6), 2, 2)
        .square()
        .avg_pool(3, 2)
        .conv2d(k(8, 6, 3), v(8), 1, 1)
        .square()
        .avg_pool(3, 2)
        .conv2d(k(5, 8, 3), v(5), 1, 1)
        .square()
        .flatten()
        .dense(
            Array2::from_shape_fn((10, 45), |(a, b)| ((a + 3 * b) % 7) as f64 / 30.0),
            v(10),
        )
        .build()
        .unwrap()
}

/// Per stage counts of a run on `B` under the counting decorator.
fn stage_counts<B: Backend>(net: &PackedNet<'_>, params: &Params) -> Vec<OpCounts> {
    let client = <Counting<B> as Backend>::Client::new(params, &net.key_requirements()).unwrap();
    let image = vec![0.25; 3 * 30 * 30];
    let input = net.encrypt_input::<Counting<B>>(&client, &image).unwrap();
    let counter = client.counter().clone();
    counter.reset();
    let _ = counter.take_since_last();
    let ev = client.evaluator().unwrap();
    let mut per = Vec::new();
    net.forward::<Counting<B>>(&ev, input, &mut |_| per.push(counter.take_since_last()))
        .unwrap();
    per
}

fn kinds(c: &OpCounts) -> Vec<(String, usize, u64)> {
    c.iter()
        .map(|(k, s)| (format!("{:?}", k.kind), k.level, s.count))
        .collect()
}

#[test]
fn simulated_counts_equal_mock_counts_per_stage() {
    let model = small_alexnet();
    let net = PackedNet::new(&model, 4096).unwrap();
    let params = chains(13, net.depth().unwrap(), 30, SecurityLevel::Insecure)
        .into_iter()
        .next()
        .unwrap();
    let sim = stage_counts::<SimBackend>(&net, &params);
    let mock = stage_counts::<MockBackend>(&net, &params);
    assert_eq!(sim.len(), net.stages().len());
    for (i, (s, m)) in sim.iter().zip(&mock).enumerate() {
        assert_eq!(kinds(s), kinds(m), "stage {i} ({})", net.stages()[i].kind());
    }
}

#[test]
fn search_keeps_the_fastest_plan_under_the_cap() {
    let model = small_alexnet();
    let costs = CostTable::default_table().unwrap();
    let choice = plan_packed(
        &model,
        &[13, 14],
        30,
        SecurityLevel::Insecure,
        1,
        u64::MAX,
        &costs,
    )
    .unwrap();
    assert!(choice.candidates.len() >= 2);
    let best = choice
        .candidates
        .iter()
        .map(|c| c.latency_seconds)
        .fold(f64::INFINITY, f64::min);
    assert_eq!(choice.chosen.latency_seconds, best);
    assert!(choice.chosen.stages.iter().all(|s| s.seconds >= 0.0));
    assert_eq!(choice.chosen.stages.len(), 9);
    // the conv stages do plaintext products, the poolings rotations only
    assert!(choice.chosen.stages[0].pt_mults > 0);
    assert!(choice.chosen.stages[2].rotations > 0 && choice.chosen.stages[2].pt_mults == 0);
    // a cap below the smallest candidate leaves nothing, with the reasons
    let smallest = choice
        .candidates
        .iter()
        .map(|c| c.peak_memory_bytes)
        .min()
        .unwrap();
    match plan_packed(
        &model,
        &[13, 14],
        30,
        SecurityLevel::Insecure,
        1,
        smallest - 1,
        &costs,
    ) {
        Err(OptError::NoValidPlan { reasons }) => assert!(reasons.contains("above the cap")),
        other => panic!("expected no plan, got {other:?}"),
    }
    // the cap just at the smallest keeps exactly that one
    let capped = plan_packed(
        &model,
        &[13, 14],
        30,
        SecurityLevel::Insecure,
        1,
        smallest,
        &costs,
    )
    .unwrap();
    assert_eq!(capped.chosen.peak_memory_bytes, smallest);
}

#[test]
fn fewer_digits_mean_smaller_keys() {
    let model = small_alexnet();
    let net = PackedNet::new(&model, 8192).unwrap();
    let costs = CostTable::default_table().unwrap();
    let options = chains(14, net.depth().unwrap(), 30, SecurityLevel::Classical128);
    assert!(options.len() >= 2);
    let keys: Vec<u64> = options
        .iter()
        .map(|p| simulate_packed(&net, p, 1, &costs).unwrap().key_bytes)
        .collect();
    assert!(keys.windows(2).all(|w| w[1] < w[0]), "{keys:?}");
}

#[test]
fn simulating_leaves_the_callers_threads_alone() {
    // a simulated pass runs on a one-thread pool of its own; the caller's later parallel work
    // (the encrypted run after the plan search) must still see its own pool
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let model = small_alexnet();
    let costs = CostTable::default_table().unwrap();
    let search = move || {
        plan_packed(
            &model,
            &[13],
            30,
            SecurityLevel::Insecure,
            2,
            u64::MAX,
            &costs,
        )
        .unwrap();
    };
    let (before, after) = std::thread::spawn(move || {
        let before = rayon::current_num_threads();
        search();
        (before, rayon::current_num_threads())
    })
    .join()
    .unwrap();
    assert_eq!(before, after);
    // and inside a caller's pool too
    let inside = pool.install(|| {
        plan_packed(
            &small_alexnet(),
            &[13],
            30,
            SecurityLevel::Insecure,
            2,
            u64::MAX,
            &CostTable::default_table().unwrap(),
        )
        .unwrap();
        rayon::current_num_threads()
    });
    assert_eq!(inside, 2);
}
