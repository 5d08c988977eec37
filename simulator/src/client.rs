//! The simulated client: "encryption" keeps the metadata, decryption yields zeros.

use crate::backend::{check_context, SimCiphertext, SimPlaintext};
use crate::evaluator::{encode_complex, encode_real, Derived};
use crate::memory::{MemoryProfile, MemoryTracker};
use crate::{SimBackend, SimEvaluator};
use hetile_backend::{Client, Complex, KeyRequirements, Level, Meta, Params, Result, Scale};
use std::sync::Arc;

/// The simulated client. It has no key: encryption turns a plaintext's metadata into a
/// ciphertext's, decryption back, and decoding returns zeros (metadata only: the simulator
/// never knows any value). It owns the [`MemoryTracker`] its evaluators share.
#[derive(Debug)]
pub struct SimClient {
    params: Params,
    derived: Derived,
    keys: KeyRequirements,
    tracker: Arc<MemoryTracker>,
}

impl SimClient {
    /// A client for `params` that behaves as if the keys in `keys` existed. Cannot fail.
    pub fn with_keys(params: &Params, keys: &KeyRequirements) -> SimClient {
        let rotations = keys.normalized_rotations(params.slots()).len() as u64;
        let switching_keys =
            rotations + u64::from(keys.relinearization) + u64::from(keys.conjugation);
        SimClient {
            params: params.clone(),
            derived: Derived::of(params),
            keys: keys.clone(),
            tracker: MemoryTracker::new(params, switching_keys),
        }
    }

    /// The live-object tracker of this client and its evaluators.
    pub fn tracker(&self) -> &Arc<MemoryTracker> {
        &self.tracker
    }

    /// Shorthand for `self.tracker().snapshot()`.
    pub fn memory(&self) -> MemoryProfile {
        self.tracker.snapshot()
    }

    fn check_pt(&self, pt: &SimPlaintext) -> Result<()> {
        check_context(
            &self.params,
            self.derived.fingerprint,
            "plaintext",
            pt.context(),
            pt.level(),
        )
    }

    fn encrypt_copy(&self, pt: &SimPlaintext) -> Result<SimCiphertext> {
        self.check_pt(pt)?;
        Ok(SimCiphertext::new(
            pt.level(),
            pt.scale(),
            pt.context(),
            &self.tracker,
        ))
    }
}

impl Client<SimBackend> for SimClient {
    /// As [`SimClient::with_keys`]; cannot fail.
    fn new(params: &Params, keys: &KeyRequirements) -> Result<SimClient> {
        Ok(SimClient::with_keys(params, keys))
    }

    /// As [`SimClient::with_keys`] (the simulator has no randomness); cannot fail.
    fn new_insecure_seeded_for_tests(
        params: &Params,
        keys: &KeyRequirements,
        _seed: u64,
    ) -> Result<SimClient> {
        Ok(SimClient::with_keys(params, keys))
    }

    fn params(&self) -> &Params {
        &self.params
    }

    fn key_requirements(&self) -> &KeyRequirements {
        &self.keys
    }

    fn evaluator(&self) -> Result<SimEvaluator> {
        Ok(SimEvaluator::new(
            &self.params,
            &self.keys,
            Arc::clone(&self.tracker),
        ))
    }

    fn encode(&self, values: &[f64], level: Level, scale: Scale) -> Result<SimPlaintext> {
        encode_real(
            &self.params,
            &self.derived,
            &self.tracker,
            values,
            level,
            scale,
        )
    }

    fn encode_complex(
        &self,
        values: &[Complex],
        level: Level,
        scale: Scale,
    ) -> Result<SimPlaintext> {
        encode_complex(
            &self.params,
            &self.derived,
            &self.tracker,
            values,
            level,
            scale,
        )
    }

    fn encrypt(&self, pt: &SimPlaintext) -> Result<SimCiphertext> {
        self.encrypt_copy(pt)
    }

    fn encrypt_symmetric(&self, pt: &SimPlaintext) -> Result<SimCiphertext> {
        self.encrypt_copy(pt)
    }

    /// A plaintext at the ciphertext's level and scale (its values are unknown: decoding it
    /// gives zeros).
    fn decrypt(&self, ct: &SimCiphertext) -> Result<SimPlaintext> {
        check_context(
            &self.params,
            self.derived.fingerprint,
            "ciphertext",
            ct.context(),
            ct.level(),
        )?;
        Ok(SimPlaintext::new(
            ct.level(),
            ct.scale(),
            ct.context(),
            &self.tracker,
        ))
    }

    /// `N/2` zeros (metadata only), after the context check.
    fn decode(&self, pt: &SimPlaintext) -> Result<Vec<f64>> {
        self.check_pt(pt)?;
        Ok(vec![0.0; self.params.slots().get()])
    }

    /// `N/2` complex zeros (metadata only), after the context check.
    fn decode_complex(&self, pt: &SimPlaintext) -> Result<Vec<Complex>> {
        self.check_pt(pt)?;
        Ok(vec![Complex::default(); self.params.slots().get()])
    }
}
