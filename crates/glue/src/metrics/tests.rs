//! Every metric against values worked out by hand (and checked with scikit-learn / scipy).

use super::*;

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-12, "{a} != {b}");
}

#[test]
fn accuracy_counts_matches() {
    close(accuracy(&[0, 1, 1, 0], &[0, 1, 0, 0]), 0.75);
    close(accuracy(&[], &[]), 0.0);
}

#[test]
fn binary_f1_by_hand() {
    // tp = 2, fp = 1, fn = 1: precision 2/3, recall 2/3, F1 2/3.
    close(f1_binary(&[1, 1, 1, 0, 0], &[1, 1, 0, 1, 0], 1), 2.0 / 3.0);
    // No positive predicted and none true: 0, not NaN.
    close(f1_binary(&[0, 0], &[0, 0], 1), 0.0);
}

#[test]
fn macro_f1_by_hand() {
    // gold 0 0 1 2, pred 0 1 1 2: F1(0) = 2/3, F1(1) = 2/3, F1(2) = 1 -> mean 7/9.
    close(f1_macro(&[0, 0, 1, 2], &[0, 1, 1, 2], 3), 7.0 / 9.0);
    // One class present on both sides, all correct: 1.
    close(f1_macro(&[1, 1], &[1, 1], 3), 1.0);
}

#[test]
fn mcc_by_hand_and_degenerate() {
    // tp 2, tn 1, fp 1, fn 1: (2·1 − 1·1) / sqrt(3·3·2·2) = 1/6.
    close(mcc(&[1, 1, 1, 0, 0], &[1, 1, 0, 1, 0], 2), 1.0 / 6.0);
    close(mcc(&[0, 1, 0, 1], &[0, 1, 0, 1], 2), 1.0);
    close(mcc(&[0, 1, 0, 1], &[1, 0, 1, 0], 2), -1.0);
    // Constant predictions, and a single gold class: 0.
    close(mcc(&[0, 1, 1, 0], &[1, 1, 1, 1], 2), 0.0);
    close(mcc(&[1, 1, 1], &[0, 1, 1], 2), 0.0);
    // Three classes: sklearn.metrics.matthews_corrcoef([0,0,1,2],[0,1,1,2]) = 0.7.
    close(mcc(&[0, 0, 1, 2], &[0, 1, 1, 2], 3), 0.7);
}

#[test]
fn pearson_by_hand() {
    close(pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]), 1.0);
    close(pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0);
    // x = 1,2,3,4; y = 1,3,2,4: sxy = 4, sxx = syy = 5 -> 0.8.
    close(pearson(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]), 0.8);
    close(pearson(&[1.0, 2.0, 3.0], &[5.0, 5.0, 5.0]), 0.0);
    close(pearson(&[1.0], &[2.0]), 0.0);
    // Constant up to rounding: 0.1 three times has a mean that is not 0.1 exactly.
    close(pearson(&[1.0, 2.0, 3.0], &[0.1, 0.1, 0.1]), 0.0);
}

#[test]
fn spearman_averages_tied_ranks() {
    assert_eq!(ranks(&[10.0, 20.0, 20.0, 30.0]), [1.0, 2.5, 2.5, 4.0]);
    // Ranks x: 1, 2.5, 2.5, 4; y: 1, 2, 3, 4 -> Pearson of those = 0.9486832980505138
    // (scipy.stats.spearmanr([1,2,2,3],[1,2,3,4])).
    assert!((spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]) - 0.9486832980505138).abs() < 1e-12);
    // Monotone but not linear: 1.
    close(spearman(&[1.0, 2.0, 3.0, 4.0], &[1.0, 8.0, 27.0, 64.0]), 1.0);
    close(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), 0.0);
}

#[test]
fn confusion_rows_are_gold() {
    assert_eq!(confusion(&[0, 0, 1], &[1, 0, 1], 2), [[1, 1], [0, 1]]);
}

#[test]
fn suite_score_is_mean_of_task_means() {
    // A task with two metrics contributes their mean.
    let tasks = [task_score(&[0.8, 0.6]), task_score(&[0.5])];
    close(suite_score(&tasks), 0.6);
}

#[test]
fn metric_names_round_trip() {
    for m in Metric::ALL {
        assert_eq!(Metric::parse(m.name()), Some(m));
    }
    assert_eq!(Metric::parse("bleu"), None);
}
