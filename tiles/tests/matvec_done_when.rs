//! The done-when check: a 64x784 plain matrix times an encrypted 784-vector in several
//! layouts on the mock at N = 2^14 (8192 slots), with exactly the planned keys and operation
//! counts, matching ndarray; and a precision check under the mock's noise model.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::*;
use hetile_backend::{Client, Params};
use hetile_mock::{MockBackend, MockClient, NoiseModel};
use hetile_tiles::{MatVecLayout, PlainMatrix};
use ndarray::{Ix1, Ix2};

const LAYOUTS: [(MatVecLayout, [usize; 2]); 4] = [
    (MatVecLayout::Rows, [8, 1024]),
    (MatVecLayout::Rows, [64, 128]),
    (MatVecLayout::Columns, [128, 64]),
    (MatVecLayout::Columns, [1024, 8]),
];

fn n14() -> Params {
    Params::preset("N14_L4").unwrap()
}

#[test]
fn matvec_64x784_matches_ndarray_in_four_layouts() {
    let params = n14();
    assert_eq!(params.slots().get(), 8192);
    let m = test_array(&[64, 784], 11)
        .into_dimensionality::<Ix2>()
        .unwrap();
    let v = test_array(&[784], 12).into_dimensionality::<Ix1>().unwrap();
    let want = m.dot(&v).into_dyn();
    let mut rotations = Vec::new();
    for (layout, tile) in LAYOUTS {
        let plan = layout.plan(64, 784, tile).unwrap();
        // keygen generates exactly the steps the plan lists
        let (client, ev) = counting_mock(&params, &plan.key_requirements());
        let pm = PlainMatrix::<CMock>::encode(&ev, &m, layout, tile, params.max_level()).unwrap();
        let x = pm.encrypt_vector(&client, &v).unwrap();
        ev.counts.reset();
        let y = pm.apply(&ev, &x).unwrap();
        assert_counts(&ev.counts, plan.cost);
        assert_eq!(y.level().0, params.max_level().0 - 1);
        assert_eq!(y.scale(), x.scale(), "scale preserved exactly");
        let got = layout.output_vector(&y.decrypt(&client).unwrap()).unwrap();
        let err = max_diff(&got.into_dyn(), &want);
        assert!(err < 1e-9, "{layout:?} {tile:?}: error {err}");
        rotations.push(plan.cost.rotations);
    }
    // [8, 1024]: 8 tiles x 10 rotations; [64, 128] and [128, 64]: 7 tiles added, then 7
    // rotations; [1024, 8]: 8 tiles x 10 rotations.
    assert_eq!(rotations, vec![80, 7, 7, 80]);
}

#[test]
fn matvec_precision_under_the_mock_noise_model() {
    let params = n14();
    let m = test_array(&[64, 784], 21)
        .into_dimensionality::<Ix2>()
        .unwrap();
    let v = test_array(&[784], 22).into_dimensionality::<Ix1>().unwrap();
    let want = m.dot(&v).into_dyn();
    // about what CKKS at scale 2^40 gives: fresh noise ~2^-30 in value units, a bit per op
    let noise = NoiseModel {
        fresh: 1e-9,
        per_op: 1e-10,
    };
    for (layout, tile) in LAYOUTS {
        let plan = layout.plan(64, 784, tile).unwrap();
        let client = MockClient::with_noise(&params, &plan.key_requirements(), noise, 5).unwrap();
        let ev = client.evaluator().unwrap();
        let pm =
            PlainMatrix::<MockBackend>::encode(&ev, &m, layout, tile, params.max_level()).unwrap();
        let x = pm.encrypt_vector(&client, &v).unwrap();
        let y = pm.apply(&ev, &x).unwrap();
        let got = layout.output_vector(&y.decrypt(&client).unwrap()).unwrap();
        let err = max_diff(&got.into_dyn(), &want);
        let bits = -err.log2();
        eprintln!("{layout:?} {tile:?}: max error {err:.3e} = 2^-{bits:.1}");
        // 784 noisy products of weights in [-2, 2] plus the rotation noise: about 2^-24 at worst
        assert!(err > 0.0, "the noise model is active");
        assert!(bits >= 20.0, "{layout:?} {tile:?}: only {bits:.1} bits");
    }
}
