//! CKKS parameter candidates: a prime chain for a ring degree, a depth and a scale, and the
//! output precision such a chain is expected to give.
//!
//! The chain follows the presets (ParamsLiteral::preset): a first prime 10 bits above the
//! scale (so outputs up to about 2^10 in magnitude decode), one scaling prime per level, and up
//! to three 50-bit special primes with the fewest key-switching digits whose widest digit the
//! special primes cover; every prime stays below 2^50, so the native backend's IFMA kernels apply.

use hetile_backend::{max_log_qp, Params, ParamsLiteral, SecretDistribution, SecurityLevel};

/// Scales tried, largest (most precise) first.
pub const LOG_SCALES: [u32; 3] = [40, 35, 30];

/// Ring degrees tried (log2 N).
pub const LOG_NS: std::ops::RangeInclusive<u32> = 13..=17;

const SPECIAL_BITS: u32 = 50;

/// The estimated output precision in bits of a chain with scale `2^log_scale` at ring degree
/// `2^log_n` after `depth` levels: `log_scale - (log_n / 2 + 11) - log2(depth + 1)`.
///
/// Fitted on this project's measurements (N = 2^14, scale 2^40: largest error of x*y 2.1e-7,
/// about 22 bits, where the formula says 21): fresh and rescaling noise grow like `sqrt(N)`,
/// and each level adds at most about one bit of error growth for the normalized activations of
/// HE-friendly networks. It is an estimate for ranking and rejecting plans, not a bound.
pub fn estimated_precision_bits(log_scale: u32, log_n: u32, depth: usize) -> f64 {
    f64::from(log_scale) - (f64::from(log_n) / 2.0 + 11.0) - ((depth + 1) as f64).log2()
}

/// The widest digit, in bits, when the `bits` of the ciphertext primes are split into `digits`
/// contiguous groups the way [`Params`] splits them (sizes differing by at most one, larger
/// groups first).
fn widest_digit(bits: &[u32], digits: usize) -> u32 {
    let count = bits.len();
    let (base, extra) = (count / digits, count % digits);
    let mut start = 0;
    let mut widest = 0;
    for j in 0..digits {
        let len = base + usize::from(j < extra);
        widest = widest.max(bits[start..start + len].iter().sum());
        start += len;
    }
    widest
}

/// The checked chain (its literal: [`Params::literal`]) for ring degree `2^log_n`, `depth`
/// levels and scale `2^log_scale` at `security`, or the reason there is none (too many bits for the security table at this degree, or a
/// literal [`Params`] refuses). Of the chains with 1 to 3 special primes that fit, the one with
/// the most (fewest digits).
pub fn chain(
    log_n: u32,
    depth: usize,
    log_scale: u32,
    security: SecurityLevel,
) -> Result<Params, String> {
    let mut last = String::new();
    for specials in (1..=3usize.min(depth + 1)).rev() {
        match chain_with(log_n, depth, log_scale, security, specials) {
            Ok(p) => return Ok(p),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Every checked chain for `2^log_n`, `depth` levels and scale `2^log_scale` at `security`, one
/// per number of special primes (1 up to what the security bound allows, at most one per
/// ciphertext prime), each with the fewest digits those special primes allow. More special
/// primes mean fewer digits: smaller, faster-to-use switching keys, at the price of bits.
/// Empty when none fits.
pub fn chains(log_n: u32, depth: usize, log_scale: u32, security: SecurityLevel) -> Vec<Params> {
    let mut out: Vec<Params> = Vec::new();
    for specials in 1..=depth + 1 {
        if let Ok(p) = chain_with(log_n, depth, log_scale, security, specials) {
            // keep one chain per digit count: the fewest special primes giving it
            if out.last().is_none_or(|l| l.digits() != p.digits()) {
                out.push(p);
            }
        }
    }
    out
}

/// The chain with exactly `specials` special primes and the fewest digits they allow.
fn chain_with(
    log_n: u32,
    depth: usize,
    log_scale: u32,
    security: SecurityLevel,
    specials: usize,
) -> Result<Params, String> {
    let q0 = (log_scale + 10).min(SPECIAL_BITS);
    let mut log_q = vec![q0];
    log_q.extend(std::iter::repeat_n(log_scale, depth));
    let q_bits: u32 = log_q.iter().sum();
    // the explicit opt-out has no bound (and no table entry)
    let max = match security {
        SecurityLevel::Insecure => u32::MAX,
        _ => max_log_qp(log_n, security)
            .ok_or_else(|| format!("no security table entry for N = 2^{log_n}"))?,
    };
    let p_bits = SPECIAL_BITS * specials as u32;
    let digits = (1..=log_q.len())
        .find(|&d| widest_digit(&log_q, d) <= p_bits)
        .ok_or_else(|| format!("no digit split fits {specials} special primes"))?;
    if q_bits + p_bits > max {
        return Err(format!(
            "log2(QP) = {} exceeds the {} bits allowed at N = 2^{log_n} for {security:?}",
            q_bits + p_bits,
            max
        ));
    }
    let literal = ParamsLiteral {
        log_n,
        log_q,
        log_p: vec![SPECIAL_BITS; specials],
        log_scale,
        digits: Some(digits),
        security,
        secret: SecretDistribution::Ternary,
    };
    Params::new(literal).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_reproduced() {
        let c = chain(14, 4, 40, SecurityLevel::Classical128).unwrap();
        assert_eq!(c.literal(), &ParamsLiteral::preset("N14_L4").unwrap());
        let c = chain(15, 8, 40, SecurityLevel::Classical128).unwrap();
        assert_eq!(c.literal(), &ParamsLiteral::preset("N15_L8").unwrap());
    }

    #[test]
    fn security_limits_the_depth() {
        // 2^13 allows 218 bits: 50 + 3 x 40 + 50 = 220 is too many with 40-bit primes
        assert!(chain(13, 3, 40, SecurityLevel::Classical128).is_err());
        let c = chain(13, 3, 30, SecurityLevel::Classical128).unwrap();
        let bits = c.log_qp();
        assert!(bits <= 218, "{c:?}");
        assert!(chain(13, 40, 30, SecurityLevel::Classical128).is_err());
        // the explicit opt-out takes any size, with the same shape
        let c = chain(10, 6, 40, SecurityLevel::Insecure).unwrap();
        assert_eq!(c.literal().log_q.len(), 7);
        assert_eq!(c.literal().log_p, vec![50, 50, 50]);
    }

    #[test]
    fn chains_trade_bits_for_digits() {
        let all = chains(15, 15, 40, SecurityLevel::Classical128);
        assert!(all.len() >= 2, "{all:?}");
        for w in all.windows(2) {
            assert!(w[1].digits() < w[0].digits());
            assert!(w[1].p().len() > w[0].p().len());
        }
        for p in &all {
            assert!(p.log_qp() <= 881);
        }
        // 2^16 has room for a single digit
        let big = chains(16, 15, 40, SecurityLevel::Classical128);
        assert_eq!(big.last().map(|p| p.digits()), Some(1));
        // the default chain is the one with 3 special primes when it fits
        let c = chain(15, 8, 40, SecurityLevel::Classical128).unwrap();
        assert_eq!(c.p().len(), 3);
    }

    #[test]
    fn precision_estimate_decreases() {
        let a = estimated_precision_bits(40, 14, 4);
        assert!(a > estimated_precision_bits(40, 15, 4));
        assert!(a > estimated_precision_bits(35, 14, 4));
        assert!(a > estimated_precision_bits(40, 14, 8));
        assert!((estimated_precision_bits(40, 14, 1) - 21.0).abs() < 1e-9);
    }
}
