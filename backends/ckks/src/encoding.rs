//! Encoding and decoding between slot values and plaintext polynomials, exact CRT lifting, and
//! the context checks shared by the client and the evaluator.

use crate::context::CkksContext;
use crate::types::{Ciphertext, Plaintext};
use crate::RingResultExt;
use hetile_backend::{check_encodable, Complex, Error, Level, Result, Scale};
use hetile_ring::rns::{RnsContext, RnsPoly};
use hetile_ring::Modulus;
use rayon::prelude::*;

/// Encodes real values (zero-padded to N/2 slots) at `level` and `scale` after the shared
/// [`check_encodable`] checks.
pub(crate) fn encode_real(
    ctx: &CkksContext,
    values: &[f64],
    level: Level,
    scale: Scale,
) -> Result<Plaintext> {
    check_encodable(ctx.params(), values.iter().copied(), level, scale)?;
    let complex: Vec<Complex> = values.iter().map(|&re| Complex::new(re, 0.0)).collect();
    encode_unchecked(ctx, &complex, level, scale)
}

/// Encodes complex values after checking the real parts, then the imaginary parts.
pub(crate) fn encode_complex(
    ctx: &CkksContext,
    values: &[Complex],
    level: Level,
    scale: Scale,
) -> Result<Plaintext> {
    check_encodable(ctx.params(), values.iter().map(|c| c.re), level, scale)?;
    check_encodable(ctx.params(), values.iter().map(|c| c.im), level, scale)?;
    encode_unchecked(ctx, values, level, scale)
}

/// [`encode_real`] in coefficient form (for a fused encode-and-encrypt, which folds the
/// message into its own NTT). The result is not a valid [`Plaintext`] of the evaluator.
pub(crate) fn encode_real_coefficients(
    ctx: &CkksContext,
    values: &[f64],
    level: Level,
    scale: Scale,
) -> Result<RnsPoly> {
    check_encodable(ctx.params(), values.iter().copied(), level, scale)?;
    let complex: Vec<Complex> = values.iter().map(|&re| Complex::new(re, 0.0)).collect();
    let coeffs = ctx.encoder().slots_to_coeffs(&complex, scale.value())?;
    let tables = ctx.level(level)?;
    RnsPoly::from_f64_rounded(ctx.ring(), &tables.q_basis, &coeffs).ring()
}

fn encode_unchecked(
    ctx: &CkksContext,
    values: &[Complex],
    level: Level,
    scale: Scale,
) -> Result<Plaintext> {
    let coeffs = ctx.encoder().slots_to_coeffs(values, scale.value())?;
    let tables = ctx.level(level)?;
    let mut poly = RnsPoly::from_f64_rounded(ctx.ring(), &tables.q_basis, &coeffs).ring()?;
    poly.to_ntt(ctx.ring());
    Ok(Plaintext {
        poly,
        level,
        scale,
        context: ctx.params().fingerprint(),
    })
}

/// Decodes all slots of a plaintext (exact centered CRT lift, then the special FFT).
pub(crate) fn decode_complex(ctx: &CkksContext, pt: &Plaintext) -> Result<Vec<Complex>> {
    check_plaintext(ctx, pt)?;
    // Temporaries hold `m + e` of a decryption: wiped on drop.
    let mut poly = crate::keys::Wiped(pt.poly.clone());
    poly.0.to_coeff(ctx.ring());
    let coeffs = zeroize::Zeroizing::new(crt_lift_centered(ctx.ring(), &poly.0)?);
    ctx.encoder().coeffs_to_slots(&coeffs, pt.scale.value())
}

/// The centered representative in `(-Q/2, Q/2]` of every coefficient of a coefficient-form
/// polynomial, as `f64`, where `Q` is the product of its moduli.
///
/// Garner's mixed-radix conversion with centered digits: the digits of a small value vanish above
/// its magnitude, so the Horner evaluation in `f64` has no cancellation and the result is accurate
/// to a few ulps whatever the number of limbs.
pub(crate) fn crt_lift_centered(ring: &RnsContext, poly: &RnsPoly) -> Result<Vec<f64>> {
    let moduli: Vec<Modulus> = poly.moduli().iter().map(|&i| *ring.modulus(i)).collect();
    let k = moduli.len();
    // inv[i][j] = q_j^{-1} mod q_i for j < i.
    let mut inv = Vec::with_capacity(k);
    for (i, mi) in moduli.iter().enumerate() {
        let row = moduli[..i]
            .iter()
            .map(|mj| {
                mi.inv(mi.reduce(mj.value()))
                    .ok_or_else(|| Error::Internal {
                        backend: crate::NAME,
                        reason: format!("moduli {} and {} are not coprime", mi.value(), mj.value()),
                    })
            })
            .collect::<Result<Vec<u64>>>()?;
        inv.push(row);
    }
    let qf: Vec<f64> = moduli.iter().map(|m| m.value() as f64).collect();
    let limbs: Vec<&[u64]> = (0..k).map(|i| poly.limb(i)).collect();
    let out = (0..poly.degree())
        .into_par_iter()
        .with_min_len(256)
        .map(|c| {
            // Fast path: a value below q_0 / 2 in magnitude (every fresh or rescaled message at
            // the default scale) is the centered residue modulo q_0; it is the answer exactly
            // when it agrees with every other residue (CRT uniqueness in (-Q/2, Q/2]).
            let candidate = moduli[0].center(limbs[0][c]);
            if (1..k).all(|j| moduli[j].reduce_i64(candidate) == limbs[j][c]) {
                return candidate as f64;
            }
            let mut digits = [0i64; hetile_backend::params::MAX_PRIMES];
            for i in 0..k {
                let mi = &moduli[i];
                let mut t = limbs[i][c];
                for j in 0..i {
                    t = mi.mul(mi.sub(t, mi.reduce_i64(digits[j])), inv[i][j]);
                }
                digits[i] = mi.center(t);
            }
            let mut x = 0.0f64;
            for i in (0..k).rev() {
                x = x * qf[i] + digits[i] as f64;
            }
            x
        })
        .collect();
    Ok(out)
}

/// The residues modulo each of `moduli` (context indices) of `round(x)` for a finite `x` with
/// `|x| < 2^1000` (exact: `x` is split into its 53-bit mantissa and a power of two).
pub(crate) fn residues_of_rounded(ring: &RnsContext, moduli: &[usize], x: f64) -> Vec<u64> {
    let r = x.round();
    let negative = r < 0.0;
    let a = r.abs();
    moduli
        .iter()
        .map(|&i| {
            let m = ring.modulus(i);
            let v = if a < 9.0e18 {
                m.reduce(a as u64)
            } else {
                let bits = a.to_bits();
                let exponent = ((bits >> 52) & 0x7ff) - 1075;
                let mantissa = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
                m.mul(m.reduce(mantissa), m.pow(2, exponent))
            };
            if negative {
                m.neg(v)
            } else {
                v
            }
        })
        .collect()
}

/// Errors with [`Error::ContextMismatch`] unless the plaintext was made under these parameters
/// and has the shape of its level; [`Error::InvalidLevel`] above the chain.
pub(crate) fn check_plaintext(ctx: &CkksContext, pt: &Plaintext) -> Result<()> {
    check_shape(ctx, "plaintext", pt.context, pt.level, &[&pt.poly])
}

/// The ciphertext counterpart of [`check_plaintext`].
pub(crate) fn check_ciphertext(ctx: &CkksContext, ct: &Ciphertext) -> Result<()> {
    check_shape(ctx, "ciphertext", ct.context, ct.level, &[&ct.c0, &ct.c1])
}

fn check_shape(
    ctx: &CkksContext,
    what: &str,
    context: u64,
    level: Level,
    polys: &[&RnsPoly],
) -> Result<()> {
    let params = ctx.params();
    if context != params.fingerprint() {
        return Err(Error::ContextMismatch {
            what: format!("{what} was made under other parameters than {params}"),
        });
    }
    if level > params.max_level() {
        return Err(Error::InvalidLevel {
            requested: level,
            max: params.max_level(),
        });
    }
    for p in polys {
        if p.degree() != ctx.ring().degree() || p.num_limbs() != level.0 + 1 {
            return Err(Error::ContextMismatch {
                what: format!(
                    "{what} has degree {} and {} limbs, expected {} and {} at {level}",
                    p.degree(),
                    p.num_limbs(),
                    ctx.ring().degree(),
                    level.0 + 1
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hetile_backend::{Params, ParamsLiteral, SecretDistribution, SecurityLevel};
    use hetile_ring::galois::automorphism_permutation;
    use hetile_ring::galois::{galois_element_conjugate, galois_element_for_rotation};
    use hetile_ring::rns::Representation;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn ctx(log_n: u32, log_q: &[u32]) -> Arc<CkksContext> {
        let params = Params::new(ParamsLiteral {
            log_n,
            log_q: log_q.to_vec(),
            log_p: vec![60],
            log_scale: 40,
            digits: None,
            security: SecurityLevel::Insecure,
            secret: SecretDistribution::Ternary,
        })
        .unwrap();
        CkksContext::new(&params).unwrap()
    }

    fn values(n: usize, seed: u64) -> Vec<Complex> {
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        };
        (0..n).map(|_| Complex::new(next(), next())).collect()
    }

    fn max_err(a: &[Complex], b: &[Complex]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x.re - y.re).abs().max((x.im - y.im).abs()))
            .fold(0.0, f64::max)
    }

    #[test]
    fn galois_automorphisms_rotate_and_conjugate_encoded_slots() {
        let c = ctx(10, &[60, 40]);
        let n = c.ring().degree();
        let v = values(n / 2, 3);
        let scale = Scale::from_log2(40.0).unwrap();
        let pt = encode_complex(&c, &v, Level(1), scale).unwrap();
        for step in [1i64, 7, -2, 300] {
            let g = galois_element_for_rotation(step, n);
            let perm = automorphism_permutation(c.ring().ntt(0), g).unwrap();
            let mut out = RnsPoly::zero(c.ring(), pt.poly.moduli(), Representation::Ntt);
            pt.poly.automorphism_ntt(&perm, &mut out).unwrap();
            let rotated = Plaintext {
                poly: out,
                ..pt.clone()
            };
            let got = decode_complex(&c, &rotated).unwrap();
            let k = step.rem_euclid((n / 2) as i64) as usize;
            let want: Vec<Complex> = (0..n / 2).map(|j| v[(j + k) % (n / 2)]).collect();
            assert!(max_err(&got, &want) < 1e-9, "step {step}");
        }
        let perm = automorphism_permutation(c.ring().ntt(0), galois_element_conjugate(n)).unwrap();
        let mut out = RnsPoly::zero(c.ring(), pt.poly.moduli(), Representation::Ntt);
        pt.poly.automorphism_ntt(&perm, &mut out).unwrap();
        let got = decode_complex(
            &c,
            &Plaintext {
                poly: out,
                ..pt.clone()
            },
        )
        .unwrap();
        let want: Vec<Complex> = v.iter().map(|z| Complex::new(z.re, -z.im)).collect();
        assert!(max_err(&got, &want) < 1e-9);
    }

    #[test]
    fn crt_lift_is_exact_with_many_limbs() {
        // Nine limbs (380 bits): a lossy lift would destroy small coefficients.
        let c = ctx(4, &[60, 40, 40, 40, 40, 40, 40, 40, 40]);
        let moduli: Vec<usize> = (0..9).collect();
        let coeffs: Vec<i64> = vec![
            0,
            1,
            -1,
            12345,
            -(1 << 62),
            1 << 62,
            7,
            -7,
            0,
            3,
            -3,
            99,
            -99,
            5,
            6,
            -8,
        ];
        let poly = RnsPoly::from_signed(c.ring(), &moduli, &coeffs).unwrap();
        let lifted = crt_lift_centered(c.ring(), &poly).unwrap();
        for (x, &y) in lifted.iter().zip(&coeffs) {
            assert_eq!(*x, y as f64);
        }
        // Big values (about 2^110, the range of encoded coefficients) are lifted with full f64
        // relative precision, both signs.
        let big = 2f64.powi(110) * 1.2345;
        let mut coeffs = vec![0.0; 16];
        coeffs[3] = big;
        coeffs[4] = -big;
        let poly = RnsPoly::from_f64_rounded(c.ring(), &moduli, &coeffs).unwrap();
        let lifted = crt_lift_centered(c.ring(), &poly).unwrap();
        assert_eq!(lifted[3], big);
        assert_eq!(lifted[4], -big);
    }

    #[test]
    fn residues_of_large_values_are_exact() {
        let c = ctx(4, &[60, 40, 40]);
        let moduli = [0usize, 1, 2];
        for x in [0.0, 3.4, -3.6, 2f64.powi(70) * 1.5, -(2f64.powi(90) * 1.75)] {
            let r = residues_of_rounded(c.ring(), &moduli, x);
            for (k, &i) in moduli.iter().enumerate() {
                let m = c.ring().modulus(i);
                // Reference: through i128 (all test values fit).
                let want = m.reduce_i128(x.round() as i128);
                assert_eq!(r[k], want, "x = {x}, limb {k}");
            }
        }
    }

    proptest! {
        #[test]
        fn encode_decode_round_trip(seed in any::<u64>(), level in 0usize..3) {
            let c = ctx(8, &[60, 40, 40]);
            let v = values(128, seed);
            let scale = Scale::from_log2(40.0).unwrap();
            let pt = encode_complex(&c, &v, Level(level), scale).unwrap();
            let back = decode_complex(&c, &pt).unwrap();
            prop_assert!(max_err(&back, &v) < 1e-9);
        }
    }
}
