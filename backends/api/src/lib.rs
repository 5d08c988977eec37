//! hetile-backend: the contract every CKKS backend implements.
//!
//! A backend is a family of types ([`Backend`]): a ciphertext, a plaintext, a server-side
//! [`Evaluator`] that holds only public evaluation keys, and a [`Client`] that owns the secret key
//! and encrypts, decrypts and decodes. Tile tensors, layers, the simulator and the optimizer are
//! generic over this contract and never name a concrete backend.
//!
//! Conventions shared by all backends:
//! - A [`Level`] counts the rescales left: a ciphertext at level `l` lives modulo `q_0 * ... * q_l`.
//! - A [`Scale`] is the exact (floating-point) scaling factor of a ciphertext or plaintext.
//! - Slots are real by default: `N/2` of them ([`SlotCount`]); complex slots are available through
//!   the `_complex` encode and decode variants.
//! - Rotating by `k > 0` moves slot `i + k` to slot `i` (a left rotation); steps are taken modulo
//!   the slot count.
//! - Every operation returns [`Result`]; errors are typed ([`Error`]) and carry the values involved.

mod align;
pub mod error;
pub mod params;
pub mod security;
pub mod traits;
pub mod types;

pub use align::{
    check_encodable, check_same_level, check_same_scale, check_scale_fits, MAX_ENCODED_LOG2,
    SCALE_RELATIVE_TOLERANCE,
};
pub use error::{Error, Result};
pub use params::{Params, ParamsLiteral, SecretDistribution};
pub use security::{check_security, max_log_qp, SecurityLevel};
pub use traits::{
    gather_terms, normalize_step, split_terms, Backend, Client, Evaluator, KeyRequirements, Meta,
};
pub use types::{Complex, Level, RingDegree, Scale, SlotCount};
