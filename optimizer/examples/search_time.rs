//! Times the optimizer on the test models: `cargo run --release -p hetile-opt --example
//! search_time -- [model.onnx ...]` prints each objective's chosen plan and the search time.

use hetile_layers::onnx::{load, ImportOptions};
use hetile_opt::{optimize, BatchSize, Objective, Requirements};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../layers/tests/models");
        paths = vec![
            format!("{dir}/cryptonets.onnx"),
            format!("{dir}/tenseal_convnet.onnx"),
        ];
    }
    for path in paths {
        let model = load(&path, &ImportOptions::default())?;
        for (objective, batch) in [
            (Objective::Latency, BatchSize::Fixed(1)),
            (Objective::Throughput, BatchSize::Choose),
        ] {
            let req = Requirements {
                objective,
                batch,
                ..Requirements::default()
            };
            let t = Instant::now();
            let found = optimize(&model, &req)?;
            let secs = t.elapsed().as_secs_f64();
            let best = found
                .candidates
                .first()
                .map(|c| c.describe())
                .unwrap_or_default();
            println!("{path} {objective}: {secs:.2} s search; best {best}");
        }
    }
    Ok(())
}
