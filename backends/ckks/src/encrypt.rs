//! Public-key encryption. With special primes, the ciphertext is computed over `Q_l ∪ {p}` (`p`
//! the first special prime, the public key holds that limb) and divided by `p` with exact
//! rounding, as SEAL divides fresh encryptions by `P`: the encryption noise `u*e + e0 + e1*s` is
//! divided by `p` (2^50), and what remains is the rounding of the division, `r0 + r1*s` with
//! `|r0|, |r1| <= 1/2` per coefficient. Without special primes the textbook encryption over `Q_l`
//! is used.
//!
//! NTT count per encryption over `k = l + 1` ciphertext primes: `k + 1` for `u`, 2 inverse NTTs of
//! the `p` limbs, and one forward NTT per ciphertext limb and component into which the Gaussian
//! error, the rounding correction and the division are folded: `3k + 3` (textbook: `3k`). With a
//! coefficient-form message (`encrypt_values`) the message joins that NTT too, which saves the
//! encoder's `k` NTTs. The division by `p` costs no pass of its own: the ciphertext limbs of the
//! public key are kept multiplied by `p^-1` ([`EncryptionKey`]), and the error term is reduced
//! with `p^-1` as the factor.

use crate::context::CkksContext;
use crate::keys::{PublicKey, Wiped};
use crate::RingResultExt;
use hetile_backend::{Error, Result};
use hetile_ring::rns::{Representation, RnsPoly};
use hetile_ring::Modulus;
use rayon::prelude::*;
use zeroize::Zeroizing;

/// The secret randomness of one public-key encryption: the ternary `u` and the Gaussian errors
/// `e0`, `e1` (signed coefficients, wiped on drop).
pub(crate) struct EncryptionNoise {
    pub(crate) u: Zeroizing<Vec<i64>>,
    pub(crate) e0: Zeroizing<Vec<i64>>,
    pub(crate) e1: Zeroizing<Vec<i64>>,
}

/// The public key prepared for encryption: with special primes, its ciphertext limbs multiplied
/// by `p^-1 mod q_i` and its `p` limb apart; else the public key as is.
#[derive(Clone, Debug)]
pub(crate) struct EncryptionKey {
    /// `b` and `a` over `Q_L` (times `p^-1` with special primes).
    b: RnsPoly,
    a: RnsPoly,
    /// The `p` limbs of `b` and `a`, with special primes.
    special: Option<(Vec<u64>, Vec<u64>)>,
}

impl EncryptionKey {
    /// Prepares `pk` (over [`CkksContext::public_key_basis`]).
    ///
    /// Errors: [`Error::Internal`] for a public key of another basis.
    pub(crate) fn new(ctx: &CkksContext, pk: &PublicKey) -> Result<EncryptionKey> {
        let basis = ctx.public_key_basis();
        if pk.b.moduli() != basis || pk.a.moduli() != basis {
            return Err(Error::Internal {
                backend: crate::NAME,
                reason: "the public key does not have the basis of its context".into(),
            });
        }
        let num_q = ctx.params().q().len();
        let Some(sp) = ctx.encryption_prime() else {
            return Ok(EncryptionKey {
                b: pk.b.clone(),
                a: pk.a.clone(),
                special: None,
            });
        };
        let pm = ctx.modulus(sp);
        let inverses: Vec<u64> = (0..num_q).map(|i| inverse_of(ctx.modulus(i), pm)).collect();
        let mut b = pk.b.select_limbs(0..num_q);
        let mut a = pk.a.select_limbs(0..num_q);
        b.mul_rns_scalar_assign(ctx.ring(), &inverses).ring()?;
        a.mul_rns_scalar_assign(ctx.ring(), &inverses).ring()?;
        Ok(EncryptionKey {
            b,
            a,
            special: Some((pk.b.limb(num_q).to_vec(), pk.a.limb(num_q).to_vec())),
        })
    }
}

/// `(c0, c1) = (round((u*b + e0)/p) + m, round((u*a + e1)/p))` over `Q_l`, or the textbook
/// `(u*b + e0 + m, u*a + e1)` without special primes. The message `m` is over `Q_l` (its moduli
/// give the level), in NTT form (a plaintext: added at the end) or in coefficient form (fresh
/// from the encoder: folded into the error before its NTT, which saves the encoder's NTT).
///
/// Errors: ring errors only.
pub(crate) fn encrypt_public(
    ctx: &CkksContext,
    key: &EncryptionKey,
    m: &RnsPoly,
    noise: &EncryptionNoise,
) -> Result<(RnsPoly, RnsPoly)> {
    let ring = ctx.ring();
    let (Some(sp), Some((bp, ap))) = (ctx.encryption_prime(), key.special.as_ref()) else {
        if m.repr() == Representation::Ntt {
            return encrypt_textbook(ctx, key, m, noise);
        }
        let mut m = m.clone();
        m.to_ntt(ring);
        return encrypt_textbook(ctx, key, &m, noise);
    };
    let q_basis = m.moduli();
    let k = q_basis.len();
    let n = ring.degree();
    let basis: Vec<usize> = q_basis.iter().copied().chain([sp]).collect();
    let mut u = Wiped(RnsPoly::from_signed(ring, &basis, &noise.u).ring()?);
    u.0.to_ntt(ring);
    let pm = ctx.modulus(sp);

    // The p limb of u*key + e in coefficient form, x in [0, p). The division subtracts its
    // centered representative [x]_p (x - p when x > p/2) from u*key + e over Q_l: the error term
    // is e - [x]_p, kept shifted by p as w = e - [x]_p + p in [0, 2^51) (values below 2^52 are
    // what the vector Shoup product takes).
    let special = |key_p: &[u64], e: &[i64]| -> Zeroizing<Vec<u64>> {
        let mut w = Zeroizing::new(key_p.to_vec());
        pm.mul_assign_slice(&mut w, u.0.limb(k));
        ring.ntt(sp).inverse(&mut w);
        let p = pm.value();
        let half = p / 2;
        for (v, &ei) in w.iter_mut().zip(e) {
            let x = pm.add(*v, small_mod(ei, p));
            let centered = x as i64 - (p as i64 & -i64::from(x > half));
            *v = (ei - centered + p as i64) as u64;
        }
        w
    };
    let (w0, w1) = rayon::join(|| special(bp, &noise.e0), || special(ap, &noise.e1));

    // Every coefficient is written by `limb`.
    let mut c0 = RnsPoly::uninit_pooled(ring, q_basis, Representation::Ntt);
    let mut c1 = RnsPoly::uninit_pooled(ring, q_basis, Representation::Ntt);
    let coeff_msg = m.repr() == Representation::Coefficient;
    // Limb i: w*p^-1 - 1 = (e - [x]_p)*p^-1 (plus m in coefficient form), NTT, plus u_i times the
    // key limb (already times p^-1), plus m_i in NTT form.
    let limb = |i: usize, out: &mut [u64], key_q: &RnsPoly, w: &[u64], msg: Option<&[u64]>| {
        let q = q_basis[i];
        let qm = ctx.modulus(q);
        out.copy_from_slice(w);
        qm.mul_scalar_assign_slice(out, inverse_of(qm, pm));
        let qv = qm.value();
        for o in out.iter_mut() {
            *o = sub_mod(qv, *o, 1);
        }
        if let (true, Some(msg)) = (coeff_msg, msg) {
            qm.add_assign_slice(out, msg);
        }
        ring.ntt(q).forward(out);
        qm.mul_add_assign_slice(out, key_q.limb(i), u.0.limb(i));
        if let (false, Some(msg)) = (coeff_msg, msg) {
            qm.add_assign_slice(out, msg);
        }
    };
    let work = |(i, (o0, o1)): (usize, (&mut [u64], &mut [u64]))| {
        limb(i, o0, &key.b, &w0, Some(m.limb(i)));
        limb(i, o1, &key.a, &w1, None);
    };
    if k > 1 && n * k >= hetile_ring::rns::PARALLEL_THRESHOLD {
        c0.as_mut_slice()
            .par_chunks_exact_mut(n)
            .zip(c1.as_mut_slice().par_chunks_exact_mut(n))
            .enumerate()
            .for_each(work);
    } else {
        c0.as_mut_slice()
            .chunks_exact_mut(n)
            .zip(c1.as_mut_slice().chunks_exact_mut(n))
            .enumerate()
            .for_each(work);
    }
    Ok((c0, c1))
}

/// `a - b mod p` for `a, b < p < 2^63`, branch-free.
#[inline]
fn sub_mod(p: u64, a: u64, b: u64) -> u64 {
    let d = a.wrapping_sub(b);
    d.wrapping_add(p & 0u64.wrapping_sub(d >> 63))
}

/// `e mod p` for `|e| < p`, branch-free (Gaussian samples are far below every prime).
#[inline]
fn small_mod(e: i64, p: u64) -> u64 {
    (e + ((e >> 63) & p as i64)) as u64
}

/// `p^-1 mod q` (`p` and `q` distinct primes, so the inverse exists; 0 otherwise, which the
/// context's coprimality check rules out).
fn inverse_of(q: &Modulus, p: &Modulus) -> u64 {
    q.inv(q.reduce(p.value())).unwrap_or(0)
}

/// The textbook encryption over `Q_l`, for parameters without special primes.
fn encrypt_textbook(
    ctx: &CkksContext,
    pk: &EncryptionKey,
    m: &RnsPoly,
    noise: &EncryptionNoise,
) -> Result<(RnsPoly, RnsPoly)> {
    let ring = ctx.ring();
    let basis = m.moduli();
    let ntt = |c: &[i64]| -> Result<Wiped> {
        let mut p = Wiped(RnsPoly::from_signed(ring, basis, c).ring()?);
        p.0.to_ntt(ring);
        Ok(p)
    };
    let (u, e0, e1) = (ntt(&noise.u)?, ntt(&noise.e0)?, ntt(&noise.e1)?);
    let k = basis.len();
    let mut c0 = pk.b.select_limbs(0..k);
    c0.mul_assign(ring, &u.0).ring()?;
    c0.add_assign(ring, &e0.0).ring()?;
    c0.add_assign(ring, m).ring()?;
    let mut c1 = pk.a.select_limbs(0..k);
    c1.mul_assign(ring, &u.0).ring()?;
    c1.add_assign(ring, &e1.0).ring()?;
    Ok((c0, c1))
}
