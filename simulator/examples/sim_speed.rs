//! Times the 64 x 784 matrix-vector product (Rows layout, tile [64, 128]) at N = 2^14 on the
//! native backend and on the simulator, and prints the speed-up, the counted operations and the
//! predicted latency from the shipped cost table.
//!
//! `cargo run --release -p hetile-sim --example sim_speed`

use hetile_backend::{Backend, Client, Params};
use hetile_ckks::CkksBackend;
use hetile_sim::{CostTable, Counting, CountingClient, SimBackend};
use hetile_tiles::{MatVecLayout, PlainMatrix};
use ndarray::{Array1, Array2};
use std::time::Instant;

const ROWS: usize = 64;
const COLS: usize = 784;
const TILE: [usize; 2] = [64, 128];

/// Median seconds of `reps` products on backend `B` (weights encoded once, outside the timing).
fn time_matvec<B: Backend>(
    params: &Params,
    reps: usize,
) -> Result<f64, Box<dyn std::error::Error>> {
    let layout = MatVecLayout::Rows;
    let plan = layout.plan(ROWS, COLS, TILE)?;
    let client = B::Client::new_insecure_seeded_for_tests(params, &plan.key_requirements(), 1)?;
    let ev = client.evaluator()?;
    let m = Array2::from_shape_fn((ROWS, COLS), |(i, j)| {
        ((i * 31 + j) % 17) as f64 / 17.0 - 0.5
    });
    let v = Array1::from_shape_fn(COLS, |j| (j % 13) as f64 / 13.0);
    let w = PlainMatrix::<B>::encode(&ev, &m, layout, TILE, params.max_level())?;
    let x = w.encrypt_vector(&client, &v)?;
    w.apply(&ev, &x)?;
    let mut times = Vec::new();
    for _ in 0..reps {
        let t = Instant::now();
        w.apply(&ev, &x)?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let params = Params::preset("N14_L4")?;
    let native = time_matvec::<CkksBackend>(&params, 5)?;
    let sim = time_matvec::<SimBackend>(&params, 201)?;
    println!(
        "matvec {ROWS}x{COLS} tile {TILE:?} at N = 2^14, {} rayon threads",
        rayon_threads()
    );
    println!(
        "native: {:.3} ms, simulated: {:.3} us, speed-up {:.0}x",
        native * 1e3,
        sim * 1e6,
        native / sim
    );

    // counts of one simulated product, and the prediction from the shipped table
    let layout = MatVecLayout::Rows;
    let plan = layout.plan(ROWS, COLS, TILE)?;
    let client: CountingClient<SimBackend> = Client::new(&params, &plan.key_requirements())?;
    let ev = client.evaluator()?;
    let m = Array2::zeros((ROWS, COLS));
    let w = PlainMatrix::<Counting<SimBackend>>::encode(&ev, &m, layout, TILE, params.max_level())?;
    let x = w.encrypt_vector(&client, &Array1::zeros(COLS))?;
    client.counter().reset();
    w.apply(&ev, &x)?;
    let counts = client.snapshot();
    let table = CostTable::default_table()?;
    let predicted = table.predict_latency(&counts, 14, rayon_threads())?;
    println!("counted: {}", counts.to_op_cost());
    println!(
        "predicted from the shipped table: {:.3} ms (measured {:.3} ms)",
        predicted.total_seconds * 1e3,
        native * 1e3
    );
    Ok(())
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
