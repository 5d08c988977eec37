//! `hetile fuzz`: feeds random and mutated blobs to every deserializer of the native backend
//! (the generator of `hetile_ckks::serial::fuzz`, shared with the CI test) and prints the counts.

use super::CliError;
use clap::Args;
use hetile::ckks::serial::fuzz::{run as fuzz_kind, Fixture, FuzzKind};
use std::time::Instant;

/// Arguments of `hetile fuzz`.
#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// Blobs per object kind.
    #[arg(long, default_value_t = 100_000)]
    iterations: u64,
    /// Object kind: all, params, ciphertext, ciphertext-full, plaintext, public-key, relin-key,
    /// galois-key, evaluation-keys, public-context or secret-key.
    #[arg(long, default_value = "all")]
    kind: String,
    /// Seed of the blob generator (runs are reproducible).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Runs the fuzzer; fails (exit code 1) when any deserializer panicked.
pub fn run(args: FuzzArgs) -> Result<(), CliError> {
    let kinds: Vec<FuzzKind> = if args.kind == "all" {
        FuzzKind::ALL.to_vec()
    } else {
        vec![FuzzKind::from_name(&args.kind).ok_or_else(|| {
            let names: Vec<&str> = FuzzKind::ALL.iter().map(|k| k.name()).collect();
            CliError::new(format!(
                "unknown kind {:?}; known: all, {}",
                args.kind,
                names.join(", ")
            ))
        })?]
    };
    let fixture = Fixture::new(args.seed)?;
    // Panics are counted, not printed once per blob.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    println!(
        "{:<16} {:>10} {:>10} {:>10} {:>7} {:>9} {:>8}",
        "kind", "blobs", "accepted", "rejected", "panics", "max blob", "seconds"
    );
    let mut panics = 0;
    for kind in kinds {
        let start = Instant::now();
        let r = fuzz_kind(&fixture, kind, args.iterations, args.seed);
        panics += r.panics;
        println!(
            "{:<16} {:>10} {:>10} {:>10} {:>7} {:>9} {:>8.2}",
            kind.name(),
            r.iterations,
            r.accepted,
            r.rejected,
            r.panics,
            r.max_blob,
            start.elapsed().as_secs_f64()
        );
    }
    std::panic::set_hook(hook);
    if panics > 0 {
        return Err(CliError::new(format!("{panics} deserializer panics")));
    }
    Ok(())
}
