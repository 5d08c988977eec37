//! Linear maps over RNS polynomials: many outputs, each a weighted sum of some of the same
//! inputs (a dense layer applied slot-wise to ciphertext components). The work is blocked over
//! coefficients so that every input block is read from memory once for all outputs instead of
//! once per output.

use crate::dot::DotWeights;
use crate::error::{RingError, RingResult};
use crate::rns::{RnsContext, RnsPoly};

/// Bytes of input coefficients one block may span (the block of every input stays in L2).
const BLOCK_BYTES: usize = 512 << 10;

/// Maps over more inputs than this copy each coefficient block of their inputs side by side
/// before the products. The inputs' limbs are often one allocation stride apart (a limb is
/// `8 N` bytes, a power of two), so that the same block of every input falls into the same few
/// cache sets and evicts itself: a map over 784 ciphertexts as a model's run allocates them took
/// 1.5x as long as over the same number allocated apart. The copy costs one extra pass over the
/// inputs, which every row group then reads from the cache-resident copy.
const PACK_MIN_INPUTS: usize = 16;

/// Coefficients per block for `inputs` inputs: as many as fit [`BLOCK_BYTES`], a multiple of 64
/// (the vector kernel's unit) between 64 and 4096.
fn block_len(inputs: usize) -> usize {
    (BLOCK_BYTES / (8 * inputs.max(1)) / 64 * 64).clamp(64, 4096)
}

/// One term of an output: the index of an input and its weight per limb (one value per limb of
/// the inputs, any `u64`: reduced modulo that limb's prime).
pub type Term<'a> = (usize, &'a [u64]);

fn mismatch(what: &'static str, left: usize, right: usize) -> RingError {
    RingError::Mismatch { what, left, right }
}

/// `outputs[j] = sum over (k, w) in rows[j] of inputs[k] * w`, limb by limb, for polynomials of
/// one shape (degree, moduli, representation; the outputs take it). An empty row gives the zero
/// polynomial. Results equal the term-by-term products and additions exactly. Limbs run in
/// parallel (rayon); within a limb, coefficient blocks are done for every output in turn.
///
/// Errors: [`RingError::Mismatch`] when there is no input, inputs differ in shape, a term names
/// an input that does not exist, or a weight does not hold one value per limb.
pub fn linear_maps(
    ctx: &RnsContext,
    inputs: &[&RnsPoly],
    rows: &[Vec<Term<'_>>],
) -> RingResult<Vec<RnsPoly>> {
    let first = inputs.first().ok_or(mismatch("inputs", 1, 0))?;
    for x in inputs {
        first.check_compatible(x)?;
    }
    let limbs = first.num_limbs();
    for row in rows {
        for &(k, w) in row {
            if k >= inputs.len() {
                return Err(mismatch("input index", inputs.len(), k));
            }
            if w.len() != limbs {
                return Err(mismatch("limb count", limbs, w.len()));
            }
        }
    }
    let n = first.degree();
    let moduli = first.moduli().to_vec();
    // Every coefficient of every output is written by the dot products below (an empty row
    // writes zeros), so the pooled buffers are not zeroed first.
    let mut outputs: Vec<RnsPoly> = (0..rows.len())
        .map(|_| RnsPoly::uninit_pooled(ctx, &moduli, first.repr()))
        .collect();
    // The limbs of all outputs, grouped by limb, so that each limb is written in place.
    let mut by_limb: Vec<Vec<&mut [u64]>> = (0..limbs).map(|_| Vec::new()).collect();
    for o in outputs.iter_mut() {
        for (l, chunk) in o.as_mut_slice().chunks_exact_mut(n).enumerate() {
            by_limb[l].push(chunk);
        }
    }
    let block = block_len(inputs.len());
    let pack = inputs.len() > PACK_MIN_INPUTS;
    let limb_work = |(l, outs): (usize, &mut Vec<&mut [u64]>)| {
        let m = ctx.modulus(moduli[l]);
        // reduced once per limb with the kernel's constants, not once per block
        let weights: Vec<DotWeights> = rows
            .iter()
            .map(|row| {
                let w: Vec<u64> = row.iter().map(|&(_, w)| w[l]).collect();
                m.dot_weights(&w)
            })
            .collect();
        // the current block of every input, side by side (see PACK_MIN_INPUTS)
        let mut packed = if pack {
            vec![0u64; inputs.len() * block]
        } else {
            Vec::new()
        };
        let mut start = 0;
        while start < n {
            let end = (start + block).min(n);
            let len = end - start;
            if pack {
                for (dst, x) in packed.chunks_exact_mut(block).zip(inputs) {
                    dst[..len].copy_from_slice(&x.limb(l)[start..end]);
                }
            }
            let slice_of = |k: usize| -> &[u64] {
                if pack {
                    &packed[k * block..k * block + len]
                } else {
                    &inputs[k].limb(l)[start..end]
                }
            };
            let mut j = 0;
            while j < rows.len() {
                let slices: Vec<&[u64]> = rows[j].iter().map(|&(k, _)| slice_of(k)).collect();
                // four outputs over the same inputs in the same order share one pass
                let quad = j + 4 <= rows.len()
                    && rows[j + 1..j + 4].iter().all(|r| same_inputs(r, &rows[j]));
                if quad {
                    if let [a, b, c, d] = &mut outs[j..j + 4] {
                        m.dot4_prepared(
                            [
                                &mut a[start..end],
                                &mut b[start..end],
                                &mut c[start..end],
                                &mut d[start..end],
                            ],
                            &slices,
                            [
                                &weights[j],
                                &weights[j + 1],
                                &weights[j + 2],
                                &weights[j + 3],
                            ],
                        );
                    }
                    j += 4;
                } else {
                    m.dot_prepared(&mut outs[j][start..end], &slices, &weights[j]);
                    j += 1;
                }
            }
            start = end;
        }
    };
    {
        use rayon::prelude::*;
        by_limb.par_iter_mut().enumerate().for_each(limb_work);
    }
    Ok(outputs)
}

/// Whether two rows name the same inputs in the same order.
fn same_inputs(a: &[Term<'_>], b: &[Term<'_>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.0 == y.0)
}
