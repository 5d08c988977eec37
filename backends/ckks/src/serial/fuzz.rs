//! A deterministic blob generator that feeds every deserializer random and mutated input and
//! counts accepted blobs, rejected blobs and panics. Shared by the stable-Rust fuzz test
//! (`tests/fuzz_serial.rs`) and the `hetile fuzz` CLI command; the cargo-fuzz targets in
//! `fuzz/` call [`decode`] on libFuzzer's input.
//!
//! Each case is one of: random bytes (10%), a valid header followed by random bytes (10%), or a
//! valid blob with one to three mutations (80%): bit flips, random bytes, truncation, extension,
//! insertion or deletion, a varint (length field) overwritten with an edge value, a header field
//! edited.

use super::{ParamsBytes, PublicContext, HEADER_LEN};
use crate::client::CkksClient;
use crate::context::CkksContext;
use crate::keys::{EvaluationKeys, GaloisKey, PublicKey, SwitchingKey};
use crate::types::{Ciphertext, Plaintext};
use hetile_backend::{
    Client, Error, KeyRequirements, Level, Params, ParamsLiteral, Result, SecurityLevel,
};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// The object kinds the generator targets (one deserializer each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FuzzKind {
    /// `Params::from_bytes`.
    Params,
    /// `Ciphertext::from_bytes` (the fixture's blob is seed-compressed).
    Ciphertext,
    /// `Ciphertext::from_bytes` on an uncompressed (public-key) ciphertext.
    CiphertextFull,
    /// `Plaintext::from_bytes`.
    Plaintext,
    /// `PublicKey::from_bytes`.
    PublicKey,
    /// `SwitchingKey::from_bytes` (the relinearization key).
    SwitchingKey,
    /// `GaloisKey::from_bytes`.
    GaloisKey,
    /// `EvaluationKeys::from_bytes`.
    EvaluationKeys,
    /// `PublicContext::from_bytes` (builds the context: the server's entry point).
    PublicContext,
    /// `CkksClient::from_secret_key_bytes`.
    SecretKey,
}

impl FuzzKind {
    /// Every kind, in a fixed order.
    pub const ALL: [FuzzKind; 10] = [
        FuzzKind::Params,
        FuzzKind::Ciphertext,
        FuzzKind::CiphertextFull,
        FuzzKind::Plaintext,
        FuzzKind::PublicKey,
        FuzzKind::SwitchingKey,
        FuzzKind::GaloisKey,
        FuzzKind::EvaluationKeys,
        FuzzKind::PublicContext,
        FuzzKind::SecretKey,
    ];

    /// The kebab-case name used by the CLI.
    pub fn name(self) -> &'static str {
        match self {
            FuzzKind::Params => "params",
            FuzzKind::Ciphertext => "ciphertext",
            FuzzKind::CiphertextFull => "ciphertext-full",
            FuzzKind::Plaintext => "plaintext",
            FuzzKind::PublicKey => "public-key",
            FuzzKind::SwitchingKey => "relin-key",
            FuzzKind::GaloisKey => "galois-key",
            FuzzKind::EvaluationKeys => "evaluation-keys",
            FuzzKind::PublicContext => "public-context",
            FuzzKind::SecretKey => "secret-key",
        }
    }

    /// The kind of a CLI name, or `None`.
    pub fn from_name(name: &str) -> Option<FuzzKind> {
        FuzzKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Counts of one fuzzing run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuzzReport {
    /// The kind fuzzed.
    pub kind: FuzzKind,
    /// Blobs tried.
    pub iterations: u64,
    /// Blobs that decoded into a valid object.
    pub accepted: u64,
    /// Blobs refused with a typed error.
    pub rejected: u64,
    /// Deserializer panics (must be 0).
    pub panics: u64,
    /// Largest blob tried, in bytes.
    pub max_blob: usize,
}

/// Small insecure parameters for fuzzing: N = 2^10, Q = 40 + 30 bits, P = 40 bits, two digits.
///
/// Errors: none in practice (the literal is valid).
pub fn fuzz_params() -> Result<Params> {
    Params::new(ParamsLiteral {
        log_n: 10,
        log_q: vec![40, 30],
        log_p: vec![40],
        log_scale: 30,
        digits: None,
        security: SecurityLevel::Insecure,
        secret: Default::default(),
    })
}

/// A client, its public context and one valid blob of every kind.
pub struct Fixture {
    client: CkksClient,
    public: PublicContext,
    blobs: Vec<(FuzzKind, Vec<u8>)>,
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture")
            .field("params", self.public.params())
            .finish_non_exhaustive()
    }
}

impl Fixture {
    /// Builds the fixture from [`fuzz_params`] with a deterministic (insecure) client seeded by
    /// `seed`: relinearization, rotations by 1 and -1, conjugation.
    ///
    /// Errors: key generation or serialization failures (none in practice).
    pub fn new(seed: u64) -> Result<Fixture> {
        let params = fuzz_params()?;
        let keys = KeyRequirements::none()
            .with_relinearization()
            .with_rotations([1, -1])
            .with_conjugation();
        let client = CkksClient::new_insecure_seeded_for_tests(&params, &keys, seed)?;
        let public = client.public_context();
        let ctx = Arc::clone(public.context());
        let values: Vec<f64> = (0..16).map(|i| f64::from(i) / 16.0 - 0.5).collect();
        let pt = client.encode(&values, params.max_level(), params.default_scale())?;
        let pt_low = client.encode(&values, Level(0), params.default_scale())?;
        let sk_ct = client.encrypt_symmetric(&pt)?;
        let pk_ct = client.encrypt(&pt)?;
        let relin = public
            .evaluation_keys()
            .relinearization()
            .ok_or_else(|| missing("relinearization key"))?;
        let galois = public
            .evaluation_keys()
            .rotation_key(1)
            .ok_or_else(|| missing("rotation key"))?;
        let blobs = vec![
            (FuzzKind::Params, params.to_bytes()?),
            (FuzzKind::Ciphertext, sk_ct.to_bytes(&ctx)?),
            (FuzzKind::CiphertextFull, pk_ct.to_bytes(&ctx)?),
            (FuzzKind::Plaintext, pt_low.to_bytes(&ctx)?),
            (FuzzKind::PublicKey, public.public_key().to_bytes(&ctx)?),
            (FuzzKind::SwitchingKey, relin.to_bytes(&ctx)?),
            (FuzzKind::GaloisKey, galois.to_bytes(&ctx)?),
            (
                FuzzKind::EvaluationKeys,
                public.evaluation_keys().to_bytes(&ctx)?,
            ),
            (FuzzKind::PublicContext, public.to_bytes()?),
            (
                FuzzKind::SecretKey,
                client.export_secret_key_unprotected()?.to_vec(),
            ),
        ];
        Ok(Fixture {
            client,
            public,
            blobs,
        })
    }

    /// The valid blob of a kind.
    pub fn valid_blob(&self, kind: FuzzKind) -> &[u8] {
        self.blobs
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, b)| b.as_slice())
            .unwrap_or(&[])
    }

    /// The fixture's context.
    pub fn context(&self) -> &Arc<CkksContext> {
        self.public.context()
    }

    /// The fixture's public context (what [`decode`] takes).
    pub fn public_context(&self) -> &PublicContext {
        &self.public
    }

    /// The fixture's client (owner of the secret key the `SecretKey` blob holds).
    pub fn client(&self) -> &CkksClient {
        &self.client
    }

    /// Runs the deserializer of `kind` on `bytes`; `Ok(())` when it accepted the blob.
    ///
    /// Errors: whatever the deserializer returned.
    pub fn decode(&self, kind: FuzzKind, bytes: &[u8]) -> Result<()> {
        decode(kind, &self.public, bytes)
    }
}

fn missing(what: &str) -> Error {
    Error::Internal {
        backend: crate::NAME,
        reason: format!("fuzz fixture lacks its {what}"),
    }
}

/// Runs the deserializer of `kind` on `bytes` against `public` (whose context the
/// context-bound kinds use); `Ok(())` when it accepted the blob.
///
/// Errors: whatever the deserializer returned.
pub fn decode(kind: FuzzKind, public: &PublicContext, bytes: &[u8]) -> Result<()> {
    let ctx = public.context();
    match kind {
        FuzzKind::Params => Params::from_bytes(bytes).map(drop),
        FuzzKind::Ciphertext | FuzzKind::CiphertextFull => {
            Ciphertext::from_bytes(ctx, bytes).map(drop)
        }
        FuzzKind::Plaintext => Plaintext::from_bytes(ctx, bytes).map(drop),
        FuzzKind::PublicKey => PublicKey::from_bytes(ctx, bytes).map(drop),
        FuzzKind::SwitchingKey => SwitchingKey::from_bytes(ctx, bytes).map(drop),
        FuzzKind::GaloisKey => GaloisKey::from_bytes(ctx, bytes).map(drop),
        FuzzKind::EvaluationKeys => EvaluationKeys::from_bytes(ctx, bytes).map(drop),
        FuzzKind::PublicContext => PublicContext::from_bytes(bytes).map(drop),
        FuzzKind::SecretKey => CkksClient::from_secret_key_bytes(public, bytes).map(drop),
    }
}

fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (rng.next_u64() % n as u64) as usize
    }
}

fn random_bytes(rng: &mut ChaCha8Rng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng.fill_bytes(&mut v);
    v
}

/// A postcard varint of `x`.
fn varint(mut x: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (x & 0x7f) as u8;
        x >>= 7;
        if x == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// One mutation of `blob` in place.
fn mutate_once(rng: &mut ChaCha8Rng, blob: &mut Vec<u8>) {
    let len = blob.len();
    match rng.next_u32() % 9 {
        0 => {
            // Flip 1..=8 bits.
            for _ in 0..1 + below(rng, 8) {
                if len > 0 {
                    let i = below(rng, len);
                    blob[i] ^= 1 << (rng.next_u32() % 8);
                }
            }
        }
        1 => {
            if len > 0 {
                let i = below(rng, len);
                blob[i] = rng.next_u32() as u8;
            }
        }
        2 => blob.truncate(below(rng, len + 1)),
        3 => {
            let n = 1 + below(rng, 64);
            let extra = random_bytes(rng, n);
            blob.extend(extra);
        }
        4 => {
            let at = below(rng, len + 1);
            let n = 1 + below(rng, 16);
            let extra = random_bytes(rng, n);
            blob.splice(at..at, extra);
        }
        5 => {
            if len > 0 {
                let at = below(rng, len);
                let end = (at + 1 + below(rng, 32)).min(len);
                blob.drain(at..end);
            }
        }
        6 | 7 => {
            // Length-field edit: overwrite a position (mostly near the start of the body, where
            // the lengths and option tags live) with an edge-case varint.
            let limit = if rng.next_u32().is_multiple_of(2) {
                (HEADER_LEN + 96).min(len)
            } else {
                len
            };
            let at = below(rng, limit.saturating_sub(HEADER_LEN)) + HEADER_LEN.min(len);
            let edge = [
                0u64,
                1,
                2,
                31,
                32,
                33,
                255,
                1 << 14,
                (1 << 20) - 1,
                u64::from(u32::MAX),
                u64::MAX,
                rng.next_u64() >> (rng.next_u32() % 64),
            ];
            let v = varint(edge[below(rng, edge.len())]);
            if at <= len {
                let end = (at + v.len()).min(len);
                if rng.next_u32().is_multiple_of(2) {
                    blob.splice(at..end, v);
                } else {
                    blob.splice(at..at, v);
                }
            }
        }
        _ => {
            // Header field edit: version, kind, reserved byte or fingerprint.
            if len >= HEADER_LEN {
                let i = 4 + below(rng, HEADER_LEN - 4);
                blob[i] = blob[i].wrapping_add(1 + below(rng, 255) as u8);
            }
        }
    }
}

/// One generated case from a valid blob.
pub fn generate(rng: &mut ChaCha8Rng, valid: &[u8]) -> Vec<u8> {
    match rng.next_u32() % 10 {
        0 => {
            let len = below(rng, 2 * valid.len() + 64);
            random_bytes(rng, len)
        }
        1 => {
            let mut b = valid[..HEADER_LEN.min(valid.len())].to_vec();
            let len = below(rng, valid.len() + 64);
            b.extend(random_bytes(rng, len));
            b
        }
        _ => {
            let mut b = valid.to_vec();
            for _ in 0..1 + below(rng, 3) {
                mutate_once(rng, &mut b);
            }
            b
        }
    }
}

/// Feeds `iterations` generated blobs of `kind` to its deserializer, catching panics.
pub fn run(fixture: &Fixture, kind: FuzzKind, iterations: u64, seed: u64) -> FuzzReport {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (kind as u64).wrapping_mul(0x9e37_79b9));
    let valid = fixture.valid_blob(kind);
    let mut report = FuzzReport {
        kind,
        iterations,
        accepted: 0,
        rejected: 0,
        panics: 0,
        max_blob: 0,
    };
    for _ in 0..iterations {
        let blob = generate(&mut rng, valid);
        report.max_blob = report.max_blob.max(blob.len());
        match catch_unwind(AssertUnwindSafe(|| fixture.decode(kind, &blob))) {
            Ok(Ok(())) => report.accepted += 1,
            Ok(Err(_)) => report.rejected += 1,
            Err(_) => report.panics += 1,
        }
    }
    report
}
