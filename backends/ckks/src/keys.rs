//! Key generation: the secret key, the public key and the hybrid key-switching keys
//! (relinearization and Galois keys, Han-Ki 2020).

use crate::context::CkksContext;
use crate::RingResultExt;
use hetile_backend::{Error, Result, SecretDistribution};
use hetile_ring::galois::automorphism_permutation;
use hetile_ring::rns::{Representation, RnsPoly};
use hetile_ring::sampling::Sampler;
use std::collections::BTreeMap;
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// The secret key `s`, in NTT form over all primes `Q_L ∪ P`. Zeroized on drop; its `Debug`
/// output is redacted and it cannot be serialized: it implements neither `serde::Serialize` nor
/// `Clone`, and the only export is the explicitly named
/// [`CkksClient::export_secret_key_unprotected`](crate::CkksClient::export_secret_key_unprotected).
///
/// ```compile_fail,E0277
/// fn needs_serialize<T: serde::Serialize>() {}
/// needs_serialize::<hetile_ckks::SecretKey>();
/// ```
///
/// ```compile_fail,E0277
/// fn needs_clone<T: Clone>() {}
/// needs_clone::<hetile_ckks::SecretKey>();
/// ```
pub struct SecretKey {
    poly: RnsPoly,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.poly.zeroize();
    }
}

impl SecretKey {
    /// Samples a secret with the distribution of the parameters (uniform ternary, or ternary
    /// with a fixed Hamming weight).
    ///
    /// Errors: an invalid Hamming weight (refused by the sampler).
    pub fn generate(ctx: &CkksContext, sampler: &mut Sampler) -> Result<SecretKey> {
        let n = ctx.ring().degree();
        let mut coeffs = match ctx.params().secret() {
            SecretDistribution::Ternary => sampler.ternary(n),
            SecretDistribution::HammingWeight(h) => sampler.ternary_hamming(n, h).ring()?,
        };
        let poly = RnsPoly::from_signed(ctx.ring(), ctx.full_qp_basis(), &coeffs);
        coeffs.zeroize();
        let mut poly = poly.ring()?;
        poly.to_ntt(ctx.ring());
        Ok(SecretKey { poly })
    }

    /// The secret in NTT form over `Q_L ∪ P`.
    pub(crate) fn poly(&self) -> &RnsPoly {
        &self.poly
    }

    /// A secret from its coefficients (each in `{-1, 0, 1}`, `N` of them).
    ///
    /// Errors: a wrong length or a coefficient the ring refuses.
    pub(crate) fn from_coefficients(ctx: &CkksContext, coeffs: &[i64]) -> Result<SecretKey> {
        if coeffs.len() != ctx.ring().degree() || coeffs.iter().any(|c| !(-1..=1).contains(c)) {
            return Err(Error::Serialization {
                reason: "a secret key needs N coefficients in {-1, 0, 1}".into(),
            });
        }
        let mut poly = RnsPoly::from_signed(ctx.ring(), ctx.full_qp_basis(), coeffs).ring()?;
        poly.to_ntt(ctx.ring());
        Ok(SecretKey { poly })
    }

    /// The coefficients of the secret in `{-1, 0, 1}` (wiped when dropped).
    ///
    /// Errors: [`Error::Internal`] if a coefficient is not ternary (a corrupted key).
    pub(crate) fn ternary_coefficients(&self, ctx: &CkksContext) -> Result<Zeroizing<Vec<i64>>> {
        let mut limb = Wiped(self.poly.select_limbs(0..1));
        limb.0.to_coeff(ctx.ring());
        let q = ctx.modulus(self.poly.moduli()[0]).value();
        let mut out = Zeroizing::new(Vec::with_capacity(limb.0.degree()));
        for &v in limb.0.limb(0) {
            out.push(match v {
                0 => 0,
                1 => 1,
                v if v == q - 1 => -1,
                _ => {
                    return Err(Error::Internal {
                        backend: crate::NAME,
                        reason: "the secret key is not ternary".into(),
                    })
                }
            });
        }
        Ok(out)
    }

    /// Address and byte length of the heap buffer holding the secret's residues. Only for tests
    /// that check, in a custom allocator, that the buffer is zero when it is freed; the address
    /// gives no access to the secret.
    #[doc(hidden)]
    pub fn storage_for_wipe_tests(&self) -> (usize, usize) {
        let s = self.poly.as_slice();
        (s.as_ptr() as usize, std::mem::size_of_val(s))
    }
}

/// A polynomial that is wiped when dropped (temporary secret material such as `s^2`, `s(X^g)`
/// or error polynomials).
pub(crate) struct Wiped(pub(crate) RnsPoly);

impl Drop for Wiped {
    fn drop(&mut self) {
        // Zeroized first; the zero buffer is then reused by later temporaries.
        self.0.wipe_and_recycle();
    }
}

/// A Gaussian error polynomial in NTT form over `moduli`, wiped on drop.
pub(crate) fn gaussian_ntt(
    ctx: &CkksContext,
    sampler: &mut Sampler,
    moduli: &[usize],
) -> Result<Wiped> {
    let mut e = sampler.gaussian(ctx.ring().degree());
    let poly = RnsPoly::from_signed(ctx.ring(), moduli, &e);
    e.zeroize();
    let mut poly = Wiped(poly.ring()?);
    poly.0.to_ntt(ctx.ring());
    Ok(poly)
}

/// The public key `(b, a) = (-a*s + e, a)`, NTT form, over `Q_L` followed by the first special
/// prime `p` when the parameters have special primes (see
/// [`Client::encrypt`](hetile_backend::Client::encrypt): fresh ciphertexts are computed over
/// `Q_l ∪ {p}` and divided by `p`, which divides the encryption noise by `p`).
#[derive(Clone, Debug)]
pub struct PublicKey {
    pub(crate) b: RnsPoly,
    pub(crate) a: RnsPoly,
}

impl PublicKey {
    /// Generates a public key for `sk`.
    ///
    /// Errors: internal ring errors only.
    pub fn generate(ctx: &CkksContext, sk: &SecretKey, sampler: &mut Sampler) -> Result<PublicKey> {
        let basis = ctx.public_key_basis();
        let ring = ctx.ring();
        let a = sampler.uniform_poly(ring, basis, Representation::Ntt);
        // The public key's basis is a prefix of the secret's `Q_L ∪ P`.
        let s = Wiped(sk.poly().select_limbs(0..basis.len()));
        let e = gaussian_ntt(ctx, sampler, basis)?;
        let mut b = a.clone();
        b.mul_assign(ring, &s.0).ring()?;
        b.neg_assign(ring);
        b.add_assign(ring, &e.0).ring()?;
        Ok(PublicKey { b, a })
    }

    /// The first component `b = -a*s + e`.
    pub fn b(&self) -> &RnsPoly {
        &self.b
    }

    /// The uniform component `a`.
    pub fn a(&self) -> &RnsPoly {
        &self.a
    }
}

/// A hybrid key-switching key from a secret `s'` to a secret `t`: one pair `(b_j, a_j)` over
/// `Q_L ∪ P` (NTT form) per digit `j`, with `b_j = -a_j*t + e_j + P*(Q/Q_j)*[(Q/Q_j)^-1]_{Q_j}*s'`
/// (`t = s` for relinearization, see [`GaloisKey`] for rotations). The uniform `a_j` is drawn
/// from a recorded 32-byte seed.
#[derive(Clone, Debug)]
pub struct SwitchingKey {
    pub(crate) b: Vec<RnsPoly>,
    pub(crate) a: Vec<RnsPoly>,
    pub(crate) seeds: Vec<[u8; 32]>,
}

impl SwitchingKey {
    /// Generates the key switching from `s_prime` to `target` (both NTT form over `Q_L ∪ P`).
    ///
    /// Errors with [`Error::InvalidParameters`] when the parameters have no special primes.
    pub(crate) fn generate(
        ctx: &CkksContext,
        target: &RnsPoly,
        s_prime: &RnsPoly,
        sampler: &mut Sampler,
    ) -> Result<SwitchingKey> {
        if ctx.digits().is_empty() {
            return Err(Error::InvalidParameters {
                reason: "key switching needs at least one special prime (log_p is empty)".into(),
            });
        }
        let ring = ctx.ring();
        let basis = ctx.full_qp_basis();
        let mut bs = Vec::with_capacity(ctx.digits().len());
        let mut as_ = Vec::with_capacity(ctx.digits().len());
        let mut seeds = Vec::with_capacity(ctx.digits().len());
        for digit in ctx.digits() {
            let seed = sampler.fill_seed();
            let a = Sampler::from_seed(seed).uniform_poly(ring, basis, Representation::Ntt);
            let e = gaussian_ntt(ctx, sampler, basis)?;
            let mut b = a.clone();
            b.mul_assign(ring, target).ring()?;
            b.neg_assign(ring);
            b.add_assign(ring, &e.0).ring()?;
            let mut scaled = Zeroizing::new(vec![0u64; ring.degree()]);
            for i in digit.clone() {
                let m = ctx.modulus(basis[i]);
                scaled.copy_from_slice(s_prime.limb(i));
                m.mul_scalar_assign_slice(&mut scaled, ctx.p_mod_q(i));
                m.add_assign_slice(b.limb_mut(i), &scaled);
            }
            bs.push(b);
            as_.push(a);
            seeds.push(seed);
        }
        Ok(SwitchingKey {
            b: bs,
            a: as_,
            seeds,
        })
    }

    /// The number of digits.
    pub fn digits(&self) -> usize {
        self.b.len()
    }

    /// The seeds the uniform components were drawn from (one per digit), for a compressed form.
    pub fn seeds(&self) -> &[[u8; 32]] {
        &self.seeds
    }
}

/// A Galois key for `X -> X^g`, in the "permute after switching" form used for hoisting: the
/// switching key from `s` to `t = s(X^(g^-1))`, and the NTT permutation of `X -> X^g`.
///
/// For a decomposition `d_j` of `c1`, `sum_j d_j*(b_j, a_j) = (k0, k1)` with `k0 + k1*t ≈ P*c1*s`;
/// applying `X -> X^g` gives `phi(k0) + phi(k1)*s ≈ P*phi(c1)*phi(s)`, so after ModDown the rotated
/// ciphertext is `(phi(c0 + k0), phi(k1))`. The digits are therefore never permuted: rotations
/// by several steps share one decomposition and permute only the two output polynomials.
#[derive(Clone, Debug)]
pub struct GaloisKey {
    pub(crate) galois_element: usize,
    pub(crate) permutation: Vec<usize>,
    pub(crate) key: SwitchingKey,
}

/// The inverse of an odd `g` modulo `2N` (a power of two).
fn inverse_mod_two_n(g: usize, two_n: usize) -> usize {
    // Odd g has order dividing N in (Z/2NZ)*, so g^(N-1) = g^-1.
    let mut acc = 1usize;
    let mut base = g % two_n;
    let mut e = two_n / 2 - 1;
    while e > 0 {
        if e & 1 == 1 {
            acc = acc * base % two_n;
        }
        base = base * base % two_n;
        e >>= 1;
    }
    acc
}

impl GaloisKey {
    /// Generates the Galois key of `galois_element` (odd, below 2N).
    ///
    /// Errors: an invalid Galois element, parameters without special primes.
    pub(crate) fn generate(
        ctx: &CkksContext,
        sk: &SecretKey,
        galois_element: usize,
        sampler: &mut Sampler,
    ) -> Result<GaloisKey> {
        let table = ctx.ring().ntt(0);
        let permutation = automorphism_permutation(table, galois_element).ring()?;
        let inverse = inverse_mod_two_n(galois_element, 2 * ctx.ring().degree());
        let inverse_permutation = automorphism_permutation(table, inverse).ring()?;
        let mut target = Wiped(RnsPoly::zero(
            ctx.ring(),
            ctx.full_qp_basis(),
            Representation::Ntt,
        ));
        sk.poly()
            .automorphism_ntt(&inverse_permutation, &mut target.0)
            .ring()?;
        let key = SwitchingKey::generate(ctx, &target.0, sk.poly(), sampler)?;
        Ok(GaloisKey {
            galois_element,
            permutation,
            key,
        })
    }

    /// The Galois element `g` of the automorphism `X -> X^g`.
    pub fn galois_element(&self) -> usize {
        self.galois_element
    }

    /// The switching key (from `s` to `s(X^(g^-1))`).
    pub fn key(&self) -> &SwitchingKey {
        &self.key
    }
}

/// The public evaluation keys of a client: relinearization key, Galois keys by Galois element and
/// the rotation steps (reduced to `1..slots`) they serve.
#[derive(Clone, Debug, Default)]
pub struct EvaluationKeys {
    pub(crate) relin: Option<SwitchingKey>,
    pub(crate) galois: BTreeMap<usize, GaloisKey>,
    pub(crate) rotations: BTreeMap<usize, usize>,
    pub(crate) conjugation: Option<usize>,
}

impl EvaluationKeys {
    /// The relinearization key, if generated.
    pub fn relinearization(&self) -> Option<&SwitchingKey> {
        self.relin.as_ref()
    }

    /// The Galois key serving a rotation step already reduced to `1..slots`.
    pub fn rotation_key(&self, normalized_step: usize) -> Option<&GaloisKey> {
        self.rotations
            .get(&normalized_step)
            .and_then(|g| self.galois.get(g))
    }

    /// The conjugation key, if generated.
    pub fn conjugation_key(&self) -> Option<&GaloisKey> {
        self.conjugation.and_then(|g| self.galois.get(&g))
    }

    /// The normalized rotation steps that have a key.
    pub fn rotation_steps(&self) -> impl Iterator<Item = usize> + '_ {
        self.rotations.keys().copied()
    }
}

/// Generates the relinearization key (from `s^2` to `s`).
pub(crate) fn relinearization_key(
    ctx: &CkksContext,
    sk: &SecretKey,
    sampler: &mut Sampler,
) -> Result<SwitchingKey> {
    let mut s2 = Wiped(sk.poly().clone());
    s2.0.mul_assign(ctx.ring(), sk.poly()).ring()?;
    SwitchingKey::generate(ctx, sk.poly(), &s2.0, sampler)
}

#[cfg(test)]
mod tests {
    use super::inverse_mod_two_n;

    #[test]
    fn galois_inverses() {
        for two_n in [8usize, 64, 1 << 16] {
            for g in (1..two_n.min(1000)).step_by(2) {
                assert_eq!(g * inverse_mod_two_n(g, two_n) % two_n, 1, "g = {g}");
            }
        }
    }
}
