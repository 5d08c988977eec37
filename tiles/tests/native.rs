//! The same tile code on the native RNS-CKKS backend (small insecure ring degrees): pack/unpack,
//! elementwise operations, sums, garbage clearing, replication, re-tiling and matrix-vector
//! products in both layouts, against ndarray within CKKS precision.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::*;
use hetile_backend::{Client, KeyRequirements};
use hetile_ckks::{CkksBackend, CkksClient, CkksEvaluator};
use hetile_tiles::{plan, MatVecLayout, PlainMatrix, PlainTileTensor, TileShape, TileTensor};
use ndarray::{Axis, Ix1, Ix2};
use proptest::prelude::*;

/// CKKS at scale 2^40 keeps about 2^-20 absolute error on values of size ~10 through a few
/// levels; the tests ask for that.
const TOL: f64 = 1e-5;

fn native(log_n: u32, keys: &KeyRequirements) -> (CkksClient, CkksEvaluator) {
    let client = CkksClient::new_insecure_seeded_for_tests(&params(log_n, 3), keys, 7).unwrap();
    let ev = client.evaluator().unwrap();
    (client, ev)
}

#[test]
fn pack_ops_sum_and_replicate_on_ckks() {
    // N = 2^10: 512 slots
    let shape = TileShape::parse("[5/4, 200~/128]").unwrap();
    let keys = plan::sum(&shape, 1)
        .unwrap()
        .key_requirements()
        .with_relinearization()
        .with_rotations(
            plan::replicate(&TileShape::parse("[5/4, 1/128]").unwrap(), 1)
                .unwrap()
                .rotation_steps,
        )
        .with_rotations(plan::sum(&shape, 0).unwrap().rotation_steps);
    let (client, ev) = native(10, &keys);
    let a = test_array(&[5, 200], 1);
    let b = test_array(&[5, 200], 2);
    let ta = TileTensor::<CkksBackend>::encrypt(&client, &a, shape.clone()).unwrap();
    let tb = TileTensor::<CkksBackend>::encrypt(&client, &b, shape.clone()).unwrap();
    check_layout(&client, &ta, &a, TOL);
    check_layout(&client, &ta.add(&ev, &tb).unwrap(), &(&a + &b), TOL);
    check_layout(&client, &ta.sub(&ev, &tb).unwrap(), &(&a - &b), TOL);
    let prod = ta.mul(&ev, &tb).unwrap();
    check_layout(&client, &prod, &(&a * &b), TOL);
    let w =
        PlainTileTensor::<CkksBackend>::encode_for_mul(&ev, &b, shape.clone(), ta.level()).unwrap();
    let pm = ta.mul_plain(&ev, &w).unwrap();
    assert_eq!(pm.scale(), ta.scale());
    check_layout(&client, &pm, &(&a * &b), TOL);
    check_layout(
        &client,
        &ta.mul_scalar(&ev, -1.5).unwrap(),
        &a.mapv(|x| -1.5 * x),
        TOL,
    );
    // inner sum -> garbage; clear -> zeros; replicate -> copies everywhere
    let s = ta.sum(&ev, 1).unwrap();
    assert_eq!(s.shape().to_string(), "[5/4, 1?/128]");
    let expected = a.sum_axis(Axis(1)).insert_axis(Axis(1));
    check_layout(&client, &s, &expected, 1e-4);
    let r = s.clear_garbage(&ev).unwrap().replicate(&ev, 1).unwrap();
    assert_eq!(r.shape().to_string(), "[5/4, */128]");
    check_layout(&client, &r, &expected, 1e-4);
    // outer sum -> replicated
    let s0 = ta.sum(&ev, 0).unwrap();
    assert_eq!(s0.shape().to_string(), "[*/4, 200~/128]");
    check_layout(
        &client,
        &s0,
        &a.sum_axis(Axis(0)).insert_axis(Axis(0)),
        1e-4,
    );
}

#[test]
fn matvec_both_layouts_on_ckks() {
    // N = 2^11: 1024 slots; a 20 x 100 matrix
    let m = test_array(&[20, 100], 3)
        .into_dimensionality::<Ix2>()
        .unwrap();
    let v = test_array(&[100], 4).into_dimensionality::<Ix1>().unwrap();
    let want = m.dot(&v).into_dyn();
    for (layout, tile) in [
        (MatVecLayout::Rows, [8, 128]),
        (MatVecLayout::Rows, [32, 32]),
        (MatVecLayout::Columns, [32, 32]),
        (MatVecLayout::Columns, [128, 8]),
    ] {
        let p = layout.plan(20, 100, tile).unwrap();
        let (client, ev) = native(11, &p.key_requirements());
        let pm =
            PlainMatrix::<CkksBackend>::encode(&ev, &m, layout, tile, client.params().max_level())
                .unwrap();
        let x = pm.encrypt_vector(&client, &v).unwrap();
        let y = pm.apply(&ev, &x).unwrap();
        assert_eq!(y.scale(), x.scale());
        let got = layout.output_vector(&y.decrypt(&client).unwrap()).unwrap();
        let err = max_diff(&got.into_dyn(), &want);
        eprintln!(
            "{layout:?} {tile:?}: max error {err:.3e} = 2^-{:.1}",
            -err.log2()
        );
        assert!(err < 1e-4, "{layout:?} {tile:?}: error {err}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]

    #[test]
    fn random_shapes_on_ckks(
        shape in shape_strategy(9, true),
        mask in prop::collection::vec(any::<bool>(), 3),
        dim in 0usize..3,
        seed in 0u64..100,
    ) {
        // N = 2^10: 512 slots; up to 3 tiles per dimension
        let dim = dim % shape.rank();
        let other = broadcast_partner(&shape, &mask);
        let summed = plan::sum(&shape, dim).unwrap();
        let cleared = plan::clear_garbage(&summed.output).unwrap().output;
        let keys = summed
            .key_requirements()
            .with_relinearization()
            .with_rotations(plan::replicate(&cleared, dim).unwrap().rotation_steps);
        let (client, ev) = native(10, &keys);
        let a = test_array(&shape.logical_shape(), seed);
        let b = test_array(&other.logical_shape(), seed + 1);
        let ta = TileTensor::<CkksBackend>::encrypt(&client, &a, shape.clone()).unwrap();
        let tb = TileTensor::<CkksBackend>::encrypt(&client, &b, other.clone()).unwrap();
        check_layout(&client, &ta, &a, TOL);
        check_layout(&client, &ta.mul(&ev, &tb).unwrap(), &(&a * &b), TOL);
        check_layout(&client, &tb.add(&ev, &ta).unwrap(), &(&b + &a), TOL);
        let expected = a.sum_axis(Axis(dim)).insert_axis(Axis(dim));
        let s = ta.sum(&ev, dim).unwrap();
        prop_assert_eq!(s.shape(), &summed.output);
        check_layout(&client, &s, &expected, 1e-4);
        let r = s.clear_garbage(&ev).unwrap().replicate(&ev, dim).unwrap();
        check_layout(&client, &r, &expected, 1e-4);
    }

    #[test]
    fn retile_on_ckks(rows in 1usize..40, cols in 1usize..40, e in 0u32..=9, f in 0u32..=9, seed in 0u64..100) {
        // N = 2^10: 512 slots
        let from = TileShape::parse(&format!("[{rows}/{}, {cols}/{}]", 1 << e, 1 << (9 - e))).unwrap();
        let to = TileShape::parse(&format!("[{rows}~/{}, {cols}/{}]", 1 << f, 1 << (9 - f))).unwrap();
        let p = plan::retile(&from, &to).unwrap();
        let (client, ev) = native(10, &p.key_requirements());
        let a = test_array(&[rows, cols], seed);
        let t = TileTensor::<CkksBackend>::encrypt(&client, &a, from).unwrap();
        let r = t.retile(&ev, &to).unwrap();
        check_layout(&client, &r, &a, TOL);
    }
}
