//! Dot products with weights prepared once: a linear map applies the same weights to every
//! coefficient block of a limb, so their reduction and Shoup quotients are computed once per
//! limb instead of once per block (which cost as much as the products on short blocks).

use crate::modular::{Modulus, SIMD_MIN_LEN};
use crate::simd::{simd_enabled, IfmaModulus};

/// Reduced weights of a dot product modulo one prime, with the constants of the kernel that
/// will apply them (52-bit Shoup quotients for the AVX-512 IFMA kernel, 64-bit ones for the
/// scalar path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DotWeights {
    weights: Vec<u64>,
    quotients: Vec<u64>,
    /// The vector kernel's constants (`quotients` are 52-bit) when set.
    vector: Option<IfmaModulus>,
}

impl DotWeights {
    /// The number of weights.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Whether there is no weight.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }
}

impl Modulus {
    /// Prepares weights (any `u64`, reduced here) for [`Modulus::dot_prepared`] and
    /// [`Modulus::dot4_prepared`].
    pub fn dot_weights(&self, w: &[u64]) -> DotWeights {
        let weights: Vec<u64> = w.iter().map(|&x| self.reduce(x)).collect();
        let vector = if simd_enabled() {
            IfmaModulus::new(self)
        } else {
            None
        };
        let quotients = match &vector {
            Some(v) => v.shoup52_all(&weights),
            None => weights.iter().map(|&x| self.shoup(x)).collect(),
        };
        DotWeights {
            weights,
            quotients,
            vector,
        }
    }

    /// `out[i] = sum_k rows[k][i] * w[k] mod p`, identical to [`Modulus::dot_scalar_slice`] with
    /// the weights `w` was prepared from (rows hold values `< p`; extra rows or weights are
    /// ignored). `w` must come from this modulus' [`Modulus::dot_weights`].
    pub fn dot_prepared(&self, out: &mut [u64], rows: &[&[u64]], w: &DotWeights) {
        if out.len() >= SIMD_MIN_LEN {
            if let Some(v) = &w.vector {
                if v.dot_scalar_prepared(out, rows, &w.weights, &w.quotients) {
                    return;
                }
            }
        }
        self.dot_prepared_scalar(out, rows, w);
    }

    /// Four [`Modulus::dot_prepared`] over the same rows, in one pass when the vector kernel
    /// applies (each row block loaded once for the four outputs); identical results.
    pub fn dot4_prepared(&self, out: [&mut [u64]; 4], rows: &[&[u64]], w: [&DotWeights; 4]) {
        let len = out.iter().map(|o| o.len()).min().unwrap_or(0);
        let mut out = out;
        if len >= SIMD_MIN_LEN {
            if let (Some(v), true) = (&w[0].vector, w.iter().all(|x| x.vector.is_some())) {
                let [o0, o1, o2, o3] = &mut out;
                if v.dot_scalar4_prepared(
                    [&mut **o0, &mut **o1, &mut **o2, &mut **o3],
                    rows,
                    w.map(|x| x.weights.as_slice()),
                    w.map(|x| x.quotients.as_slice()),
                ) {
                    return;
                }
            }
        }
        for (o, wj) in out.into_iter().zip(w) {
            self.dot_prepared(o, rows, wj);
        }
    }

    /// The scalar path of [`Modulus::dot_prepared`]: reduces after every term (exact for any
    /// number of rows). Weights prepared for the vector kernel get their 64-bit quotients here.
    fn dot_prepared_scalar(&self, out: &mut [u64], rows: &[&[u64]], w: &DotWeights) {
        let count = rows.len().min(w.len());
        let rows = &rows[..count];
        let len = rows.iter().fold(out.len(), |l, r| l.min(r.len()));
        let own: Vec<u64>;
        let quotients = if w.vector.is_some() {
            own = w.weights[..count].iter().map(|&x| self.shoup(x)).collect();
            &own[..]
        } else {
            &w.quotients[..count]
        };
        for (c, o) in out.iter_mut().enumerate().take(len) {
            *o = rows
                .iter()
                .zip(w.weights.iter().zip(quotients))
                .fold(0, |acc, (r, (&wk, &wks))| {
                    self.add(acc, self.mul_shoup(self.reduce(r[c]), wk, wks))
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::modular::Modulus;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn prepared_dots_equal_the_plain_ones(
            seed in any::<u64>(),
            len in prop::sample::select(vec![1usize, 63, 64, 200, 256]),
            count in 1usize..40,
        ) {
            // a 50-bit prime (the vector kernel's domain) and a 60-bit one (the scalar path)
            for p in [1_125_899_906_826_241u64, 1_152_921_504_606_584_833] {
                let m = Modulus::new(p).unwrap();
                let mut x = seed;
                let mut next = || {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    x
                };
                let rows: Vec<Vec<u64>> =
                    (0..count).map(|_| (0..len).map(|_| next() % p).collect()).collect();
                let refs: Vec<&[u64]> = rows.iter().map(|r| r.as_slice()).collect();
                let ws: Vec<Vec<u64>> = (0..4).map(|_| (0..count).map(|_| next()).collect()).collect();
                let prepared: Vec<_> = ws.iter().map(|w| m.dot_weights(w)).collect();
                let mut want = vec![vec![0u64; len]; 4];
                for (o, w) in want.iter_mut().zip(&ws) {
                    m.dot_scalar_slice_scalar(o, &refs, w);
                }
                let mut one = vec![0u64; len];
                m.dot_prepared(&mut one, &refs, &prepared[0]);
                prop_assert_eq!(&one, &want[0]);
                let mut four = vec![vec![0u64; len]; 4];
                let [a, b, c, d] = &mut four[..] else { unreachable!() };
                m.dot4_prepared(
                    [a, b, c, d],
                    &refs,
                    [&prepared[0], &prepared[1], &prepared[2], &prepared[3]],
                );
                prop_assert_eq!(&four, &want);
            }
        }
    }
}
