//! Attention in f64 from its definition: for each query row, the scores of the keys it may see
//! (written out from the mask's definition here, not through [`crate::AttentionMask`]'s own
//! method), their softmax ([`formulas::softmax`]) and log-sum-exp, and the backward through the
//! softmax Jacobian, `dS_ij = p_ij (dP_ij - Σ_k p_ik dP_ik)`, from the probabilities (the
//! device computes `Σ_k p_ik dP_ik` as `rowsum(dO ⊙ O)` instead).
//!
//! Each result comes with the magnitude of the terms behind it, for the tolerance: the sums of
//! absolute products, widened by `1 + 2·σ` where `σ` is the row's largest sum of absolute score
//! terms (an error of `ε·σ` in a score moves `e^s` by that much relative, and normalising can
//! double it).

use crate::conformance::formulas;
use crate::conformance::reference::Ref;

/// The sizes and mask of one case.
#[derive(Clone, Debug)]
pub(crate) struct Problem {
    /// `[B, H, Tq, Tk, d, dv]`.
    pub sizes: [usize; 6],
    pub causal: bool,
    pub key_lengths: Option<Vec<usize>>,
    pub scale: f64,
}

/// Results and the magnitude of the terms behind each element.
pub(crate) struct Expected {
    pub value: Ref,
    pub magnitude: Vec<f64>,
    /// The magnitude with each probability and score gradient replaced by the largest of the
    /// problem: the scale of the error when a product unit rounds its operands relative to the
    /// whole matrix (int8 with one scale per matrix), where a tiny probability may round to 0.
    pub coarse: Vec<f64>,
}

impl Expected {
    fn zeros(dims: &[usize]) -> Expected {
        let len = dims.iter().product();
        Expected {
            value: Ref { dims: dims.to_vec(), data: vec![0.0; len] },
            magnitude: vec![0.0; len],
            coarse: vec![0.0; len],
        }
    }
}

/// One query row: the keys it sees, their probabilities and the row's score magnitude `σ`.
struct Row {
    keys: Vec<usize>,
    probs: Vec<f64>,
    lse: f64,
    widen: f64,
}

impl Problem {
    /// Whether query `i` of batch entry `b` may see key `j`, from the definitions: causal
    /// bottom-right (`j <= i + Tk - Tq`) and key padding (`j < key_lengths[b]`).
    fn sees(&self, b: usize, i: usize, j: usize) -> bool {
        let [_, _, tq, tk, _, _] = self.sizes;
        let causal_ok = !self.causal || j as i64 <= i as i64 + tk as i64 - tq as i64;
        let padding_ok = self.key_lengths.as_ref().is_none_or(|lengths| j < lengths[b]);
        causal_ok && padding_ok
    }

    fn row(&self, q: &Ref, k: &Ref, [b, h, i]: [usize; 3]) -> Row {
        let [_, _, _, tk, d, _] = self.sizes;
        let keys: Vec<usize> = (0..tk).filter(|&j| self.sees(b, i, j)).collect();
        // q_i · k_j and the sum of its absolute terms.
        let dot = |j: usize| -> (f64, f64) {
            let terms = (0..d).map(|p| q.at(&[b, h, i, p]) * k.at(&[b, h, j, p]));
            terms.fold((0.0, 0.0), |(sum, abs), t| (sum + t, abs + t.abs()))
        };
        let dots: Vec<(f64, f64)> = keys.iter().map(|&j| dot(j)).collect();
        let scores: Vec<f64> = dots.iter().map(|(dot, _)| self.scale * dot).collect();
        let sigma = dots.iter().map(|(_, abs)| self.scale.abs() * abs).fold(0.0, f64::max);
        if keys.is_empty() {
            return Row { keys, probs: vec![], lse: f64::NEG_INFINITY, widen: 1.0 };
        }
        Row {
            probs: formulas::softmax(&scores, false),
            lse: formulas::logsumexp(&scores),
            keys,
            widen: 1.0 + 2.0 * sigma,
        }
    }

    /// Every row's [`Row`], indexed `[b][h][i]` flattened.
    fn rows(&self, q: &Ref, k: &Ref) -> Vec<Row> {
        let [bs, hs, tq, _, _, _] = self.sizes;
        let mut rows = Vec::with_capacity(bs * hs * tq);
        for b in 0..bs {
            for h in 0..hs {
                for i in 0..tq {
                    rows.push(self.row(q, k, [b, h, i]));
                }
            }
        }
        rows
    }

    /// `(out, lse)`.
    pub(crate) fn forward(&self, q: &Ref, k: &Ref, v: &Ref) -> (Expected, Expected) {
        let [bs, hs, tq, _, _, dv] = self.sizes;
        let mut out = Expected::zeros(&[bs, hs, tq, dv]);
        let mut lse = Expected::zeros(&[bs, hs, tq]);
        let rows = self.rows(q, k);
        let p_max = rows.iter().flat_map(|row| row.probs.iter().copied()).fold(0.0, f64::max);
        for (r, row) in rows.iter().enumerate() {
            let (b, h) = (r / (hs * tq), r / tq % hs);
            lse.value.data[r] = row.lse;
            lse.magnitude[r] = row.widen;
            lse.coarse[r] = row.widen;
            for c in 0..dv {
                let at = r * dv + c;
                for (&j, &p) in row.keys.iter().zip(&row.probs) {
                    let value = v.at(&[b, h, j, c]);
                    out.value.data[at] += p * value;
                    out.magnitude[at] += (p * value).abs() * row.widen;
                    out.coarse[at] += (p_max * value).abs() * row.widen;
                }
            }
        }
        (out, lse)
    }

    /// `(dq, dk, dv)` for the output gradient `grad`.
    pub(crate) fn backward(&self, q: &Ref, k: &Ref, v: &Ref, grad: &Ref) -> [Expected; 3] {
        let [bs, hs, tq, tk, d, dv] = self.sizes;
        let mut dq = Expected::zeros(&[bs, hs, tq, d]);
        let mut dk = Expected::zeros(&[bs, hs, tk, d]);
        let mut dvs = Expected::zeros(&[bs, hs, tk, dv]);
        let rows = self.rows(q, k);
        // Per row and seen key: dS_ij and the magnitude of its terms.
        let grad_scores: Vec<Vec<(f64, f64)>> = rows
            .iter()
            .enumerate()
            .map(|(r, row)| {
                let (b, h, i) = (r / (hs * tq), r / tq % hs, r % tq);
                // dP_ij = Σ_c dO_ic v_jc and the sums of its absolute terms.
                let grad_probs: Vec<(f64, f64)> = row
                    .keys
                    .iter()
                    .map(|&j| {
                        let terms = (0..dv).map(|c| grad.at(&[b, h, i, c]) * v.at(&[b, h, j, c]));
                        terms.fold((0.0, 0.0), |(sum, abs), t| (sum + t, abs + t.abs()))
                    })
                    .collect();
                let centre: f64 = row.probs.iter().zip(&grad_probs).map(|(p, (dp, _))| p * dp).sum();
                let centre_abs: f64 = row.probs.iter().zip(&grad_probs).map(|(p, (_, abs))| p * abs).sum();
                let per_key = row.probs.iter().zip(&grad_probs);
                per_key.map(|(p, (dp, abs))| (p * (dp - centre), p * (abs + centre_abs) * row.widen)).collect()
            })
            .collect();
        let p_max = rows.iter().flat_map(|row| row.probs.iter().copied()).fold(0.0, f64::max);
        let ds_max = grad_scores.iter().flatten().map(|&(_, mag)| mag).fold(0.0, f64::max);
        for (r, (row, scores)) in rows.iter().zip(&grad_scores).enumerate() {
            let (b, h, i) = (r / (hs * tq), r / tq % hs, r % tq);
            for ((&j, &p), &(ds, ds_mag)) in row.keys.iter().zip(&row.probs).zip(scores) {
                for x in 0..d {
                    let (qi, kj) = ([b, h, i, x], [b, h, j, x]);
                    let (at_q, at_k) = (dq.value.index(&qi), dk.value.index(&kj));
                    dq.value.data[at_q] += self.scale * ds * k.at(&kj);
                    dq.magnitude[at_q] += self.scale.abs() * ds_mag * k.at(&kj).abs();
                    dq.coarse[at_q] += self.scale.abs() * ds_max * k.at(&kj).abs();
                    dk.value.data[at_k] += self.scale * ds * q.at(&qi);
                    dk.magnitude[at_k] += self.scale.abs() * ds_mag * q.at(&qi).abs();
                    dk.coarse[at_k] += self.scale.abs() * ds_max * q.at(&qi).abs();
                }
                for c in 0..dv {
                    let at_v = dvs.value.index(&[b, h, j, c]);
                    let term = p * grad.at(&[b, h, i, c]);
                    dvs.value.data[at_v] += term;
                    dvs.magnitude[at_v] += term.abs() * row.widen;
                    dvs.coarse[at_v] += (p_max * grad.at(&[b, h, i, c])).abs() * row.widen;
                }
            }
        }
        [dq, dk, dvs]
    }
}
