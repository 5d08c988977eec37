//! Property tests on the exact mock: every operation against ndarray, its layout invariant
//! (element positions, replicated copies, zeros where the flags promise them) and its exact
//! operation counts against the plan.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::*;
use hetile_tiles::plan::{self, BinaryOp, Operand};
use hetile_tiles::{PlainTileTensor, TileDim, TileShape, TileTensor};
use ndarray::Axis;
use proptest::prelude::*;

const TOL: f64 = 1e-9;

fn setup(
    shape: &TileShape,
) -> (
    CountingClient<hetile_mock::MockBackend>,
    CountingEvaluator<hetile_mock::MockBackend>,
) {
    let log_n = shape.slots().trailing_zeros() + 1;
    counting_mock(&params(log_n, 3), &all_keys(shape.slots()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

    #[test]
    fn pack_unpack_identity(shape in shape_strategy(4, true), seed in 0u64..1000) {
        let (client, ev) = setup(&shape);
        let a = test_array(&shape.logical_shape(), seed);
        let t = TileTensor::<CMock>::encrypt(&client, &a, shape.clone()).unwrap();
        prop_assert_eq!(t.tiles().len(), shape.num_tiles());
        check_layout(&client, &t, &a, TOL);
        prop_assert!(max_diff(&t.decrypt(&client).unwrap(), &a) <= TOL);
        let p = PlainTileTensor::<CMock>::encode(&ev, &a, shape.clone(), t.level(), t.scale())
            .unwrap();
        prop_assert!(max_diff(&p.decode(&client).unwrap(), &a) <= TOL);
    }

    #[test]
    fn elementwise_ops_match_ndarray(
        shape in shape_strategy(4, false),
        mask in prop::collection::vec(any::<bool>(), 3),
        swap in any::<bool>(),
        c in -3.0f64..3.0,
        seed in 0u64..1000,
    ) {
        let (client, ev) = setup(&shape);
        let other = broadcast_partner(&shape, &mask);
        let (sa, sb) = if swap { (other, shape) } else { (shape, other) };
        let (a, b) = (test_array(&sa.logical_shape(), seed), test_array(&sb.logical_shape(), seed + 1));
        let ta = TileTensor::<CMock>::encrypt(&client, &a, sa.clone()).unwrap();
        let tb = TileTensor::<CMock>::encrypt(&client, &b, sb.clone()).unwrap();
        let counts = &ev.counts;
        counts.reset();
        for (op, expected) in [
            (BinaryOp::Add, &a + &b),
            (BinaryOp::Sub, &a - &b),
            (BinaryOp::Mul, &a * &b),
        ] {
            let out = match op {
                BinaryOp::Add => ta.add(&ev, &tb),
                BinaryOp::Sub => ta.sub(&ev, &tb),
                BinaryOp::Mul => ta.mul(&ev, &tb),
            }.unwrap();
            let p = plan::binary(&sa, &sb, op, Operand::Ciphertext).unwrap();
            prop_assert_eq!(out.shape(), &p.output);
            prop_assert_eq!(ta.level().0 - out.level().0, p.cost.depth);
            assert_counts(counts, p.cost);
            check_layout(&client, &out, &expected, TOL);
        }
        // ciphertext-plaintext: added at the ciphertext's scale, multiplied at scale q_level
        let pa = PlainTileTensor::<CMock>::encode(&ev, &b, sb.clone(), ta.level(), ta.scale()).unwrap();
        let pm = PlainTileTensor::<CMock>::encode_for_mul(&ev, &b, sb.clone(), ta.level()).unwrap();
        counts.reset();
        let out = ta.add_plain(&ev, &pa).unwrap();
        assert_counts(counts, plan::binary(&sa, &sb, BinaryOp::Add, Operand::Plaintext).unwrap().cost);
        check_layout(&client, &out, &(&a + &b), TOL);
        let out = ta.sub_plain(&ev, &pa).unwrap();
        counts.reset();
        check_layout(&client, &out, &(&a - &b), TOL);
        let out = ta.mul_plain(&ev, &pm).unwrap();
        assert_counts(counts, plan::binary(&sa, &sb, BinaryOp::Mul, Operand::Plaintext).unwrap().cost);
        prop_assert_eq!(out.scale(), ta.scale());
        check_layout(&client, &out, &(&a * &b), TOL);
        // scalars
        let out = ta.add_scalar(&ev, c).unwrap();
        assert_counts(counts, plan::add_scalar(&sa).unwrap().cost);
        prop_assert_eq!(out.shape(), &plan::add_scalar(&sa).unwrap().output);
        check_layout(&client, &out, &a.mapv(|x| x + c), TOL);
        let out = ta.sub_scalar(&ev, c).unwrap();
        counts.reset();
        check_layout(&client, &out, &a.mapv(|x| x - c), TOL);
        let out = ta.mul_scalar(&ev, c).unwrap();
        assert_counts(counts, plan::mul_scalar(&sa).cost);
        prop_assert_eq!(out.scale(), ta.scale());
        check_layout(&client, &out, &a.mapv(|x| x * c), 1e-8);
        let out = ta.negate(&ev).unwrap();
        assert_counts(counts, plan::negate(&sa).cost);
        check_layout(&client, &out, &a.mapv(|x| -x), TOL);
        // garbage propagation: a garbage-padded left operand against a clean right one
        let ga = ta.add_scalar(&ev, c).unwrap();
        let ag = a.mapv(|x| x + c);
        let prod = ga.mul(&ev, &tb).unwrap();
        prop_assert_eq!(prod.shape(), &plan::binary(ga.shape(), &sb, BinaryOp::Mul, Operand::Ciphertext).unwrap().output);
        check_layout(&client, &prod, &(&ag * &b), 1e-8);
        let prod = ga.mul_plain(&ev, &pm).unwrap();
        check_layout(&client, &prod, &(&ag * &b), 1e-8);
        let sum = ga.add(&ev, &tb).unwrap();
        check_layout(&client, &sum, &(&ag + &b), TOL);
        let both = ga.mul(&ev, &tb.add_scalar(&ev, 1.0).unwrap()).unwrap();
        check_layout(&client, &both, &(&ag * &b.mapv(|x| x + 1.0)), 1e-8);
        counts.reset();
    }

    #[test]
    fn sum_clear_replicate_match_ndarray(
        shape in shape_strategy(4, true),
        dim in 0usize..3,
        seed in 0u64..1000,
    ) {
        let dim = dim % shape.rank();
        let (client, ev) = setup(&shape);
        let a = test_array(&shape.logical_shape(), seed);
        let t = TileTensor::<CMock>::encrypt(&client, &a, shape.clone()).unwrap();
        let counts = &ev.counts;
        counts.reset();
        let s = t.sum(&ev, dim).unwrap();
        let p = TileTensor::<CMock>::sum_cost(&shape, dim).unwrap();
        prop_assert_eq!(s.shape(), &p.output);
        assert_counts(counts, p.cost);
        let expected = a.sum_axis(Axis(dim)).insert_axis(Axis(dim));
        check_layout(&client, &s, &expected, 1e-8);
        // the summed dimension ends replicated (outermost), garbage-padded or broadcastable
        let d = s.shape().dims()[dim];
        prop_assert!(d.is_broadcastable() || (dim > 0 && d.has_garbage()) || d.tile() == 1);
        let c = s.clear_garbage(&ev).unwrap();
        let p = plan::clear_garbage(s.shape()).unwrap();
        prop_assert_eq!(c.shape(), &p.output);
        prop_assert!(!c.shape().has_garbage());
        prop_assert_eq!(s.level().0 - c.level().0, p.cost.depth);
        assert_counts(counts, p.cost);
        check_layout(&client, &c, &expected, 1e-8);
        let r = c.replicate(&ev, dim).unwrap();
        let p = plan::replicate(c.shape(), dim).unwrap();
        prop_assert_eq!(r.shape(), &p.output);
        prop_assert!(r.shape().dims()[dim].is_broadcastable());
        assert_counts(counts, p.cost);
        check_layout(&client, &r, &expected, 1e-8);
        // with garbage in the padding: summing a garbage dimension is refused, other
        // dimensions' garbage is carried along
        let g = t.add_scalar(&ev, 0.75).unwrap();
        let ag = a.mapv(|x| x + 0.75);
        let expected = ag.sum_axis(Axis(dim)).insert_axis(Axis(dim));
        let d = g.shape().dims()[dim];
        let s = match g.sum(&ev, dim) {
            Ok(s) => s,
            Err(hetile_tiles::TileError::GarbageOnDim { .. }) => {
                prop_assert!(d.has_garbage() && d.has_padding());
                g.clear_garbage(&ev).unwrap().sum(&ev, dim).unwrap()
            }
            Err(e) => panic!("{e}"),
        };
        check_layout(&client, &s, &expected, 1e-8);
        let cleared = s.clear_garbage(&ev).unwrap();
        prop_assert!(!cleared.shape().has_garbage());
        check_layout(&client, &cleared, &expected, 1e-8);
    }

    #[test]
    fn retile_moves_every_element(
        from in shape_strategy(4, true),
        exps in exponents(3, 4),
        kinds in prop::collection::vec(0u8..3, 3),
        seed in 0u64..1000,
    ) {
        // a target with the same logical shape, other tile sizes and interleaving
        let dims: Vec<TileDim> = from.dims().iter().enumerate().map(|(i, d)| {
            let t = if i + 1 == from.rank() {
                1usize << exps[i..].iter().sum::<u32>()
            } else {
                1usize << exps[i]
            };
            match kinds[i] {
                0 if d.size() == 1 => TileDim::replicated(t),
                1 => TileDim::new(d.size(), t).with_interleaving(),
                _ => TileDim::new(d.size(), t),
            }
        }).collect();
        let to = TileShape::new(dims).unwrap();
        prop_assume!(to.slots() == from.slots());
        let (client, ev) = setup(&from);
        let a = test_array(&from.logical_shape(), seed);
        let t = TileTensor::<CMock>::encrypt(&client, &a, from.clone()).unwrap();
        ev.counts.reset();
        let r = t.retile(&ev, &to).unwrap();
        let p = plan::retile(&from, &to).unwrap();
        assert_counts(&ev.counts, p.cost);
        prop_assert_eq!(r.shape(), &to);
        prop_assert_eq!(r.scale(), t.scale());
        check_layout(&client, &r, &a, 1e-9);
    }

    #[test]
    fn matvec_in_both_layouts(
        rows in 1usize..20,
        cols in 1usize..20,
        e in 0u32..=5,
        columns in any::<bool>(),
        seed in 0u64..1000,
    ) {
        let tile = [1usize << e, 1usize << (5 - e)];
        let layout = if columns { hetile_tiles::MatVecLayout::Columns } else { hetile_tiles::MatVecLayout::Rows };
        let p = layout.plan(rows, cols, tile).unwrap();
        let (client, ev) = counting_mock(&params(6, 2), &p.key_requirements());
        let m = test_array(&[rows, cols], seed).into_dimensionality::<ndarray::Ix2>().unwrap();
        let v = test_array(&[cols], seed + 7).into_dimensionality::<ndarray::Ix1>().unwrap();
        let pm = hetile_tiles::PlainMatrix::<CMock>::encode(&ev, &m, layout, tile, client_level(&client)).unwrap();
        let ct = pm.encrypt_vector(&client, &v).unwrap();
        ev.counts.reset();
        let out = pm.apply(&ev, &ct).unwrap();
        assert_counts(&ev.counts, p.cost);
        prop_assert_eq!(out.shape(), &pm.shapes().output);
        prop_assert_eq!(out.scale(), ct.scale());
        let expected = layout.arrange_vector(&m.dot(&v)).reversed_axes();
        check_layout(&client, &out, &expected, 1e-8);
        let got = layout.output_vector(&out.decrypt(&client).unwrap()).unwrap();
        prop_assert!(max_diff(&got.into_dyn(), &m.dot(&v).into_dyn()) <= 1e-8);
    }

    #[test]
    fn matmul_in_both_layouts(
        (a, b, c) in (1usize..6, 1usize..9, 1usize..5),
        exps in exponents(3, 5),
        outer in any::<bool>(),
        encrypted_right in any::<bool>(),
        seed in 0u64..1000,
    ) {
        let tile = [1usize << exps[0], 1usize << exps[1], 1usize << exps[2]];
        let layout = if outer { hetile_tiles::MatMulLayout::SumOuter } else { hetile_tiles::MatMulLayout::SumMiddle };
        let operand = if encrypted_right { Operand::Ciphertext } else { Operand::Plaintext };
        let p = layout.plan(a, b, c, tile, operand).unwrap();
        let (client, ev) = counting_mock(&params(6, 2), &p.key_requirements());
        let ma = test_array(&[a, b], seed).into_dimensionality::<ndarray::Ix2>().unwrap();
        let mb = test_array(&[b, c], seed + 3).into_dimensionality::<ndarray::Ix2>().unwrap();
        let s = layout.shapes(a, b, c, tile).unwrap();
        let left = TileTensor::<CMock>::encrypt(&client, &layout.arrange_left(&ma), s.left.clone()).unwrap();
        let out = if encrypted_right {
            let right = TileTensor::<CMock>::encrypt(&client, &layout.arrange_right(&mb), s.right.clone()).unwrap();
            ev.counts.reset();
            left.mul_sum(&ev, &right, s.sum_dim).unwrap()
        } else {
            let right = PlainTileTensor::<CMock>::encode_for_mul(&ev, &layout.arrange_right(&mb), s.right.clone(), left.level()).unwrap();
            ev.counts.reset();
            left.mul_sum_plain(&ev, &right, s.sum_dim).unwrap()
        };
        assert_counts(&ev.counts, p.cost);
        prop_assert_eq!(out.shape(), &s.output);
        let want = ma.dot(&mb);
        let expected = match layout {
            hetile_tiles::MatMulLayout::SumMiddle => want.clone().insert_axis(Axis(1)),
            hetile_tiles::MatMulLayout::SumOuter => want.clone().insert_axis(Axis(0)),
        };
        check_layout(&client, &out, &expected.into_dyn(), 1e-8);
        let got = layout.output_matrix(&out.decrypt(&client).unwrap()).unwrap();
        prop_assert!(max_diff(&got.into_dyn(), &want.into_dyn()) <= 1e-8);
    }
}

fn client_level(client: &CountingClient<hetile_mock::MockBackend>) -> hetile_backend::Level {
    use hetile_backend::Client;
    client.params().max_level()
}

#[test]
fn transpose_and_reshape_keep_the_data() {
    let shape = TileShape::parse("[3/1, 5/4, 2/1, 7/4]").unwrap();
    let (client, ev) = setup(&shape);
    let a = test_array(&shape.logical_shape(), 5);
    let t = TileTensor::<CMock>::encrypt(&client, &a, shape.clone()).unwrap();
    let tt = t.transpose(&[2, 1, 0, 3]).unwrap();
    assert_eq!(tt.shape().to_string(), "[2/1, 5/4, 3/1, 7/4]");
    let expected = a
        .clone()
        .permuted_axes(vec![2, 1, 0, 3])
        .as_standard_layout()
        .to_owned();
    check_layout(&client, &tt, &expected, TOL);
    assert_eq!(as_cost(ev.counts.snapshot()), hetile_tiles::OpCost::ZERO);
    // a cyclic (not self-inverse) permutation of the tile-only dimensions
    let cyc = TileShape::parse("[3/1, 4/1, 2/1, 7/16]").unwrap();
    let c = test_array(&cyc.logical_shape(), 6);
    let tc = TileTensor::<CMock>::encrypt(&client, &c, cyc).unwrap();
    let moved = tc.transpose(&[1, 2, 0, 3]).unwrap();
    assert_eq!(moved.shape().to_string(), "[4/1, 2/1, 3/1, 7/16]");
    let expected = c
        .clone()
        .permuted_axes(vec![1, 2, 0, 3])
        .as_standard_layout()
        .to_owned();
    check_layout(&client, &moved, &expected, TOL);
    // a transpose that changes the slot order needs the explicit re-tiling
    assert!(t.transpose(&[0, 3, 2, 1]).is_err());
    let to = TileShape::parse("[3/1, 7/4, 2/1, 5/4]").unwrap();
    let moved = t.transpose_retile(&ev, &[0, 3, 2, 1], &to).unwrap();
    assert_counts(
        &ev.counts,
        plan::transpose_retile(&shape, &[0, 3, 2, 1], &to)
            .unwrap()
            .cost,
    );
    let expected = a
        .clone()
        .permuted_axes(vec![0, 3, 2, 1])
        .as_standard_layout()
        .to_owned();
    check_layout(&client, &moved, &expected, TOL);
    let from = TileShape::parse("[3/2, 5/4, 6/2]").unwrap();
    let to = TileShape::parse("[6/4, 3~/2, 5/2]").unwrap();
    let d = test_array(&from.logical_shape(), 8);
    let td = TileTensor::<CMock>::encrypt(&client, &d, from.clone()).unwrap();
    ev.counts.reset();
    let moved = td.transpose_retile(&ev, &[2, 0, 1], &to).unwrap();
    assert_counts(
        &ev.counts,
        plan::transpose_retile(&from, &[2, 0, 1], &to).unwrap().cost,
    );
    let expected = d
        .clone()
        .permuted_axes(vec![2, 0, 1])
        .as_standard_layout()
        .to_owned();
    check_layout(&client, &moved, &expected, TOL);
    // reshape without movement: merge a full inner dimension into its outer neighbour
    let s2 = TileShape::parse("[6/2, 8/8]").unwrap();
    let b = test_array(&[6, 8], 9);
    let t2 = TileTensor::<CMock>::encrypt(&client, &b, s2).unwrap();
    let flat = t2.reshape(&TileShape::parse("[48/16]").unwrap()).unwrap();
    check_layout(
        &client,
        &flat,
        &b.clone().into_shape_with_order(vec![48]).unwrap(),
        TOL,
    );
    assert!(t2
        .reshape(&TileShape::parse("[48/16, 1/1]").unwrap())
        .is_ok());
    assert!(t2
        .reshape(&TileShape::parse("[8/2, 6/8]").unwrap())
        .is_err());
}

#[test]
fn chained_matvecs_alternate_layouts() {
    // Columns output [*/t0, n/t1] is the vector layout of a following Rows product; a Rows output
    // needs clear_garbage + replicate to feed a Columns product.
    use hetile_tiles::{MatVecLayout, PlainMatrix};
    let params = params(6, 4);
    let (client, ev) = counting_mock(&params, &all_keys(32));
    let m1 = test_array(&[6, 10], 1)
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap();
    let m2 = test_array(&[5, 6], 2)
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap();
    let m3 = test_array(&[3, 5], 3)
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap();
    let v = test_array(&[10], 4)
        .into_dimensionality::<ndarray::Ix1>()
        .unwrap();
    let top = params.max_level();
    let l1 = PlainMatrix::<CMock>::encode(&ev, &m1, MatVecLayout::Columns, [4, 8], top).unwrap();
    let x = l1.encrypt_vector(&client, &v).unwrap();
    let y = l1.apply(&ev, &x).unwrap();
    assert_eq!(y.shape().to_string(), "[*/4, 6/8]");
    let l2 = PlainMatrix::<CMock>::encode(&ev, &m2, MatVecLayout::Rows, [4, 8], y.level()).unwrap();
    let z = l2.apply(&ev, &y).unwrap();
    assert_eq!(z.shape().to_string(), "[5/4, 1?/8]");
    let z = z.clear_garbage(&ev).unwrap().replicate(&ev, 1).unwrap();
    assert_eq!(z.shape().to_string(), "[5/4, */8]");
    let l3 =
        PlainMatrix::<CMock>::encode(&ev, &m3, MatVecLayout::Columns, [4, 8], z.level()).unwrap();
    let w = l3.apply(&ev, &z).unwrap();
    let got = MatVecLayout::Columns
        .output_vector(&w.decrypt(&client).unwrap())
        .unwrap();
    let want = m3.dot(&m2.dot(&m1.dot(&v)));
    assert!(max_diff(&got.into_dyn(), &want.into_dyn()) < 1e-8);
    assert_eq!(w.level().0, 0);
    assert_eq!(w.scale(), x.scale());
}

#[test]
fn level_management_costs() {
    let shape = TileShape::parse("[5/4, 6/8]").unwrap();
    let (client, ev) = counting_mock(&params(6, 3), &all_keys(32));
    let a = test_array(&[5, 6], 3);
    let t = TileTensor::<CMock>::encrypt(&client, &a, shape.clone()).unwrap();
    ev.counts.reset();
    let low = t.drop_to_level(&ev, hetile_backend::Level(1)).unwrap();
    assert_counts(&ev.counts, hetile_tiles::OpCost::ZERO);
    assert_eq!(low.level().0, 1);
    let (x, y) = TileTensor::align_levels(&ev, &t, &low).unwrap();
    assert_eq!((x.level().0, y.level().0), (1, 1));
    ev.counts.reset();
    let r = t.rescale(&ev).unwrap();
    assert_counts(&ev.counts, plan::rescale(&shape).cost);
    assert_eq!(r.level().0, 2);
    let s = r.set_scale(&ev, t.scale()).unwrap();
    assert_counts(&ev.counts, plan::set_scale(&shape).cost);
    assert_eq!(s.level().0, 1);
    assert!((s.scale().log2() - t.scale().log2()).abs() < 1e-9);
    // a rescale keeps the message (at a smaller scale); set_scale restores the scale
    check_layout(&client, &r, &a, 1e-6);
    check_layout(&client, &s, &a, 1e-6);
    // ct-ct operations align levels first (for free)
    check_layout(&client, &t.add(&ev, &low).unwrap(), &(&a + &a), 1e-9);
}

#[test]
fn errors_are_typed() {
    use hetile_tiles::TileError;
    let shape = TileShape::parse("[4/4, 8/8]").unwrap();
    let params = params(6, 1);
    // no rotation keys at all
    let (client, ev) = counting_mock(&params, &hetile_backend::KeyRequirements::none());
    let a = test_array(&[4, 8], 1);
    let t = TileTensor::<CMock>::encrypt(&client, &a, shape.clone()).unwrap();
    assert!(matches!(
        t.sum(&ev, 1),
        Err(TileError::Backend(
            hetile_backend::Error::MissingRotationKey { .. }
        ))
    ));
    assert!(matches!(
        t.mul(&ev, &t),
        Err(TileError::Backend(
            hetile_backend::Error::MissingRelinearizationKey
        ))
    ));
    let low = t.mul_scalar(&ev, 2.0).unwrap();
    assert_eq!(low.level().0, 0);
    assert!(matches!(
        low.retile(&ev, &TileShape::parse("[4/8, 8/4]").unwrap()),
        Err(TileError::Backend(
            hetile_backend::Error::LevelExhausted { .. }
        ))
    ));
    assert!(matches!(
        TileTensor::<CMock>::encrypt(&client, &a, TileShape::parse("[4/4, 8/4]").unwrap()),
        Err(TileError::SlotMismatch {
            product: 16,
            slots: 32,
            ..
        })
    ));
    assert!(matches!(
        TileTensor::<CMock>::encrypt(&client, &test_array(&[8, 4], 1), shape.clone()),
        Err(TileError::ArrayShapeMismatch { .. })
    ));
    let other = TileTensor::<CMock>::encrypt(
        &client,
        &test_array(&[4, 4], 1),
        TileShape::parse("[4/4, 4/8]").unwrap(),
    )
    .unwrap();
    assert!(matches!(
        t.add(&ev, &other),
        Err(TileError::IncompatibleShapes { dim: 1, .. })
    ));
    let g = t.add_scalar(&ev, 1.0).unwrap();
    assert!(!g.shape().has_garbage(), "no padding, so no garbage");
    let padded = TileTensor::<CMock>::encrypt(
        &client,
        &test_array(&[3, 8], 1),
        TileShape::parse("[3/4, 8/8]").unwrap(),
    )
    .unwrap();
    let g = padded.add_scalar(&ev, 1.0).unwrap();
    assert_eq!(g.shape().to_string(), "[3?/4, 8/8]");
    assert!(matches!(
        g.sum(&ev, 0),
        Err(TileError::GarbageOnDim { dim: 0, .. })
    ));
}
