//! Shape-level planning of every tile-tensor operation: the resulting shape and flags, the exact
//! [`OpCost`] and the rotation steps, computed from tile shapes only. The executing operations on
//! [`crate::TileTensor`] follow these plans exactly, so `plan::sum(&shape, 1)?.cost` is what
//! `tensor.sum(&ev, 1)` will do.

use crate::cost::{OpCost, OpPlan};
use crate::error::{Result, TileError};
use crate::layout::{garbage_slots, slot_elements};
use crate::shape::{TileDim, TileShape};
use std::collections::BTreeSet;

/// The kind of the second operand of a binary operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operand {
    /// Another ciphertext tile tensor.
    Ciphertext,
    /// A plaintext tile tensor.
    Plaintext,
}

/// An elementwise binary operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`, then a rescale.
    Mul,
}

/// The tile pairing of a broadcast binary operation.
#[derive(Debug, Clone)]
pub(crate) struct Broadcast {
    pub(crate) output: TileShape,
    /// For each output tile: (left tile index, right tile index).
    pub(crate) pairs: Vec<(usize, usize)>,
}

fn incompatible(a: &TileShape, b: &TileShape, dim: usize, reason: String) -> TileError {
    TileError::IncompatibleShapes {
        left: a.to_string(),
        right: b.to_string(),
        dim,
        reason,
    }
}

/// Output shape of an elementwise operation with broadcasting over replicated
/// (and `1/1`) dimensions (two broadcastable dimensions give `*/t` when both are replicated,
/// else the equivalent `1/1`). `multiply` selects the garbage rule: a product is clean where either
/// factor is a clean zero; a sum is clean only where both terms are.
pub(crate) fn broadcast_shape(a: &TileShape, b: &TileShape, multiply: bool) -> Result<TileShape> {
    if a.rank() != b.rank() {
        return Err(incompatible(
            a,
            b,
            a.rank().min(b.rank()),
            format!("ranks differ ({} vs {})", a.rank(), b.rank()),
        ));
    }
    let mut dims = Vec::with_capacity(a.rank());
    for (i, (da, db)) in a.dims().iter().zip(b.dims()).enumerate() {
        if da.tile() != db.tile() {
            return Err(incompatible(
                a,
                b,
                i,
                format!("tile sizes differ ({} vs {})", da.tile(), db.tile()),
            ));
        }
        let (ba, bb) = (da.is_broadcastable(), db.is_broadcastable());
        if !ba && !bb {
            if da.size() != db.size() {
                return Err(incompatible(
                    a,
                    b,
                    i,
                    format!("sizes differ ({} vs {})", da.size(), db.size()),
                ));
            }
            if da.is_interleaved() != db.is_interleaved() {
                return Err(incompatible(a, b, i, "one side is interleaved".into()));
            }
        }
        let base = if !ba {
            da.without_garbage()
        } else if !bb {
            db.without_garbage()
        } else if da.is_replicated() && db.is_replicated() {
            TileDim::replicated(da.tile())
        } else {
            TileDim::new(1, 1)
        };
        let garbage = base.has_padding()
            && if multiply {
                let a_zero = !ba && !da.has_garbage();
                let b_zero = !bb && !db.has_garbage();
                !(a_zero || b_zero)
            } else {
                da.has_garbage() || db.has_garbage() || ba || bb
            };
        dims.push(if garbage { base.with_garbage() } else { base });
    }
    TileShape::new(dims)
}

/// Output shape of an elementwise operation with broadcasting and the row-major tile strides
/// of each operand over the output's tile grid (0 along a dimension the operand broadcasts):
/// the tile pairing of [`broadcast`] without listing every pair.
#[derive(Debug, Clone)]
pub(crate) struct BroadcastGrid {
    pub(crate) output: TileShape,
    /// Per output dimension, how far the left operand's tile index moves per output tile.
    pub(crate) left: Vec<usize>,
    /// Per output dimension, how far the right operand's tile index moves per output tile.
    pub(crate) right: Vec<usize>,
}

impl BroadcastGrid {
    /// The row-major indices of the left and right tiles combined into the output tile at grid
    /// coordinates `coords`.
    pub(crate) fn pair(&self, coords: &[usize]) -> (usize, usize) {
        coords
            .iter()
            .zip(self.left.iter().zip(&self.right))
            .fold((0, 0), |(i, j), (&c, (&l, &r))| (i + c * l, j + c * r))
    }
}

/// The [`BroadcastGrid`] of `a` and `b`. Errors: as [`broadcast_shape`].
pub(crate) fn broadcast_grid(
    a: &TileShape,
    b: &TileShape,
    multiply: bool,
) -> Result<BroadcastGrid> {
    let output = broadcast_shape(a, b, multiply)?;
    let strides = |s: &TileShape| {
        let mut out = vec![0; s.rank()];
        let mut acc = 1;
        for (o, d) in out.iter_mut().zip(s.dims()).rev() {
            let e = d.tiles();
            if e != 1 {
                *o = acc;
            }
            acc *= e;
        }
        out
    };
    Ok(BroadcastGrid {
        output,
        left: strides(a),
        right: strides(b),
    })
}

/// Output shape and tile pairing of an elementwise operation with broadcasting: the output of
/// [`broadcast_shape`] and, for each of its tiles in row-major order, the row-major indices of
/// the tiles of `a` and `b` it combines (a dimension with one tile is broadcast).
/// Errors: as [`broadcast_shape`].
pub(crate) fn broadcast(a: &TileShape, b: &TileShape, multiply: bool) -> Result<Broadcast> {
    let BroadcastGrid {
        output,
        left: sa,
        right: sb,
    } = broadcast_grid(a, b, multiply)?;
    let eo = output.tiles_per_dim();
    let n = output.num_tiles();
    let mut pairs = Vec::with_capacity(n);
    let mut coords = vec![0; eo.len()];
    let (mut ia, mut ib) = (0, 0);
    for _ in 0..n {
        pairs.push((ia, ib));
        // the next output tile: an odometer over the output grid, the operands' indices moved
        // by their strides
        for d in (0..eo.len()).rev() {
            coords[d] += 1;
            ia += sa[d];
            ib += sb[d];
            if coords[d] < eo[d] {
                break;
            }
            ia -= sa[d] * coords[d];
            ib -= sb[d] * coords[d];
            coords[d] = 0;
        }
    }
    Ok(Broadcast { output, pairs })
}

/// Whether every tile of `shape` holds one value in all its slots ("uniform tiles"): every
/// dimension has tile size 1 or is replicated (`*/t`). A plaintext operand of such a shape is
/// multiplied in as one constant per tile ([`hetile_backend::Evaluator::mul_scalar`]), so
/// [`binary`] and [`mul_sum`] count `scalar_mults` for it instead of `pt_mults`.
pub fn is_uniform(shape: &TileShape) -> bool {
    shape
        .dims()
        .iter()
        .all(|d| d.tile() == 1 || d.is_replicated())
}

/// Counts `n` products with the right operand `b` of kind `operand` into `cost`: ciphertext
/// products, scalar products for a uniform plaintext ([`is_uniform`]), else plaintext products.
fn count_products(cost: &mut OpCost, b: &TileShape, operand: Operand, n: usize) {
    match operand {
        Operand::Ciphertext => cost.ct_mults = n,
        Operand::Plaintext if is_uniform(b) => cost.scalar_mults = n,
        Operand::Plaintext => cost.pt_mults = n,
    }
}

/// Elementwise `a op b` with broadcasting: one addition, or one product and one rescale, per
/// output tile. With [`Operand::Plaintext`], `b` is the plaintext; on a uniform `b`
/// ([`is_uniform`]) the products are scalar products. Errors: [`TileError::IncompatibleShapes`].
pub fn binary(a: &TileShape, b: &TileShape, op: BinaryOp, operand: Operand) -> Result<OpPlan> {
    let output = broadcast_shape(a, b, op == BinaryOp::Mul)?;
    let n = output.num_tiles();
    let mut plan = OpPlan::free(output);
    match op {
        BinaryOp::Add | BinaryOp::Sub => plan.cost.additions = n,
        BinaryOp::Mul => {
            count_products(&mut plan.cost, b, operand, n);
            plan.needs_relinearization = operand == Operand::Ciphertext;
            plan.cost.rescales = n;
            plan.cost.depth = 1;
        }
    }
    Ok(plan)
}

/// Adding (or subtracting) a scalar: one addition per tile; every padded dimension then holds
/// garbage (the constant lands in unused slots too).
pub fn add_scalar(a: &TileShape) -> Result<OpPlan> {
    let dims = a
        .dims()
        .iter()
        .map(|d| {
            if d.has_padding() {
                d.with_garbage()
            } else {
                *d
            }
        })
        .collect();
    let mut plan = OpPlan::free(TileShape::new(dims)?);
    plan.cost.additions = a.num_tiles();
    Ok(plan)
}

/// Multiplying by a scalar: one `mul_scalar` and one rescale per tile, depth 1; flags unchanged.
pub fn mul_scalar(a: &TileShape) -> OpPlan {
    let mut plan = OpPlan::free(a.clone());
    plan.cost.scalar_mults = a.num_tiles();
    plan.cost.rescales = a.num_tiles();
    plan.cost.depth = 1;
    plan
}

/// Negation: one negation (counted as an addition) per tile.
pub fn negate(a: &TileShape) -> OpPlan {
    let mut plan = OpPlan::free(a.clone());
    plan.cost.additions = a.num_tiles();
    plan
}

/// Rescaling every tile: one rescale per tile, depth 1.
pub fn rescale(a: &TileShape) -> OpPlan {
    let mut plan = OpPlan::free(a.clone());
    plan.cost.rescales = a.num_tiles();
    plan.cost.depth = 1;
    plan
}

/// Setting the scale of every tile ([`crate::TileTensor::set_scale`]): one plaintext product and
/// one rescale per tile, depth 1. (Dropping to a lower level is free.)
pub fn set_scale(a: &TileShape) -> OpPlan {
    let mut plan = OpPlan::free(a.clone());
    plan.cost.pt_mults = a.num_tiles();
    plan.cost.rescales = a.num_tiles();
    plan.cost.depth = 1;
    plan
}

/// The resulting dimension of summing `dim`, or `None` when the sum is the identity.
fn summed_dim(a: &TileShape, dim: usize) -> Result<Option<TileDim>> {
    let d = a.dim(dim)?;
    if d.is_broadcastable() {
        return Ok(None);
    }
    if d.has_garbage() && d.has_padding() {
        return Err(TileError::GarbageOnDim {
            dim,
            shape: a.to_string(),
        });
    }
    let t = d.tile();
    Ok(Some(if t == 1 {
        TileDim::new(1, 1)
    } else if dim == 0 {
        TileDim::replicated(t)
    } else {
        TileDim::new(1, t).with_garbage()
    }))
}

/// Rotation steps of the rotate-and-add sum over `dim` (`stride * 2^j`, `j < log2 t`).
fn sum_steps(a: &TileShape, dim: usize) -> Result<Vec<i64>> {
    let stride = a.slot_stride(dim)?;
    let t = a.dim(dim)?.tile();
    Ok((0..t.trailing_zeros())
        .map(|j| (stride << j) as i64)
        .collect())
}

/// Fills in the cost of summing `dim` of `a` into `out` tiles.
fn sum_cost(a: &TileShape, dim: usize, out: &TileShape) -> Result<(OpCost, BTreeSet<i64>)> {
    let d = a.dim(dim)?;
    let steps = sum_steps(a, dim)?;
    let n_out = out.num_tiles();
    let cost = OpCost {
        rotations: steps.len() * n_out,
        additions: (d.tiles() - 1 + steps.len()) * n_out,
        ..OpCost::ZERO
    };
    Ok((cost, steps.into_iter().collect()))
}

/// Summing over `dim`: the tiles along `dim` are added, then each result tile does `log2(t)`
/// rotate-and-adds with steps `stride * 2^j`. The outermost dimension ends replicated (`*/t`),
/// an inner one garbage-padded (`1?/t`); `t = 1` ends as `1/1`. Summing a replicated or `1/1`
/// dimension is the identity (free).
///
/// Errors: [`TileError::DimOutOfRange`], [`TileError::GarbageOnDim`] when `dim` holds garbage.
pub fn sum(a: &TileShape, dim: usize) -> Result<OpPlan> {
    let Some(new_dim) = summed_dim(a, dim)? else {
        return Ok(OpPlan::free(a.clone()));
    };
    let out = a.with_dim(dim, new_dim)?;
    let (cost, steps) = sum_cost(a, dim, &out)?;
    let mut plan = OpPlan::free(out);
    plan.cost = cost;
    plan.rotation_steps = steps;
    Ok(plan)
}

/// Multiply-then-sum (the matrix product): elementwise product with broadcasting, then the sum
/// over `dim`, with one lazy rescale per output tile: the tiles along `dim` are added at the
/// product's scale, rescaled, and the rotate-and-adds run one level lower. With
/// [`Operand::Plaintext`], `b` is the plaintext (the weights); on a uniform `b` ([`is_uniform`])
/// the products are scalar products. Errors: those of [`binary`] and [`sum`] (the product's `dim` must be clean).
pub fn mul_sum(a: &TileShape, b: &TileShape, operand: Operand, dim: usize) -> Result<OpPlan> {
    mul_sum_of_product(&broadcast_shape(a, b, true)?, b, operand, dim)
}

/// [`mul_sum`] given the shape of the product (`broadcast_shape(a, b, true)`, e.g. the output
/// of a [`broadcast`] already made).
pub(crate) fn mul_sum_of_product(
    product: &TileShape,
    b: &TileShape,
    operand: Operand,
    dim: usize,
) -> Result<OpPlan> {
    let n_prod = product.num_tiles();
    let (out, mut cost, steps) = match summed_dim(product, dim)? {
        None => (product.clone(), OpCost::ZERO, BTreeSet::new()),
        Some(nd) => {
            let out = product.with_dim(dim, nd)?;
            let (c, s) = sum_cost(product, dim, &out)?;
            (out, c, s)
        }
    };
    count_products(&mut cost, b, operand, n_prod);
    cost.rescales = out.num_tiles();
    cost.depth = 1;
    Ok(OpPlan {
        output: out,
        cost,
        rotation_steps: steps,
        needs_relinearization: operand == Operand::Ciphertext,
    })
}

/// Clearing garbage: one mask product and one rescale per tile (depth 1) when some padded
/// dimension holds garbage; otherwise free. The result has no garbage flags.
pub fn clear_garbage(a: &TileShape) -> Result<OpPlan> {
    let needed = a.dims().iter().any(|d| d.has_garbage() && d.has_padding());
    let dims = a.dims().iter().map(|d| d.without_garbage()).collect();
    let mut plan = OpPlan::free(TileShape::new(dims)?);
    if needed {
        plan.cost.pt_mults = a.num_tiles();
        plan.cost.rescales = a.num_tiles();
        plan.cost.depth = 1;
    }
    Ok(plan)
}

/// Replicating a clean size-1 dimension `1/t` into `*/t`: `log2(t)` rotate-and-adds per tile
/// with steps `-stride * 2^j`. Free for a dimension already broadcastable (`*/t`, `1/1`).
///
/// Errors: [`TileError::DimOutOfRange`], [`TileError::NotReplicable`] for a size other than 1,
/// [`TileError::GarbageOnDim`] when the dimension holds garbage (clear it first).
pub fn replicate(a: &TileShape, dim: usize) -> Result<OpPlan> {
    let d = a.dim(dim)?;
    if d.is_broadcastable() {
        return Ok(OpPlan::free(a.clone()));
    }
    if d.size() != 1 {
        return Err(TileError::NotReplicable {
            dim,
            shape: a.to_string(),
            reason: format!("its size is {}, not 1", d.size()),
        });
    }
    if d.has_garbage() {
        return Err(TileError::GarbageOnDim {
            dim,
            shape: a.to_string(),
        });
    }
    let stride = a.slot_stride(dim)?;
    let steps: Vec<i64> = (0..d.tile().trailing_zeros())
        .map(|j| -((stride << j) as i64))
        .collect();
    let mut plan = OpPlan::free(a.with_dim(dim, TileDim::replicated(d.tile()))?);
    plan.cost.rotations = steps.len() * a.num_tiles();
    plan.cost.additions = steps.len() * a.num_tiles();
    plan.rotation_steps = steps.into_iter().collect();
    Ok(plan)
}

/// Checks that `perm` is a permutation of `0..rank`.
pub(crate) fn check_permutation(a: &TileShape, perm: &[usize]) -> Result<()> {
    let mut seen = vec![false; a.rank()];
    let ok = perm.len() == a.rank()
        && perm
            .iter()
            .all(|&p| p < seen.len() && !std::mem::replace(&mut seen[p], true));
    if ok {
        Ok(())
    } else {
        Err(TileError::InvalidPermutation {
            perm: perm.to_vec(),
            rank: a.rank(),
        })
    }
}

/// Transposing (output dimension `i` is input dimension `perm[i]`) without data movement: only
/// the tile order changes, so the dimensions with tile size above 1 must keep their relative
/// order. Free.
///
/// Errors: [`TileError::InvalidPermutation`], [`TileError::NeedsRetiling`] when the slot layout
/// would change (use [`retile`] on a shape with the wanted order instead).
pub fn transpose(a: &TileShape, perm: &[usize]) -> Result<OpPlan> {
    check_permutation(a, perm)?;
    let out = TileShape::new(perm.iter().map(|&p| a.dims()[p]).collect())?;
    let inner: Vec<usize> = perm
        .iter()
        .copied()
        .filter(|&p| a.dims()[p].tile() > 1)
        .collect();
    if inner.windows(2).any(|w| w[0] > w[1]) {
        return Err(TileError::NeedsRetiling {
            from: a.to_string(),
            to: out.to_string(),
            reason: "dimensions with tile size above 1 change their order".into(),
        });
    }
    Ok(OpPlan::free(out))
}

/// For a permitted transpose: output tile `k` is input tile `result[k]`.
pub(crate) fn transpose_tile_order(a: &TileShape, out: &TileShape, perm: &[usize]) -> Vec<usize> {
    (0..out.num_tiles())
        .map(|k| {
            let oc = out.tile_coords(k);
            let mut ic = vec![0; a.rank()];
            for (i, &p) in perm.iter().enumerate() {
                ic[p] = oc[i];
            }
            a.tile_index(&ic)
        })
        .collect()
}

/// Reshaping to `to` (the logical shapes hold the same elements in the same row-major order)
/// without data movement: every tile must hold the same elements in the same slots under both
/// shapes, and every slot that may hold garbage under `a` must be flagged under `to`. Free.
///
/// Errors: [`TileError::IncompatibleShapes`] when the element counts or slot counts differ,
/// [`TileError::NeedsRetiling`] when the layouts differ.
pub fn reshape(a: &TileShape, to: &TileShape) -> Result<OpPlan> {
    if a.num_elements() != to.num_elements() || a.slots() != to.slots() {
        return Err(incompatible(
            a,
            to,
            0,
            "reshape needs the same element count and slots per tile".into(),
        ));
    }
    let moved = |reason: &str| TileError::NeedsRetiling {
        from: a.to_string(),
        to: to.to_string(),
        reason: reason.into(),
    };
    if a.num_tiles() != to.num_tiles() {
        return Err(moved("the tile counts differ"));
    }
    for k in 0..a.num_tiles() {
        if slot_elements(a, k) != slot_elements(to, k) {
            return Err(moved("elements sit in different slots"));
        }
        let (ga, gt) = (garbage_slots(a, k), garbage_slots(to, k));
        if ga.iter().zip(&gt).any(|(&x, &y)| x && !y) {
            return Err(moved(
                "garbage would land in slots the new shape says are zero",
            ));
        }
    }
    Ok(OpPlan::free(to.clone()))
}

/// Explicit re-tiling to `to` (same logical shape): each output tile gathers its slots from
/// rotated input tiles and masks them. Cost: one rotation per distinct (input tile, non-zero
/// offset) (hoisted per input tile), one mask product per (output tile, input tile, offset)
/// group, the additions joining the groups, one rescale per output tile; depth 1. The result
/// is clean (no garbage).
///
/// Errors: [`TileError::IncompatibleShapes`] when the logical shapes or slot counts differ.
pub fn retile(a: &TileShape, to: &TileShape) -> Result<OpPlan> {
    let identity: Vec<usize> = (0..a.rank()).collect();
    transpose_retile(a, &identity, to)
}

/// A transpose with data movement: re-tiling where dimension `d` of `to` is dimension
/// `perm[d]` of `a`. Cost as [`retile`].
///
/// Errors: [`TileError::InvalidPermutation`], [`TileError::IncompatibleShapes`].
pub fn transpose_retile(a: &TileShape, perm: &[usize], to: &TileShape) -> Result<OpPlan> {
    Ok(crate::retile::RetileMap::new(a, to, perm)?.plan())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(s: &str) -> TileShape {
        TileShape::parse(s).unwrap()
    }

    #[test]
    fn summing_a_16_wide_inner_dim_costs_4_rotations_per_tile() {
        let p = sum(&shape("[20/8, 16/16]"), 1).unwrap();
        assert_eq!(p.output.to_string(), "[20/8, 1?/16]");
        assert_eq!(p.output.num_tiles(), 3);
        assert_eq!(p.cost.rotations, 12);
        assert_eq!(p.cost.additions, 12);
        assert_eq!(p.rotation_steps, [1, 2, 4, 8].into_iter().collect());
        assert_eq!(p.cost.depth, 0);
    }

    #[test]
    fn summing_the_outer_dim_adds_tiles_then_replicates() {
        let p = sum(&shape("[20/8, 16/16]"), 0).unwrap();
        assert_eq!(p.output.to_string(), "[*/8, 16/16]");
        assert_eq!(p.output.num_tiles(), 1);
        // 2 tile additions + 3 rotate-and-adds (steps 16, 32, 64)
        assert_eq!(p.cost.rotations, 3);
        assert_eq!(p.cost.additions, 5);
        assert_eq!(p.rotation_steps, [16, 32, 64].into_iter().collect());
        assert_eq!(sum(&shape("[*/8, 16/16]"), 0).unwrap().cost, OpCost::ZERO);
        assert!(matches!(
            sum(&shape("[20/8, 3?/16]"), 1),
            Err(TileError::GarbageOnDim { dim: 1, .. })
        ));
    }

    #[test]
    fn broadcast_pairs_follow_the_tile_grids() {
        let cases = [
            ("[9/4, 1/1]", "[*/4, 3/1]"),
            ("[5/2, 6/4, 7/2]", "[*/2, 6/4, */2]"),
            ("[1/1, 6/2, 7/2]", "[3/1, 6/2, */2]"),
            ("[3/1, 9~/4, 9~/4, 5/2]", "[3/1, 9~/4, 9~/4, */2]"),
        ];
        for (a, b) in cases {
            let (a, b) = (shape(a), shape(b));
            let bc = broadcast(&a, &b, true).unwrap();
            let (ea, eb) = (a.tiles_per_dim(), b.tiles_per_dim());
            let pick = |c: &[usize], e: &[usize]| -> Vec<usize> {
                c.iter()
                    .zip(e)
                    .map(|(&c, &e)| if e == 1 { 0 } else { c })
                    .collect()
            };
            let expected: Vec<(usize, usize)> = (0..bc.output.num_tiles())
                .map(|k| {
                    let c = bc.output.tile_coords(k);
                    (a.tile_index(&pick(&c, &ea)), b.tile_index(&pick(&c, &eb)))
                })
                .collect();
            assert!(expected.len() > 1);
            assert_eq!(bc.pairs, expected);
            assert_eq!(bc.output, broadcast_shape(&a, &b, true).unwrap());
        }
    }

    #[test]
    fn broadcasting_rules_and_flags() {
        let m = shape("[5/8, 6/16]");
        let v = shape("[*/8, 6/16]");
        let p = binary(&m, &v, BinaryOp::Mul, Operand::Plaintext).unwrap();
        assert_eq!(p.output, m);
        assert_eq!(p.cost.pt_mults, 1);
        assert_eq!(p.cost.rescales, 1);
        // adding a replicated operand fills the padding of the other with garbage
        let p = binary(&m, &v, BinaryOp::Add, Operand::Ciphertext).unwrap();
        assert_eq!(p.output.to_string(), "[5?/8, 6/16]");
        // a product with one clean factor stays clean
        let g = shape("[5?/8, 6/16]");
        let p = binary(&g, &m, BinaryOp::Mul, Operand::Ciphertext).unwrap();
        assert_eq!(p.output.to_string(), "[5/8, 6/16]");
        assert!(p.needs_relinearization);
        let p = binary(&g, &v, BinaryOp::Mul, Operand::Ciphertext).unwrap();
        assert_eq!(p.output.to_string(), "[5?/8, 6/16]");
        assert!(matches!(
            binary(
                &m,
                &shape("[5/8, 7/16]"),
                BinaryOp::Add,
                Operand::Ciphertext
            ),
            Err(TileError::IncompatibleShapes { dim: 1, .. })
        ));
        assert!(matches!(
            binary(
                &m,
                &shape("[5/16, 6/8]"),
                BinaryOp::Add,
                Operand::Ciphertext
            ),
            Err(TileError::IncompatibleShapes { dim: 0, .. })
        ));
        let bc = broadcast(&shape("[9/4, 1/1]"), &shape("[*/4, 3/1]"), true).unwrap();
        assert_eq!(bc.output.to_string(), "[9/4, 3/1]");
        assert_eq!(
            bc.pairs,
            vec![
                (0, 0),
                (0, 1),
                (0, 2),
                (1, 0),
                (1, 1),
                (1, 2),
                (2, 0),
                (2, 1),
                (2, 2)
            ]
        );
    }

    #[test]
    fn uniform_plaintext_operands_count_scalar_products() {
        assert!(is_uniform(&shape("[30/1, */1, */8]")));
        assert!(is_uniform(&shape("[30/1, 16/1, */8]")));
        assert!(!is_uniform(&shape("[30/1, 16/1, 8/8]")));
        assert!(!is_uniform(&shape("[30/2, */1, */4]")));
        let x = shape("[30/1, */1, 8192/8]");
        let w = shape("[30/1, 16/1, */8]");
        let p = mul_sum(&x, &w, Operand::Plaintext, 0).unwrap();
        assert_eq!(p.cost.scalar_mults, 30 * 16 * 1024);
        assert_eq!(p.cost.pt_mults, 0);
        assert_eq!(p.cost.rescales, 16 * 1024);
        let c = mul_sum(&x, &w, Operand::Ciphertext, 0).unwrap();
        assert_eq!(c.cost.ct_mults, 30 * 16 * 1024);
        assert_eq!(c.cost.scalar_mults, 0);
        // the same product with the weights spread over slots stays a plaintext product
        let x2 = shape("[30/2, */1, 8192/4]");
        let w2 = shape("[30/2, 16/1, */4]");
        let p2 = mul_sum(&x2, &w2, Operand::Plaintext, 0).unwrap();
        assert_eq!(p2.cost.pt_mults, 15 * 16 * 2048);
        assert_eq!(p2.cost.scalar_mults, 0);
        let b = binary(
            &x,
            &shape("[*/1, */1, */8]"),
            BinaryOp::Mul,
            Operand::Plaintext,
        )
        .unwrap();
        assert_eq!((b.cost.scalar_mults, b.cost.pt_mults), (30 * 1024, 0));
        assert!(!b.needs_relinearization);
    }

    #[test]
    fn scalar_and_garbage_plans() {
        let a = shape("[5/8, 16/16]");
        assert_eq!(add_scalar(&a).unwrap().output.to_string(), "[5?/8, 16/16]");
        assert_eq!(mul_scalar(&a).cost.depth, 1);
        let g = shape("[5?/8, 1?/16]");
        let p = clear_garbage(&g).unwrap();
        assert_eq!(p.output.to_string(), "[5/8, 1/16]");
        assert_eq!(p.cost.pt_mults, 1);
        assert_eq!(clear_garbage(&a).unwrap().cost, OpCost::ZERO);
    }

    #[test]
    fn replicate_plans() {
        let p = replicate(&shape("[5/8, 1/16]"), 1).unwrap();
        assert_eq!(p.output.to_string(), "[5/8, */16]");
        assert_eq!(p.cost.rotations, 4);
        assert_eq!(p.rotation_steps, [-8, -4, -2, -1].into_iter().collect());
        assert!(matches!(
            replicate(&shape("[5/8, 1?/16]"), 1),
            Err(TileError::GarbageOnDim { .. })
        ));
        assert!(matches!(
            replicate(&shape("[5/8, 2/16]"), 1),
            Err(TileError::NotReplicable { .. })
        ));
    }

    #[test]
    fn transpose_and_reshape_without_movement() {
        let a = shape("[3/1, 5/4, 2/1, 7/8]");
        let p = transpose(&a, &[2, 1, 0, 3]).unwrap();
        assert_eq!(p.output.to_string(), "[2/1, 5/4, 3/1, 7/8]");
        let order = transpose_tile_order(&a, &p.output, &[2, 1, 0, 3]);
        assert_eq!(order.len(), a.num_tiles());
        assert!(matches!(
            transpose(&a, &[3, 1, 2, 0]),
            Err(TileError::NeedsRetiling { .. })
        ));
        assert!(matches!(
            transpose(&a, &[0, 0, 1, 2]),
            Err(TileError::InvalidPermutation { .. })
        ));
        // merging an inner full dimension into its outer neighbour keeps every slot
        let r = reshape(&shape("[6/2, 4/4]"), &shape("[24/8]")).unwrap();
        assert_eq!(r.cost, OpCost::ZERO);
        assert!(matches!(
            reshape(&shape("[6/2, 3/4]"), &shape("[18/8]")),
            Err(TileError::NeedsRetiling { .. })
        ));
    }
}
