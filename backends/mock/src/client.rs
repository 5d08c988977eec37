//! The client side of the mock: "encryption" copies the slots (plus optional noise).

use crate::encode::{check_context, encode_complex, encode_real};
use crate::noise::{NoiseModel, NoiseSource};
use crate::{MockBackend, MockCiphertext, MockEvaluator, MockPlaintext};
use hetile_backend::{Client, Complex, Error, KeyRequirements, Level, Params, Result, Scale};
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};

/// ChaCha20 stream of the client's fresh (encryption) noise.
const CLIENT_STREAM: u64 = 0;
/// ChaCha20 stream of the evaluators' per-operation noise.
const EVALUATOR_STREAM: u64 = 1;

/// The mock client. It has no secret key: encryption copies the clear slots into a
/// [`MockCiphertext`] (adding fresh noise when a [`NoiseModel`] is set) and decryption copies them
/// back. The default clients ([`Client::new`], [`Client::new_insecure_seeded_for_tests`]) are
/// exact.
#[derive(Debug)]
pub struct MockClient {
    params: Params,
    keys: KeyRequirements,
    noise: Option<NoiseModel>,
    seed: u64,
    fresh: NoiseSource,
}

impl MockClient {
    /// A client whose ciphertexts carry Gaussian noise (see [`NoiseModel`]), reproducible from
    /// `seed`: encryption noise comes from one ChaCha20 stream, and every evaluator returned by
    /// [`Client::evaluator`] draws its per-operation noise from a second stream of the same seed
    /// (so two evaluators of one client produce the same noise sequence).
    ///
    /// Errors with [`hetile_backend::Error::InvalidParameters`] when a deviation is negative or
    /// not finite.
    pub fn with_noise(
        params: &Params,
        keys: &KeyRequirements,
        noise: NoiseModel,
        seed: u64,
    ) -> Result<MockClient> {
        noise.validate()?;
        Ok(MockClient::build(params, keys, Some(noise), seed))
    }

    /// The noise model, if any.
    pub fn noise(&self) -> Option<NoiseModel> {
        self.noise
    }

    fn build(
        params: &Params,
        keys: &KeyRequirements,
        noise: Option<NoiseModel>,
        seed: u64,
    ) -> MockClient {
        MockClient {
            params: params.clone(),
            keys: keys.clone(),
            noise,
            seed,
            fresh: NoiseSource::new(stream(seed, CLIENT_STREAM)),
        }
    }

    fn encrypt_copy(&self, pt: &MockPlaintext) -> Result<MockCiphertext> {
        check_context(
            &self.params,
            "plaintext",
            pt.context,
            pt.values.len(),
            pt.level,
        )?;
        let mut values = pt.values.clone();
        if let Some(model) = &self.noise {
            self.fresh.perturb(&mut values, model.fresh);
        }
        Ok(MockCiphertext {
            values,
            level: pt.level,
            scale: pt.scale,
            context: pt.context,
        })
    }
}

fn stream(seed: u64, id: u64) -> ChaCha20Rng {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    rng.set_stream(id);
    rng
}

impl Client<MockBackend> for MockClient {
    /// An exact client (its seed, unused without noise, comes from the operating system).
    /// Errors with [`Error::Internal`] only when the operating system's generator fails.
    fn new(params: &Params, keys: &KeyRequirements) -> Result<MockClient> {
        let mut seed = [0u8; 8];
        OsRng
            .try_fill_bytes(&mut seed)
            .map_err(|e| Error::Internal {
                backend: "mock",
                reason: format!("operating system random generator: {e}"),
            })?;
        Ok(MockClient::build(
            params,
            keys,
            None,
            u64::from_le_bytes(seed),
        ))
    }

    /// An exact client (the seed only matters with [`MockClient::with_noise`]). Cannot fail.
    fn new_insecure_seeded_for_tests(
        params: &Params,
        keys: &KeyRequirements,
        seed: u64,
    ) -> Result<MockClient> {
        Ok(MockClient::build(params, keys, None, seed))
    }

    fn params(&self) -> &Params {
        &self.params
    }

    fn key_requirements(&self) -> &KeyRequirements {
        &self.keys
    }

    fn evaluator(&self) -> Result<MockEvaluator> {
        let noise = self
            .noise
            .map(|m| (m, NoiseSource::new(stream(self.seed, EVALUATOR_STREAM))));
        Ok(MockEvaluator::with_noise_source(
            &self.params,
            &self.keys,
            noise,
        ))
    }

    fn encode(&self, values: &[f64], level: Level, scale: Scale) -> Result<MockPlaintext> {
        encode_real(&self.params, values, level, scale)
    }

    fn encode_complex(
        &self,
        values: &[Complex],
        level: Level,
        scale: Scale,
    ) -> Result<MockPlaintext> {
        encode_complex(&self.params, values, level, scale)
    }

    fn encrypt(&self, pt: &MockPlaintext) -> Result<MockCiphertext> {
        self.encrypt_copy(pt)
    }

    fn encrypt_symmetric(&self, pt: &MockPlaintext) -> Result<MockCiphertext> {
        self.encrypt_copy(pt)
    }

    fn decrypt(&self, ct: &MockCiphertext) -> Result<MockPlaintext> {
        check_context(
            &self.params,
            "ciphertext",
            ct.context,
            ct.values.len(),
            ct.level,
        )?;
        Ok(MockPlaintext {
            values: ct.values.clone(),
            level: ct.level,
            scale: ct.scale,
            context: ct.context,
        })
    }

    fn decode(&self, pt: &MockPlaintext) -> Result<Vec<f64>> {
        check_context(
            &self.params,
            "plaintext",
            pt.context,
            pt.values.len(),
            pt.level,
        )?;
        Ok(pt.values.iter().map(|c| c.re).collect())
    }

    fn decode_complex(&self, pt: &MockPlaintext) -> Result<Vec<Complex>> {
        check_context(
            &self.params,
            "plaintext",
            pt.context,
            pt.values.len(),
            pt.level,
        )?;
        Ok(pt.values.clone())
    }
}
