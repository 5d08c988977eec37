//! [`OpCost`] and [`OpPlan`]: what an operation costs and needs, computed from shapes only.

use crate::shape::TileShape;
use hetile_backend::KeyRequirements;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// Exact operation counts of a tile-tensor operation, computed from tile shapes only (no
/// ciphertext is touched), so the simulator and the optimizer can use them.
///
/// Counting rules: `rotations` counts each non-zero rotation (a hoisted `rotate_many` counts one
/// per step); `ct_mults` counts ciphertext-ciphertext products (each relinearized);
/// `pt_mults` counts ciphertext-plaintext products (masks included); `scalar_mults` counts
/// `mul_scalar` calls; `additions` counts every ciphertext addition or subtraction (with a
/// ciphertext, a plaintext or a scalar) and every negation; `rescales` counts rescales;
/// `depth` is the number of levels the operation consumes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OpCost {
    /// Non-zero rotations.
    pub rotations: usize,
    /// Ciphertext-ciphertext multiplications (with relinearization).
    pub ct_mults: usize,
    /// Ciphertext-plaintext multiplications.
    pub pt_mults: usize,
    /// Ciphertext-scalar multiplications.
    pub scalar_mults: usize,
    /// Additions, subtractions and negations.
    pub additions: usize,
    /// Rescales.
    pub rescales: usize,
    /// Levels consumed.
    pub depth: usize,
}

impl OpCost {
    /// No operation at all.
    pub const ZERO: OpCost = OpCost {
        rotations: 0,
        ct_mults: 0,
        pt_mults: 0,
        scalar_mults: 0,
        additions: 0,
        rescales: 0,
        depth: 0,
    };

    /// The cost of running `self`, then `next`: counts and depths add.
    pub fn then(self, next: OpCost) -> OpCost {
        OpCost {
            rotations: self.rotations + next.rotations,
            ct_mults: self.ct_mults + next.ct_mults,
            pt_mults: self.pt_mults + next.pt_mults,
            scalar_mults: self.scalar_mults + next.scalar_mults,
            additions: self.additions + next.additions,
            rescales: self.rescales + next.rescales,
            depth: self.depth + next.depth,
        }
    }
}

impl std::ops::Add for OpCost {
    type Output = OpCost;
    /// Sequential composition, as [`OpCost::then`].
    fn add(self, other: OpCost) -> OpCost {
        self.then(other)
    }
}

impl fmt::Display for OpCost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rot, {} ct*ct, {} ct*pt, {} ct*scalar, {} add, {} rescale, depth {}",
            self.rotations,
            self.ct_mults,
            self.pt_mults,
            self.scalar_mults,
            self.additions,
            self.rescales,
            self.depth
        )
    }
}

/// The shape-level plan of one operation: the resulting tile shape (with its flags), the exact
/// cost, and the evaluation keys it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpPlan {
    /// The tile shape of the result.
    pub output: TileShape,
    /// The exact operation counts.
    pub cost: OpCost,
    /// The rotation steps used (each needs a Galois key). Steps are as the operation passes them
    /// to the evaluator; a backend reduces them modulo the slot count.
    pub rotation_steps: BTreeSet<i64>,
    /// Whether a relinearization key is needed (ciphertext-ciphertext products).
    pub needs_relinearization: bool,
}

impl OpPlan {
    /// A plan that costs nothing and returns `output`.
    pub fn free(output: TileShape) -> OpPlan {
        OpPlan {
            output,
            cost: OpCost::ZERO,
            rotation_steps: BTreeSet::new(),
            needs_relinearization: false,
        }
    }

    /// Running `self`, then `next` (which must take `self.output` as input): the output of
    /// `next`, summed costs, the union of keys.
    pub fn then(mut self, next: OpPlan) -> OpPlan {
        self.output = next.output;
        self.cost = self.cost.then(next.cost);
        self.rotation_steps.extend(next.rotation_steps);
        self.needs_relinearization |= next.needs_relinearization;
        self
    }

    /// The evaluation keys this plan needs (relinearization and rotation steps, no conjugation).
    pub fn key_requirements(&self) -> KeyRequirements {
        let keys = KeyRequirements::none().with_rotations(self.rotation_steps.iter().copied());
        if self.needs_relinearization {
            keys.with_relinearization()
        } else {
            keys
        }
    }
}

/// The union of the evaluation keys several plans need.
pub fn key_requirements<'a>(plans: impl IntoIterator<Item = &'a OpPlan>) -> KeyRequirements {
    let mut keys = KeyRequirements::none();
    for p in plans {
        let k = p.key_requirements();
        keys.relinearization |= k.relinearization;
        keys.rotations.extend(k.rotations);
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_compose() {
        let a = OpCost {
            rotations: 4,
            additions: 4,
            ..OpCost::ZERO
        };
        let b = OpCost {
            pt_mults: 2,
            rescales: 2,
            depth: 1,
            ..OpCost::ZERO
        };
        let c = a + b;
        assert_eq!(c.rotations, 4);
        assert_eq!(c.pt_mults, 2);
        assert_eq!(c.depth, 1);
        assert_eq!(
            c.to_string(),
            "4 rot, 0 ct*ct, 2 ct*pt, 0 ct*scalar, 4 add, 2 rescale, depth 1"
        );
    }

    #[test]
    fn key_requirements_are_the_union() {
        let shape = TileShape::parse("[4/4]").unwrap();
        let mut p = OpPlan::free(shape.clone());
        p.rotation_steps.insert(1);
        let mut q = OpPlan::free(shape);
        q.rotation_steps.insert(2);
        q.needs_relinearization = true;
        let keys = key_requirements([&p, &q]);
        assert!(keys.relinearization);
        assert_eq!(keys.rotations.into_iter().collect::<Vec<_>>(), vec![1, 2]);
        let chained = p.then(q);
        assert!(chained.key_requirements().relinearization);
        assert_eq!(chained.rotation_steps.len(), 2);
    }
}
