//! The client half of the client/server demo.
//!
//! ```text
//! cargo run --release -p hetile-ckks --example client -- setup   [DIR]   # keys, public context, encrypted input
//! cargo run --release -p hetile-ckks --example server --          [DIR]   # evaluates, writes output.bin
//! cargo run --release -p hetile-ckks --example client -- decrypt [DIR]   # decrypts and checks
//! ```
//!
//! `DIR` defaults to `$TMPDIR/hetile-demo`. The secret key is written **unprotected** to
//! `DIR/secret_key.bin` so that the two client runs can share it: a demo shortcut, not advice.
//! `setup` also prints the sizes of the serialized objects at the parameters used (N14_L4).

use hetile_backend::{Client, KeyRequirements, Params};
use hetile_ckks::{Ciphertext, CkksClient, ErrorBound, ParamsBytes, PublicContext, SharingPolicy};
use std::error::Error;
use std::path::{Path, PathBuf};

type Res<T> = std::result::Result<T, Box<dyn Error>>;

/// The demo's input: slot i holds sin(i / 100) / 2.
fn input(slots: usize) -> Vec<f64> {
    (0..slots).map(|i| (i as f64 / 100.0).sin() / 2.0).collect()
}

/// What the server computes: x^2 + rotate(x, 1).
fn expected(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    (0..n).map(|i| x[i] * x[i] + x[(i + 1) % n]).collect()
}

fn dir(arg: Option<String>) -> PathBuf {
    arg.map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("hetile-demo"))
}

fn setup(dir: &Path) -> Res<()> {
    std::fs::create_dir_all(dir)?;
    let params = Params::preset("N14_L4")?;
    let keys = KeyRequirements::none()
        .with_relinearization()
        .with_rotations([1]);
    let client = CkksClient::new(&params, &keys)?;
    let ctx = client.context();
    let public = client.public_context().to_bytes()?;
    std::fs::write(dir.join("public_context.bin"), &public)?;
    let sk = client.export_secret_key_unprotected()?;
    std::fs::write(dir.join("secret_key.bin"), &sk[..])?;
    let x = input(params.slots().get());
    let pt = client.encode(&x, params.max_level(), params.default_scale())?;
    let fresh_sk = client.encrypt_symmetric(&pt)?.to_bytes(ctx)?;
    std::fs::write(dir.join("input.bin"), &fresh_sk)?;

    let fresh_pk = client.encrypt(&pt)?.to_bytes(ctx)?;
    let relin = client
        .evaluation_keys()
        .relinearization()
        .ok_or("no relinearization key")?;
    println!("parameters: {params}");
    println!("sizes in bytes:");
    println!(
        "  params                          {:>10}",
        params.to_bytes()?.len()
    );
    println!("  fresh public-key ciphertext     {:>10}", fresh_pk.len());
    println!(
        "  fresh secret-key ciphertext     {:>10}  (seed-compressed)",
        fresh_sk.len()
    );
    println!(
        "  public key                      {:>10}",
        client.public_key().to_bytes(ctx)?.len()
    );
    println!(
        "  relinearization key, compressed {:>10}",
        relin.to_bytes(ctx)?.len()
    );
    println!(
        "  relinearization key, full       {:>10}",
        relin.to_bytes_uncompressed(ctx)?.len()
    );
    println!(
        "  public context (pk + relin + 1 rotation) {:>10}",
        public.len()
    );
    println!("  secret key (unprotected export) {:>10}", sk.len());
    println!(
        "wrote public_context.bin, input.bin, secret_key.bin to {}",
        dir.display()
    );
    Ok(())
}

fn decrypt(dir: &Path) -> Res<()> {
    let public = PublicContext::from_bytes(&std::fs::read(dir.join("public_context.bin"))?)?;
    let sk = zeroize::Zeroizing::new(std::fs::read(dir.join("secret_key.bin"))?);
    let client = CkksClient::from_secret_key_bytes(&public, &sk)?;
    let out = Ciphertext::from_bytes(public.context(), &std::fs::read(dir.join("output.bin"))?)?;
    let got = client.decrypt_values(&out)?;
    let want = expected(&input(public.params().slots().get()));
    let err = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!(
        "decrypted {} slots; max error {err:.3e} ({:.1} bits)",
        got.len(),
        -err.log2()
    );
    // A result meant to be shared goes through the sanitizing decryption. The caller states the
    // error bound (an assumption of this demo: the measured error above, 2^-20 at scale 2^40,
    // is about 2^20 in coefficient units). Flooding costs about s/2 + log2(8 B sqrt(k)) bits:
    // at scale 2^40 little precision is left, which is why shared results want a larger scale.
    let policy = SharingPolicy {
        statistical_security: 30,
        budget: 16,
    };
    client.set_sharing_policy(policy)?;
    let bound = ErrorBound::new(2f64.powi(20))?;
    let predicted = policy.flooding_sigma(bound) * (got.len() as f64).sqrt()
        / public.params().default_scale().value();
    let shared = client.decrypt_for_sharing(&out, bound)?;
    let err_shared = shared
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!(
        "shared (flooded, s = 30, budget 16) decryption: max error {err_shared:.3e}, predicted \
         slot noise std {predicted:.3e}; {} shared decryptions left",
        client.shared_decryptions_left()?
    );
    // A fresh ciphertext has a small proven bound, so its shared decryption stays precise.
    let x = input(public.params().slots().get());
    let fresh = client.encrypt_values(&x)?;
    let shared_fresh =
        client.decrypt_for_sharing(&fresh, ErrorBound::fresh_public_key(public.params()))?;
    let err_fresh = shared_fresh
        .iter()
        .zip(&x)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!(
        "shared decryption of a fresh public-key ciphertext: max error {err_fresh:.3e} ({:.1} bits)",
        -err_fresh.log2()
    );
    if err > 1e-3 {
        return Err(format!("wrong result: max error {err}").into());
    }
    Ok(())
}

fn main() -> Res<()> {
    let mut args = std::env::args().skip(1);
    let cmd = args.next().unwrap_or_else(|| "setup".into());
    let dir = dir(args.next());
    match cmd.as_str() {
        "setup" => setup(&dir),
        "decrypt" => decrypt(&dir),
        other => Err(format!("unknown command {other:?} (setup | decrypt)").into()),
    }
}
