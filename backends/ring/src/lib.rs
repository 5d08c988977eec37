//! hetile-ring: the arithmetic under the native CKKS backend.
//!
//! Word-sized modular arithmetic ([`Modulus`]), generation of NTT-friendly primes ([`primes`]),
//! the negacyclic number-theoretic transform ([`NttTable`]), residue-number-system polynomials
//! ([`RnsContext`], [`RnsPoly`]), fast basis extension and exact rounded division
//! ([`BasisExtender`], [`DivideRound`]), Galois automorphisms ([`galois`]) and the ChaCha20
//! samplers used for keys and noise ([`Sampler`]).

pub mod basis;
pub mod crt;
pub mod dot;
pub mod error;
pub mod galois;
pub mod linear;
pub mod modular;
pub mod ntt;
pub mod primes;
pub mod rns;
pub mod sampling;
pub mod scratch;
pub mod simd;

pub use basis::{BasisExtender, DivideRound};
pub use dot::DotWeights;
pub use error::{RingError, RingResult};
pub use galois::{
    automorphism_coeff, automorphism_permutation, galois_element_conjugate,
    galois_element_for_rotation,
};
pub use modular::Modulus;
pub use ntt::NttTable;
pub use rns::{Representation, RnsContext, RnsPoly};
pub use sampling::Sampler;
