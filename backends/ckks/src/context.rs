//! The CKKS context: the RNS chain `q_0..q_L, p_0..p_{k-1}` of a parameter set, the digit partition
//! of hybrid key switching and the per-level basis-conversion tables (ModUp, ModDown, rescale).

use crate::encoder::Encoder;
use hetile_backend::{Error, Level, Params, Result};
use hetile_ring::basis::{BasisExtender, DivideRound};
use hetile_ring::rns::RnsContext;
use hetile_ring::Modulus;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// ModUp of one decomposition digit at one level: the digit's limbs are kept exactly, the other
/// limbs of `Q_l ∪ P` come from a fast basis extension.
pub(crate) struct DigitExtender {
    /// Index of the digit in the full partition (selects the key component).
    pub(crate) digit: usize,
    /// Positions (in `Q_l`, equal to prime indices) of the digit's primes present at this level.
    pub(crate) positions: Range<usize>,
    /// For each position of the extended basis `Q_l ∪ P`: the extender's output limb that fills
    /// it, or `None` for the digit's own (exact) positions.
    pub(crate) source: Vec<Option<usize>>,
    /// The basis extension from the digit's primes to `others`.
    pub(crate) extender: BasisExtender,
}

/// Everything key switching and rescaling need at one level `l`.
pub(crate) struct LevelTables {
    /// `Q_l = [0..=l]`.
    pub(crate) q_basis: Vec<usize>,
    /// `Q_l ∪ P = [0..=l] ++ [L+1..L+k]`.
    pub(crate) qp_basis: Vec<usize>,
    /// One ModUp per digit that has primes at this level (empty without special primes).
    pub(crate) mod_up: Vec<DigitExtender>,
    /// Division by P with rounding, `Q_l ∪ P -> Q_l` (absent without special primes).
    pub(crate) mod_down: Option<DivideRound>,
    /// Division by `q_l` with rounding, `Q_l -> Q_{l-1}` (absent at level 0).
    pub(crate) rescale: Option<DivideRound>,
}

/// The precomputed context shared by the client and the evaluator of one parameter set.
///
/// The `L + 1` ciphertext primes are split into `params.digits()` contiguous digits whose sizes
/// differ by at most one prime (larger digits first). Key-switching noise after ModDown grows
/// like `Q_j / P` for the largest digit product `Q_j`: parameters should keep `P` (the product of
/// the special primes) at least as large as every digit, as the default digit count
/// `ceil(|Q| / |P|)` does when the special primes are as large as the ciphertext primes.
pub struct CkksContext {
    params: Params,
    ring: Arc<RnsContext>,
    encoder: Encoder,
    /// Number of ciphertext primes, `L + 1`.
    num_q: usize,
    /// Context indices of the special primes, `L+1..L+k`.
    special: Vec<usize>,
    /// The digit partition of `0..=L` (contiguous groups of ciphertext primes).
    digits: Vec<Range<usize>>,
    /// `P mod q_i` for every ciphertext prime.
    p_mod_q: Vec<u64>,
    /// The basis of the public key: `Q_L` followed by the first special prime when there is one.
    pk_basis: Vec<usize>,
    levels: Vec<LevelTables>,
}

impl fmt::Debug for CkksContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CkksContext")
            .field("params", &self.params)
            .field("digits", &self.digits)
            .finish_non_exhaustive()
    }
}

/// Splits `0..count` into `parts` contiguous ranges whose sizes differ by at most one (the larger
/// ones first).
impl CkksContext {
    /// Builds the RNS context and every per-level table of `params`.
    ///
    /// Errors with [`Error::InvalidParameters`] when the ring layer refuses the chain (for
    /// instance a degree below 4).
    pub fn new(params: &Params) -> Result<Arc<CkksContext>> {
        let n = params.degree().get();
        let primes: Vec<u64> = params.q().iter().chain(params.p()).copied().collect();
        let ring = RnsContext::new(n, &primes).map_err(Error::from)?;
        let encoder = Encoder::new(n)?;
        let num_q = params.q().len();
        let special: Vec<usize> = (num_q..primes.len()).collect();
        let digits = params.digit_partition().to_vec();
        let p_mod_q = params
            .q()
            .iter()
            .map(|&q| -> Result<u64> {
                let m = Modulus::new(q).map_err(Error::from)?;
                Ok(params
                    .p()
                    .iter()
                    .fold(1u64, |acc, &p| m.mul(acc, m.reduce(p))))
            })
            .collect::<Result<Vec<u64>>>()?;
        let mut levels = Vec::with_capacity(num_q);
        for l in 0..num_q {
            let q_basis: Vec<usize> = (0..=l).collect();
            let qp_basis: Vec<usize> = q_basis.iter().chain(&special).copied().collect();
            let mut mod_up = Vec::new();
            if !special.is_empty() {
                for (digit, range) in digits.iter().enumerate() {
                    if range.start > l {
                        break;
                    }
                    let positions = range.start..range.end.min(l + 1);
                    let from: Vec<usize> = positions.clone().collect();
                    let others: Vec<usize> = (0..qp_basis.len())
                        .filter(|p| !positions.contains(p))
                        .collect();
                    let to: Vec<usize> = others.iter().map(|&p| qp_basis[p]).collect();
                    let mut source = vec![None; qp_basis.len()];
                    for (k, &pos) in others.iter().enumerate() {
                        source[pos] = Some(k);
                    }
                    let extender = BasisExtender::new(&ring, &from, &to).map_err(Error::from)?;
                    mod_up.push(DigitExtender {
                        digit,
                        positions,
                        source,
                        extender,
                    });
                }
            }
            let mod_down = if special.is_empty() {
                None
            } else {
                Some(DivideRound::new(&ring, &q_basis, &special).map_err(Error::from)?)
            };
            let rescale = if l == 0 {
                None
            } else {
                Some(DivideRound::new(&ring, &q_basis[..l], &[l]).map_err(Error::from)?)
            };
            levels.push(LevelTables {
                q_basis,
                qp_basis,
                mod_up,
                mod_down,
                rescale,
            });
        }
        let pk_basis = (0..num_q).chain(special.first().copied()).collect();
        Ok(Arc::new(CkksContext {
            params: params.clone(),
            ring,
            encoder,
            num_q,
            special,
            digits,
            p_mod_q,
            pk_basis,
            levels,
        }))
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The RNS context over all primes (ciphertext primes first, then special primes).
    pub fn ring(&self) -> &RnsContext {
        &self.ring
    }

    /// The canonical-embedding encoder of the ring degree.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// The digit partition of the ciphertext primes used by hybrid key switching (empty when the
    /// parameters have no special primes).
    pub fn digits(&self) -> &[Range<usize>] {
        &self.digits
    }

    /// Context indices of the special primes.
    pub fn special(&self) -> &[usize] {
        &self.special
    }

    /// Context indices of `Q_L ∪ P`, the basis of secret and switching keys.
    pub(crate) fn full_qp_basis(&self) -> &[usize] {
        &self.levels[self.num_q - 1].qp_basis
    }

    /// The special prime of public-key encryption (the first special prime): fresh ciphertexts are
    /// computed over `Q_l ∪ {p}` and divided by `p`. `None` without special primes.
    pub(crate) fn encryption_prime(&self) -> Option<usize> {
        self.special.first().copied()
    }

    /// Context indices of the public key's basis, `Q_L` followed by
    /// [`CkksContext::encryption_prime`] when there is one (a prefix of `Q_L ∪ P`).
    pub(crate) fn public_key_basis(&self) -> &[usize] {
        &self.pk_basis
    }

    /// `P mod q_i` for ciphertext prime `i`.
    pub(crate) fn p_mod_q(&self, i: usize) -> u64 {
        self.p_mod_q[i]
    }

    /// The tables of a level, or [`Error::InvalidLevel`] above the chain.
    pub(crate) fn level(&self, level: Level) -> Result<&LevelTables> {
        self.levels.get(level.0).ok_or(Error::InvalidLevel {
            requested: level,
            max: self.params.max_level(),
        })
    }

    /// Position in a switching key (basis `Q_L ∪ P`) of position `pos` of the basis `Q_l ∪ P`.
    pub(crate) fn key_position(&self, level: usize, pos: usize) -> usize {
        if pos <= level {
            pos
        } else {
            pos - (level + 1) + self.num_q
        }
    }

    /// The modulus at context index `i` (helper for slice arithmetic).
    pub(crate) fn modulus(&self, i: usize) -> &Modulus {
        self.ring.modulus(i)
    }
}
