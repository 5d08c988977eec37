//! Compares the cost table's per-call prices with the per-call times of a real native run, per
//! node and operation kind:
//! `cargo run --release --example op_times -- plan.yaml [costs.yaml] [runs]`.
//! Each node's wall time and per-kind call times are the minimum over the runs (robust to a
//! noisy machine).
//! The run is the plan's (its threads, batch and keys) under the counting decorator, so each
//! node's measured wall time, the sum of its measured calls and the table's price of the same
//! calls can be read side by side (a diagnostic for the simulator's cost model, issue 8).

use hetile::backend::{Backend, Client};
use hetile::ckks::CkksBackend;
use hetile::optimizer::Plan;
use hetile::plan_model::{load_source, sample_batch};
use hetile::simulator::{CostTable, Counting, NominalSizes, OpCounts};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(plan_path) = args.first() else {
        return Err("usage: op_times plan.yaml [costs.yaml]".into());
    };
    let plan = Plan::from_yaml(&std::fs::read_to_string(plan_path)?)?;
    let costs = match args.get(1) {
        Some(p) => CostTable::from_yaml(&std::fs::read_to_string(p)?)?,
        None => CostTable::default_table()?,
    };
    let src = plan.model.as_ref().ok_or("the plan names no model")?;
    let model = load_source(src)?;
    let model = plan.configure(&model)?;
    let params = plan.params()?;
    let packing = plan.packing()?;
    let sizes = NominalSizes::of(&params);
    let log_n = plan.params.log_n;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(plan.threads)
        .build()?;
    pool.install(|| -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let client =
            <Counting<CkksBackend> as Backend>::Client::new(&params, &plan.key_requirements())?;
        let x = sample_batch(&plan, &model)?;
        let ct = model.encrypt_input::<Counting<CkksBackend>>(&client, &x, &packing)?;
        let ev = client.evaluator()?;
        let runs: usize = args.get(2).map_or(Ok(3), |r| r.parse())?;
        let mut best: Vec<(f64, OpCounts)> = Vec::new();
        for _ in 0..runs.max(1) {
            client.counter().reset();
            let mut before = client.snapshot();
            let mut nodes = Vec::new();
            let mut t = Instant::now();
            let started = Instant::now();
            model.forward_encrypted_observed::<Counting<CkksBackend>>(&ev, &ct, |_, _| {
                let now = client.snapshot();
                nodes.push((t.elapsed().as_secs_f64(), now.since(&before)));
                before = now;
                t = Instant::now();
            })?;
            println!("run: {:.4} s", started.elapsed().as_secs_f64());
            if best.is_empty() {
                best = nodes;
            } else {
                for ((bw, bc), (w, c)) in best.iter_mut().zip(nodes) {
                    *bw = bw.min(w);
                    let mut merged = OpCounts::new();
                    for (key, stat) in bc.iter() {
                        let other = c.get(key.kind, key.level);
                        merged.record(
                            key.kind,
                            key.level,
                            stat.count,
                            std::time::Duration::from_nanos(stat.nanos.min(other.nanos)),
                        );
                    }
                    *bc = merged;
                }
            }
        }
        let threads = plan.threads;
        for (i, (wall, counts)) in best.iter().enumerate() {
            let measured: f64 = counts.iter().map(|(_, s)| s.nanos as f64 * 1e-9).sum();
            println!(
                "node {i}: wall {:.4} s, sum of calls {:.4} s ({:.2} threads busy)",
                wall,
                measured,
                measured / wall.max(1e-12)
            );
            for (key, stat) in counts.iter() {
                if stat.count == 0 {
                    continue;
                }
                let f = costs.structure_factor(key.kind, log_n, key.level, Some(&sizes));
                let one = costs.latency(key.kind, log_n, key.level, 1)? * f;
                let par = costs.parallel_latency(key.kind, log_n, key.level, threads)? * f;
                let t = costs.latency(key.kind, log_n, key.level, threads)? * f;
                let per = stat.nanos as f64 * 1e-9 / stat.count as f64;
                println!(
                    "  {:<22} L{:<2} x{:<7} measured/call {:>9.1} us | table 1thr {:>9.1} par {:>9.1} (x{}={:>9.1}) {}thr {:>9.1}",
                    key.kind.name(),
                    key.level,
                    stat.count,
                    per * 1e6,
                    one * 1e6,
                    par * 1e6,
                    threads,
                    par * threads as f64 * 1e6,
                    threads,
                    t * 1e6
                );
            }
        }
        Ok(())
    })
    .map_err(|e| e as Box<dyn std::error::Error>)
}
