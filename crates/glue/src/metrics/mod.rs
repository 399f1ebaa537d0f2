//! GLUE's metrics, implemented once: accuracy, F1 (binary and macro), Matthews correlation,
//! Pearson and Spearman (ties take their mean rank), the confusion matrix, and the suite score
//! (the unweighted mean over tasks of each task's mean metric).
//!
//! Degenerate inputs have defined values rather than NaN: an empty set scores 0, a correlation
//! with a constant side is 0 (as scikit-learn's MCC for constant predictions), and a class with
//! no prediction and no gold example has precision, recall and F1 of 0.

#[cfg(test)]
mod tests;

/// A metric a task can name in its spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Share of predictions equal to the gold label (token accuracy for tagging).
    Accuracy,
    /// F1 of class 1 (the second label of the spec's `labels`).
    F1,
    /// Unweighted mean of the per-class F1 over the classes seen in gold or predictions.
    MacroF1,
    /// Matthews correlation coefficient (multi-class form; binary is the usual phi).
    Mcc,
    /// Pearson correlation of predicted and gold scores.
    Pearson,
    /// Spearman rank correlation (ties share their mean rank).
    Spearman,
}

impl Metric {
    /// Every metric, in the order they are listed to users.
    pub const ALL: [Metric; 6] =
        [Metric::Accuracy, Metric::F1, Metric::MacroF1, Metric::Mcc, Metric::Pearson, Metric::Spearman];

    /// The spec name (`accuracy`, `f1`, `macro_f1`, `mcc`, `pearson`, `spearman`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::F1 => "f1",
            Metric::MacroF1 => "macro_f1",
            Metric::Mcc => "mcc",
            Metric::Pearson => "pearson",
            Metric::Spearman => "spearman",
        }
    }

    /// The metric of a spec name.
    pub fn parse(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether the metric compares real-valued scores (else class ids).
    pub fn is_regression(self) -> bool {
        matches!(self, Metric::Pearson | Metric::Spearman)
    }

    /// The metric of class predictions against gold classes (`classes` of them).
    pub fn of_classes(self, gold: &[usize], predicted: &[usize], classes: usize) -> f64 {
        match self {
            Metric::Accuracy => accuracy(gold, predicted),
            Metric::F1 => f1_binary(gold, predicted, 1),
            Metric::MacroF1 => f1_macro(gold, predicted, classes),
            Metric::Mcc => mcc(gold, predicted, classes),
            Metric::Pearson | Metric::Spearman => {
                let g: Vec<f64> = gold.iter().map(|&c| c as f64).collect();
                let p: Vec<f64> = predicted.iter().map(|&c| c as f64).collect();
                self.of_scores(&g, &p)
            }
        }
    }

    /// The metric of score predictions against gold scores (a correlation).
    pub fn of_scores(self, gold: &[f64], predicted: &[f64]) -> f64 {
        match self {
            Metric::Spearman => spearman(gold, predicted),
            _ => pearson(gold, predicted),
        }
    }
}

/// Share of `predicted` equal to `gold` (0 for none).
pub fn accuracy(gold: &[usize], predicted: &[usize]) -> f64 {
    if gold.is_empty() {
        return 0.0;
    }
    gold.iter().zip(predicted).filter(|(g, p)| g == p).count() as f64 / gold.len() as f64
}

/// `counts[gold][predicted]` over `classes` classes (ids past the end are counted in the last
/// row or column rather than dropped).
pub fn confusion(gold: &[usize], predicted: &[usize], classes: usize) -> Vec<Vec<u64>> {
    let classes = classes.max(1);
    let mut counts = vec![vec![0u64; classes]; classes];
    for (&g, &p) in gold.iter().zip(predicted) {
        counts[g.min(classes - 1)][p.min(classes - 1)] += 1;
    }
    counts
}

fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 { 0.0 } else { num / den }
}

/// F1 of one class: the harmonic mean of its precision and recall (0 when both are 0).
pub fn f1_binary(gold: &[usize], predicted: &[usize], positive: usize) -> f64 {
    let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
    for (&g, &p) in gold.iter().zip(predicted) {
        match (g == positive, p == positive) {
            (true, true) => tp += 1.0,
            (false, true) => fp += 1.0,
            (true, false) => fn_ += 1.0,
            (false, false) => {}
        }
    }
    ratio(2.0 * tp, 2.0 * tp + fp + fn_)
}

/// Mean per-class F1 over the classes below `classes` that occur in gold or predictions.
pub fn f1_macro(gold: &[usize], predicted: &[usize], classes: usize) -> f64 {
    let seen: Vec<usize> = (0..classes).filter(|c| gold.contains(c) || predicted.contains(c)).collect();
    if seen.is_empty() {
        return 0.0;
    }
    seen.iter().map(|&c| f1_binary(gold, predicted, c)).sum::<f64>() / seen.len() as f64
}

/// Matthews correlation in its multi-class form (Gorodkin 2004), which is phi for two classes:
/// `(c·s − Σ p_k t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²))` with `c` correct, `s` samples, `p_k`
/// predicted and `t_k` true counts. 0 when either side is constant.
pub fn mcc(gold: &[usize], predicted: &[usize], classes: usize) -> f64 {
    let table = confusion(gold, predicted, classes);
    let k = table.len();
    let s: f64 = table.iter().flatten().map(|&n| n as f64).sum();
    let c: f64 = (0..k).map(|i| table[i][i] as f64).sum();
    let t: Vec<f64> = (0..k).map(|i| table[i].iter().map(|&n| n as f64).sum()).collect();
    let p: Vec<f64> = (0..k).map(|j| table.iter().map(|row| row[j] as f64).sum()).collect();
    let pt: f64 = p.iter().zip(&t).map(|(a, b)| a * b).sum();
    let pp: f64 = p.iter().map(|a| a * a).sum();
    let tt: f64 = t.iter().map(|a| a * a).sum();
    let den = ((s * s - pp) * (s * s - tt)).sqrt();
    ratio(c * s - pt, den)
}

/// Pearson correlation (0 for fewer than two pairs or a constant side).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n < 2 {
        return 0.0;
    }
    let (mx, my) = (x[..n].iter().sum::<f64>() / n as f64, y[..n].iter().sum::<f64>() / n as f64);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    // A side that is constant up to rounding (its mean is not exactly representable) has no
    // correlation: treat a spread below 1e-12 of its magnitude as none.
    let tiny = |ss: f64, v: &[f64]| ss <= 1e-24 * v.iter().map(|a| a * a).sum::<f64>();
    if tiny(sxx, &x[..n]) || tiny(syy, &y[..n]) {
        return 0.0;
    }
    ratio(sxy, (sxx * syy).sqrt())
}

/// 1-based ranks, tied values sharing the mean of the ranks they span.
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Ranks start+1 ..= end share their mean.
        let mean = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            out[i] = mean;
        }
        start = end;
    }
    out
}

/// Spearman correlation: Pearson of the (tie-averaged) ranks.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// A task's score: the mean of its metrics' values.
pub fn task_score(values: &[f64]) -> f64 {
    if values.is_empty() { 0.0 } else { values.iter().sum::<f64>() / values.len() as f64 }
}

/// GLUE's suite score: the unweighted mean of the task scores.
pub fn suite_score(task_scores: &[f64]) -> f64 {
    task_score(task_scores)
}
