//! `hetile bench`: backend micro-benchmarks.

use super::CliError;
use clap::{Args, ValueEnum};
use hetile::bench::{bench_backend, BenchReport, OPS};
use hetile::bench_matvec::bench_matvec;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Target {
    /// The native RNS-CKKS backend's operations.
    Ckks,
    /// The plaintext mock backend's operations.
    Mock,
    /// The 64x784 plain-matrix x encrypted-vector product in several tile layouts.
    Matvec,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BackendName {
    /// The native RNS-CKKS backend.
    Ckks,
    /// The plaintext mock backend.
    Mock,
}

/// Arguments of `hetile bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to measure.
    #[arg(value_enum)]
    target: Target,
    /// The backend the matvec runs on.
    #[arg(long, value_enum, default_value = "ckks")]
    backend: BackendName,
    /// Parameter presets, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "N14_L4")]
    params: Vec<String>,
    /// Number of threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Timed repetitions per operation.
    #[arg(long, default_value_t = 10)]
    reps: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `hetile bench`.
pub fn run(a: BenchArgs) -> Result<(), CliError> {
    let report = match a.target {
        Target::Ckks => bench_backend::<hetile::ckks::CkksBackend>(&a.params, a.threads, a.reps)?,
        Target::Mock => bench_backend::<hetile::mock::MockBackend>(&a.params, a.threads, a.reps)?,
        Target::Matvec => return run_matvec(&a),
    };
    if a.json {
        let s = serde_json::to_string(&report)
            .map_err(|e| CliError::new(format!("cannot print JSON: {e}")))?;
        println!("{s}");
    } else {
        print_table(&report);
    }
    Ok(())
}

fn print_table(r: &BenchReport) {
    println!(
        "backend {} ({} thread(s)); median [min-max] ms",
        r.backend, r.threads
    );
    for (name, ops) in &r.results {
        if let Some(p) = r.params.get(name) {
            println!(
                "\n{name}: N = 2^{}, log_q {:?}, log_p {:?}, {} digits",
                p.log_n, p.log_q, p.log_p, p.digits
            );
        }
        for op in OPS {
            if let Some(s) = ops.get(op) {
                println!(
                    "  {op:<18} {:>10.3} [{:.3}-{:.3}]",
                    s.median_ms, s.min_ms, s.max_ms
                );
            }
        }
        if let Some(p) = r.precision_bits.get(name) {
            println!(
                "  precision bits: fresh_sk {:.1}, fresh_pk {:.1}, mul_rescale {:.1}, rotate {:.1}",
                p.fresh_sk, p.fresh_pk, p.mul_rescale, p.rotate
            );
        }
        if let Some(t) = r.mul_rescale_trials.get(name) {
            println!(
                "  x*y error over {} encryptions: max |error| median {:.2e} (worst {:.2e}), rms median {:.2e}",
                t.trials, t.max_abs_error_median, t.max_abs_error_max, t.rms_error_median
            );
        }
        if let Some(b) = r.ct_bytes.get(name) {
            println!("  ciphertext bytes: {b}");
        }
    }
}

fn run_matvec(a: &BenchArgs) -> Result<(), CliError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(a.threads.max(1))
        .build()
        .map_err(|e| CliError::new(format!("cannot build a thread pool: {e}")))?;
    let mut all = serde_json::Map::new();
    for name in &a.params {
        let params = hetile::backend::Params::preset(name)?;
        let results = pool
            .install(|| match a.backend {
                BackendName::Ckks => bench_matvec::<hetile::ckks::CkksBackend>(&params, a.reps),
                BackendName::Mock => bench_matvec::<hetile::mock::MockBackend>(&params, a.reps),
            })
            .map_err(|e| CliError::new(e.to_string()))?;
        if !a.json {
            println!(
                "matvec 64x784 on {name} ({} thread(s)); median [min-max] ms",
                a.threads
            );
            for r in &results {
                println!(
                    "  {:<18} eval {:>9.3} [{:.3}-{:.3}]  encrypt {:>9.3}  rotations {:>3}  max|err| {:.2e}",
                    r.layout, r.eval.median_ms, r.eval.min_ms, r.eval.max_ms, r.encrypt.median_ms,
                    r.rotations, r.max_abs_err
                );
            }
        }
        let v = serde_json::to_value(&results)
            .map_err(|e| CliError::new(format!("cannot print JSON: {e}")))?;
        all.insert(name.clone(), v);
    }
    if a.json {
        let doc =
            serde_json::json!({"bench": "matvec_64x784", "threads": a.threads, "results": all});
        println!("{doc}");
    }
    Ok(())
}
