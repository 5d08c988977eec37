//! hetile-conformance: the test suite every backend must pass.
//!
//! Each check is a generic function `check_xxx::<B>(&SuiteConfig) -> Result<(), Failure>` that
//! runs one family of operations (or provokes one error variant) on backend `B` and compares the
//! decrypted results with exact `f64` arithmetic. Precision is stated in bits: `-log2` of the
//! largest absolute error over all slots. The checks never panic; a violated expectation is a
//! [`Failure`] carrying a message.
//!
//! [`conformance_suite!`] turns every check into one `#[test]` of the calling crate:
//!
//! ```ignore
//! hetile_conformance::conformance_suite!(MockBackend, || Params::new(literal).unwrap(), 30.0);
//! ```
//!
//! The arguments are the backend type, a closure returning the [`Params`] to test with, and the
//! minimum precision in bits expected after the simplest operations (encode, encrypt, add,
//! plaintext and scalar additions). Checks that go through more arithmetic relax that bound by
//! stated amounts: [`MUL_RELAX_BITS`] for one multiplication, [`KEYSWITCH_RELAX_BITS`] for a
//! rotation or conjugation, [`LEVEL_RELAX_BITS`] per consumed level in deep circuits, and
//! `ceil(log2 |k|)` for integer multiplication by `k`.
//!
//! Requirements on the parameters: at least 2 levels, at least 16 slots, and a chain where a
//! product of two default scales fits below the top level's modulus.
//!
//! [`random_circuit`] runs a seeded random circuit on any backend and returns the decrypted and
//! the exact result, so that two backends can be compared on the same circuit.

mod arithmetic;
mod circuit;
pub mod counting;
mod encoding;
mod errors;
mod levels;
mod rotation;
mod sums;
mod util;

pub use arithmetic::{
    check_add_sub_negate, check_mul_integer, check_mul_plain, check_mul_rescale,
    check_mul_scalar_rescale, check_plain_add_sub, check_scalar_add, check_square,
};
pub use circuit::{check_random_circuit, circuit_keys, random_circuit, CIRCUIT_STEPS};
pub use encoding::{
    check_encode_decode_complex, check_encode_decode_real, check_encrypt_decrypt_complex,
    check_encrypt_decrypt_public, check_encrypt_decrypt_symmetric,
};
pub use errors::{
    check_error_invalid_level, check_error_level_exhausted, check_error_level_mismatch,
    check_error_missing_conjugation_key, check_error_missing_relinearization_key,
    check_error_missing_rotation_key, check_error_non_finite_value, check_error_scale_mismatch,
    check_error_scale_overflow, check_error_slot_overflow, check_error_value_out_of_range,
};
pub use levels::{check_depth_chain, check_drop_to_level, check_match_levels, check_set_scale};
pub use rotation::{
    check_conjugate, check_has_rotation_key, check_rotate_many, check_rotate_steps,
};
pub use sums::{check_linear_combination, check_mul_plain_sum};
pub use util::{max_abs_error, precision_bits, standard_keys, STANDARD_STEPS};

use hetile_backend::Params;
use thiserror::Error;

/// Bits of precision a check may lose to one ciphertext multiplication and rescale.
pub const MUL_RELAX_BITS: f64 = 1.0;
/// Bits of precision a check may lose to a key switch (rotation or conjugation), whose noise
/// comes on top of the encryption noise; results of two key switches get 1.5 times this.
pub const KEYSWITCH_RELAX_BITS: f64 = 1.0;
/// Bits of precision a deep circuit may lose per consumed level (the depth chain and the random
/// circuit): each level is one multiplication plus some additions and rotations.
pub const LEVEL_RELAX_BITS: f64 = 1.5;

/// A violated expectation: what was checked and what came out instead.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{message}")]
pub struct Failure {
    /// Human-readable description of the failure.
    pub message: String,
}

impl Failure {
    /// A failure with this message.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
        }
    }
}

impl From<hetile_backend::Error> for Failure {
    fn from(e: hetile_backend::Error) -> Failure {
        Failure::new(format!("unexpected backend error: {e}"))
    }
}

/// What every check runs with: the parameters, the precision expected after the simplest
/// operations, and a base seed (each check derives its own seeds from it).
#[derive(Debug, Clone)]
pub struct SuiteConfig {
    /// The parameters under test.
    pub params: Params,
    /// Minimum precision in bits (`-log2` of the largest absolute error) after simple operations.
    pub min_bits: f64,
    /// Base seed of the inputs and of the seeded clients.
    pub seed: u64,
}

impl SuiteConfig {
    /// A configuration with the default base seed.
    pub fn new(params: Params, min_bits: f64) -> SuiteConfig {
        SuiteConfig {
            params,
            min_bits,
            seed: 0x6865_7469_6c65,
        }
    }
}

/// Generates one `#[test]` per conformance check, each named after its check function.
///
/// Arguments: the backend type, an expression evaluating to a closure (or function) with no
/// arguments that returns [`Params`], and the minimum precision in bits after simple operations.
/// Each generated test returns `Result<(), Failure>`, so a failure prints its message. Wrap the
/// invocation in a module to run several suites in one file, and do not import the `check_*`
/// functions by name into that module (the generated tests carry the same names; call them by
/// path instead).
#[macro_export]
macro_rules! conformance_suite {
    ($backend:ty, $params:expr, $bits:expr $(,)?) => {
        $crate::conformance_suite!(@tests $backend, $params, $bits;
            check_encode_decode_real,
            check_encode_decode_complex,
            check_encrypt_decrypt_public,
            check_encrypt_decrypt_symmetric,
            check_encrypt_decrypt_complex,
            check_add_sub_negate,
            check_plain_add_sub,
            check_scalar_add,
            check_mul_rescale,
            check_square,
            check_mul_plain,
            check_mul_scalar_rescale,
            check_linear_combination,
            check_mul_plain_sum,
            check_mul_integer,
            check_drop_to_level,
            check_match_levels,
            check_set_scale,
            check_depth_chain,
            check_rotate_steps,
            check_rotate_many,
            check_has_rotation_key,
            check_conjugate,
            check_random_circuit,
            check_error_level_mismatch,
            check_error_scale_mismatch,
            check_error_scale_overflow,
            check_error_level_exhausted,
            check_error_invalid_level,
            check_error_missing_rotation_key,
            check_error_missing_relinearization_key,
            check_error_missing_conjugation_key,
            check_error_slot_overflow,
            check_error_non_finite_value,
            check_error_value_out_of_range,
        );
    };
    (@tests $backend:ty, $params:expr, $bits:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() -> ::std::result::Result<(), $crate::Failure> {
                let make_params = $params;
                let config = $crate::SuiteConfig::new(make_params(), $bits);
                $crate::$check::<$backend>(&config)
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use hetile_backend::Error;

    #[test]
    fn backend_errors_become_failures_with_their_message() {
        let f: Failure = Error::MissingRelinearizationKey.into();
        assert!(f.message.contains("relinearization"), "{f}");
        assert_eq!(Failure::new("boom").to_string(), "boom");
    }

    #[test]
    fn standard_keys_cover_the_documented_steps() {
        let params = Params::preset("N14_L4").unwrap();
        let keys = standard_keys(&params);
        assert!(keys.relinearization && keys.conjugation);
        let slots = params.slots();
        let norm = keys.normalized_rotations(slots);
        // -1 and slots - 1 share a key.
        assert_eq!(norm.len(), 5);
        assert!(norm.contains(&(slots.get() - 1)));
        assert!(!norm.contains(&4));
        assert_eq!(circuit_keys().rotations.len(), CIRCUIT_STEPS.len());
    }
}
