//! hetile-ckks: the native RNS-CKKS backend (Cheon-Kim-Kim-Song in full-RNS form, Cheon-Han-Kim-
//! Kim-Song 2018) with hybrid key switching (Han-Ki 2020) and hoisted rotations (Halevi-Shoup 2018).
//!
//! - [`CkksBackend`] ties the types together for the `hetile_backend` contract.
//! - [`CkksClient`] owns the secret key: key generation, public- and secret-key encryption,
//!   decryption, decoding.
//! - [`CkksEvaluator`] holds the parameters, the precomputed [`CkksContext`] and the public
//!   evaluation keys only.
//! - [`serial`]: versioned, validated binary serialization of every public object, and the
//!   [`PublicContext`] a server loads (it can evaluate, never decrypt); [`serial::fuzz`] is the
//!   blob generator shared by the fuzz test and `hetile fuzz`.
//! - [`sanitize`]: decryption meant to be shared (IND-CPA-D noise flooding with a per-key budget).
//! - Slots follow the canonical embedding ([`encoder`]): rotation by `k` is the automorphism
//!   `X -> X^(5^k mod 2N)`, conjugation `X -> X^(2N-1)`.
//!
//! Every check (levels, scales, encodability, missing keys) is the shared one of
//! `hetile_backend`, so errors are identical to the mock backend's.

mod client;
mod context;
pub mod encoder;
mod encoding;
mod encrypt;
mod evaluator;
mod keys;
mod keyswitch;
mod rotation;
pub mod sanitize;
pub mod serial;
mod types;

pub use client::CkksClient;
pub use context::CkksContext;
pub use evaluator::CkksEvaluator;
pub use keys::{EvaluationKeys, GaloisKey, PublicKey, SecretKey, SwitchingKey};
pub use sanitize::{ErrorBound, SharingPolicy};
pub use serial::{ParamsBytes, PublicContext};
pub use types::{Ciphertext, Plaintext};

use hetile_backend::{Backend, Error};

/// The backend's name, as reported by errors and by `Backend::NAME`.
pub const NAME: &str = "hetile-ckks";

/// The native RNS-CKKS backend family (`NAME = "hetile-ckks"`).
#[derive(Debug, Clone, Copy, Default)]
pub struct CkksBackend;

impl Backend for CkksBackend {
    const NAME: &'static str = NAME;
    type Ciphertext = Ciphertext;
    type Plaintext = Plaintext;
    type Evaluator = CkksEvaluator;
    type Client = CkksClient;
}

/// Maps ring-layer failures inside an operation to [`Error::Internal`] (they mean a bug or a
/// corrupted object, never a caller mistake that the shared checks would not have caught).
pub(crate) trait RingResultExt<T> {
    fn ring(self) -> hetile_backend::Result<T>;
}

impl<T> RingResultExt<T> for hetile_ring::RingResult<T> {
    fn ring(self) -> hetile_backend::Result<T> {
        self.map_err(|e| Error::Internal {
            backend: NAME,
            reason: e.to_string(),
        })
    }
}
