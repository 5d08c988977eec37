//! hetile-mock: a plaintext backend with clear slots and exact CKKS bookkeeping.
//!
//! [`MockBackend`] implements the hetile backend contract without any cryptography: a
//! "ciphertext" holds its `N/2` complex slot values in the clear, next to the exact level and
//! [`Scale`] the native RNS-CKKS backend would have after the same
//! operations. Scales multiply on multiplication and are divided by the dropped prime
//! `q_level` on rescale; levels, alignment rules and errors are those of the shared helpers in
//! `hetile_backend`, so a circuit that runs on the mock runs on the native backend, and an error
//! raised by one is raised by the other.
//!
//! By default the mock is exact (no noise at all), which makes it the reference for measuring
//! the approximation error of a model. [`MockClient::with_noise`] adds a seeded Gaussian
//! [`NoiseModel`] to mimic CKKS noise.
//!
//! Errors, beyond the shared alignment rules: a ciphertext or plaintext made under other
//! parameters is refused with `Error::ContextMismatch`; ciphertext products check the operands'
//! levels, then the relinearization key, then the product's scale; `mul_scalar` needs a level
//! above 0 (`Error::LevelExhausted`) and checks that the constant is encodable at scale
//! `q_level`; `add_scalar` checks that the constant is encodable at the ciphertext's scale.
//!
//! Not modelled: the rounding of encoding (values are kept as exact `f64`), modular wrap-around
//! when a value outgrows the modulus (e.g. after a large `mul_integer`), and noise growth beyond
//! the additive [`NoiseModel`].
//!
//! The mock is for tests and experiments only: it provides no privacy whatsoever.

mod client;
mod encode;
mod evaluator;
mod noise;

pub use client::MockClient;
pub use evaluator::MockEvaluator;
pub use noise::NoiseModel;

use hetile_backend::{Backend, Complex, Level, Meta, Scale};

/// The mock backend family (`NAME = "mock"`).
#[derive(Debug, Clone, Copy, Default)]
pub struct MockBackend;

impl Backend for MockBackend {
    const NAME: &'static str = "mock";
    type Ciphertext = MockCiphertext;
    type Plaintext = MockPlaintext;
    type Evaluator = MockEvaluator;
    type Client = MockClient;
}

/// A mock "ciphertext": the clear slot values (in value units, not multiplied by the scale),
/// the level and the exact scale, and the fingerprint of the parameters it was made under.
#[derive(Debug, Clone, PartialEq)]
pub struct MockCiphertext {
    pub(crate) values: Vec<Complex>,
    pub(crate) level: Level,
    pub(crate) scale: Scale,
    pub(crate) context: u64,
}

impl MockCiphertext {
    /// The clear slot values (mock only: a real backend can never do this). Useful to inspect
    /// intermediate results when measuring approximation error. Always `N/2` values.
    pub fn peek(&self) -> &[Complex] {
        &self.values
    }
}

impl Meta for MockCiphertext {
    fn level(&self) -> Level {
        self.level
    }
    fn scale(&self) -> Scale {
        self.scale
    }
}

/// A mock plaintext: the encoded slot values (zero-padded to `N/2`), level, exact scale and the
/// fingerprint of the parameters it was encoded under.
#[derive(Debug, Clone, PartialEq)]
pub struct MockPlaintext {
    pub(crate) values: Vec<Complex>,
    pub(crate) level: Level,
    pub(crate) scale: Scale,
    pub(crate) context: u64,
}

impl MockPlaintext {
    /// The encoded slot values (always `N/2`, zero-padded).
    pub fn values(&self) -> &[Complex] {
        &self.values
    }
}

impl Meta for MockPlaintext {
    fn level(&self) -> Level {
        self.level
    }
    fn scale(&self) -> Scale {
        self.scale
    }
}

#[cfg(test)]
mod tests;
