//! Cases for reductions, arg-reductions and the softmax family.

use super::reference::Ref;
use super::{Domain, Suite, View};
use crate::{ArgReduceOp, Composite, DType, ReduceOp};

pub(super) fn run(s: &mut Suite) {
    reductions(s);
    arg_reductions(s);
    softmax_family(s);
}

fn views_for(dims: &[usize]) -> Vec<View> {
    let large = dims.iter().product::<usize>() > 10_000;
    View::ALL
        .into_iter()
        .filter(|v| v.applies(dims) && (!large || matches!(v, View::Contiguous | View::Transposed)))
        .collect()
}

fn reductions(s: &mut Suite) {
    let cases: [(&[usize], &[&[usize]]); 6] = [
        (&[7], &[&[0]]),
        (&[3, 4, 5], &[&[0], &[2], &[0, 2], &[0, 1, 2], &[1]]),
        (&[2, 0, 3], &[&[1], &[0]]),
        (&[1, 1], &[&[0, 1]]),
        (&[64, 600], &[&[1], &[0]]),
        // A convolution's bias gradient (batch and plane axes), and leading axes only.
        (&[2, 3, 4, 5], &[&[0, 2, 3], &[0, 1]]),
    ];
    for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min] {
        let name = format!("reduce:{}", format!("{op:?}").to_lowercase());
        for (dims, axes_sets) in cases {
            for &axes in axes_sets {
                for view in views_for(dims) {
                    let (t, r) = s.input(dims, view, Domain::Any);
                    let (want, magnitude) = r.reduce(op, axes);
                    let signed: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
                    let got = t.try_reduce(op, &signed, true);
                    s.record(
                        &name,
                        None,
                        format!("{dims:?} axes {axes:?} {view:?}"),
                        Suite::compare(got, &want, Some(&magnitude)),
                    );
                }
            }
        }
        let (t, r) = s.input_typed(&[3, 4, 5], View::Transposed, Domain::Any, DType::I64);
        let (want, _) = r.reduce(op, &[0, 2]);
        s.record(&name, None, "i64".into(), Suite::compare(t.try_reduce(op, &[0, 2], true), &want, None));
    }
    // mean: the sum scaled, in the tensor layer.
    let (t, r) = s.input(&[3, 4, 5], View::Flipped, Domain::Any);
    let (sum, magnitude) = r.reduce(ReduceOp::Sum, &[1]);
    let want = Ref { dims: vec![3, 5], data: sum.data.iter().map(|v| v / 4.0).collect() };
    s.record_tensor_layer(
        "mean",
        "[3, 4, 5] axis 1".into(),
        Suite::compare(t.try_mean(&[1], false), &want, Some(&magnitude)),
    );
}

fn arg_reductions(s: &mut Suite) {
    for op in [ArgReduceOp::ArgMax, ArgReduceOp::ArgMin] {
        let name = format!("arg_reduce:{}", format!("{op:?}").to_lowercase());
        for (dims, axis) in [(&[7][..], 0), (&[3, 4, 5], 0), (&[3, 4, 5], 1), (&[3, 4, 5], 2), (&[64, 600], 1)] {
            for view in views_for(dims) {
                for domain in [Domain::Any, Domain::Discrete] {
                    let (t, r) = s.input(dims, view, domain);
                    let got = t.try_arg_reduce(op, axis as isize, true);
                    s.record(
                        &name,
                        None,
                        format!("{dims:?} axis {axis} {view:?} {domain:?}"),
                        Suite::compare(got, &r.arg_reduce(op, axis), None),
                    );
                }
            }
        }
        let (t, r) = s.input_typed(&[4, 6], View::Flipped, Domain::Any, DType::I64);
        s.record(&name, None, "i64".into(), Suite::compare(t.try_arg_reduce(op, 1, true), &r.arg_reduce(op, 1), None));
    }
}

fn softmax_family(s: &mut Suite) {
    for (dims, axis) in
        [(&[5][..], 0usize), (&[3, 4, 5], 0), (&[3, 4, 5], 1), (&[3, 4, 5], 2), (&[64, 600], 1), (&[2, 0, 3], 2)]
    {
        for view in views_for(dims) {
            for domain in [Domain::Any, Domain::Large] {
                let (t, r) = s.input(dims, view, domain);
                let case = format!("{dims:?} axis {axis} {view:?} {domain:?}");
                let want = r.softmax(axis, false);
                s.record(
                    "softmax",
                    Some(Composite::Softmax),
                    case.clone(),
                    Suite::compare(t.try_softmax(axis as isize), &want, None),
                );
                let want = r.softmax(axis, true);
                // log-softmax of large inputs subtracts values near 1000: scale the tolerance.
                let magnitude: Vec<f64> = r.data.iter().map(|v| v.abs()).collect();
                s.record(
                    "log_softmax",
                    Some(Composite::LogSoftmax),
                    case.clone(),
                    Suite::compare(t.try_log_softmax(axis as isize), &want, Some(&magnitude)),
                );
                if dims.iter().product::<usize>() > 0 {
                    let lse = r.logsumexp(axis);
                    let (lane_magnitude, _) =
                        Ref { dims: r.dims.clone(), data: magnitude }.reduce(ReduceOp::Max, &[axis]);
                    let got = t.try_logsumexp(axis as isize, true);
                    s.record_tensor_layer("logsumexp", case, Suite::compare(got, &lse, Some(&lane_magnitude.data)));
                }
            }
        }
    }
}
