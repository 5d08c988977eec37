//! `hetile inspect model.onnx`: imports an ONNX model and prints its layers, shapes,
//! multiplicative depth, rotation keys and parameter needs (minimum levels, a suggested ring
//! degree).

use super::model_args::ModelArgs;
use super::CliError;
use clap::Args;
use hetile::backend::{max_log_qp, SecurityLevel};
use hetile::layers::{Model, ModelPlan, Packing};
use std::fmt::Write as _;

/// Arguments of `hetile inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Samples per ciphertext (the last tile dimension; rounded up to a power of two).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// The packing tile t0,t1,t2 (powers of two); default: chosen for the suggested ring degree.
    #[arg(long, value_delimiter = ',')]
    tile: Vec<usize>,
    /// log2 of the scale (bits per level).
    #[arg(long, default_value_t = 40)]
    log_scale: u32,
    /// Bits of the first ciphertext prime and of the special prime.
    #[arg(long, default_value_t = 60)]
    first_prime: u32,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// The parameter needs of a plan.
#[derive(Debug, Clone, PartialEq)]
struct Needs {
    levels: usize,
    log_qp: u32,
    /// The smallest 128-bit secure ring degree whose table admits `log_qp`, if any.
    log_n: Option<u32>,
}

fn needs(plan: &ModelPlan, log_scale: u32, first_prime: u32) -> Needs {
    let levels = plan.depth;
    let log_qp = first_prime + levels as u32 * log_scale + first_prime;
    let log_n = (10..=17)
        .find(|&n| max_log_qp(n, SecurityLevel::Classical128).is_some_and(|max| max >= log_qp));
    Needs {
        levels,
        log_qp,
        log_n,
    }
}

/// A default tile for `slots` slots and `batch` samples: the batch last, the rest split
/// evenly between the first two dimensions.
fn default_tile(slots: usize, batch: usize) -> [usize; 3] {
    let t2 = batch.next_power_of_two().min(slots / 4).max(1);
    let rest = slots / t2;
    let t0 = 1usize << (rest.trailing_zeros() / 2);
    [t0, rest / t0, t2]
}

fn err(e: impl std::fmt::Display) -> CliError {
    CliError::new(e.to_string())
}

/// The model, its packing, plan and needs: with no tile given, the tile is chosen for the
/// suggested ring degree (starting from N = 2^13 and growing while the depth needs more).
fn analyse(a: &InspectArgs) -> Result<(Model, Packing, ModelPlan, Needs), CliError> {
    let model = a.model.load()?;
    let batch = a.batch.max(1).next_power_of_two();
    if let [t0, t1, t2] = a.tile.as_slice() {
        let packing = Packing::new([*t0, *t1, *t2]).map_err(err)?;
        let plan = model.plan(&packing, batch.min(*t2)).map_err(err)?;
        let n = needs(&plan, a.log_scale, a.first_prime);
        return Ok((model, packing, plan, n));
    }
    if !a.tile.is_empty() {
        return Err(CliError::new("--tile takes three powers of two t0,t1,t2"));
    }
    let mut log_n = 13;
    loop {
        let packing = Packing::new(default_tile(1 << (log_n - 1), batch)).map_err(err)?;
        let plan = model
            .plan(&packing, batch.min(packing.tile()[2]))
            .map_err(err)?;
        let n = needs(&plan, a.log_scale, a.first_prime);
        match n.log_n {
            Some(want) if want > log_n => log_n = want,
            _ => return Ok((model, packing, plan, n)),
        }
    }
}

/// The text report.
fn report(a: &InspectArgs) -> Result<String, CliError> {
    let (model, packing, plan, n) = analyse(a)?;
    let mut s = String::new();
    let dims = model.value_dims();
    let w = |s: &mut String, line: String| {
        let _ = writeln!(s, "{line}");
    };
    w(&mut s, format!("model {}", a.model.model.display()));
    w(
        &mut s,
        format!("input  {:?} per sample", model.input_dims()),
    );
    w(
        &mut s,
        "layers (per-sample output shape, levels used so far):".into(),
    );
    for (i, (node, np)) in model.nodes().iter().zip(&plan.nodes).enumerate() {
        let shape = dims.get(i + 1).cloned().unwrap_or_default();
        w(
            &mut s,
            format!(
                "{i:>4} {:<10} {:<16} depth {:>2}",
                node.kind(),
                format!("{shape:?}"),
                np.depth_after
            ),
        );
    }
    w(
        &mut s,
        format!("output {:?} per sample", model.output_dims()),
    );
    w(
        &mut s,
        format!(
            "packing: tile {:?} ({} slots), batch {} per ciphertext",
            packing.tile(),
            packing.slots(),
            a.batch.max(1).next_power_of_two().min(packing.tile()[2])
        ),
    );
    w(&mut s, format!("plan:\n{plan}"));
    w(&mut s, format!("multiplicative depth: {}", plan.depth));
    w(
        &mut s,
        format!(
            "rotation keys: {} {:?}; relinearization key: {}",
            plan.keys.rotations.len(),
            plan.keys.rotations,
            if plan.keys.relinearization {
                "yes"
            } else {
                "no"
            }
        ),
    );
    let ring = match n.log_n {
        Some(l) => format!(
            "suggested ring degree N = 2^{l} ({} slots; 128-bit secure up to {} bits)",
            1usize << (l - 1),
            max_log_qp(l, SecurityLevel::Classical128).unwrap_or(0)
        ),
        None => "no ring degree up to 2^17 is 128-bit secure for this depth: bootstrapping or a \
                 smaller scale is needed"
            .into(),
    };
    w(
        &mut s,
        format!(
            "parameters: at least {} levels; log2(QP) = {} + {} x {} + {} = {} bits; {ring}",
            n.levels, a.first_prime, n.levels, a.log_scale, a.first_prime, n.log_qp
        ),
    );
    Ok(s)
}

fn report_json(a: &InspectArgs) -> Result<String, CliError> {
    let (model, packing, plan, n) = analyse(a)?;
    let dims = model.value_dims();
    let layers: Vec<serde_json::Value> = model
        .nodes()
        .iter()
        .zip(&plan.nodes)
        .enumerate()
        .map(|(i, (node, np))| {
            serde_json::json!({
                "kind": node.kind(),
                "output_dims": dims.get(i + 1),
                "output_tiles": np.plan.output.to_string(),
                "depth_after": np.depth_after,
                "rotations": np.plan.cost.rotations,
                "ct_mults": np.plan.cost.ct_mults,
                "pt_mults": np.plan.cost.pt_mults,
            })
        })
        .collect();
    let v = serde_json::json!({
        "model": a.model.model.display().to_string(),
        "input_dims": model.input_dims(),
        "output_dims": model.output_dims(),
        "layers": layers,
        "tile": packing.tile(),
        "depth": plan.depth,
        "rotation_keys": plan.keys.rotations,
        "relinearization": plan.keys.relinearization,
        "min_levels": n.levels,
        "log_qp": n.log_qp,
        "suggested_log_n": n.log_n,
    });
    serde_json::to_string_pretty(&v).map_err(err)
}

/// Runs `hetile inspect`.
pub fn run(a: InspectArgs) -> Result<(), CliError> {
    let out = if a.json {
        report_json(&a)?
    } else {
        report(&a)?
    };
    println!("{out}");
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        a: InspectArgs,
    }

    fn args(extra: &[&str]) -> InspectArgs {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/layers/tests/models/cryptonets.onnx"
        );
        let mut v = vec!["inspect", path];
        v.extend_from_slice(extra);
        Cli::parse_from(v).a
    }

    #[test]
    fn cryptonets_report() {
        let r = report(&args(&["--batch", "4", "--tile", "32,32,4"])).unwrap();
        assert!(r.contains("conv2d"), "{r}");
        assert!(r.contains("multiplicative depth: 6"), "{r}");
        // 60 + 6 x 40 + 60 = 360 bits: N = 2^14 (438 bits at 128-bit security)
        assert!(
            r.contains("= 360 bits; suggested ring degree N = 2^14"),
            "{r}"
        );
        let j: serde_json::Value =
            serde_json::from_str(&report_json(&args(&["--json"])).unwrap()).unwrap();
        assert_eq!(j["depth"], 6);
        assert_eq!(j["suggested_log_n"], 14);
        assert_eq!(j["layers"].as_array().unwrap().len(), 6);
    }

    #[test]
    fn errors_are_reported() {
        let e = report(&args(&["--range", "1,0"])).unwrap_err();
        assert!(e.to_string().contains("--range"));
        let mut a = args(&[]);
        a.model.model = std::path::PathBuf::from("/nonexistent.onnx");
        assert!(report(&a).is_err());
    }
}
