//! Cached run-time detection of the AVX-512 IFMA instruction set.

#[cfg(target_arch = "x86_64")]
use std::sync::OnceLock;

/// `true` when the running CPU supports both `avx512f` and `avx512ifma` (the only features the
/// vector kernels of this module use). The detection runs once and is cached; always `false` on
/// architectures other than `x86_64`.
pub fn ifma_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static DETECTED: OnceLock<bool> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512ifma")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
