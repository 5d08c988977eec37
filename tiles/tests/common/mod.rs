//! Test helpers: small parameters, the counting mock (the decorator lives in
//! `hetile_conformance::counting`), layout checks and test arrays.
#![allow(dead_code, unused_imports)] // shared by several test binaries, each using a part

use hetile_backend::{Backend, Client, KeyRequirements, Params};
use hetile_mock::MockBackend;
use hetile_tiles::{OpCost, TileDim, TileShape};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;

/// Insecure test parameters (see `hetile_conformance::counting::insecure_test_params`).
pub fn params(log_n: u32, levels: usize) -> Params {
    hetile_conformance::counting::insecure_test_params(log_n, levels).unwrap()
}

pub use hetile_conformance::counting::{
    all_keys, Counting, CountingClient, CountingEvaluator, Counts, Tally,
};

/// The counting mock.
pub type CMock = Counting<MockBackend>;

/// A counting mock client (exact, seeded) and its evaluator.
pub fn counting_mock(
    params: &Params,
    keys: &KeyRequirements,
) -> (CountingClient<MockBackend>, CountingEvaluator<MockBackend>) {
    hetile_conformance::counting::counting_client::<MockBackend>(params, keys, 1).unwrap()
}

/// A deterministic test array with values in about [-2, 2].
pub fn test_array(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    ArrayD::from_shape_fn(IxDyn(shape), |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 / (1u64 << 53) as f64) * 4.0 - 2.0
    })
}

/// Largest absolute difference of two arrays of the same shape.
pub fn max_diff(a: &ArrayD<f64>, b: &ArrayD<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// A tally of counted operations as an [`OpCost`] (depth 0: counts cannot tell it).
pub fn as_cost(t: Tally) -> OpCost {
    OpCost {
        rotations: t.rotations,
        ct_mults: t.ct_mults,
        pt_mults: t.pt_mults,
        scalar_mults: t.scalar_mults,
        additions: t.additions,
        rescales: t.rescales,
        depth: 0,
    }
}

/// Checks that the counted operations equal the plan's cost (depth excluded), then resets.
pub fn assert_counts(counts: &Counts, cost: OpCost) {
    let mut expected = cost;
    expected.depth = 0;
    assert_eq!(as_cost(counts.snapshot()), expected, "counted vs planned");
    counts.reset();
}

/// Checks the layout invariant of a tile tensor against the logical array it should hold:
/// every slot that holds an element (each replicated copy included) decrypts to it within
/// `tol`, and every unused slot that the flags do not declare garbage decrypts to 0.
pub fn check_layout<B: Backend>(
    client: &B::Client,
    t: &hetile_tiles::TileTensor<B>,
    expected: &ArrayD<f64>,
    tol: f64,
) {
    use hetile_tiles::layout::{garbage_slots, slot_elements};
    let shape = t.shape();
    assert_eq!(
        expected.shape(),
        shape.logical_shape().as_slice(),
        "{shape}"
    );
    let flat: Vec<f64> = expected.iter().copied().collect();
    for (k, ct) in t.tiles().iter().enumerate() {
        let values = client.decrypt_values(ct).unwrap();
        let garbage = garbage_slots(shape, k);
        for (slot, e) in slot_elements(shape, k).into_iter().enumerate() {
            match e {
                Some(i) => assert!(
                    (values[slot] - flat[i]).abs() <= tol,
                    "{shape}: tile {k} slot {slot} holds {} instead of element {i} = {}",
                    values[slot],
                    flat[i]
                ),
                None if !garbage[slot] => assert!(
                    values[slot].abs() <= tol,
                    "{shape}: tile {k} slot {slot} should be 0, holds {}",
                    values[slot]
                ),
                None => {}
            }
        }
    }
}

/// Tile exponents summing to `log_slots`, one per dimension.
pub fn exponents(rank: usize, log_slots: u32) -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(0..=log_slots, rank - 1).prop_map(move |mut cuts| {
        cuts.sort_unstable();
        let mut prev = 0;
        let mut out = Vec::new();
        for c in cuts.into_iter().chain([log_slots]) {
            out.push(c - prev);
            prev = c;
        }
        out
    })
}

/// A random tile shape over `2^log_slots` slots: up to 3 dimensions, sizes up to about two
/// tiles, some interleaved, some replicated (when `allow_replicated`).
pub fn shape_strategy(log_slots: u32, allow_replicated: bool) -> impl Strategy<Value = TileShape> {
    (1usize..=3)
        .prop_flat_map(move |rank| {
            (
                exponents(rank, log_slots),
                prop::collection::vec((0usize..1000, 0u8..6), rank),
            )
        })
        .prop_map(move |(exps, raw)| {
            let dims = exps
                .iter()
                .zip(raw)
                .map(|(&e, (r, kind))| {
                    let t = 1usize << e;
                    let size = 1 + r % (2 * t + 1);
                    match kind {
                        0 if allow_replicated => TileDim::replicated(t),
                        1 | 2 => TileDim::new(size, t).with_interleaving(),
                        _ => TileDim::new(size, t),
                    }
                })
                .collect();
            TileShape::new(dims).unwrap()
        })
}

/// The same shape with the dimensions in `mask` replaced by replicated ones (a broadcast
/// partner).
pub fn broadcast_partner(shape: &TileShape, mask: &[bool]) -> TileShape {
    let dims = shape
        .dims()
        .iter()
        .zip(mask.iter().chain(std::iter::repeat(&false)))
        .map(|(d, &m)| if m { TileDim::replicated(d.tile()) } else { *d })
        .collect();
    TileShape::new(dims).unwrap()
}
