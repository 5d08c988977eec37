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

/// `true` when the library's default paths should use the vector kernels: the CPU supports them
/// ([`ifma_available`]) and the environment variable `HETILE_NO_SIMD` is unset, empty or `0`
/// (set it to compare against, or to debug, the portable scalar paths). Read once and cached.
pub fn simd_enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| {
        let off = std::env::var("HETILE_NO_SIMD").is_ok_and(|v| !v.is_empty() && v != "0");
        ifma_available() && !off
    })
}
