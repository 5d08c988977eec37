//! `Model::forward_encrypted_observed`: the per-node hook used for per-layer profiling and
//! progress (called once per node, in order, after the node ran) leaves the result unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{counting_mock, cryptonets, params, uniform, CMock};
use hetile_layers::Packing;
use std::time::Duration;

#[test]
fn observer_sees_every_node_once_in_order_and_changes_nothing() {
    let model = cryptonets();
    let packing = Packing::new([32, 16, 4]).unwrap();
    let x = uniform(&[2, 1, 28, 28], 0.0, 1.0, 9);
    let plan = model.plan(&packing, 2).unwrap();
    let p = params(12, plan.depth);
    let (client, ev) = counting_mock(&p, &plan.keys);
    let ct = model.encrypt_input::<CMock>(&client, &x, &packing).unwrap();

    let mut seen: Vec<(usize, Duration)> = Vec::new();
    let observed = model
        .forward_encrypted_observed::<CMock>(&ev, &ct, |i, d| seen.push((i, d)))
        .unwrap();
    let plain = model.forward_encrypted::<CMock>(&ev, &ct).unwrap();

    let indices: Vec<usize> = seen.iter().map(|(i, _)| *i).collect();
    assert_eq!(indices, (0..model.nodes().len()).collect::<Vec<_>>());
    // the dense 845 -> 100 layer does real work: its time is not zero
    assert!(seen[3].1 > Duration::ZERO);
    let a = model.decrypt_output::<CMock>(&client, &observed).unwrap();
    let b = model.decrypt_output::<CMock>(&client, &plain).unwrap();
    assert_eq!(a, b);
}

#[test]
fn observer_is_not_called_when_the_input_is_too_shallow() {
    let model = cryptonets();
    let packing = Packing::new([32, 16, 4]).unwrap();
    let x = uniform(&[2, 1, 28, 28], 0.0, 1.0, 9);
    let plan = model.plan(&packing, 2).unwrap();
    // one level short of the model's depth: refused before any node runs
    let p = params(12, plan.depth - 1);
    let (client, ev) = counting_mock(&p, &plan.keys);
    let ct = model.encrypt_input::<CMock>(&client, &x, &packing).unwrap();
    let mut calls = 0usize;
    let r = model.forward_encrypted_observed::<CMock>(&ev, &ct, |_, _| calls += 1);
    assert!(r.is_err());
    assert_eq!(calls, 0);
}
