//! The one error type of the backend contract.

use crate::types::Level;
use thiserror::Error;

/// Every way a backend operation can fail. Variants carry the values that broke the rule.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The operation needs a lower level than the operand has left (e.g. rescale at level 0).
    #[error("level exhausted: {op} needs a level below {level}, but the chain ends at level 0")]
    LevelExhausted {
        /// The operation that was attempted.
        op: &'static str,
        /// The operand's level.
        level: Level,
    },
    /// Two operands of a binary operation are at different levels.
    #[error("level mismatch: {left} vs {right} (align them with drop_to_level first)")]
    LevelMismatch {
        /// Left operand's level.
        left: Level,
        /// Right operand's level.
        right: Level,
    },
    /// Two operands of an addition have different scales.
    #[error("scale mismatch: 2^{left_log2:.6} vs 2^{right_log2:.6}")]
    ScaleMismatch {
        /// log2 of the left operand's scale.
        left_log2: f64,
        /// log2 of the right operand's scale.
        right_log2: f64,
    },
    /// A result's scale would exceed the modulus available at its level.
    #[error("scale overflow: 2^{scale_log2:.2} does not fit below the modulus 2^{modulus_log2:.2} at {level}")]
    ScaleOverflow {
        /// log2 of the scale that was asked for.
        scale_log2: f64,
        /// log2 of the ciphertext modulus at that level.
        modulus_log2: f64,
        /// The level.
        level: Level,
    },
    /// A requested level is above the top of the chain, or above the operand's level.
    #[error("invalid level {requested}: must be at most {max}")]
    InvalidLevel {
        /// The level asked for.
        requested: Level,
        /// The largest level allowed here.
        max: Level,
    },
    /// No Galois key was generated for a rotation step.
    #[error("missing rotation key for step {step} (add it to KeyRequirements::rotations)")]
    MissingRotationKey {
        /// The step asked for, as given by the caller.
        step: i64,
    },
    /// No relinearization key was generated, so ciphertexts cannot be multiplied.
    #[error("missing relinearization key (set KeyRequirements::relinearization)")]
    MissingRelinearizationKey,
    /// No conjugation key was generated.
    #[error("missing conjugation key (set KeyRequirements::conjugation)")]
    MissingConjugationKey,
    /// More values than slots were given to encode.
    #[error("slot overflow: {given} values do not fit in {slots} slots")]
    SlotOverflow {
        /// Values given.
        given: usize,
        /// Slots available.
        slots: usize,
    },
    /// An input value was NaN or infinite.
    #[error("value at index {index} is not finite ({value})")]
    NonFiniteValue {
        /// Position of the value.
        index: usize,
        /// The value.
        value: f64,
    },
    /// An input value is too large to be encoded at the requested scale and level.
    #[error("value {value} at index {index} is too large for scale 2^{scale_log2:.2} at {level}")]
    ValueOutOfRange {
        /// Position of the value.
        index: usize,
        /// The value.
        value: f64,
        /// log2 of the scale.
        scale_log2: f64,
        /// The level.
        level: Level,
    },
    /// The parameters are malformed or unsupported.
    #[error("invalid parameters: {reason}")]
    InvalidParameters {
        /// What is wrong.
        reason: String,
    },
    /// The parameters are valid but below the requested security level.
    #[error(
        "insecure parameters: log2(QP) = {log_qp} exceeds {max_log_qp}, the maximum for N = 2^{log_n} \
         at {security} (HomomorphicEncryption.org standard); shrink the chain or raise N, or opt out \
         explicitly with SecurityLevel::Insecure"
    )]
    InsecureParameters {
        /// log2 of the ring degree.
        log_n: u32,
        /// Total bit size of all primes (ciphertext and special).
        log_qp: u32,
        /// The table's maximum.
        max_log_qp: u32,
        /// The security level asked for.
        security: crate::security::SecurityLevel,
    },
    /// An object was made under other parameters (or by another backend) than the one using it.
    #[error("context mismatch: {what}")]
    ContextMismatch {
        /// What does not match.
        what: String,
    },
    /// Bytes could not be decoded into a valid object.
    #[error("serialization error: {reason}")]
    Serialization {
        /// What failed.
        reason: String,
    },
    /// The backend does not support this operation.
    #[error("{backend} does not support {op}")]
    Unsupported {
        /// The backend's name.
        backend: &'static str,
        /// The operation.
        op: &'static str,
    },
    /// An internal arithmetic failure of a backend (a bug or a corrupted object).
    #[error("{backend} internal error: {reason}")]
    Internal {
        /// The backend's name.
        backend: &'static str,
        /// What failed.
        reason: String,
    },
}

/// Result alias of the backend contract.
pub type Result<T> = std::result::Result<T, Error>;

impl From<hetile_ring::RingError> for Error {
    fn from(e: hetile_ring::RingError) -> Self {
        Error::InvalidParameters {
            reason: e.to_string(),
        }
    }
}
