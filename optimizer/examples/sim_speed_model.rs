//! Times the simulated server pass of a plan (median of many runs) against nothing else:
//! `cargo run --release -p hetile-opt --example sim_speed_model -- model.onnx plan.yaml [runs]`
//! prints the median time of the simulated server pass and the median whole `simulate` call.

use hetile_layers::onnx::{load, ImportOptions};
use hetile_opt::{simulate_timed, Plan};
use hetile_sim::CostTable;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(model_path), Some(plan_path)) = (args.first(), args.get(1)) else {
        return Err("usage: sim_speed_model model.onnx plan.yaml [runs]".into());
    };
    let runs: usize = args.get(2).map_or(Ok(50), |r| r.parse())?;
    let model = load(model_path, &ImportOptions::default())?;
    let plan = Plan::from_yaml(&std::fs::read_to_string(plan_path)?)?;
    let costs = CostTable::default_table()?;
    let mut passes = Vec::new();
    let mut calls = Vec::new();
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let (_, pass) = simulate_timed(&model, &plan, &costs)?;
        calls.push(t.elapsed().as_secs_f64());
        passes.push(pass);
    }
    passes.sort_by(f64::total_cmp);
    calls.sort_by(f64::total_cmp);
    println!(
        "server pass {:.1} us, whole simulate call {:.1} us (medians of {})",
        passes[passes.len() / 2] * 1e6,
        calls[calls.len() / 2] * 1e6,
        passes.len()
    );
    Ok(())
}
