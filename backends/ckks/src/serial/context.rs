//! The client's public context: what a server needs and all it may hold.

use super::keys::{
    evaluation_keys_from_body, public_key_from_body, public_key_len, EvaluationKeysBody,
    PackedEvaluationKeys, PackedPublicKey, PublicKeyBody,
};
use super::{bad, checked_params, decode_body, open, seal, ObjectKind, ParamsBody};
use crate::context::CkksContext;
use crate::evaluator::CkksEvaluator;
use crate::keys::{EvaluationKeys, PublicKey};
use hetile_backend::{Error, KeyRequirements, Params, Result};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Everything a client shares with a server: the parameters, the key requirements, the public key
/// and the evaluation keys. It names no secret key and offers no decryption: a server built from
/// it can evaluate ([`PublicContext::evaluator`]) but never decrypt.
///
/// ```compile_fail,E0599
/// // The server side has no way to decrypt: neither the public context nor the evaluator
/// // offers `decrypt`, and neither can name the secret key.
/// use hetile_ckks::{Ciphertext, PublicContext};
/// fn server(public: &PublicContext, ct: &Ciphertext) {
///     let _ = public.decrypt(ct);
/// }
/// ```
///
/// ```compile_fail,E0277
/// use hetile_backend::Client;
/// use hetile_ckks::{Ciphertext, CkksEvaluator};
/// fn server(ev: &CkksEvaluator, ct: &Ciphertext) {
///     // CkksEvaluator implements only Evaluator, not Client: no decrypt.
///     let _ = Client::decrypt(ev, ct);
/// }
/// ```
///
/// ```compile_fail,E0599
/// use hetile_ckks::PublicContext;
/// fn server(public: &PublicContext) {
///     // There is no accessor to a secret key on the server side.
///     let _ = public.secret_key();
/// }
/// ```
#[derive(Debug, Clone)]
pub struct PublicContext {
    ctx: Arc<CkksContext>,
    requirements: KeyRequirements,
    public_key: PublicKey,
    keys: Arc<EvaluationKeys>,
}

#[derive(Serialize, Deserialize)]
struct PublicContextBody<'a> {
    params: ParamsBody,
    requirements: KeyRequirements,
    #[serde(borrow)]
    public_key: PublicKeyBody<'a>,
    #[serde(borrow)]
    keys: EvaluationKeysBody<'a>,
}

impl PublicContext {
    /// Assembles a public context (used by `CkksClient::public_context`).
    pub(crate) fn from_parts(
        ctx: Arc<CkksContext>,
        requirements: KeyRequirements,
        public_key: PublicKey,
        keys: Arc<EvaluationKeys>,
    ) -> PublicContext {
        PublicContext {
            ctx,
            requirements,
            public_key,
            keys,
        }
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        self.ctx.params()
    }

    /// The precomputed context (needed by `Ciphertext::from_bytes` and friends).
    pub fn context(&self) -> &Arc<CkksContext> {
        &self.ctx
    }

    /// The key requirements the client generated keys for.
    pub fn key_requirements(&self) -> &KeyRequirements {
        &self.requirements
    }

    /// The client's public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The evaluation keys.
    pub fn evaluation_keys(&self) -> &Arc<EvaluationKeys> {
        &self.keys
    }

    /// An evaluator over this context and its evaluation keys.
    pub fn evaluator(&self) -> CkksEvaluator {
        CkksEvaluator::new(
            Arc::clone(&self.ctx),
            Arc::clone(&self.keys),
            self.requirements.clone(),
        )
    }

    /// Serializes the public context (evaluation keys seed-compressed).
    ///
    /// Errors: [`Error::Serialization`] if encoding fails (it does not for a valid context).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let pk = PackedPublicKey::new(&self.ctx, &self.public_key)?;
        let keys = PackedEvaluationKeys::new(&self.ctx, &self.keys)?;
        let body = PublicContextBody {
            params: ParamsBody::new(self.params().literal()),
            requirements: self.requirements.clone(),
            public_key: pk.body(),
            keys: keys.body(),
        };
        seal(
            ObjectKind::PublicContext,
            self.params().fingerprint(),
            &body,
        )
    }

    /// Decodes a public context, validating the parameters (security table included, via
    /// [`Params::new`]), building its [`CkksContext`] and validating every key; the key table
    /// must match the recorded key requirements exactly.
    ///
    /// Errors: [`Error::Serialization`] for a malformed blob; the errors of [`Params::new`].
    pub fn from_bytes(bytes: &[u8]) -> Result<PublicContext> {
        let (fp, body) = open(bytes, ObjectKind::PublicContext)?;
        // The parameters lead the body: check them (and the size they imply) first.
        let (literal, _) = postcard::take_from_bytes::<ParamsBody>(body)
            .map_err(|e| bad(format!("malformed parameters: {e}")))?;
        let params = checked_params(literal)?;
        if params.fingerprint() != fp {
            return Err(bad("the parameters do not have the recorded fingerprint"));
        }
        // The blob must at least hold the public key these parameters imply: a small hostile
        // blob cannot make the server build the tables of large parameters.
        let minimum = public_key_len(&params);
        if bytes.len() < minimum {
            return Err(bad(format!(
                "{} bytes cannot hold the {minimum}-byte public key of {params}",
                bytes.len()
            )));
        }
        let body: PublicContextBody = decode_body(body)?;
        if body.params != ParamsBody::new(params.literal()) {
            return Err(bad("the parameters changed between two reads"));
        }
        let ctx = CkksContext::new(&params)?;
        Self::finish(ctx, body)
    }

    /// As [`PublicContext::from_bytes`], but for a context the caller already has (the blob's
    /// parameters must be exactly `ctx`'s): no parameter or table regeneration.
    ///
    /// Errors: [`Error::ContextMismatch`] when the blob belongs to other parameters,
    /// [`Error::Serialization`] otherwise.
    pub fn from_bytes_in(ctx: &Arc<CkksContext>, bytes: &[u8]) -> Result<PublicContext> {
        let (fp, body) = open(bytes, ObjectKind::PublicContext)?;
        if fp != ctx.params().fingerprint() {
            return Err(Error::ContextMismatch {
                what: format!(
                    "public context of fingerprint {fp:#018x}, expected {}",
                    ctx.params()
                ),
            });
        }
        let body: PublicContextBody = decode_body(body)?;
        if body.params != ParamsBody::new(ctx.params().literal()) {
            return Err(Error::ContextMismatch {
                what: "the public context's parameter literal differs".into(),
            });
        }
        Self::finish(Arc::clone(ctx), body)
    }

    fn finish(ctx: Arc<CkksContext>, body: PublicContextBody) -> Result<PublicContext> {
        let public_key = public_key_from_body(&ctx, &body.public_key)?;
        let keys = evaluation_keys_from_body(&ctx, &body.keys)?;
        let req = &body.requirements;
        let steps = req.normalized_rotations(ctx.params().slots());
        if req.relinearization != keys.relin.is_some()
            || req.conjugation != keys.conjugation.is_some()
            || !steps.iter().copied().eq(keys.rotations.keys().copied())
        {
            return Err(bad(
                "the evaluation keys do not match the recorded key requirements",
            ));
        }
        Ok(PublicContext {
            ctx,
            requirements: body.requirements,
            public_key,
            keys: Arc::new(keys),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serial::header;

    #[test]
    fn a_small_blob_cannot_make_the_server_build_large_parameters() {
        // A hostile blob naming N = 2^15 with nine primes, but only a few bytes long: refused
        // before any table of those parameters is built.
        let big = Params::preset("N15_L8").unwrap();
        let mut blob = header(ObjectKind::PublicContext, big.fingerprint()).to_vec();
        blob = postcard::to_extend(&ParamsBody::new(big.literal()), blob).unwrap();
        blob.extend_from_slice(&[0u8; 64]);
        let start = std::time::Instant::now();
        match PublicContext::from_bytes(&blob) {
            Err(Error::Serialization { reason }) => assert!(reason.contains("cannot hold")),
            other => panic!("{other:?}"),
        }
        assert!(start.elapsed().as_secs_f64() < 1.0);
    }
}
