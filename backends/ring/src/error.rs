//! The error type of hetile-ring.

use thiserror::Error;

/// Errors raised by ring arithmetic. Every variant carries the values that broke the rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RingError {
    /// Not enough primes of the requested shape exist below the bound.
    #[error("only {found} NTT-friendly primes of {bits} bits with p = 1 mod {modulus} exist, {wanted} requested")]
    NotEnoughPrimes {
        /// Requested bit size.
        bits: u32,
        /// The congruence modulus (2N).
        modulus: u64,
        /// How many were requested.
        wanted: usize,
        /// How many were found.
        found: usize,
    },
    /// A requested bit size is outside what the arithmetic supports.
    #[error("prime bit size {bits} is outside the supported range {min}..={max}")]
    UnsupportedBitSize {
        /// Requested bit size.
        bits: u32,
        /// Smallest supported.
        min: u32,
        /// Largest supported.
        max: u32,
    },
    /// A modulus is not a prime suitable for the operation.
    #[error("invalid modulus {modulus}: {reason}")]
    InvalidModulus {
        /// The modulus.
        modulus: u64,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The ring degree is not a supported power of two.
    #[error("invalid ring degree {degree}: must be a power of two in {min}..={max}")]
    InvalidDegree {
        /// The degree given.
        degree: usize,
        /// Smallest supported.
        min: usize,
        /// Largest supported.
        max: usize,
    },
    /// Two operands do not have matching shapes (degree, number of limbs or representation).
    #[error("operand mismatch: {what} ({left} vs {right})")]
    Mismatch {
        /// What differs.
        what: &'static str,
        /// Left operand's value.
        left: usize,
        /// Right operand's value.
        right: usize,
    },
    /// An operation needs the other representation (coefficient or NTT form).
    #[error("{operation} requires {expected} representation")]
    WrongRepresentation {
        /// The operation that was refused.
        operation: &'static str,
        /// The representation it needs.
        expected: &'static str,
    },
    /// An argument is outside what the operation accepts (non-finite value, index out of range,
    /// overlapping moduli lists, too large a product, ...).
    #[error("invalid argument: {reason}")]
    InvalidArgument {
        /// What was wrong.
        reason: &'static str,
    },
    /// The operating system's entropy source failed.
    #[error("entropy source failed: {reason}")]
    Entropy {
        /// The error reported by the source.
        reason: String,
    },
}

/// Result alias of hetile-ring.
pub type RingResult<T> = Result<T, RingError>;
