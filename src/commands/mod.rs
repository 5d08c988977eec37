//! Subcommands of the `hetile` CLI.

mod bench;
mod calibrate;
mod fuzz;
#[cfg(feature = "onnx")]
mod inspect;
#[cfg(feature = "onnx")]
mod model_args;
#[cfg(feature = "onnx")]
mod optimize;
mod params;
#[cfg(feature = "onnx")]
mod simulate;
#[cfg(feature = "onnx")]
mod tutorial;

use clap::{Parser, Subcommand};
use std::fmt;

/// hetile: deep learning on CKKS-encrypted data.
#[derive(Debug, Parser)]
#[command(name = "hetile", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Benchmark a backend's CKKS operations and print the timings (JSON with --json).
    Bench(bench::BenchArgs),
    /// Print a parameter set and its security verdict (non-zero exit when insecure).
    Params(params::ParamsArgs),
    /// Fuzz every deserializer of the native backend with random and mutated blobs.
    Fuzz(fuzz::FuzzArgs),
    /// Measure the native backend per operation, ring degree, level and thread count, and write
    /// the simulator's cost table (YAML).
    Calibrate(calibrate::CalibrateArgs),
    /// Import an ONNX model and print its layers, shapes, depth, keys and parameter needs.
    #[cfg(feature = "onnx")]
    Inspect(inspect::InspectArgs),
    /// Search packing and CKKS parameters for an ONNX model and write the plan (YAML/JSON).
    #[cfg(feature = "onnx")]
    Optimize(optimize::OptimizeArgs),
    /// Print the simulator's prediction for a plan (table or JSON); `--measure` runs it for real.
    #[cfg(feature = "onnx")]
    Simulate(simulate::SimulateArgs),
    /// Run a tutorial on real data, encrypted (fraud, mnist or alexnet; --full for the whole data set).
    #[cfg(feature = "onnx")]
    Tutorial(tutorial::TutorialArgs),
}

/// A CLI failure: the message and the process exit code.
#[derive(Debug)]
pub struct CliError {
    message: String,
    code: u8,
}

impl CliError {
    /// A usage or runtime failure (exit code 1).
    pub fn new(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: 1,
        }
    }
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        self.code
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<hetile::backend::Error> for CliError {
    fn from(e: hetile::backend::Error) -> Self {
        let code = match e {
            hetile::backend::Error::InsecureParameters { .. } => 2,
            _ => 1,
        };
        CliError {
            message: e.to_string(),
            code,
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Bench(a) => bench::run(a),
        Command::Params(a) => params::run(a),
        Command::Fuzz(a) => fuzz::run(a),
        #[cfg(feature = "onnx")]
        Command::Inspect(a) => inspect::run(a),
        #[cfg(feature = "onnx")]
        Command::Optimize(a) => optimize::run(a),
        #[cfg(feature = "onnx")]
        Command::Simulate(a) => simulate::run(a),
        #[cfg(feature = "onnx")]
        Command::Tutorial(a) => tutorial::run(a),
        Command::Calibrate(a) => calibrate::run(a),
    }
}
