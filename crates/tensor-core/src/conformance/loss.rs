//! Cases for the fused softmax cross-entropy, against its definition written out in f64:
//! `lse = ln Σ_j e^{x_j}` (computed around the row's maximum), `loss = lse - x[label]`, and
//! the gradient `g · (e^{x_j - lse} - [j = label])`.

use super::{Domain, Suite, View};
use crate::conformance::reference::Ref;
use crate::{Composite, HostBuffer, Tensor, TensorError};

pub(crate) fn run(s: &mut Suite) {
    for (rows, classes) in [(1usize, 1usize), (3, 5), (20, 64), (7, 1000), (0, 4)] {
        for view in View::ALL {
            for domain in [Domain::Any, Domain::Large] {
                let case = format!("[{rows}, {classes}] {view:?} {domain:?}");
                let (logits, logits_ref) = s.input(&[rows, classes], view, domain);
                let (labels, labels_ref) = s.index(&[rows], classes);
                let labels_at: Vec<usize> = labels_ref.data.iter().map(|&l| l as usize).collect();
                let (lse, loss, magnitude) = forward(&logits_ref, &labels_at);
                let got = logits.try_cross_entropy(&labels);
                let (got_loss, got_lse) = match got {
                    Ok((loss, lse)) => (Ok(loss), Ok(lse)),
                    Err(e) => (Err(e.clone()), Err(e)),
                };
                let outcome = Suite::compare(got_loss, &Ref { dims: vec![rows], data: loss }, Some(&magnitude))
                    .and_then(|()| Suite::compare(got_lse, &Ref { dims: vec![rows], data: lse.clone() }, None));
                s.record("cross_entropy", Some(Composite::CrossEntropy), case.clone(), outcome);
                let (grad, grad_ref) = s.input(&[rows], View::Contiguous, Domain::Any);
                let lse_tensor = upload(s, &lse, rows);
                let (want, magnitude) = backward(&logits_ref, &labels_at, &lse, &grad_ref.data);
                let got = logits.try_cross_entropy_backward(&labels, &lse_tensor, &grad);
                s.record(
                    "cross_entropy_backward",
                    Some(Composite::CrossEntropyBackward),
                    case,
                    Suite::compare(got, &want, Some(&magnitude)),
                );
            }
        }
    }
    let (logits, _) = s.input(&[2, 3], View::Contiguous, Domain::Any);
    let bad = Tensor::from_vec(vec![1i64, 3], [2], &s.device).expect("upload");
    let outcome = match logits.try_cross_entropy(&bad) {
        Err(TensorError::IndexOutOfRange { .. }) => Ok(()),
        other => Err(format!("a label outside 0..3 gave {:?}", other.map(|_| ()))),
    };
    s.record("cross_entropy", Some(Composite::CrossEntropy), "label out of range".into(), outcome);
}

/// The reference `lse` rounded to the suite's dtype, as a device tensor.
fn upload(s: &Suite, values: &[f64], rows: usize) -> Tensor {
    let mut rounded = values.to_vec();
    Suite::round(s.dtype, &mut rounded);
    Tensor::from_buffer(HostBuffer::from_f64(s.dtype, &rounded), [rows], &s.device).expect("upload")
}

/// Per row: `lse`, the loss, and the magnitude of the terms behind the loss.
fn forward(x: &Ref, labels: &[usize]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let classes = x.dims[1];
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for (r, &label) in labels.iter().enumerate() {
        let row = &x.data[r * classes..(r + 1) * classes];
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + row.iter().map(|&v| (v - max).exp()).sum::<f64>().ln();
        out.0.push(lse);
        out.1.push(lse - row[label]);
        out.2.push(lse.abs() + row[label].abs());
    }
    out
}

/// The gradient `[N, C]` and the magnitude behind each element.
fn backward(x: &Ref, labels: &[usize], lse: &[f64], grad: &[f64]) -> (Ref, Vec<f64>) {
    let classes = x.dims[1];
    let mut data = vec![0.0; x.data.len()];
    let mut magnitude = vec![0.0; x.data.len()];
    for (r, &label) in labels.iter().enumerate() {
        for j in 0..classes {
            let p = (x.data[r * classes + j] - lse[r]).exp();
            let onehot = if j == label { 1.0 } else { 0.0 };
            data[r * classes + j] = grad[r] * (p - onehot);
            // The rounding of lse (|lse| ulps) moves p by that much relative to itself.
            magnitude[r * classes + j] = grad[r].abs() * (p * (1.0 + lse[r].abs()) + onehot);
        }
    }
    (Ref { dims: x.dims.clone(), data }, magnitude)
}
