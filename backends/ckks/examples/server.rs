//! The server half of the client/server demo (see `client.rs` for the commands).
//!
//! The server receives bytes only: the client's public context and an encrypted input. It
//! builds an evaluator from the public context and evaluates `x^2 + rotate(x, 1)`. Nothing it
//! can name decrypts: `PublicContext` and `CkksEvaluator` offer no decryption and no secret key
//! (the `compile_fail` tests on `PublicContext` prove it), and this file imports no client type.

use hetile_backend::Evaluator;
use hetile_ckks::{Ciphertext, PublicContext};
use std::error::Error;
use std::path::PathBuf;

/// Loads the public context and the input, evaluates, returns the serialized result.
fn serve(public_bytes: &[u8], input: &[u8]) -> Result<Vec<u8>, Box<dyn Error>> {
    let public = PublicContext::from_bytes(public_bytes)?;
    let ev = public.evaluator();
    let x = Ciphertext::from_bytes(public.context(), input)?;
    let square = ev.rescale(&ev.square(&x)?)?;
    // set_scale spends one level, which brings the rotation to the square's level and scale.
    let shifted = ev.set_scale(&ev.rotate(&x, 1)?, hetile_backend::Meta::scale(&square))?;
    let y = ev.add(&square, &shifted)?;
    Ok(y.to_bytes(public.context())?)
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("hetile-demo"));
    let public = std::fs::read(dir.join("public_context.bin"))?;
    let input = std::fs::read(dir.join("input.bin"))?;
    let start = std::time::Instant::now();
    let out = serve(&public, &input)?;
    std::fs::write(dir.join("output.bin"), &out)?;
    println!(
        "server: evaluated x^2 + rot(x, 1) in {:.2?}, wrote {} bytes to output.bin",
        start.elapsed(),
        out.len()
    );
    Ok(())
}
