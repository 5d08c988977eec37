//! Vectorized kernels (AVX-512 IFMA) for the NTT and pointwise arithmetic, selected at run time.
//!
//! The kernels work on primes `p < 2^50` with 52-bit Shoup and Barrett constants, so that every
//! lazy value (`< 4p`) fits the 52-bit multiplier lanes of `vpmadd52{lo,hi}uq`. They give results
//! bit-identical to the scalar code ([`crate::NttTable`], [`crate::Modulus`]) on canonical
//! inputs. Smaller primes leave headroom below `2^52`, which the NTT uses to skip lazy
//! reductions (all of them in the forward transform below about 47 bits, the first stages of the
//! inverse below about 45 bits, every other forward stage below 49 bits).
//!
//! Layout: `ntt.rs` / `pointwise.rs` hold the public types and dispatch, `scalar.rs` the
//! portable 52-bit reference, `x86_arith.rs` the vector butterflies, `x86_passes.rs` the
//! radix-2/4/8 passes over the stages of stride `>= 16`, `x86_small.rs` the fused stages of
//! stride `<= 8`, `x86_ntt.rs` the transform drivers and `x86_pointwise.rs` the slice kernels.
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
#[cfg(target_arch = "x86_64")]
mod x86_small;

#[cfg(test)]
mod tests;

pub use detect::{ifma_available, simd_enabled};
pub use ntt::{IfmaNtt, IFMA_MAX_MODULUS_BITS, IFMA_MIN_DEGREE};
pub use pointwise::IfmaModulus;
