//! The counting decorator on the simulator counts exactly what it counts on the mock, and what
//! the tile plans predict; the simulator tracks live objects.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions unwrap too

mod common;

use hetile_backend::{Backend, Client, KeyRequirements, Params};
use hetile_mock::MockBackend;
use hetile_sim::{Counting, CountingClient, OpCounts, OpKind, SimBackend};
use hetile_tiles::{
    plan, BinaryOp, MatVecLayout, OpCost, Operand, PlainMatrix, TileShape, TileTensor,
};
use ndarray::{Array1, Array2, ArrayD, IxDyn};

/// Server-side counts of a matvec (Rows and Columns layouts), a sum and a product, each with
/// the counter reset after the client-side setup; returns them with their plans' costs.
fn tile_counts<B: Backend>(params: &Params) -> Vec<(&'static str, OpCounts, OpCost)> {
    let mut out = Vec::new();
    let m = Array2::from_shape_fn((16, 40), |(i, j)| ((i * 3 + j) % 7) as f64 / 10.0);
    let v = Array1::from_shape_fn(40, |i| i as f64 / 40.0);
    for (name, layout, tile) in [
        ("matvec rows", MatVecLayout::Rows, [16, 32]),
        ("matvec columns", MatVecLayout::Columns, [32, 16]),
    ] {
        let p = layout.plan(16, 40, tile).unwrap();
        let client: CountingClient<B> =
            Client::new_insecure_seeded_for_tests(params, &p.key_requirements(), 3).unwrap();
        let ev = client.evaluator().unwrap();
        let w =
            PlainMatrix::<Counting<B>>::encode(&ev, &m, layout, tile, params.max_level()).unwrap();
        let x = w.encrypt_vector(&client, &v).unwrap();
        client.counter().reset();
        let _y = w.apply(&ev, &x).unwrap();
        out.push((name, client.snapshot(), p.cost));
    }
    let shape: TileShape = "[20/8, 100/64]".parse().unwrap();
    let a = ArrayD::from_shape_fn(IxDyn(&[20, 100]), |ix| (ix[0] + ix[1]) as f64 / 200.0);
    let ps = plan::sum(&shape, 1).unwrap();
    let pm = plan::binary(&shape, &shape, BinaryOp::Mul, Operand::Ciphertext).unwrap();
    let keys = ps.key_requirements().with_relinearization();
    let client: CountingClient<B> = Client::new(params, &keys).unwrap();
    let ev = client.evaluator().unwrap();
    let t = TileTensor::<Counting<B>>::encrypt(&client, &a, shape).unwrap();
    client.counter().reset();
    let _s = t.sum(&ev, 1).unwrap();
    out.push(("sum", client.snapshot(), ps.cost));
    client.counter().reset();
    let _p = t.mul(&ev, &t).unwrap();
    out.push(("mul", client.snapshot(), pm.cost));
    out
}

#[test]
fn simulated_counts_equal_the_mocks_and_the_plans() {
    let params = common::small_params(10, 3);
    let sim = tile_counts::<SimBackend>(&params);
    let mock = tile_counts::<MockBackend>(&params);
    for ((name, s, cost), (_, m, _)) in sim.iter().zip(&mock) {
        assert_eq!(s.counts_only(), m.counts_only(), "{name}");
        assert!(s.total() > 0, "{name} counted nothing");
        let mut c = s.to_op_cost();
        c.depth = cost.depth;
        assert_eq!(&c, cost, "{name}: counts vs plan");
    }
    // the product runs at the top level, the sum's rotations too
    let (_, mul, _) = &sim[3];
    assert_eq!(mul.get(OpKind::Mul, 3).count, 6);
    assert_eq!(mul.get(OpKind::Rescale, 3).count, 6);
}

#[test]
fn native_counts_equal_the_simulated_ones() {
    let params = common::small_params(10, 3);
    let sim = tile_counts::<SimBackend>(&params);
    let native = tile_counts::<hetile_ckks::CkksBackend>(&params);
    for ((name, s, _), (_, n, _)) in sim.iter().zip(&native) {
        assert_eq!(s.counts_only(), n.counts_only(), "{name}");
    }
}

#[test]
fn counters_are_shared_and_record_time() {
    let params = common::small_params(10, 3);
    let keys = KeyRequirements::none().with_relinearization();
    let client: CountingClient<MockBackend> = Client::new(&params, &keys).unwrap();
    let ev1 = client.evaluator().unwrap();
    let ev2 = client.evaluator().unwrap();
    let a = client.encrypt_values(&[1.0, 2.0]).unwrap();
    let _ = hetile_backend::Evaluator::mul(&ev1, &a, &a).unwrap();
    let _ = hetile_backend::Evaluator::mul(&ev2, &a, &a).unwrap();
    // failures are not counted
    assert!(hetile_backend::Evaluator::rotate(&ev1, &a, 1).is_err());
    let c = client.snapshot();
    assert_eq!(c.count(OpKind::Mul), 2);
    assert_eq!(c.count(OpKind::Encrypt), 1);
    assert_eq!(c.count(OpKind::Encode), 1);
    assert_eq!(c.count(OpKind::Rotate), 0);
    assert_eq!(c.get(OpKind::Mul, 3).count, 2);
    assert!(c.total_time().as_nanos() > 0);
    assert_eq!(c.total(), 4);
}

#[test]
fn the_simulator_tracks_live_objects_and_the_peak() {
    let params = common::small_params(10, 3);
    let keys = KeyRequirements::none()
        .with_relinearization()
        .with_rotations([1, 2, 3]);
    let client = <SimBackend as Backend>::Client::new(&params, &keys).unwrap();
    let ev = client.evaluator().unwrap();
    let n = params.degree().get() as u64;
    let before = client.memory();
    assert_eq!(before.switching_keys, 4);
    {
        let a = client.encrypt_values(&[1.0]).unwrap(); // plaintext dropped inside
        let b = hetile_backend::Evaluator::rotate(&ev, &a, 1).unwrap();
        let c = hetile_backend::Evaluator::rescale(&ev, &b).unwrap();
        let m = client.memory();
        assert_eq!(m.live_ciphertexts, vec![0, 0, 1, 2]);
        assert_eq!(m.live_plaintexts, vec![0, 0, 0, 0]);
        assert_eq!(m.live_bytes, 2 * n * 8 * (4 + 4 + 3));
        // peak: plaintext (4 limbs) + ciphertext (8), or three ciphertexts (8 + 8 + 8)
        assert_eq!(m.peak_bytes, 3 * 2 * n * 8 * 4);
        assert_eq!(m.peak_ciphertexts, vec![0, 0, 0, 3]);
        drop((a, c));
        assert_eq!(client.memory().live_ciphertexts, vec![0, 0, 0, 1]);
    }
    let m = client.memory();
    assert_eq!(m.live_bytes, 0);
    assert_eq!(m.ciphertexts_created, 3);
    assert_eq!(m.plaintexts_created, 1);
    assert!(m.peak_total_bytes() > m.peak_bytes);
}

/// Fused sums of products on `B` under the counting decorator: a linear map (3 terms, 2
/// outputs), a linear combination (2 terms), a `mul_plain_sum` (2 terms), and a failing map.
fn fused_counts<B: Backend>(params: &Params) -> (OpCounts, Vec<String>) {
    use hetile_backend::Evaluator;
    let client: CountingClient<B> = Client::new(params, &KeyRequirements::none()).unwrap();
    let ev = client.evaluator().unwrap();
    let a = client.encrypt_values(&[1.0, 2.0]).unwrap();
    let b = client.encrypt_values(&[0.5]).unwrap();
    let c = client.encrypt_values(&[0.25]).unwrap();
    let pt = client
        .encode(
            &[0.5],
            params.max_level(),
            hetile_backend::Scale::from_log2(10.0).unwrap(),
        )
        .unwrap();
    client.counter().reset();
    let rows = vec![vec![(0, 0.5), (2, 0.25)], vec![(1, 1.0)]];
    assert_eq!(ev.linear_maps(&[&a, &b, &c], &rows).unwrap().len(), 2);
    ev.linear_combination(&[&a, &b], &[0.5, -0.5]).unwrap();
    ev.mul_plain_sum(&[&a, &b], &[&pt, &pt]).unwrap();
    // failures are not counted; the error kinds are kept for comparison
    let bottom = ev.drop_to_level(&a, hetile_backend::Level(0)).unwrap();
    let errors = [
        ev.linear_maps(&[&a], &[vec![(3, 1.0)]]).err(),
        ev.linear_combination(&[&bottom], &[0.5]).err(),
        ev.linear_combination(&[&a, &bottom], &[0.5, 0.5]).err(),
        ev.mul_plain_sum(&[&a], &[&pt, &pt]).err(),
        ev.linear_maps(&[&a, &b], &[vec![]]).err(),
    ]
    .iter()
    .map(|e| {
        let e = e.as_ref().unwrap(); // the call must fail
        format!("{e:?}")
            .split(['{', '(', ' '])
            .next()
            .unwrap()
            .to_string()
    })
    .collect();
    let mut counts = client.snapshot();
    // the drop_to_level above is bookkeeping for the error cases
    counts = counts.since(&{
        let mut d = OpCounts::new();
        d.record(OpKind::DropLevel, 3, 1, std::time::Duration::ZERO);
        d
    });
    (counts, errors)
}

#[test]
fn fused_sums_of_products_count_per_term_and_output() {
    let params = common::small_params(10, 3);
    let (sim, sim_errors) = fused_counts::<SimBackend>(&params);
    let (mock, mock_errors) = fused_counts::<MockBackend>(&params);
    let (native, native_errors) = fused_counts::<hetile_ckks::CkksBackend>(&params);
    assert_eq!(sim.counts_only(), mock.counts_only());
    assert_eq!(sim.counts_only(), native.counts_only());
    assert_eq!(sim.get(OpKind::LinearMapTerm, 3).count, 3 + 2);
    assert_eq!(sim.get(OpKind::LinearMapOutput, 3).count, 2 + 1);
    assert_eq!(sim.get(OpKind::MulPlainSumTerm, 3).count, 2);
    assert_eq!(sim.get(OpKind::MulPlainSumOutput, 3).count, 1);
    assert_eq!(
        sim.count(OpKind::MulScalar),
        0,
        "a fused call is not priced term by term"
    );
    assert_eq!(sim.count(OpKind::Add), 0);
    // the same error kinds as the native backend; the mock's term-by-term default bodies agree
    // except on mixed levels, where its first scalar product fails first (level 0)
    assert_eq!(sim_errors, native_errors);
    for (i, (s, m)) in sim_errors.iter().zip(&mock_errors).enumerate() {
        if i != 2 {
            assert_eq!(s, m, "error case {i}");
        }
    }
    // term by term, the fused calls are 5 scalar and 2 plain products and 3 additions
    let cost = sim.to_op_cost();
    assert_eq!(
        (cost.scalar_mults, cost.pt_mults, cost.additions),
        (5, 2, 3)
    );
}
