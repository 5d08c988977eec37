//! Vectorized kernels (AVX-512 IFMA) for the NTT and pointwise arithmetic, selected at run time.
//!
//! The kernels work on primes `p < 2^50` with 52-bit Shoup and Barrett constants, so that every
//! lazy value (`< 4p`) fits the 52-bit multiplier lanes of `vpmadd52{lo,hi}uq`. They give results
//! bit-identical to the scalar code ([`crate::NttTable`], [`crate::Modulus`]) on canonical
//! inputs.
//!
//! * [`ifma_available`]: cached run-time detection of `avx512f` + `avx512ifma`.
//! * [`IfmaNtt`]: forward / inverse negacyclic NTT, built from an [`crate::NttTable`].
//! * [`IfmaModulus`]: pointwise products (`a * b`, `acc + a * b`, `a * c`) over slices.
//!
//! Both types can only be built when the CPU has IFMA (their constructors return `None`
//! otherwise), so the unsafe vector code is only ever reached after detection. On other
//! architectures the same types exist, are never constructed by `new`, and carry a portable
//! scalar implementation of the same 52-bit algorithms.

mod detect;
mod ntt;
mod pointwise;
mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86_arith;
#[cfg(target_arch = "x86_64")]
mod x86_ntt;
#[cfg(target_arch = "x86_64")]
mod x86_passes;
#[cfg(target_arch = "x86_64")]
mod x86_pointwise;

#[cfg(test)]
mod tests;

pub use detect::ifma_available;
pub use ntt::{IfmaNtt, IFMA_MAX_MODULUS_BITS, IFMA_MIN_DEGREE};
pub use pointwise::IfmaModulus;
