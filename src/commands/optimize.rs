//! `hetile optimize model.onnx --objective throughput --batch choose -o plan.yaml --explain`:
//! searches packing and CKKS parameters for a model and writes the chosen plan.

use super::model_args::ModelArgs;
use super::CliError;
use clap::Args;
use hetile::optimizer::{optimize_with, BatchSize, Objective, Optimized, Requirements};
use hetile::simulator::CostTable;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Arguments of `hetile optimize`.
#[derive(Debug, Args)]
pub struct OptimizeArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// What to optimize: latency, throughput or memory.
    #[arg(long, default_value = "latency")]
    objective: String,
    /// Samples per run, or "choose".
    #[arg(long, default_value = "1")]
    batch: String,
    /// Classical security in bits (128, 192 or 256).
    #[arg(long, default_value_t = 128)]
    security: u32,
    /// The least output precision in bits.
    #[arg(long, default_value_t = 12.0)]
    min_precision: f64,
    /// The memory cap (bytes, or with a K/M/G suffix); default: the memory available now.
    #[arg(long)]
    max_memory: Option<String>,
    /// The server's thread count; default: all cores.
    #[arg(long)]
    threads: Option<usize>,
    /// The cost table (YAML from `hetile calibrate`); default: the shipped one.
    #[arg(long)]
    costs: Option<PathBuf>,
    /// Write the plan here (YAML, or JSON when the name ends in .json).
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
    /// List the top candidates and why the others were rejected.
    #[arg(long)]
    explain: bool,
    /// Also write the fully simulated candidates (best first) as DIR/candidate-<rank>.yaml, to
    /// measure alternatives for real.
    #[arg(long, value_name = "DIR")]
    save_candidates: Option<PathBuf>,
}

/// Parses `1234`, `512K`, `64M`, `8G` (binary units) into bytes.
/// Errors: anything else.
pub fn parse_bytes(s: &str) -> Result<u64, CliError> {
    let t = s.trim();
    let (digits, shift) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 10),
        Some('M') => (&t[..t.len() - 1], 20),
        Some('G') => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    digits
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
        .map(|v| (v * (1u64 << shift) as f64) as u64)
        .ok_or_else(|| CliError::new(format!("memory size {s:?}: use e.g. 8G, 512M or bytes")))
}

/// Loads a cost table, or the shipped default.
/// Errors: unreadable or malformed YAML.
pub fn load_costs(path: Option<&PathBuf>) -> Result<CostTable, CliError> {
    let e = |e: &dyn std::fmt::Display| CliError::new(e.to_string());
    match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|x| CliError::new(format!("{}: {x}", p.display())))?;
            CostTable::from_yaml(&text).map_err(|x| e(&x))
        }
        None => CostTable::default_table().map_err(|x| e(&x)),
    }
}

fn requirements(a: &OptimizeArgs) -> Result<Requirements, CliError> {
    let e = |x: hetile::optimizer::OptError| CliError::new(x.to_string());
    Ok(Requirements {
        objective: a.objective.parse::<Objective>().map_err(e)?,
        batch: a.batch.parse::<BatchSize>().map_err(e)?,
        security_bits: a.security,
        min_precision_bits: a.min_precision,
        max_memory_bytes: a.max_memory.as_deref().map(parse_bytes).transpose()?,
        threads: a.threads.unwrap_or_else(rayon::current_num_threads),
    })
}

/// The `--explain` text: the best candidates and the rejection reasons.
fn explain(found: &Optimized, objective: Objective, top: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "top candidates ({objective}):");
    for (i, c) in found.candidates.iter().take(top).enumerate() {
        let _ = writeln!(
            s,
            "{:>3}. {}{}",
            i + 1,
            c.describe(),
            if c.simulated { "" } else { " (quick estimate)" }
        );
    }
    let _ = writeln!(
        s,
        "{} valid candidates, {} rejected:",
        found.candidates.len(),
        found.rejected.len()
    );
    for (reason, n) in found.rejection_summary() {
        let example = found
            .rejected
            .iter()
            .find(|r| r.reason.starts_with(reason.as_str()))
            .map(|r| format!("{}: {}", r.candidate, r.reason))
            .unwrap_or_default();
        let _ = writeln!(s, "  {n:>5} x {reason}  (e.g. {example})");
    }
    s
}

/// Runs `hetile optimize`.
/// Errors: bad arguments, import errors, no valid plan, unwritable output.
pub fn run(a: OptimizeArgs) -> Result<(), CliError> {
    let model = a.model.load()?;
    let req = requirements(&a)?;
    let costs = load_costs(a.costs.as_ref())?;
    let start = std::time::Instant::now();
    let found = optimize_with(&model, &req, &costs).map_err(|e| CliError::new(e.to_string()))?;
    let elapsed = start.elapsed();
    let mut plan = found.best.clone();
    plan.model = Some(a.model.source()?);
    let text = match &a.output {
        Some(p) if p.extension().is_some_and(|x| x == "json") => plan.to_json(),
        _ => plan.to_yaml(),
    }
    .map_err(|e| CliError::new(e.to_string()))?;
    if a.explain {
        print!("{}", explain(&found, req.objective, 10));
        println!("search took {:.2} s", elapsed.as_secs_f64());
    }
    if let Some(dir) = &a.save_candidates {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::new(format!("{}: {e}", dir.display())))?;
        let simulated = found.candidates.iter().filter(|c| c.simulated);
        for (rank, c) in simulated.enumerate() {
            let mut p = c.plan.clone();
            p.model = plan.model.clone();
            let path = dir.join(format!("candidate-{}.yaml", rank + 1));
            let text = p.to_yaml().map_err(|e| CliError::new(e.to_string()))?;
            std::fs::write(&path, text)
                .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
        }
    }
    println!("chosen plan:\n{}", plan.predicted);
    match &a.output {
        Some(p) => {
            std::fs::write(p, text).map_err(|e| CliError::new(format!("{}: {e}", p.display())))?;
            println!("plan written to {}", p.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bytes() {
        assert_eq!(parse_bytes("8G").unwrap(), 8 << 30);
        assert_eq!(parse_bytes("512m").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("1000").unwrap(), 1000);
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("-1G").is_err());
    }
}
