//! Serialization of the public key, switching keys, Galois keys and evaluation keys, and the
//! explicitly named export and import of the secret key.

use super::{bad, decode_body, open_for, poly, seal, Bytes, ObjectKind};
use crate::context::CkksContext;
use crate::keys::{EvaluationKeys, GaloisKey, PublicKey, SecretKey, SwitchingKey};
use hetile_backend::{Error, Result, SecretDistribution};
use hetile_ring::galois::{
    automorphism_permutation, galois_element_conjugate, galois_element_for_rotation,
};
use hetile_ring::rns::Representation;
use hetile_ring::sampling::Sampler;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

#[derive(Serialize, Deserialize)]
pub(crate) struct PublicKeyBody<'a> {
    #[serde(borrow)]
    b: Bytes<'a>,
    #[serde(borrow)]
    a: Bytes<'a>,
}

/// Packed polynomials of a public key (owned, borrowed by a body). The public key is stored in
/// full: its `a` is not drawn from a recorded seed (changing that would change key generation).
pub(crate) struct PackedPublicKey {
    b: Vec<u8>,
    a: Vec<u8>,
}

impl PackedPublicKey {
    pub(crate) fn new(ctx: &CkksContext, pk: &PublicKey) -> Result<PackedPublicKey> {
        Ok(PackedPublicKey {
            b: poly::pack(ctx, &pk.b)?,
            a: poly::pack(ctx, &pk.a)?,
        })
    }
    pub(crate) fn body(&self) -> PublicKeyBody<'_> {
        PublicKeyBody {
            b: Bytes(&self.b),
            a: Bytes(&self.a),
        }
    }
}

/// The packed size of a public key under `ctx`'s parameters (over `Q_L` and the first special
/// prime, see [`PublicKey`]).
pub(crate) fn public_key_len(params: &hetile_backend::Params) -> usize {
    let n = params.degree().get();
    2 * params
        .q()
        .iter()
        .chain(params.p().first())
        .map(|&q| (n * (64 - (q - 1).leading_zeros()) as usize).div_ceil(8))
        .sum::<usize>()
}

pub(crate) fn public_key_from_body(ctx: &CkksContext, body: &PublicKeyBody) -> Result<PublicKey> {
    let basis = ctx.public_key_basis();
    Ok(PublicKey {
        b: poly::unpack(ctx, basis, body.b.0)?,
        a: poly::unpack(ctx, basis, body.a.0)?,
    })
}

#[derive(Serialize, Deserialize)]
struct DigitBody<'a> {
    seed: [u8; 32],
    #[serde(borrow)]
    b: Bytes<'a>,
    #[serde(borrow)]
    a: Option<Bytes<'a>>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct SwitchingKeyBody<'a> {
    #[serde(borrow)]
    digits: Vec<DigitBody<'a>>,
}

/// One packed digit: `(seed, b, a if uncompressed)`.
type PackedDigit = ([u8; 32], Vec<u8>, Option<Vec<u8>>);

/// Packed digits of a switching key.
pub(crate) struct PackedSwitchingKey(Vec<PackedDigit>);

impl PackedSwitchingKey {
    pub(crate) fn new(
        ctx: &CkksContext,
        key: &SwitchingKey,
        compressed: bool,
    ) -> Result<PackedSwitchingKey> {
        if key.b.len() != key.a.len() || key.b.len() != key.seeds.len() {
            return Err(bad("switching key has inconsistent digit counts"));
        }
        let digits = key
            .b
            .iter()
            .zip(&key.a)
            .zip(&key.seeds)
            .map(|((b, a), seed)| {
                let a = if compressed {
                    None
                } else {
                    Some(poly::pack(ctx, a)?)
                };
                Ok((*seed, poly::pack(ctx, b)?, a))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(PackedSwitchingKey(digits))
    }
    pub(crate) fn body(&self) -> SwitchingKeyBody<'_> {
        SwitchingKeyBody {
            digits: self
                .0
                .iter()
                .map(|(seed, b, a)| DigitBody {
                    seed: *seed,
                    b: Bytes(b),
                    a: a.as_deref().map(Bytes),
                })
                .collect(),
        }
    }
}

pub(crate) fn switching_key_from_body(
    ctx: &CkksContext,
    body: &SwitchingKeyBody,
) -> Result<SwitchingKey> {
    let expected = ctx.digits().len();
    if body.digits.len() != expected {
        return Err(bad(format!(
            "switching key with {} digits where the parameters have {expected}",
            body.digits.len()
        )));
    }
    let basis = ctx.full_qp_basis();
    let mut key = SwitchingKey {
        b: Vec::with_capacity(expected),
        a: Vec::with_capacity(expected),
        seeds: Vec::with_capacity(expected),
    };
    for d in &body.digits {
        key.b.push(poly::unpack(ctx, basis, d.b.0)?);
        key.a.push(match d.a {
            Some(a) => poly::unpack(ctx, basis, a.0)?,
            None => Sampler::from_seed(d.seed).uniform_poly(ctx.ring(), basis, Representation::Ntt),
        });
        key.seeds.push(d.seed);
    }
    Ok(key)
}

#[derive(Serialize, Deserialize)]
pub(crate) struct GaloisKeyBody<'a> {
    galois_element: u64,
    #[serde(borrow)]
    key: SwitchingKeyBody<'a>,
}

fn galois_key_from_body(ctx: &CkksContext, body: &GaloisKeyBody) -> Result<GaloisKey> {
    let g = usize::try_from(body.galois_element).map_err(|_| bad("Galois element too large"))?;
    let permutation = automorphism_permutation(ctx.ring().ntt(0), g)
        .map_err(|e| bad(format!("invalid Galois element {g}: {e}")))?;
    Ok(GaloisKey {
        galois_element: g,
        permutation,
        key: switching_key_from_body(ctx, &body.key)?,
    })
}

#[derive(Serialize, Deserialize)]
pub(crate) struct EvaluationKeysBody<'a> {
    #[serde(borrow)]
    relin: Option<SwitchingKeyBody<'a>>,
    #[serde(borrow)]
    galois: Vec<GaloisKeyBody<'a>>,
    rotations: Vec<(u64, u64)>,
    conjugation: Option<u64>,
}

/// Packed evaluation keys (owned, borrowed by a body).
pub(crate) struct PackedEvaluationKeys {
    relin: Option<PackedSwitchingKey>,
    galois: Vec<(u64, PackedSwitchingKey)>,
    rotations: Vec<(u64, u64)>,
    conjugation: Option<u64>,
}

impl PackedEvaluationKeys {
    pub(crate) fn new(ctx: &CkksContext, keys: &EvaluationKeys) -> Result<PackedEvaluationKeys> {
        let relin = keys
            .relin
            .as_ref()
            .map(|k| PackedSwitchingKey::new(ctx, k, true))
            .transpose()?;
        let galois = keys
            .galois
            .iter()
            .map(|(&g, k)| Ok((g as u64, PackedSwitchingKey::new(ctx, &k.key, true)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(PackedEvaluationKeys {
            relin,
            galois,
            rotations: keys
                .rotations
                .iter()
                .map(|(&s, &g)| (s as u64, g as u64))
                .collect(),
            conjugation: keys.conjugation.map(|g| g as u64),
        })
    }
    pub(crate) fn body(&self) -> EvaluationKeysBody<'_> {
        EvaluationKeysBody {
            relin: self.relin.as_ref().map(PackedSwitchingKey::body),
            galois: self
                .galois
                .iter()
                .map(|(g, k)| GaloisKeyBody {
                    galois_element: *g,
                    key: k.body(),
                })
                .collect(),
            rotations: self.rotations.clone(),
            conjugation: self.conjugation,
        }
    }
}

/// Rebuilds evaluation keys, checking that every rotation step maps to its Galois element, that
/// the conjugation element is the conjugation, that no element repeats and no key is unused.
pub(crate) fn evaluation_keys_from_body(
    ctx: &CkksContext,
    body: &EvaluationKeysBody,
) -> Result<EvaluationKeys> {
    let n = ctx.ring().degree();
    let slots = n / 2;
    let mut out = EvaluationKeys {
        relin: body
            .relin
            .as_ref()
            .map(|k| switching_key_from_body(ctx, k))
            .transpose()?,
        ..EvaluationKeys::default()
    };
    for gk in &body.galois {
        let key = galois_key_from_body(ctx, gk)?;
        if out.galois.insert(key.galois_element, key).is_some() {
            return Err(bad("a Galois element appears twice"));
        }
    }
    let mut used = BTreeMap::new();
    for &(step, g) in &body.rotations {
        let step = usize::try_from(step).map_err(|_| bad("rotation step too large"))?;
        if step == 0 || step >= slots {
            return Err(bad(format!("rotation step {step} is not in 1..{slots}")));
        }
        let want = galois_element_for_rotation(step as i64, n);
        if g != want as u64 || !out.galois.contains_key(&want) {
            return Err(bad(format!(
                "rotation step {step} needs the Galois key of element {want}"
            )));
        }
        if out.rotations.insert(step, want).is_some() {
            return Err(bad(format!("rotation step {step} appears twice")));
        }
        used.insert(want, ());
    }
    if let Some(g) = body.conjugation {
        let want = galois_element_conjugate(n);
        if g != want as u64 || !out.galois.contains_key(&want) {
            return Err(bad(
                "the conjugation entry does not name the conjugation key",
            ));
        }
        out.conjugation = Some(want);
        used.insert(want, ());
    }
    if used.len() != out.galois.len() {
        return Err(bad(
            "a Galois key serves no rotation step and no conjugation",
        ));
    }
    Ok(out)
}

impl PublicKey {
    /// Serializes the public key of `ctx` (both components in full).
    ///
    /// Errors: [`Error::Serialization`] for a key that is not of `ctx` (wrong shape).
    pub fn to_bytes(&self, ctx: &CkksContext) -> Result<Vec<u8>> {
        let packed = PackedPublicKey::new(ctx, self)?;
        seal(
            ObjectKind::PublicKey,
            ctx.params().fingerprint(),
            &packed.body(),
        )
    }

    /// Decodes and validates a public key for `ctx`.
    ///
    /// Errors: [`Error::ContextMismatch`] for another context, [`Error::Serialization`] otherwise.
    pub fn from_bytes(ctx: &CkksContext, bytes: &[u8]) -> Result<PublicKey> {
        let body: PublicKeyBody =
            decode_body(open_for(bytes, ObjectKind::PublicKey, ctx.params())?)?;
        public_key_from_body(ctx, &body)
    }
}

impl SwitchingKey {
    /// Serializes the key seed-compressed (the uniform halves are regenerated from their seeds).
    ///
    /// Errors: [`Error::Serialization`] for a key that is not of `ctx`.
    pub fn to_bytes(&self, ctx: &CkksContext) -> Result<Vec<u8>> {
        let packed = PackedSwitchingKey::new(ctx, self, true)?;
        seal(
            ObjectKind::SwitchingKey,
            ctx.params().fingerprint(),
            &packed.body(),
        )
    }

    /// Serializes the key with its uniform halves in full (for comparison and for keys whose
    /// seeds are not trusted by the reader).
    ///
    /// Errors: as [`SwitchingKey::to_bytes`].
    pub fn to_bytes_uncompressed(&self, ctx: &CkksContext) -> Result<Vec<u8>> {
        let packed = PackedSwitchingKey::new(ctx, self, false)?;
        seal(
            ObjectKind::SwitchingKey,
            ctx.params().fingerprint(),
            &packed.body(),
        )
    }

    /// Decodes and validates a switching key (either form) for `ctx`.
    ///
    /// Errors: [`Error::ContextMismatch`] for another context, [`Error::Serialization`] for a
    /// wrong digit count or malformed polynomials.
    pub fn from_bytes(ctx: &CkksContext, bytes: &[u8]) -> Result<SwitchingKey> {
        let body: SwitchingKeyBody =
            decode_body(open_for(bytes, ObjectKind::SwitchingKey, ctx.params())?)?;
        switching_key_from_body(ctx, &body)
    }
}

impl GaloisKey {
    /// Serializes the Galois key seed-compressed.
    ///
    /// Errors: [`Error::Serialization`] for a key that is not of `ctx`.
    pub fn to_bytes(&self, ctx: &CkksContext) -> Result<Vec<u8>> {
        let packed = PackedSwitchingKey::new(ctx, &self.key, true)?;
        let body = GaloisKeyBody {
            galois_element: self.galois_element as u64,
            key: packed.body(),
        };
        seal(ObjectKind::GaloisKey, ctx.params().fingerprint(), &body)
    }

    /// Decodes and validates a Galois key for `ctx` (the element must be odd and below 2N; the
    /// permutation is recomputed, never read).
    ///
    /// Errors: [`Error::ContextMismatch`] for another context, [`Error::Serialization`] otherwise.
    pub fn from_bytes(ctx: &CkksContext, bytes: &[u8]) -> Result<GaloisKey> {
        let body: GaloisKeyBody =
            decode_body(open_for(bytes, ObjectKind::GaloisKey, ctx.params())?)?;
        galois_key_from_body(ctx, &body)
    }
}

impl EvaluationKeys {
    /// Serializes all evaluation keys (seed-compressed) with their step table.
    ///
    /// Errors: [`Error::Serialization`] for keys that are not of `ctx`.
    pub fn to_bytes(&self, ctx: &CkksContext) -> Result<Vec<u8>> {
        let packed = PackedEvaluationKeys::new(ctx, self)?;
        seal(
            ObjectKind::EvaluationKeys,
            ctx.params().fingerprint(),
            &packed.body(),
        )
    }

    /// Decodes and validates evaluation keys for `ctx`.
    ///
    /// Errors: [`Error::ContextMismatch`] for another context, [`Error::Serialization`] for
    /// malformed keys or an inconsistent step table.
    pub fn from_bytes(ctx: &CkksContext, bytes: &[u8]) -> Result<EvaluationKeys> {
        let body: EvaluationKeysBody =
            decode_body(open_for(bytes, ObjectKind::EvaluationKeys, ctx.params())?)?;
        evaluation_keys_from_body(ctx, &body)
    }
}

#[derive(Serialize, Deserialize)]
struct SecretKeyBody<'a> {
    /// One byte per coefficient: 0, 1 or 0xff (-1).
    #[serde(borrow)]
    coeffs: Bytes<'a>,
}

/// The secret key's envelope: coefficients in `{-1, 0, 1}` as bytes. The result is wiped when
/// dropped; no intermediate buffer outlives the call unwiped.
pub(crate) fn export_secret_key(ctx: &CkksContext, sk: &SecretKey) -> Result<Zeroizing<Vec<u8>>> {
    let coeffs = sk.ternary_coefficients(ctx)?;
    let bytes: Zeroizing<Vec<u8>> = Zeroizing::new(coeffs.iter().map(|&c| c as i8 as u8).collect());
    let body = SecretKeyBody {
        coeffs: Bytes(&bytes),
    };
    let mut out = Zeroizing::new(vec![0u8; super::HEADER_LEN + 16 + bytes.len()]);
    out[..super::HEADER_LEN].copy_from_slice(&super::header(
        ObjectKind::SecretKey,
        ctx.params().fingerprint(),
    ));
    let used = postcard::to_slice(&body, &mut out[super::HEADER_LEN..])
        .map_err(|e| bad(format!("cannot encode the secret key: {e}")))?
        .len();
    out.truncate(super::HEADER_LEN + used);
    Ok(out)
}

/// Decodes a secret key for `ctx`: every coefficient in `{-1, 0, 1}` and, for sparse secrets,
/// exactly the parameters' Hamming weight.
pub(crate) fn import_secret_key(ctx: &CkksContext, bytes: &[u8]) -> Result<SecretKey> {
    let body: SecretKeyBody = decode_body(open_for(bytes, ObjectKind::SecretKey, ctx.params())?)?;
    let n = ctx.ring().degree();
    if body.coeffs.0.len() != n {
        return Err(bad(format!(
            "secret key with {} coefficients where N = {n}",
            body.coeffs.0.len()
        )));
    }
    let mut coeffs = Zeroizing::new(Vec::with_capacity(n));
    for &b in body.coeffs.0 {
        coeffs.push(match b {
            0 => 0i64,
            1 => 1,
            0xff => -1,
            _ => return Err(bad("secret key coefficient outside {-1, 0, 1}")),
        });
    }
    if let SecretDistribution::HammingWeight(h) = ctx.params().secret() {
        let weight = coeffs.iter().filter(|&&c| c != 0).count();
        if weight != h {
            return Err(bad(format!(
                "secret key of Hamming weight {weight} where the parameters ask for {h}"
            )));
        }
    }
    SecretKey::from_coefficients(ctx, &coeffs)
}

/// Maps a failed key check to a context mismatch.
pub(crate) fn key_mismatch(what: &str) -> Error {
    Error::ContextMismatch {
        what: what.to_string(),
    }
}
