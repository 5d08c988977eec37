//! hetile-ring: the arithmetic under the native CKKS backend.
//!
//! Word-sized modular arithmetic, generation of NTT-friendly primes, the negacyclic number-theoretic
//! transform, residue-number-system (RNS) polynomials, fast basis extension, exact rescaling,
//! Galois automorphisms and the samplers used for keys and noise.

pub mod error;
pub mod primes;

pub use error::{RingError, RingResult};
