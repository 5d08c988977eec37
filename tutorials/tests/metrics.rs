//! Metrics against hand-computed values.

use approx::assert_relative_eq;
use hetile_tutorials::metrics::*;
use hetile_tutorials::TutorialError;

const L: [bool; 4] = [true, false, true, false];
const S: [f64; 4] = [0.9, 0.8, 0.4, 0.1];

#[test]
fn roc_auc_counts_ordered_pairs() {
    // pairs (pos, neg): 0.9>0.8, 0.9>0.1, 0.4>0.1 win, 0.4<0.8 loses: 3 of 4
    assert_relative_eq!(roc_auc(&L, &S).unwrap(), 0.75);
    // perfect and reversed rankings
    assert_relative_eq!(roc_auc(&L, &[0.9, 0.1, 0.8, 0.2]).unwrap(), 1.0);
    assert_relative_eq!(roc_auc(&L, &[0.1, 0.9, 0.2, 0.8]).unwrap(), 0.0);
    // a tie counts one half
    assert_relative_eq!(roc_auc(&[true, false], &[0.5, 0.5]).unwrap(), 0.5);
    // 2 positives, 3 negatives, one tie between a positive and a negative:
    // pos 0.7 beats all 3 negatives; pos 0.3 beats 0.1, ties 0.3, loses to 0.5 -> 4.5 / 6
    let l = [true, false, true, false, false];
    let s = [0.7, 0.5, 0.3, 0.3, 0.1];
    assert_relative_eq!(roc_auc(&l, &s).unwrap(), 4.5 / 6.0);
}

#[test]
fn average_precision_is_the_step_area() {
    // 0.9 (P 1, R 0.5), 0.4 (P 2/3, R 1): 0.5 x 1 + 0.5 x 2/3
    assert_relative_eq!(average_precision(&L, &S).unwrap(), 0.5 + 1.0 / 3.0);
    // a tied group is one threshold: P 1/2 at R 1
    assert_relative_eq!(average_precision(&[true, false], &[0.5, 0.5]).unwrap(), 0.5);
    assert_relative_eq!(average_precision(&L, &[0.9, 0.1, 0.8, 0.2]).unwrap(), 1.0);
}

#[test]
fn recall_at_precision_picks_the_best_threshold() {
    let p = recall_at_precision(&L, &S, 0.9).unwrap();
    assert_relative_eq!(p.recall, 0.5);
    assert_relative_eq!(p.precision, 1.0);
    assert_relative_eq!(p.threshold, 0.9);
    let p = recall_at_precision(&L, &S, 0.6).unwrap();
    assert_relative_eq!(p.recall, 1.0);
    assert_relative_eq!(p.precision, 2.0 / 3.0);
    assert_relative_eq!(p.threshold, 0.4);
    // unreachable precision: recall 0 above every score
    let p = recall_at_precision(&[false, true], &[0.9, 0.1], 0.9).unwrap();
    assert_relative_eq!(p.recall, 0.0);
    assert!(p.threshold > 0.9);
    assert!(recall_at_precision(&L, &S, 0.0).is_err());
    assert!(recall_at_precision(&L, &S, 1.5).is_err());
}

#[test]
fn confusion_and_agreement() {
    let c = Confusion::at(&L, &S, 0.5).unwrap();
    assert_eq!(
        c,
        Confusion {
            true_positives: 1,
            false_positives: 1,
            true_negatives: 1,
            false_negatives: 1
        }
    );
    let c = Confusion::at(&L, &S, 0.4).unwrap();
    assert_eq!((c.true_positives, c.false_negatives), (2, 0));
    assert_relative_eq!(
        decision_agreement(&[1.0, -1.0, 2.0], &[1.0, 1.0, -2.0], 0.0).unwrap(),
        1.0 / 3.0
    );
    assert!(decision_agreement(&[1.0], &[], 0.0).is_err());
    assert!(Confusion::at(&L, &S[..3], 0.5).is_err());
}

#[test]
fn argmax_and_accuracy() {
    assert_eq!(
        argmax_rows(&[0.0, 2.0, 1.0, 3.0, 3.0, 0.0], 3).unwrap(),
        vec![1, 0]
    );
    assert!(argmax_rows(&[1.0, 2.0], 3).is_err());
    assert!(argmax_rows(&[1.0], 0).is_err());
    assert_relative_eq!(fraction_equal(&[1, 2, 3, 4], &[1, 0, 3, 0]).unwrap(), 0.5);
    assert!(fraction_equal(&[], &[]).is_err());
}

#[test]
fn undefined_metrics_are_errors() {
    for r in [
        roc_auc(&[true, true], &[0.1, 0.2]),
        roc_auc(&[true, false], &[0.1]),
        roc_auc(&[true, false], &[f64::NAN, 0.2]),
        average_precision(&[false, false], &[0.1, 0.2]),
    ] {
        assert!(matches!(r, Err(TutorialError::Metric { .. })), "{r:?}");
    }
}
