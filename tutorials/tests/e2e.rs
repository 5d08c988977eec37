//! End-to-end tutorial runs on a few samples: the mock backend (optimizer plan and manual
//! plans) and the native CKKS backend with small insecure test parameters.

mod common;
use common::manual;

use hetile_tutorials::{fraud, mnist, BackendKind, TutorialOptions};

#[test]
fn fraud_on_the_mock_with_the_optimizer_plan() {
    let opts = TutorialOptions {
        limit: Some(300),
        backend: BackendKind::Mock,
        ..TutorialOptions::default()
    };
    let r = fraud::run(&opts).unwrap();
    assert_eq!(r.samples, 300);
    assert!(r.frauds > 0, "the first 300 sample rows hold frauds");
    assert!(r.plan_source.contains("optimize"), "{}", r.plan_source);
    assert!(r.plan.params.log_n >= 13);
    // the mock is exact up to encoding: same scores, same decisions, same metrics
    assert!(r.max_abs_score_error < 1e-6, "{}", r.max_abs_score_error);
    assert_eq!(r.decision_agreement, 1.0);
    assert_eq!(r.plaintext.roc_auc, r.encrypted.roc_auc);
    assert!(
        r.plaintext.roc_auc.unwrap() > 0.8,
        "{:?}",
        r.plaintext.roc_auc
    );
    assert!(r.predicted.latency_seconds > 0.0);
    assert_eq!(r.run.batches, 300usize.div_ceil(r.plan.batch_size));
    assert!(!r.run.serialized);
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["encrypted"]["pr_auc"].is_number());
}

#[test]
fn fraud_on_native_ckks_small_batch() {
    let opts = manual(12, 8, BackendKind::Ckks, 20);
    let r = fraud::run(&opts).unwrap();
    assert_eq!((r.samples, r.run.batches), (20, 3));
    assert!(r.run.serialized && r.run.public_context_bytes > 0 && r.run.request_bytes > 0);
    // CKKS noise: scores agree to well below the decision scale
    assert!(r.max_abs_score_error < 1e-2, "{}", r.max_abs_score_error);
    assert_eq!(r.decision_agreement, 1.0);
    assert!(r.plan_source.contains("INSECURE"));
}

#[test]
fn mnist_on_the_mock() {
    let r = mnist::run(&manual(13, 4, BackendKind::Mock, 6)).unwrap();
    assert_eq!(r.samples, 6);
    assert_eq!(r.argmax_agreement, 1.0);
    assert!(r.max_abs_logit_error < 1e-6, "{}", r.max_abs_logit_error);
    assert_eq!(r.plaintext_accuracy, r.encrypted_accuracy);
    assert!(
        r.plaintext_accuracy >= 5.0 / 6.0,
        "{}",
        r.plaintext_accuracy
    );
    assert_eq!(r.latency_plan.batch_size, 1);
    assert_eq!(r.run.batches, 2);
}
