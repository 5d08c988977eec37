//! Operation kinds and per-kind, per-level operation counts.

use hetile_tiles::OpCost;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// The kinds of backend operation the counter and the cost model distinguish.
///
/// Subtractions count as their addition counterparts (`sub` as [`OpKind::Add`], `sub_plain` as
/// [`OpKind::AddPlain`]); `mul` counts ciphertext-ciphertext products with relinearization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// Encoding values into a plaintext (evaluator or client).
    Encode,
    /// Public- or secret-key encryption.
    Encrypt,
    /// Decryption to a plaintext.
    Decrypt,
    /// Decoding a plaintext to values.
    Decode,
    /// Ciphertext-ciphertext addition or subtraction.
    Add,
    /// Ciphertext-plaintext addition or subtraction.
    AddPlain,
    /// Addition of a constant.
    AddScalar,
    /// Negation.
    Negate,
    /// Ciphertext-plaintext multiplication.
    MulPlain,
    /// Multiplication by a real constant (encoded at `q_level`).
    MulScalar,
    /// Multiplication by an integer.
    MulInteger,
    /// Ciphertext-ciphertext multiplication with relinearization.
    Mul,
    /// Rescale (drops one level).
    Rescale,
    /// Dropping primes down to a lower level.
    DropLevel,
    /// A non-zero rotation (each step of a hoisted `rotate_many` counts once).
    Rotate,
    /// Complex conjugation.
    Conjugate,
}

impl OpKind {
    /// Every kind, in declaration order.
    pub const ALL: [OpKind; 16] = [
        OpKind::Encode,
        OpKind::Encrypt,
        OpKind::Decrypt,
        OpKind::Decode,
        OpKind::Add,
        OpKind::AddPlain,
        OpKind::AddScalar,
        OpKind::Negate,
        OpKind::MulPlain,
        OpKind::MulScalar,
        OpKind::MulInteger,
        OpKind::Mul,
        OpKind::Rescale,
        OpKind::DropLevel,
        OpKind::Rotate,
        OpKind::Conjugate,
    ];

    /// The snake-case name used in cost tables ("mul_plain", ...).
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Encode => "encode",
            OpKind::Encrypt => "encrypt",
            OpKind::Decrypt => "decrypt",
            OpKind::Decode => "decode",
            OpKind::Add => "add",
            OpKind::AddPlain => "add_plain",
            OpKind::AddScalar => "add_scalar",
            OpKind::Negate => "negate",
            OpKind::MulPlain => "mul_plain",
            OpKind::MulScalar => "mul_scalar",
            OpKind::MulInteger => "mul_integer",
            OpKind::Mul => "mul",
            OpKind::Rescale => "rescale",
            OpKind::DropLevel => "drop_level",
            OpKind::Rotate => "rotate",
            OpKind::Conjugate => "conjugate",
        }
    }

    /// Whether the kind is counted by [`OpCost`] (the server-side arithmetic a tile plan
    /// predicts), as opposed to client-side or bookkeeping operations.
    pub fn in_op_cost(self) -> bool {
        matches!(
            self,
            OpKind::Add
                | OpKind::AddPlain
                | OpKind::AddScalar
                | OpKind::Negate
                | OpKind::MulPlain
                | OpKind::MulScalar
                | OpKind::Mul
                | OpKind::Rescale
                | OpKind::Rotate
        )
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One operation kind at one level (the level of the operand before the operation; for
/// encoding, the level encoded at).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpKey {
    /// The kind.
    pub kind: OpKind,
    /// The level.
    pub level: usize,
}

/// How often an operation ran and the wall time it took in total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpStat {
    /// Number of successful calls.
    pub count: u64,
    /// Total measured wall time in nanoseconds (0 when the counts were not measured, e.g.
    /// derived from an [`OpCost`]).
    pub nanos: u64,
}

/// Operation counts (and measured times) per kind and level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpCounts {
    entries: BTreeMap<OpKey, OpStat>,
}

impl OpCounts {
    /// No operation at all.
    pub fn new() -> OpCounts {
        OpCounts::default()
    }

    /// Adds `count` calls of `kind` at `level` taking `elapsed` in total.
    pub fn record(&mut self, kind: OpKind, level: usize, count: u64, elapsed: Duration) {
        let stat = self.entries.entry(OpKey { kind, level }).or_default();
        stat.count += count;
        stat.nanos = stat
            .nanos
            .saturating_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
    }

    /// The counts of an [`OpCost`] whose operations all run at `level`: rotations, ciphertext
    /// products, plaintext products, scalar products, additions (counted as [`OpKind::Add`];
    /// an `OpCost` does not tell plain, scalar and ciphertext additions apart) and rescales.
    /// The level is the operand level of the operation; a plan that consumes several levels is
    /// attributed entirely to its starting level (an upper bound on its latency).
    pub fn from_op_cost(cost: &OpCost, level: usize) -> OpCounts {
        let mut c = OpCounts::new();
        let pairs = [
            (OpKind::Rotate, cost.rotations),
            (OpKind::Mul, cost.ct_mults),
            (OpKind::MulPlain, cost.pt_mults),
            (OpKind::MulScalar, cost.scalar_mults),
            (OpKind::Add, cost.additions),
            (OpKind::Rescale, cost.rescales),
        ];
        for (kind, n) in pairs {
            if n > 0 {
                c.record(kind, level, n as u64, Duration::ZERO);
            }
        }
        c
    }

    /// The statistics of `kind` at `level` (zero when it never ran).
    pub fn get(&self, kind: OpKind, level: usize) -> OpStat {
        self.entries
            .get(&OpKey { kind, level })
            .copied()
            .unwrap_or_default()
    }

    /// The number of calls of `kind` over all levels.
    pub fn count(&self, kind: OpKind) -> u64 {
        self.entries
            .iter()
            .filter(|(k, _)| k.kind == kind)
            .map(|(_, s)| s.count)
            .sum()
    }

    /// The total number of calls.
    pub fn total(&self) -> u64 {
        self.entries.values().map(|s| s.count).sum()
    }

    /// The total measured time.
    pub fn total_time(&self) -> Duration {
        Duration::from_nanos(self.entries.values().map(|s| s.nanos).sum())
    }

    /// Every (kind, level) with its statistics, ordered by kind then level.
    pub fn iter(&self) -> impl Iterator<Item = (OpKey, OpStat)> + '_ {
        self.entries.iter().map(|(k, s)| (*k, *s))
    }

    /// The counts only (times dropped), to compare two runs of the same circuit.
    pub fn counts_only(&self) -> BTreeMap<OpKey, u64> {
        self.entries.iter().map(|(k, s)| (*k, s.count)).collect()
    }

    /// These counts restricted to the kinds an [`OpCost`] covers, summed over levels, as an
    /// [`OpCost`] (additions, negations, plain and scalar additions all count as additions;
    /// `depth` is left 0, counts cannot tell it).
    pub fn to_op_cost(&self) -> OpCost {
        let n = |k: OpKind| self.count(k) as usize;
        OpCost {
            rotations: n(OpKind::Rotate),
            ct_mults: n(OpKind::Mul),
            pt_mults: n(OpKind::MulPlain),
            scalar_mults: n(OpKind::MulScalar),
            additions: n(OpKind::Add)
                + n(OpKind::AddPlain)
                + n(OpKind::AddScalar)
                + n(OpKind::Negate),
            rescales: n(OpKind::Rescale),
            depth: 0,
        }
    }

    /// Adds all of `other`'s counts and times to these.
    pub fn merge(&mut self, other: &OpCounts) {
        for (k, s) in other.iter() {
            let e = self.entries.entry(k).or_default();
            e.count += s.count;
            e.nanos = e.nanos.saturating_add(s.nanos);
        }
    }
}
