//! The client: key generation, encryption (public and secret key), decryption and decoding.

use crate::context::CkksContext;
use crate::encoding::{
    check_ciphertext, check_plaintext, decode_complex, encode_complex, encode_real,
    encode_real_coefficients,
};
use crate::encrypt::{encrypt_public, EncryptionKey, EncryptionNoise};
use crate::evaluator::CkksEvaluator;
use crate::keys::{relinearization_key, EvaluationKeys, GaloisKey, PublicKey, SecretKey, Wiped};
use crate::sanitize::SharingState;
use crate::serial::PublicContext;
use crate::types::{Ciphertext, Plaintext};
use crate::{CkksBackend, RingResultExt};
use hetile_backend::{Client, Complex, Error, KeyRequirements, Level, Params, Result, Scale};
use hetile_ring::galois::{galois_element_conjugate, galois_element_for_rotation};
use hetile_ring::rns::{Representation, RnsPoly};
use hetile_ring::sampling::Sampler;
use std::collections::btree_map::Entry;
use std::fmt;
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

/// The CKKS client: owns the secret key (never leaves this struct), the public key and the
/// evaluation keys it generated, and a ChaCha20 sampler for encryption noise.
pub struct CkksClient {
    pub(crate) ctx: Arc<CkksContext>,
    sk: SecretKey,
    pk: PublicKey,
    /// The public key prepared for encryption (see the `encrypt` module).
    enc_key: EncryptionKey,
    eval_keys: Arc<EvaluationKeys>,
    requirements: KeyRequirements,
    sampler: Mutex<Sampler>,
    /// Policy and count of decryptions meant to be shared (see `sanitize`).
    pub(crate) sharing: Mutex<SharingState>,
}

impl fmt::Debug for CkksClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CkksClient")
            .field("params", self.ctx.params())
            .field("keys", &self.requirements)
            .field("secret_key", &self.sk)
            .finish_non_exhaustive()
    }
}

impl CkksClient {
    /// Generates all keys with `sampler` as the only source of randomness.
    ///
    /// Errors: [`Error::InvalidParameters`] when evaluation keys are asked for parameters without
    /// special primes, or when the ring layer refuses the parameters.
    pub fn with_sampler(
        params: &Params,
        keys: &KeyRequirements,
        mut sampler: Sampler,
    ) -> Result<CkksClient> {
        let ctx = CkksContext::new(params)?;
        let sk = SecretKey::generate(&ctx, &mut sampler)?;
        let pk = PublicKey::generate(&ctx, &sk, &mut sampler)?;
        let eval_keys = Arc::new(generate_evaluation_keys(&ctx, &sk, keys, &mut sampler)?);
        let enc_key = EncryptionKey::new(&ctx, &pk)?;
        Ok(CkksClient {
            ctx,
            sk,
            pk,
            enc_key,
            eval_keys,
            requirements: keys.clone(),
            sampler: Mutex::new(sampler),
            sharing: Mutex::new(SharingState::default()),
        })
    }

    /// The public context to hand to a server: parameters, key requirements, public key and
    /// evaluation keys (never the secret key).
    pub fn public_context(&self) -> PublicContext {
        PublicContext::from_parts(
            Arc::clone(&self.ctx),
            self.requirements.clone(),
            self.pk.clone(),
            Arc::clone(&self.eval_keys),
        )
    }

    /// Exports the secret key **unprotected** (its coefficients in the clear, in the envelope
    /// format of [`crate::serial`], kind `SecretKey`). Whoever reads these bytes can decrypt
    /// everything encrypted to this client: store them encrypted or not at all. The buffer is
    /// wiped when dropped.
    ///
    /// Errors: [`Error::Internal`] for a corrupted key.
    pub fn export_secret_key_unprotected(&self) -> Result<Zeroizing<Vec<u8>>> {
        crate::serial::export_secret_key(&self.ctx, &self.sk)
    }

    /// Rebuilds a client from its public context and the bytes of
    /// [`CkksClient::export_secret_key_unprotected`]. The secret is checked against the public
    /// key (`b + a*s` must be a small error), so a key of another client is refused. The new
    /// client has a fresh sampler and a fresh sharing budget.
    ///
    /// Errors: [`Error::ContextMismatch`] for a key of other parameters or of another public key;
    /// [`Error::Serialization`] for malformed bytes; [`Error::Internal`] without OS entropy.
    pub fn from_secret_key_bytes(public: &PublicContext, bytes: &[u8]) -> Result<CkksClient> {
        let ctx = Arc::clone(public.context());
        let sk = crate::serial::import_secret_key(&ctx, bytes)?;
        check_key_pair(&ctx, &sk, public.public_key())?;
        let sampler = Sampler::from_os_entropy().map_err(|e| Error::Internal {
            backend: crate::NAME,
            reason: format!("no OS entropy: {e}"),
        })?;
        Ok(CkksClient {
            ctx,
            sk,
            pk: public.public_key().clone(),
            enc_key: EncryptionKey::new(public.context(), public.public_key())?,
            eval_keys: Arc::clone(public.evaluation_keys()),
            requirements: public.key_requirements().clone(),
            sampler: Mutex::new(sampler),
            sharing: Mutex::new(SharingState::default()),
        })
    }

    /// Address and byte length of the secret key's buffer, for wipe-on-drop tests only (see
    /// [`SecretKey::storage_for_wipe_tests`]).
    #[doc(hidden)]
    pub fn secret_storage_for_wipe_tests(&self) -> (usize, usize) {
        self.sk.storage_for_wipe_tests()
    }

    /// The context (chain, encoder, tables).
    pub fn context(&self) -> &Arc<CkksContext> {
        &self.ctx
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.pk
    }

    /// The evaluation keys (public).
    pub fn evaluation_keys(&self) -> &Arc<EvaluationKeys> {
        &self.eval_keys
    }

    pub(crate) fn with_sampler_locked<T>(
        &self,
        f: impl FnOnce(&mut Sampler) -> Result<T>,
    ) -> Result<T> {
        let mut guard = self.sampler.lock().map_err(|_| Error::Internal {
            backend: crate::NAME,
            reason: "the sampler lock is poisoned".into(),
        })?;
        f(&mut guard)
    }

    /// The ternary `u` and Gaussian `e0`, `e1` of one public-key encryption.
    fn sample_encryption_noise(&self) -> Result<EncryptionNoise> {
        let n = self.ctx.ring().degree();
        self.with_sampler_locked(|s| {
            Ok(EncryptionNoise {
                u: Zeroizing::new(s.ternary(n)),
                e0: Zeroizing::new(s.gaussian(n)),
                e1: Zeroizing::new(s.gaussian(n)),
            })
        })
    }

    /// The secret key limbs of `Q_level` (wiped on drop).
    fn secret_at(&self, level: Level) -> Wiped {
        Wiped(self.sk.poly().select_limbs(0..level.0 + 1))
    }
}

/// Checks that `b + a*s` is an error polynomial of Gaussian size (the key pair belongs together).
fn check_key_pair(ctx: &CkksContext, sk: &SecretKey, pk: &PublicKey) -> Result<()> {
    let ring = ctx.ring();
    let s = Wiped(sk.poly().select_limbs(0..pk.a.num_limbs()));
    let mut e = Wiped(pk.a.clone());
    e.0.mul_assign(ring, &s.0).ring()?;
    e.0.add_assign(ring, &pk.b).ring()?;
    e.0.to_coeff(ring);
    let q = ctx.modulus(e.0.moduli()[0]).value();
    let bound = hetile_ring::sampling::GAUSSIAN_BOUND as u64;
    if e.0.limb(0).iter().any(|&v| v > bound && v < q - bound) {
        return Err(crate::serial::key_mismatch(
            "the secret key does not belong to this public key",
        ));
    }
    Ok(())
}

/// Generates the relinearization key and the Galois keys of exactly the normalized rotation steps
/// (and conjugation) of `keys`.
fn generate_evaluation_keys(
    ctx: &CkksContext,
    sk: &SecretKey,
    keys: &KeyRequirements,
    sampler: &mut Sampler,
) -> Result<EvaluationKeys> {
    let n = ctx.ring().degree();
    let mut out = EvaluationKeys::default();
    if keys.relinearization {
        out.relin = Some(relinearization_key(ctx, sk, sampler)?);
    }
    for step in keys.normalized_rotations(ctx.params().slots()) {
        let g = galois_element_for_rotation(step as i64, n);
        if let Entry::Vacant(slot) = out.galois.entry(g) {
            slot.insert(GaloisKey::generate(ctx, sk, g, sampler)?);
        }
        out.rotations.insert(step, g);
    }
    if keys.conjugation {
        let g = galois_element_conjugate(n);
        if let Entry::Vacant(slot) = out.galois.entry(g) {
            slot.insert(GaloisKey::generate(ctx, sk, g, sampler)?);
        }
        out.conjugation = Some(g);
    }
    Ok(out)
}

impl Client<CkksBackend> for CkksClient {
    fn new(params: &Params, keys: &KeyRequirements) -> Result<Self> {
        let sampler = Sampler::from_os_entropy().map_err(|e| Error::Internal {
            backend: crate::NAME,
            reason: format!("no OS entropy: {e}"),
        })?;
        CkksClient::with_sampler(params, keys, sampler)
    }

    fn new_insecure_seeded_for_tests(
        params: &Params,
        keys: &KeyRequirements,
        seed: u64,
    ) -> Result<Self> {
        CkksClient::with_sampler(params, keys, Sampler::insecure_from_u64_for_tests(seed))
    }

    fn params(&self) -> &Params {
        self.ctx.params()
    }

    fn key_requirements(&self) -> &KeyRequirements {
        &self.requirements
    }

    fn evaluator(&self) -> Result<CkksEvaluator> {
        Ok(CkksEvaluator::new(
            Arc::clone(&self.ctx),
            Arc::clone(&self.eval_keys),
            self.requirements.clone(),
        ))
    }

    fn encode(&self, values: &[f64], level: Level, scale: Scale) -> Result<Plaintext> {
        encode_real(&self.ctx, values, level, scale)
    }

    fn encode_complex(&self, values: &[Complex], level: Level, scale: Scale) -> Result<Plaintext> {
        encode_complex(&self.ctx, values, level, scale)
    }

    /// `(c0, c1) = (round((u*b + e0)/p) + m, round((u*a + e1)/p))` with `u` ternary, `e0, e1`
    /// Gaussian, computed over `Q_l ∪ {p}` (`p` the first special prime), so that the fresh noise
    /// is the rounding of the division; `(u*b + e0 + m, u*a + e1)` over `Q_l` without special
    /// primes (see the `encrypt` module).
    fn encrypt(&self, pt: &Plaintext) -> Result<Ciphertext> {
        check_plaintext(&self.ctx, pt)?;
        let noise = self.sample_encryption_noise()?;
        let (c0, c1) = encrypt_public(&self.ctx, &self.enc_key, &pt.poly, &noise)?;
        Ok(Ciphertext {
            c0,
            c1,
            level: pt.level,
            scale: pt.scale,
            context: pt.context,
            seed: None,
        })
    }

    /// Encodes at the top level and default scale and encrypts, like [`Client::encrypt`] of
    /// [`Client::encode`] (the same ciphertext for the same randomness), with the message folded
    /// into the encryption's NTTs instead of being transformed by the encoder.
    fn encrypt_values(&self, values: &[f64]) -> Result<Ciphertext> {
        let params = self.ctx.params();
        let (level, scale) = (params.max_level(), params.default_scale());
        // Wiped on drop like every plaintext.
        let m = Wiped(encode_real_coefficients(&self.ctx, values, level, scale)?);
        let noise = self.sample_encryption_noise()?;
        let (c0, c1) = encrypt_public(&self.ctx, &self.enc_key, &m.0, &noise)?;
        Ok(Ciphertext {
            c0,
            c1,
            level,
            scale,
            context: params.fingerprint(),
            seed: None,
        })
    }

    /// `(c0, c1) = (-a*s + e + m, a)` with `a` drawn from a fresh seed kept in the ciphertext.
    fn encrypt_symmetric(&self, pt: &Plaintext) -> Result<Ciphertext> {
        check_plaintext(&self.ctx, pt)?;
        let ring = self.ctx.ring();
        let basis = &self.ctx.level(pt.level)?.q_basis;
        // only the draws hold the lock: encryptions on several threads transform in parallel
        let (seed, e) = self.with_sampler_locked(|s| {
            let seed = s.fill_seed();
            Ok((seed, Zeroizing::new(s.gaussian(ring.degree()))))
        })?;
        let mut e = Wiped(RnsPoly::from_signed(ring, basis, &e).ring()?);
        e.0.to_ntt(ring);
        let c1 = Sampler::from_seed(seed).uniform_poly(ring, basis, Representation::Ntt);
        let s = self.secret_at(pt.level);
        let mut c0 = c1.clone();
        c0.mul_assign(ring, &s.0).ring()?;
        c0.neg_assign(ring);
        c0.add_assign(ring, &e.0).ring()?;
        c0.add_assign(ring, &pt.poly).ring()?;
        Ok(Ciphertext {
            c0,
            c1,
            level: pt.level,
            scale: pt.scale,
            context: pt.context,
            seed: Some(seed),
        })
    }

    /// `m = c0 + c1*s` over the ciphertext's level. The result holds `m + e`, which with the
    /// ciphertext reveals a linear equation in the secret key (Li-Micciancio 2021): it must stay
    /// with the key owner. Results to be shown to anyone else go through
    /// [`CkksClient::decrypt_for_sharing`].
    fn decrypt(&self, ct: &Ciphertext) -> Result<Plaintext> {
        check_ciphertext(&self.ctx, ct)?;
        let ring = self.ctx.ring();
        let s = self.secret_at(ct.level);
        let mut m = ct.c1.clone();
        m.mul_assign(ring, &s.0).ring()?;
        m.add_assign(ring, &ct.c0).ring()?;
        Ok(Plaintext {
            poly: m,
            level: ct.level,
            scale: ct.scale,
            context: ct.context,
        })
    }

    fn decode(&self, pt: &Plaintext) -> Result<Vec<f64>> {
        Ok(decode_complex(&self.ctx, pt)?
            .into_iter()
            .map(|c| c.re)
            .collect())
    }

    fn decode_complex(&self, pt: &Plaintext) -> Result<Vec<Complex>> {
        decode_complex(&self.ctx, pt)
    }
}
