//! Whole models of hetile-layers on the simulator: the counted operations equal those on the
//! mock and the model plan's, and the simulated run reaches the planned depth.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions unwrap too

mod common;

use hetile_backend::{Backend, Client, Meta};
use hetile_layers::{Model, Packing};
use hetile_mock::MockBackend;
use hetile_sim::{Counting, CountingClient, OpCounts, OpKind, SimBackend};
use ndarray::{Array1, Array2, Array4, ArrayD, Dimension, IxDyn};

fn models() -> Vec<(&'static str, Model, [usize; 3], usize)> {
    let conv = Array4::from_shape_fn((2, 1, 3, 3), |(c, _, i, j)| {
        0.1 * (c + i) as f64 - 0.05 * j as f64
    });
    let dense = Array2::from_shape_fn((3, 8), |(o, f)| 0.1 * ((o * 8 + f) % 5) as f64 - 0.2);
    let cnn = Model::sequential(&[1, 6, 6])
        .conv2d(conv, Array1::from(vec![0.1, -0.1]), 1, 0)
        .square()
        .avg_pool(2, 2)
        .flatten()
        .dense(dense, Array1::zeros(3))
        .build()
        .unwrap();
    let d1 = Array2::from_shape_fn((16, 20), |(o, f)| ((o + 2 * f) % 7) as f64 / 20.0 - 0.15);
    let d2 = Array2::from_shape_fn((4, 16), |(o, f)| ((3 * o + f) % 5) as f64 / 10.0 - 0.2);
    let mlp = Model::sequential(&[20])
        .dense(d1, Array1::from_elem(16, 0.05))
        .poly(vec![0.1, 0.5, 0.25, -0.05])
        .dense(d2, Array1::zeros(4))
        .build()
        .unwrap();
    let d3 = Array2::from_shape_fn((20, 20), |(o, f)| if o == f { 0.5 } else { 0.01 });
    let residual = Model::sequential(&[20])
        .dense(d3, Array1::zeros(20))
        .square()
        .add_from(1)
        .build()
        .unwrap();
    vec![
        ("cnn", cnn, [16, 16, 4], 4),
        ("mlp", mlp, [32, 8, 4], 4),
        ("residual", residual, [32, 8, 4], 4),
    ]
}

/// Encrypts a batch, resets the counter and runs the model; returns the server-side counts and
/// the output level.
fn run<B: Backend>(
    model: &Model,
    packing: &Packing,
    batch: usize,
) -> Result<(OpCounts, usize), String> {
    let params = common::small_params(11, 8);
    let plan = model.plan(packing, batch).map_err(|e| e.to_string())?;
    let client: CountingClient<B> = Client::new(&params, &plan.keys).map_err(|e| e.to_string())?;
    let ev = client.evaluator().map_err(|e| e.to_string())?;
    let mut dims = vec![batch];
    dims.extend_from_slice(model.input_dims());
    let x = ArrayD::from_shape_fn(IxDyn(&dims), |ix| {
        (ix.slice().iter().sum::<usize>() % 5) as f64 / 10.0
    });
    let t = model
        .encrypt_input::<Counting<B>>(&client, &x, packing)
        .map_err(|e| e.to_string())?;
    client.counter().reset();
    let y = model
        .forward_encrypted::<Counting<B>>(&ev, &t)
        .map_err(|e| e.to_string())?;
    Ok((client.snapshot(), y.tiles()[0].level().0))
}

#[test]
fn models_count_alike_on_the_simulator_and_the_mock_and_as_planned() {
    for (name, model, tile, batch) in models() {
        let packing = Packing::new(tile).unwrap();
        let plan = model.plan(&packing, batch).unwrap();
        let sim = run::<SimBackend>(&model, &packing, batch);
        let mock = run::<MockBackend>(&model, &packing, batch);
        let (sim, mock) = (sim.unwrap(), mock.unwrap());
        assert_eq!(sim.0.counts_only(), mock.0.counts_only(), "{name}");
        assert_eq!(sim.1, mock.1, "{name}: output level");
        assert_eq!(sim.1, 8 - plan.depth, "{name}: depth");
        let mut counted = sim.0.to_op_cost();
        counted.depth = plan.cost.depth;
        // hetile-layers' plans count the doublings of the Chebyshev recurrence (`mul_integer`
        // by 2) as scalar products, where OpCost's documentation names only `mul_scalar`.
        counted.scalar_mults += sim.0.count(OpKind::MulInteger) as usize;
        assert_eq!(counted, plan.cost, "{name}: counted vs planned\n{plan}");
    }
}
