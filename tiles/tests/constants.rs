//! Uniform plaintext operands (every dimension of tile size 1 or replicated) hold one constant
//! per tile and are multiplied in with `mul_scalar`: exact counts against the plan, the same
//! level, scale and values as the encoded path, on the counting mock and on native CKKS.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod common;

use common::*;
use hetile_backend::{Client, Evaluator, KeyRequirements, Level};
use hetile_ckks::{CkksBackend, CkksClient};
use hetile_tiles::plan::{self, BinaryOp, Operand};
use hetile_tiles::{prime_scale, PlainTileTensor, TileShape, TileTensor};
use ndarray::{ArrayD, IxDyn};

/// `y[0, j, s] = sum_i w[i, j] * x[i, 0, s]` (the dense layer at batch tiles).
fn dense(x: &ArrayD<f64>, w: &ArrayD<f64>) -> ArrayD<f64> {
    let (f, o, b) = (x.shape()[0], w.shape()[1], x.shape()[2]);
    ArrayD::from_shape_fn(IxDyn(&[1, o, b]), |ix| {
        (0..f).map(|i| w[[i, ix[1], 0]] * x[[i, 0, ix[2]]]).sum()
    })
}

/// The same weights, forced into encoded plaintexts (the path used for non-uniform shapes).
fn encoded<B: hetile_backend::Backend>(
    ev: &B::Evaluator,
    w: &ArrayD<f64>,
    shape: &TileShape,
    level: Level,
) -> PlainTileTensor<B> {
    let scale = prime_scale(ev.params(), level).unwrap();
    let (o, t) = (w.shape()[1], shape.slots());
    let tiles = (0..shape.num_tiles())
        .map(|k| {
            ev.encode(&vec![w[[k / o, k % o, 0]]; t], level, scale)
                .unwrap()
        })
        .collect();
    PlainTileTensor::from_tiles(shape.clone(), tiles).unwrap()
}

#[test]
fn dense_at_batch_tiles_uses_scalar_products_on_the_mock() {
    let xs = TileShape::parse("[6/1, */1, 300/256]").unwrap();
    let ws = TileShape::parse("[6/1, 4/1, */256]").unwrap();
    assert!(plan::is_uniform(&ws) && !plan::is_uniform(&xs));
    let (client, ev) = counting_mock(&params(9, 3), &all_keys(256));
    let x = test_array(&[6, 1, 300], 1);
    let w = test_array(&[6, 4, 1], 2);
    let tx = TileTensor::<CMock>::encrypt(&client, &x, xs.clone()).unwrap();
    let pw = PlainTileTensor::<CMock>::encode_for_mul(&ev, &w, ws.clone(), tx.level()).unwrap();
    assert_eq!(pw.constants().map(<[f64]>::len), Some(24));
    assert!(pw.tiles().is_empty());
    assert_eq!(pw.num_tiles(), 24);
    assert!(max_diff(&pw.decode(&client).unwrap(), &w) == 0.0);

    let p = plan::mul_sum(&xs, &ws, Operand::Plaintext, 0).unwrap();
    assert_eq!((p.cost.scalar_mults, p.cost.pt_mults), (48, 0));
    ev.counts.reset();
    let y = tx.mul_sum_plain(&ev, &pw, 0).unwrap();
    assert_counts(&ev.counts, p.cost);
    assert_eq!(y.shape(), &p.output);
    assert_eq!(y.scale(), tx.scale());
    assert_eq!(y.level().0, tx.level().0 - 1);
    let want = dense(&x, &w);
    assert!(max_diff(&y.decrypt(&client).unwrap(), &want) < 1e-9);

    // the encoded path gives the same level, scale and values (and counts plaintext products)
    let pe = encoded::<CMock>(&ev, &w, &ws, tx.level());
    let ye = tx.mul_sum_plain(&ev, &pe, 0).unwrap();
    assert_eq!(ev.counts.snapshot().pt_mults, 48);
    ev.counts.reset();
    assert_eq!((ye.level(), ye.scale()), (y.level(), y.scale()));
    assert!(max_diff(&ye.decrypt(&client).unwrap(), &y.decrypt(&client).unwrap()) < 1e-12);

    // elementwise product with a uniform plaintext: scalar products, as planned
    let vs = TileShape::parse("[6/1, */1, */256]").unwrap();
    let v = test_array(&[6, 1, 1], 3);
    let pv = PlainTileTensor::<CMock>::encode_for_mul(&ev, &v, vs.clone(), tx.level()).unwrap();
    let b = plan::binary(&xs, &vs, BinaryOp::Mul, Operand::Plaintext).unwrap();
    assert_eq!(b.cost.scalar_mults, 12);
    let out = tx.mul_plain(&ev, &pv).unwrap();
    assert_counts(&ev.counts, b.cost);
    assert_eq!(out.scale(), tx.scale());
    let expect = ArrayD::from_shape_fn(IxDyn(&[6, 1, 300]), |ix| {
        x[[ix[0], 0, ix[2]]] * v[[ix[0], 0, 0]]
    });
    assert!(max_diff(&out.decrypt(&client).unwrap(), &expect) < 1e-9);

    // a constant tensor at another level than the ciphertext behaves as the encoded one would
    let low = tx.drop_to_level(&ev, Level(tx.level().0 - 1)).unwrap();
    let from_constants = low.mul_plain(&ev, &pv).map(|t| t.decrypt(&client).unwrap());
    let pve = PlainTileTensor::<CMock>::from_tiles(
        vs.clone(),
        (0..6)
            .map(|k| {
                ev.encode(&[v[[k, 0, 0]]; 256], pv.level(), pv.scale())
                    .unwrap()
            })
            .collect(),
    )
    .unwrap();
    let from_encoded = low
        .mul_plain(&ev, &pve)
        .map(|t| t.decrypt(&client).unwrap());
    match (from_constants, from_encoded) {
        (Ok(a), Ok(b)) => assert!(max_diff(&a, &b) < 1e-12),
        (a, b) => assert_eq!(a.is_err(), b.is_err()),
    }
    // adding constants encoded at the ciphertext's scale
    let q = prime_scale(ev.params(), tx.level()).unwrap();
    let tq = TileTensor::<CMock>::encrypt_at(&client, &x, xs.clone(), tx.level(), q).unwrap();
    let sum = tq.add_plain(&ev, &pv).unwrap();
    let expect = ArrayD::from_shape_fn(IxDyn(&[6, 1, 300]), |ix| {
        x[[ix[0], 0, ix[2]]] + v[[ix[0], 0, 0]]
    });
    assert!(max_diff(&sum.decrypt(&client).unwrap(), &expect) < 1e-9);
}

#[test]
fn dense_at_batch_tiles_on_ckks() {
    let xs = TileShape::parse("[6/1, */1, 512/512]").unwrap();
    let ws = TileShape::parse("[6/1, 4/1, */512]").unwrap();
    let client = CkksClient::new_insecure_seeded_for_tests(
        &params(10, 3),
        &KeyRequirements::none().with_relinearization(),
        7,
    )
    .unwrap();
    let ev = client.evaluator().unwrap();
    let x = test_array(&[6, 1, 512], 4);
    let w = test_array(&[6, 4, 1], 5);
    let tx = TileTensor::<CkksBackend>::encrypt(&client, &x, xs.clone()).unwrap();
    let pw =
        PlainTileTensor::<CkksBackend>::encode_for_mul(&ev, &w, ws.clone(), tx.level()).unwrap();
    assert!(pw.constants().is_some());
    let y = tx.mul_sum_plain(&ev, &pw, 0).unwrap();
    assert_eq!(y.scale(), tx.scale());
    let want = dense(&x, &w);
    let err = max_diff(&y.decrypt(&client).unwrap(), &want);
    assert!(err < 1e-5, "error {err}");
    // the encoded path agrees within CKKS precision, at the same level and scale
    let ye = tx
        .mul_sum_plain(&ev, &encoded::<CkksBackend>(&ev, &w, &ws, tx.level()), 0)
        .unwrap();
    assert_eq!((ye.level(), ye.scale()), (y.level(), y.scale()));
    assert!(max_diff(&ye.decrypt(&client).unwrap(), &want) < 1e-5);
}
