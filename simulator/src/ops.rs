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
    /// One term (input times constant, accumulated) of a fused linear map
    /// ([`Evaluator::linear_maps`](hetile_backend::Evaluator::linear_maps) or
    /// `linear_combination`); the level is the inputs'.
    LinearMapTerm,
    /// One output of a fused linear map (its accumulator written once).
    LinearMapOutput,
    /// One term (ciphertext times plaintext, accumulated) of a fused
    /// [`Evaluator::mul_plain_sum`](hetile_backend::Evaluator::mul_plain_sum).
    MulPlainSumTerm,
    /// One fused `mul_plain_sum` call (its output).
    MulPlainSumOutput,
    /// One input ciphertext read by a fused linear map call (`linear_maps` reads each of its
    /// inputs once for all its rows; `linear_combination` each of its terms): what a map's
    /// cost adds per input beside its terms and outputs.
    LinearMapInput,
}

impl OpKind {
    /// Every kind, in declaration order.
    pub const ALL: [OpKind; 21] = [
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
        OpKind::LinearMapTerm,
        OpKind::LinearMapOutput,
        OpKind::MulPlainSumTerm,
        OpKind::MulPlainSumOutput,
        OpKind::LinearMapInput,
    ];

    /// The kind's position in [`OpKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the kind switches keys (rotation, relinearized product, conjugation): its cost
    /// depends on the chain's digits and special primes, not only on the level.
    pub fn switches_keys(self) -> bool {
        matches!(self, OpKind::Rotate | OpKind::Mul | OpKind::Conjugate)
    }

    /// Whether the kind is part of a fused multi-term operation (one call covers many terms and
    /// uses every thread inside, whatever the caller's parallelism).
    pub fn is_fused(self) -> bool {
        matches!(
            self,
            OpKind::LinearMapTerm
                | OpKind::LinearMapOutput
                | OpKind::LinearMapInput
                | OpKind::MulPlainSumTerm
                | OpKind::MulPlainSumOutput
        )
    }

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
            OpKind::LinearMapTerm => "linear_map_term",
            OpKind::LinearMapOutput => "linear_map_output",
            OpKind::MulPlainSumTerm => "mul_plain_sum_term",
            OpKind::MulPlainSumOutput => "mul_plain_sum_output",
            OpKind::LinearMapInput => "linear_map_input",
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
                | OpKind::LinearMapTerm
                | OpKind::LinearMapOutput
                | OpKind::MulPlainSumTerm
                | OpKind::MulPlainSumOutput
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

    /// The counts of an [`OpCost`] as the fused evaluator runs them: scalar products become
    /// linear-map terms and plaintext products `mul_plain_sum` terms, each group making at most
    /// `outputs` outputs (the node's output tiles), whose accumulating additions are part of
    /// the fused call and no longer counted. A planned estimate: the counted run
    /// ([`crate::Counting`]) is exact.
    pub fn from_op_cost_fused(cost: &OpCost, level: usize, outputs: usize) -> OpCounts {
        let mut c = OpCounts::new();
        let map_out = outputs
            .clamp(1, cost.scalar_mults.max(1))
            .min(cost.scalar_mults);
        let sum_out = outputs.clamp(1, cost.pt_mults.max(1)).min(cost.pt_mults);
        let fused_adds = (cost.scalar_mults - map_out) + (cost.pt_mults - sum_out);
        let pairs = [
            (OpKind::Rotate, cost.rotations),
            (OpKind::Mul, cost.ct_mults),
            (OpKind::MulPlainSumTerm, cost.pt_mults),
            (OpKind::MulPlainSumOutput, sum_out),
            (OpKind::LinearMapTerm, cost.scalar_mults),
            (OpKind::LinearMapOutput, map_out),
            (OpKind::Add, cost.additions.saturating_sub(fused_adds)),
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
    /// `depth` is left 0, counts cannot tell it). A fused operation counts as what it computes
    /// term by term: a linear map of `t` terms and `o` outputs as `t` scalar products and
    /// `t - o` additions, a `mul_plain_sum` likewise with plaintext products.
    pub fn to_op_cost(&self) -> OpCost {
        let n = |k: OpKind| self.count(k) as usize;
        let map_terms = n(OpKind::LinearMapTerm);
        let sum_terms = n(OpKind::MulPlainSumTerm);
        OpCost {
            rotations: n(OpKind::Rotate),
            ct_mults: n(OpKind::Mul),
            pt_mults: n(OpKind::MulPlain) + sum_terms,
            scalar_mults: n(OpKind::MulScalar) + map_terms,
            additions: n(OpKind::Add)
                + n(OpKind::AddPlain)
                + n(OpKind::AddScalar)
                + n(OpKind::Negate)
                + map_terms.saturating_sub(n(OpKind::LinearMapOutput))
                + sum_terms.saturating_sub(n(OpKind::MulPlainSumOutput)),
            rescales: n(OpKind::Rescale),
            depth: 0,
        }
    }

    /// These counts less `earlier`'s (per kind and level, saturating): what ran between two
    /// snapshots of the same counter.
    pub fn since(&self, earlier: &OpCounts) -> OpCounts {
        let mut out = OpCounts::new();
        for (k, s) in self.iter() {
            let e = earlier.get(k.kind, k.level);
            let stat = OpStat {
                count: s.count.saturating_sub(e.count),
                nanos: s.nanos.saturating_sub(e.nanos),
            };
            if stat.count > 0 {
                out.entries.insert(k, stat);
            }
        }
        out
    }

    /// The counts of distinct `(key, stat)` entries in key order, each with a count (used by
    /// the lock-free counter's deltas; the map is built in bulk).
    pub(crate) fn from_sorted(entries: Vec<(OpKey, OpStat)>) -> OpCounts {
        OpCounts {
            entries: entries.into_iter().collect(),
        }
    }

    /// Adds a raw statistic (used by the lock-free counter's snapshot).
    pub(crate) fn insert(&mut self, key: OpKey, stat: OpStat) {
        if stat.count > 0 || stat.nanos > 0 {
            let e = self.entries.entry(key).or_default();
            e.count += stat.count;
            e.nanos = e.nanos.saturating_add(stat.nanos);
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
