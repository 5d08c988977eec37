//! `hetile simulate plan.yaml`: the simulator's prediction for a plan (table or JSON), and with
//! `--measure` a real native run beside it.

use super::model_args::load_source;
use super::optimize::load_costs;
use super::CliError;
use clap::Args;
use hetile::backend::{Backend, Client};
use hetile::ckks::CkksBackend;
use hetile::layers::Model;
use hetile::optimizer::{simulate_timed, Plan, Prediction};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `hetile simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The plan (YAML or JSON, from `hetile optimize`); it names the ONNX model.
    plan: PathBuf,
    /// The cost table (YAML from `hetile calibrate`); default: the shipped one.
    #[arg(long)]
    costs: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Also run the plan for real on the native backend and print the measurement beside the
    /// prediction (median server time of `--repeats` runs after one warm-up run; peak memory
    /// from the process's resident high-water mark).
    #[arg(long)]
    measure: bool,
    /// Server runs measured with `--measure`.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
}

/// A real native run of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// Median server time of one batch, in seconds.
    pub latency_seconds: f64,
    /// Samples per second at the plan's batch size.
    pub throughput_per_second: f64,
    /// Client encryption time of one batch, in seconds.
    pub encrypt_seconds: f64,
    /// Peak resident memory above the process's baseline before key generation, in bytes.
    pub peak_memory_bytes: u64,
    /// Thread count of the run.
    pub threads: usize,
    /// Per node, the median over the runs of its server time, in seconds.
    pub layer_seconds: Vec<f64>,
}

/// Reads a `/proc/self/status` field in bytes (`VmHWM`, `VmRSS`).
fn proc_status_bytes(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs `plan` on `model` with the native backend: key generation with exactly the plan's
/// keys, encryption of a deterministic batch, one warm-up server run and `repeats` measured ones,
/// decryption.
/// Errors: backend and layer errors.
pub fn measure(model: &Model, plan: &Plan, repeats: usize) -> Result<Measurement, CliError> {
    let err = |e: &dyn std::fmt::Display| CliError::new(e.to_string());
    let configured = plan.configure(model).map_err(|e| err(&e))?;
    let model = &configured;
    let params = plan.params().map_err(|e| err(&e))?;
    let packing = plan.packing().map_err(|e| err(&e))?;
    // the peak counter restarts here ("5" clears the high-water mark; Linux >= 4.0)
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let baseline = proc_status_bytes("VmRSS:").unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(plan.threads)
        .build()
        .map_err(|e| err(&e))?;
    pool.install(|| {
        let client = <CkksBackend as Backend>::Client::new(&params, &plan.key_requirements())
            .map_err(|e| err(&e))?;
        let x = hetile::plan_model::sample_batch(plan, model).map_err(|e| err(&e))?;
        let t = Instant::now();
        let ct = model
            .encrypt_input::<CkksBackend>(&client, &x, &packing)
            .map_err(|e| err(&e))?;
        let encrypt_seconds = t.elapsed().as_secs_f64();
        drop(x);
        let ev = client.evaluator().map_err(|e| err(&e))?;
        let mut times = Vec::new();
        let mut per_node: Vec<Vec<f64>> = vec![Vec::new(); model.nodes().len()];
        // One warm-up run first, not measured: a server's first inference also grows the heap
        // (fresh pages fault and are cleared) and reads its keys and code in for the first
        // time; the runs after it are the steady state a server serves in (the CryptoNets
        // batch-1 plan: 0.134 s, then 0.112 s, then 0.092-0.095 s).
        for run in 0..=repeats.max(1) {
            let t = Instant::now();
            let out = model
                .forward_encrypted_observed::<CkksBackend>(&ev, &ct, |i, d| {
                    if let (Some(v), true) = (per_node.get_mut(i), run > 0) {
                        v.push(d.as_secs_f64());
                    }
                })
                .map_err(|e| err(&e))?;
            if run > 0 {
                times.push(t.elapsed().as_secs_f64());
            }
            model
                .decrypt_output::<CkksBackend>(&client, &out)
                .map_err(|e| err(&e))?;
        }
        times.sort_by(f64::total_cmp);
        let latency = times[times.len() / 2];
        let layer_seconds = per_node
            .iter_mut()
            .map(|v| {
                v.sort_by(f64::total_cmp);
                v.get(v.len() / 2).copied().unwrap_or(0.0)
            })
            .collect();
        let peak = proc_status_bytes("VmHWM:").unwrap_or(0);
        Ok(Measurement {
            latency_seconds: latency,
            throughput_per_second: plan.batch_size as f64 / latency,
            encrypt_seconds,
            peak_memory_bytes: peak.saturating_sub(baseline),
            threads: plan.threads,
            layer_seconds,
        })
    })
}

/// Reads a plan file (JSON when it ends in .json, else YAML).
/// Errors: unreadable or malformed file.
pub fn read_plan(path: &PathBuf) -> Result<Plan, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    let plan = if path.extension().is_some_and(|x| x == "json") {
        Plan::from_json(&text)
    } else {
        Plan::from_yaml(&text)
    };
    plan.map_err(|e| CliError::new(format!("{}: {e}", path.display())))
}

fn ratio(measured: f64, predicted: f64) -> String {
    if measured > 0.0 {
        format!("{:+.1}%", (predicted / measured - 1.0) * 100.0)
    } else {
        "n/a".into()
    }
}

/// Runs `hetile simulate`.
/// Errors: unreadable plan, a plan without a model, import errors, a plan that no longer fits
/// its model, simulator or backend errors.
pub fn run(a: SimulateArgs) -> Result<(), CliError> {
    let plan = read_plan(&a.plan)?;
    let source = plan.model.as_ref().ok_or_else(|| {
        CliError::new("the plan names no model file (make it with `hetile optimize model.onnx`)")
    })?;
    let model = load_source(source)?;
    plan.check_against(&model)
        .map_err(|e| CliError::new(e.to_string()))?;
    let costs = load_costs(a.costs.as_ref())?;
    // Repeated simulations (at least 3, up to 21 or half a second): the median time of the
    // simulated server pass and of the whole call, as the measurement takes the median of its
    // runs; the prediction is deterministic.
    let mut calls = Vec::new();
    let mut passes = Vec::new();
    let mut predicted = Prediction::default();
    let begin = Instant::now();
    while calls.len() < 3 || (calls.len() < 21 && begin.elapsed().as_secs_f64() < 0.5) {
        let start = Instant::now();
        let (p, pass) =
            simulate_timed(&model, &plan, &costs).map_err(|e| CliError::new(e.to_string()))?;
        calls.push(start.elapsed().as_secs_f64());
        passes.push(pass);
        predicted = p;
    }
    calls.sort_by(f64::total_cmp);
    passes.sort_by(f64::total_cmp);
    let sim_seconds = calls[calls.len() / 2];
    let pass_seconds = passes[passes.len() / 2];
    let measured = if a.measure {
        Some(measure(&model, &plan, a.repeats)?)
    } else {
        None
    };
    if a.json {
        let v = serde_json::json!({
            "plan": a.plan.display().to_string(),
            "batch_size": plan.batch_size,
            "threads": plan.threads,
            "predicted": predicted,
            "simulation_seconds": pass_seconds,
            "simulate_call_seconds": sim_seconds,
            "measured": measured,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| CliError::new(e.to_string()))?
        );
        return Ok(());
    }
    println!(
        "plan {} (N = 2^{}, tile {:?}, batch {}, {} threads); server pass simulated in {:.1} us \
         ({:.1} ms with the model's configuration and the client)",
        a.plan.display(),
        plan.params.log_n,
        plan.packing,
        plan.batch_size,
        plan.threads,
        pass_seconds * 1e6,
        sim_seconds * 1e3
    );
    print!("{predicted}");
    if let Some(m) = measured {
        println!(
            "measured (native): latency {:.4} s, peak memory {:.1} MiB, encrypt {:.4} s",
            m.latency_seconds,
            m.peak_memory_bytes as f64 / 1048576.0,
            m.encrypt_seconds
        );
        for (l, m) in predicted.layers.iter().zip(&m.layer_seconds) {
            println!(
                "node {:>3} {:<12} predicted {:.4} s, measured {:.4} s ({})",
                l.index,
                l.kind,
                l.seconds,
                m,
                ratio(*m, l.seconds)
            );
        }
        println!(
            "prediction error: latency {}, memory {}",
            ratio(m.latency_seconds, predicted.latency_seconds),
            ratio(
                m.peak_memory_bytes as f64,
                predicted.peak_memory_bytes as f64
            )
        );
    }
    Ok(())
}
