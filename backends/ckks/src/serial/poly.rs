//! Bit-packed residues of an NTT-form RNS polynomial.
//!
//! Limb `i`, modulo prime `p`, is `N` values of `w = bits(p - 1)` bits each, packed little endian
//! into `ceil(N * w / 8)` bytes; limbs follow each other in basis order.

use super::bad;
use crate::context::CkksContext;
use hetile_backend::Result;
use hetile_ring::rns::{Representation, RnsPoly};

/// Bits needed for every residue modulo `p` (`p >= 2`).
fn width(p: u64) -> u32 {
    64 - (p - 1).leading_zeros()
}

/// Bytes of one packed limb of `n` residues of `w` bits.
fn limb_bytes(n: usize, w: u32) -> usize {
    (n * w as usize).div_ceil(8)
}

/// The packed size of a polynomial over `basis` (context indices), computed from the parameters
/// alone.
pub(crate) fn packed_len(ctx: &CkksContext, basis: &[usize]) -> usize {
    let n = ctx.ring().degree();
    basis
        .iter()
        .map(|&i| limb_bytes(n, width(ctx.modulus(i).value())))
        .sum()
}

/// Packs an NTT-form polynomial of `ctx`.
///
/// Errors: [`hetile_backend::Error::Serialization`] for a coefficient-form polynomial or a
/// foreign degree (never for polynomials of this crate).
pub(crate) fn pack(ctx: &CkksContext, poly: &RnsPoly) -> Result<Vec<u8>> {
    if poly.repr() != Representation::Ntt || poly.degree() != ctx.ring().degree() {
        return Err(bad("only NTT-form polynomials of this context are stored"));
    }
    let mut out = Vec::with_capacity(packed_len(ctx, poly.moduli()));
    for (k, &i) in poly.moduli().iter().enumerate() {
        let w = width(ctx.modulus(i).value());
        let mut acc: u128 = 0;
        let mut bits: u32 = 0;
        for &x in poly.limb(k) {
            acc |= u128::from(x) << bits;
            bits += w;
            // whole words out (w < 64, so `bits` stays below 128)
            if bits >= 64 {
                out.extend_from_slice(&(acc as u64).to_le_bytes());
                acc >>= 64;
                bits -= 64;
            }
        }
        while bits > 0 {
            out.push(acc as u8);
            acc >>= 8;
            bits = bits.saturating_sub(8);
        }
    }
    Ok(out)
}

/// Unpacks a polynomial over `basis` (valid context indices, e.g. `Q_l` of a checked level).
/// The length of `data` is checked against the parameters before anything is allocated, and
/// every residue against its prime; padding bits must be zero.
///
/// Errors: [`hetile_backend::Error::Serialization`].
pub(crate) fn unpack(ctx: &CkksContext, basis: &[usize], data: &[u8]) -> Result<RnsPoly> {
    let expected = packed_len(ctx, basis);
    if data.len() != expected {
        return Err(bad(format!(
            "polynomial of {} bytes where the parameters imply {expected}",
            data.len()
        )));
    }
    let n = ctx.ring().degree();
    let mut values = Vec::with_capacity(n * basis.len());
    let mut rest = data;
    for &i in basis {
        let p = ctx.modulus(i).value();
        let w = width(p);
        let (limb, tail) = rest.split_at(limb_bytes(n, w));
        rest = tail;
        let mask: u128 = (1u128 << w) - 1;
        let mut acc: u128 = 0;
        let mut bits: u32 = 0;
        let mut pos = 0;
        for _ in 0..n {
            if bits < w {
                // up to eight bytes in at once (w < 64, so `bits` stays below 128)
                let end = (pos + 8).min(limb.len());
                let mut word = [0u8; 8];
                if let (Some(dst), Some(src)) = (word.get_mut(..end - pos), limb.get(pos..end)) {
                    dst.copy_from_slice(src);
                }
                acc |= u128::from(u64::from_le_bytes(word)) << bits;
                bits += 8 * (end - pos) as u32;
                pos = end;
            }
            let x = (acc & mask) as u64;
            acc >>= w;
            bits -= w;
            if x >= p {
                return Err(bad(format!("residue {x} is not below its prime {p}")));
            }
            values.push(x);
        }
        if acc != 0 {
            return Err(bad("non-zero padding bits after a limb"));
        }
    }
    RnsPoly::from_raw_parts(ctx.ring(), basis, Representation::Ntt, values)
        .map_err(|e| bad(format!("invalid polynomial: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hetile_backend::{Params, ParamsLiteral, SecurityLevel};
    use hetile_ring::sampling::Sampler;

    #[test]
    fn pack_round_trips_and_checks_lengths_and_residues() {
        let lit = ParamsLiteral {
            log_n: 10,
            log_q: vec![50, 33, 40],
            log_p: vec![51],
            log_scale: 30,
            digits: None,
            security: SecurityLevel::Insecure,
            secret: Default::default(),
        };
        let ctx = CkksContext::new(&Params::new(lit).unwrap()).unwrap();
        let basis = [0usize, 1, 2, 3];
        let p = Sampler::insecure_from_u64_for_tests(3).uniform_poly(
            ctx.ring(),
            &basis,
            Representation::Ntt,
        );
        let bytes = pack(&ctx, &p).unwrap();
        assert_eq!(bytes.len(), packed_len(&ctx, &basis));
        assert_eq!(bytes.len(), 1024 * (50 + 33 + 40 + 51) / 8);
        assert_eq!(unpack(&ctx, &basis, &bytes).unwrap(), p);
        assert!(unpack(&ctx, &basis, &bytes[1..]).is_err());
        assert!(unpack(&ctx, &basis[..3], &bytes).is_err());
        // All-ones residues exceed the 33-bit prime.
        let mut evil = bytes.clone();
        let off = 1024 * 50 / 8;
        evil[off..off + 1024 * 33 / 8].fill(0xff);
        assert!(unpack(&ctx, &basis, &evil).is_err());
    }
}
