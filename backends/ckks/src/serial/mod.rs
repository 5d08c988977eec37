//! Versioned binary serialization of every public object of the backend, validated on load.
//!
//! # Envelope
//!
//! Every blob starts with a fixed 16-byte header, then a postcard body:
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | magic `b"HTLE"` |
//! | 4..6 | format version, little endian ([`FORMAT_VERSION`]) |
//! | 6 | object kind ([`ObjectKind`]) |
//! | 7 | reserved, must be 0 |
//! | 8..16 | [`Params::fingerprint`] of the parameters the object belongs to, little endian |
//!
//! Polynomials are stored as bit-packed residues: limb `i` (modulo `q_i`) takes
//! `ceil(N * bits(q_i - 1) / 8)` bytes. Fresh secret-key ciphertexts and switching keys are stored
//! seed-compressed: only the 32-byte seed of their uniform component is kept, and the component is
//! regenerated with the same ChaCha20 stream on load (about half the size).
//!
//! # Validation
//!
//! Loading never panics and never allocates more than the parameters allow: the header is
//! checked first (magic, version, kind, fingerprint against the context: a mismatch is
//! [`Error::ContextMismatch`]), then every declared length against the length the parameters
//! imply *before* the coefficients are unpacked, then every residue against its prime, the level
//! against the chain and the scale (finite, at least 1, below the modulus of its level). Every other
//! failure is [`Error::Serialization`].
//!
//! The secret key has no `to_bytes`: it is exported only by
//! [`CkksClient::export_secret_key_unprotected`](crate::CkksClient::export_secret_key_unprotected).

mod context;
pub mod fuzz;
mod keys;
mod poly;

pub use context::PublicContext;
pub(crate) use keys::{export_secret_key, import_secret_key, key_mismatch};

use crate::context::CkksContext;
use crate::types::{Ciphertext, Plaintext};
use hetile_backend::{
    Error, Level, Params, ParamsLiteral, Result, Scale, SecretDistribution, SecurityLevel,
};
use hetile_ring::rns::Representation;
use hetile_ring::sampling::Sampler;
use serde::{Deserialize, Serialize};

/// The four magic bytes that open every blob.
pub const MAGIC: [u8; 4] = *b"HTLE";
/// The format version written by this crate; other versions are refused. Version 2: the public
/// key also holds its limb of the first special prime.
pub const FORMAT_VERSION: u16 = 2;
/// Size of the fixed header in bytes.
pub const HEADER_LEN: usize = 16;

/// The kind of object a blob holds (byte 6 of the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ObjectKind {
    /// [`Params`] (the literal; the chain is regenerated and its fingerprint checked).
    Params = 1,
    /// A [`Ciphertext`].
    Ciphertext = 2,
    /// A [`Plaintext`].
    Plaintext = 3,
    /// A [`PublicKey`](crate::PublicKey).
    PublicKey = 4,
    /// A [`SwitchingKey`](crate::SwitchingKey) (the relinearization key).
    SwitchingKey = 5,
    /// A [`GaloisKey`](crate::GaloisKey).
    GaloisKey = 6,
    /// [`EvaluationKeys`](crate::EvaluationKeys).
    EvaluationKeys = 7,
    /// A [`PublicContext`] (parameters, key requirements, public and evaluation keys).
    PublicContext = 8,
    /// The secret key (only through the explicitly named export and import functions).
    SecretKey = 9,
}

impl ObjectKind {
    fn from_byte(b: u8) -> Option<ObjectKind> {
        Some(match b {
            1 => ObjectKind::Params,
            2 => ObjectKind::Ciphertext,
            3 => ObjectKind::Plaintext,
            4 => ObjectKind::PublicKey,
            5 => ObjectKind::SwitchingKey,
            6 => ObjectKind::GaloisKey,
            7 => ObjectKind::EvaluationKeys,
            8 => ObjectKind::PublicContext,
            9 => ObjectKind::SecretKey,
            _ => return None,
        })
    }
}

/// A [`Error::Serialization`] with this reason.
pub(crate) fn bad(reason: impl Into<String>) -> Error {
    Error::Serialization {
        reason: reason.into(),
    }
}

/// Writes the header of an object of `kind` under parameters with `fingerprint`.
pub(crate) fn header(kind: ObjectKind, fingerprint: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&MAGIC);
    h[4..6].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[6] = kind as u8;
    h[8..16].copy_from_slice(&fingerprint.to_le_bytes());
    h
}

/// Checks the header of `bytes` (magic, version, reserved byte, kind) and returns the recorded
/// fingerprint and the body.
pub(crate) fn open(bytes: &[u8], kind: ObjectKind) -> Result<(u64, &[u8])> {
    if bytes.len() < HEADER_LEN {
        return Err(bad(format!(
            "{} bytes is shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    let (head, body) = bytes.split_at(HEADER_LEN);
    if head[..4] != MAGIC {
        return Err(bad("not a hetile object (bad magic bytes)"));
    }
    let version = u16::from_le_bytes([head[4], head[5]]);
    if version != FORMAT_VERSION {
        return Err(bad(format!(
            "format version {version} is not supported (this build reads {FORMAT_VERSION})"
        )));
    }
    match ObjectKind::from_byte(head[6]) {
        Some(k) if k == kind => {}
        Some(other) => return Err(bad(format!("expected a {kind:?}, found a {other:?}"))),
        None => return Err(bad(format!("unknown object kind {}", head[6]))),
    }
    if head[7] != 0 {
        return Err(bad("reserved header byte is not zero"));
    }
    let mut fp = [0u8; 8];
    fp.copy_from_slice(&head[8..16]);
    Ok((u64::from_le_bytes(fp), body))
}

/// [`open`] plus the check that the object belongs to `params` ([`Error::ContextMismatch`]).
pub(crate) fn open_for<'a>(bytes: &'a [u8], kind: ObjectKind, params: &Params) -> Result<&'a [u8]> {
    let (fp, body) = open(bytes, kind)?;
    if fp != params.fingerprint() {
        return Err(Error::ContextMismatch {
            what: format!(
                "{kind:?} was made under parameters with fingerprint {fp:#018x}, not under {params} \
                 (fingerprint {:#018x})",
                params.fingerprint()
            ),
        });
    }
    Ok(body)
}

/// Decodes a postcard body that must be consumed exactly.
pub(crate) fn decode_body<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T> {
    let (value, rest) =
        postcard::take_from_bytes::<T>(body).map_err(|e| bad(format!("malformed body: {e}")))?;
    if !rest.is_empty() {
        return Err(bad(format!("{} trailing bytes after the body", rest.len())));
    }
    Ok(value)
}

/// Header followed by the postcard encoding of `body`.
pub(crate) fn seal<T: Serialize>(kind: ObjectKind, fingerprint: u64, body: &T) -> Result<Vec<u8>> {
    seal_sized(kind, fingerprint, body, 0)
}

/// [`seal`] into a buffer reserved for about `body_bytes` of body (no regrowth for large
/// bodies such as ciphertexts).
pub(crate) fn seal_sized<T: Serialize>(
    kind: ObjectKind,
    fingerprint: u64,
    body: &T,
    body_bytes: usize,
) -> Result<Vec<u8>> {
    let head = header(kind, fingerprint);
    let mut out = Vec::with_capacity(head.len() + body_bytes);
    out.extend_from_slice(&head);
    postcard::to_extend(body, out).map_err(|e| bad(format!("cannot encode: {e}")))
}

/// A borrowed byte string, encoded as postcard bytes (length varint + raw bytes) and decoded
/// without a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bytes<'a>(pub(crate) &'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Bytes<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Bytes<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("borrowed bytes")
            }
            fn visit_borrowed_bytes<E: serde::de::Error>(
                self,
                v: &'de [u8],
            ) -> std::result::Result<Bytes<'de>, E> {
                Ok(Bytes(v))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// Checks a level against the chain and a scale (finite, at least 1, with one bit of headroom
/// below the modulus of the level).
pub(crate) fn check_level_scale(params: &Params, level: u32, scale: f64) -> Result<(Level, Scale)> {
    let level = Level(level as usize);
    if level > params.max_level() {
        return Err(bad(format!(
            "{level} is above the top of the chain ({})",
            params.max_level()
        )));
    }
    let scale = Scale::new(scale)
        .ok_or_else(|| bad(format!("scale {scale} is not a finite value of at least 1")))?;
    let modulus_log2 = params.log_q_at(level);
    if scale.log2() + 1.0 > modulus_log2 {
        return Err(bad(format!(
            "scale {scale} does not fit below the modulus 2^{modulus_log2:.2} at {level}"
        )));
    }
    Ok((level, scale))
}

/// Serialization of [`Params`] (the type lives in `hetile_backend`, hence a trait).
pub trait ParamsBytes: Sized {
    /// The literal in an envelope whose fingerprint is the parameters' own.
    ///
    /// Errors: [`Error::Serialization`] if encoding fails (it does not for valid parameters).
    fn to_bytes(&self) -> Result<Vec<u8>>;
    /// Decodes a literal, validates it with [`Params::new`] (security table included) and checks
    /// that the regenerated chain has the recorded fingerprint.
    ///
    /// Errors: [`Error::Serialization`] for a malformed blob or a fingerprint that does not match
    /// the regenerated chain; the errors of [`Params::new`] for invalid or insecure parameters.
    fn from_bytes(bytes: &[u8]) -> Result<Self>;
}

impl ParamsBytes for Params {
    fn to_bytes(&self) -> Result<Vec<u8>> {
        seal(
            ObjectKind::Params,
            self.fingerprint(),
            &ParamsBody::new(self.literal()),
        )
    }

    fn from_bytes(bytes: &[u8]) -> Result<Params> {
        let (fp, body) = open(bytes, ObjectKind::Params)?;
        let literal: ParamsBody = decode_body(body)?;
        let params = checked_params(literal)?;
        if params.fingerprint() != fp {
            return Err(bad("the parameters do not have the recorded fingerprint"));
        }
        Ok(params)
    }
}

/// The parameter literal as stored (postcard is not self-describing, so the literal's
/// skip-if-none attribute cannot be used on the wire).
#[derive(Serialize, Deserialize, Clone, PartialEq)]
pub(crate) struct ParamsBody {
    log_n: u32,
    log_q: Vec<u32>,
    log_p: Vec<u32>,
    log_scale: u32,
    digits: Option<u64>,
    security: SecurityLevel,
    secret: SecretDistribution,
}

impl ParamsBody {
    pub(crate) fn new(literal: &ParamsLiteral) -> ParamsBody {
        ParamsBody {
            log_n: literal.log_n,
            log_q: literal.log_q.clone(),
            log_p: literal.log_p.clone(),
            log_scale: literal.log_scale,
            digits: literal.digits.map(|d| d as u64),
            security: literal.security,
            secret: literal.secret,
        }
    }
}

/// [`Params::new`] on a decoded literal (it bounds the prime count before generating primes).
pub(crate) fn checked_params(body: ParamsBody) -> Result<Params> {
    let digits = body
        .digits
        .map(|d| usize::try_from(d).map_err(|_| bad("digit count too large")))
        .transpose()?;
    Params::new(ParamsLiteral {
        log_n: body.log_n,
        log_q: body.log_q,
        log_p: body.log_p,
        log_scale: body.log_scale,
        digits,
        security: body.security,
        secret: body.secret,
    })
}

#[derive(Serialize, Deserialize)]
struct CiphertextBody<'a> {
    level: u32,
    scale: f64,
    seed: Option<[u8; 32]>,
    #[serde(borrow)]
    c0: Bytes<'a>,
    #[serde(borrow)]
    c1: Option<Bytes<'a>>,
}

#[derive(Serialize, Deserialize)]
struct PlaintextBody<'a> {
    level: u32,
    scale: f64,
    #[serde(borrow)]
    poly: Bytes<'a>,
}

fn level_u32(level: Level) -> Result<u32> {
    u32::try_from(level.0).map_err(|_| bad("level does not fit 32 bits"))
}

impl Ciphertext {
    /// Serializes the ciphertext (made under `ctx`). A fresh secret-key encryption keeps the
    /// seed of its `c1` until an operation changes it, and is stored seed-compressed (`c1`
    /// omitted).
    ///
    /// Errors: [`Error::ContextMismatch`] when the ciphertext does not belong to `ctx`;
    /// [`Error::Internal`] (builds with debug assertions) when a seeded `c1` no longer matches
    /// its seed.
    pub fn to_bytes(&self, ctx: &CkksContext) -> Result<Vec<u8>> {
        crate::encoding::check_ciphertext(ctx, self)?;
        let c0 = poly::pack(ctx, &self.c0)?;
        // Every operation that changes `c1` clears the seed, so a seeded ciphertext's `c1` is
        // its seed's stream; builds with debug assertions (the tests) check it anyway.
        let compressed = match self.seed {
            Some(seed) if cfg!(debug_assertions) => {
                let basis = &ctx.level(self.level)?.q_basis;
                let regenerated =
                    Sampler::from_seed(seed).uniform_poly(ctx.ring(), basis, Representation::Ntt);
                if regenerated != self.c1 {
                    return Err(Error::Internal {
                        backend: crate::NAME,
                        reason: "a seeded ciphertext's c1 differs from its seed's stream".into(),
                    });
                }
                true
            }
            Some(_) => true,
            None => false,
        };
        let c1 = if compressed {
            None
        } else {
            Some(poly::pack(ctx, &self.c1)?)
        };
        let body = CiphertextBody {
            level: level_u32(self.level)?,
            scale: self.scale.value(),
            seed: if compressed { self.seed } else { None },
            c0: Bytes(&c0),
            c1: c1.as_deref().map(Bytes),
        };
        let size = c0.len() + c1.as_ref().map_or(0, Vec::len) + 64;
        seal_sized(ObjectKind::Ciphertext, self.context, &body, size)
    }

    /// Decodes and validates a ciphertext for `ctx`.
    ///
    /// Errors: [`Error::ContextMismatch`] when it was made under other parameters;
    /// [`Error::Serialization`] for anything malformed (lengths, unreduced residues, a level above
    /// the chain, a non-finite or oversized scale, neither `c1` nor a seed).
    pub fn from_bytes(ctx: &CkksContext, bytes: &[u8]) -> Result<Ciphertext> {
        let params = ctx.params();
        let body: CiphertextBody = decode_body(open_for(bytes, ObjectKind::Ciphertext, params)?)?;
        let (level, scale) = check_level_scale(params, body.level, body.scale)?;
        let basis = &ctx.level(level)?.q_basis;
        let c0 = poly::unpack(ctx, basis, body.c0.0)?;
        let (c1, seed) = match (body.c1, body.seed) {
            (Some(c1), _) => (poly::unpack(ctx, basis, c1.0)?, None),
            (None, Some(seed)) => (
                Sampler::from_seed(seed).uniform_poly(ctx.ring(), basis, Representation::Ntt),
                Some(seed),
            ),
            (None, None) => return Err(bad("ciphertext has neither c1 nor a seed")),
        };
        Ok(Ciphertext {
            c0,
            c1,
            level,
            scale,
            context: params.fingerprint(),
            seed,
        })
    }
}

impl Plaintext {
    /// Serializes the plaintext.
    ///
    /// Errors: [`Error::ContextMismatch`] when the plaintext does not belong to `ctx`.
    pub fn to_bytes(&self, ctx: &CkksContext) -> Result<Vec<u8>> {
        crate::encoding::check_plaintext(ctx, self)?;
        let poly = poly::pack(ctx, &self.poly)?;
        let body = PlaintextBody {
            level: level_u32(self.level)?,
            scale: self.scale.value(),
            poly: Bytes(&poly),
        };
        seal(ObjectKind::Plaintext, self.context, &body)
    }

    /// Decodes and validates a plaintext for `ctx`.
    ///
    /// Errors: as [`Ciphertext::from_bytes`].
    pub fn from_bytes(ctx: &CkksContext, bytes: &[u8]) -> Result<Plaintext> {
        let params = ctx.params();
        let body: PlaintextBody = decode_body(open_for(bytes, ObjectKind::Plaintext, params)?)?;
        let (level, scale) = check_level_scale(params, body.level, body.scale)?;
        let basis = &ctx.level(level)?.q_basis;
        Ok(Plaintext {
            poly: poly::unpack(ctx, basis, body.poly.0)?,
            level,
            scale,
            context: params.fingerprint(),
        })
    }
}
