//! Cases for creation, transfer, views, elementwise ops, casts and movement.

use super::reference::Ref;
use super::{Domain, Suite, View};
use crate::{BinaryOp, Composite, DType, Tensor, UnaryOp};

const SHAPES: [&[usize]; 7] = [&[], &[1], &[7], &[3, 1, 5], &[2, 0, 3], &[4, 9], &[48, 700]];

/// Views worth trying for a shape (large shapes only contiguously, to stay quick).
fn views(dims: &[usize]) -> Vec<View> {
    let large = dims.iter().product::<usize>() > 10_000;
    View::ALL.into_iter().filter(|v| v.applies(dims) && (!large || *v == View::Contiguous)).collect()
}

pub(super) fn run(s: &mut Suite) {
    transfer(s);
    unary(s);
    binary(s);
    where_select(s);
    cast(s);
    views_and_copies(s);
    movement(s);
}

fn transfer(s: &mut Suite) {
    for dims in SHAPES {
        for view in views(dims) {
            let (t, r) = s.input(dims, view, Domain::Any);
            s.record("download", None, format!("{dims:?} {view:?}"), Suite::compare(Ok(t), &r, None));
        }
    }
    for dims in [&[][..], &[3, 0], &[2, 3]] {
        let got = Tensor::full(1.5, dims, s.dtype, &s.device);
        let want = Ref::from_fn(dims, |_| 1.5);
        s.record("full", Some(Composite::Full), format!("{dims:?}"), Suite::compare(got, &want, None));
    }
    let bad = Tensor::from_vec(vec![1.0f32; 5], [2, 3], &s.device);
    let outcome = match bad {
        Err(crate::TensorError::DataLength { expected: 6, got: 5, .. }) => Ok(()),
        other => Err(format!("wrong-length data gave {other:?}")),
    };
    s.record("upload", None, "wrong length".into(), outcome);
}

fn unary(s: &mut Suite) {
    use UnaryOp::*;
    let ops = [
        (Neg, Domain::Any),
        (Exp, Domain::Any),
        (Log, Domain::Positive),
        (Sqrt, Domain::Positive),
        (Abs, Domain::Any),
        (Recip, Domain::Any),
        (Square, Domain::Any),
        (Sigmoid, Domain::Large),
        (Sigmoid, Domain::Any),
        (Tanh, Domain::Any),
        (Relu, Domain::Any),
        (Gelu, Domain::Any),
        (GeluTanh, Domain::Any),
        (Sin, Domain::Any),
        (Cos, Domain::Any),
        (Erf, Domain::Any),
        (Sign, Domain::Any),
        (Softplus, Domain::Large),
        (Softplus, Domain::Any),
        (LeakyRelu(0.1), Domain::Any),
        (Affine { mul: 2.5, add: -1.0 }, Domain::Any),
        (Powf(3.0), Domain::Any),
        (Powf(0.5), Domain::Positive),
        (Clamp { min: -0.5, max: 0.7 }, Domain::Any),
    ];
    for (op, domain) in ops {
        let name = format!("unary:{}", unary_name(op));
        for dims in SHAPES {
            for view in views(dims) {
                let (t, r) = s.input(dims, view, domain);
                s.record(
                    &name,
                    None,
                    format!("{dims:?} {view:?} {domain:?}"),
                    Suite::compare(t.try_unary(op), &r.unary(op), None),
                );
            }
        }
    }
    // Integers support the sign-like ops only.
    let (t, r) = s.input_typed(&[3, 4], View::Transposed, Domain::Any, DType::I64);
    s.record("unary:neg", None, "i64".into(), Suite::compare(t.try_neg(), &r.unary(Neg), None));
    let outcome = if t.try_exp().is_err() { Ok(()) } else { Err("exp of i64 succeeded".into()) };
    s.record("unary:exp", None, "i64 rejected".into(), outcome);
}

fn unary_name(op: UnaryOp) -> String {
    let debug = format!("{op:?}");
    debug.split([' ', '(']).next().unwrap_or("").to_lowercase()
}

fn binary(s: &mut Suite) {
    use BinaryOp::*;
    let pairs: [(&[usize], &[usize]); 6] = [
        (&[3, 4], &[3, 4]),
        (&[3, 1, 5], &[4, 5]),
        (&[], &[2, 3]),
        (&[2, 0, 3], &[1, 3]),
        (&[5, 1], &[1, 6]),
        (&[48, 700], &[700]),
    ];
    for op in [Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge] {
        let name = format!("binary:{}", format!("{op:?}").to_lowercase());
        let (lhs_domain, rhs_domain) = match op {
            Pow => (Domain::Positive, Domain::Any),
            Eq | Ne | Lt | Le | Gt | Ge | Maximum | Minimum => (Domain::Discrete, Domain::Discrete),
            _ => (Domain::Any, Domain::Any),
        };
        for (ld, rd) in pairs {
            for view in views(ld) {
                let (a, ra) = s.input(ld, view, lhs_domain);
                let rview = if view.applies(rd) && views(rd).contains(&view) { view } else { View::Contiguous };
                let (b, rb) = s.input(rd, rview, rhs_domain);
                let case = format!("{ld:?} {view:?} with {rd:?} {rview:?}");
                s.record(&name, None, case, Suite::compare(a.try_binary(op, &b), &ra.binary(op, &rb), None));
            }
        }
        if op != Pow {
            let (a, ra) = s.input_typed(&[3, 4], View::Flipped, Domain::Any, DType::I64);
            let (b, rb) = s.input_typed(&[4], View::Contiguous, Domain::Any, DType::I64);
            let want = Ref { dims: vec![3, 4], data: ra.binary(op, &rb).data.iter().map(|v| v.trunc()).collect() };
            s.record(&name, None, "i64".into(), Suite::compare(a.try_binary(op, &b), &want, None));
        }
    }
    let (a, _) = s.input(&[2, 3], View::Contiguous, Domain::Any);
    let (b, _) = s.input(&[4], View::Contiguous, Domain::Any);
    let outcome = match a.try_add(&b) {
        Err(e) if e.to_string().contains("[2, 3]") && e.to_string().contains("[4]") => Ok(()),
        other => Err(format!("mismatched shapes gave {other:?}")),
    };
    s.record("binary:add", None, "shape mismatch names both shapes".into(), outcome);
}

fn where_select(s: &mut Suite) {
    for view in View::ALL {
        let (c, rc) =
            s.input(&[3, 1, 5], if view == View::Transposed { View::Contiguous } else { view }, Domain::Discrete);
        let (t, rt) = s.input(&[4, 5], view, Domain::Any);
        let (f, rf) = s.input(&[3, 4, 1], View::Contiguous, Domain::Any);
        let mask = c.try_gt(&Tensor::scalar(0.0, s.dtype, &s.device).expect("scalar")).expect("gt");
        let rmask = rc.binary(BinaryOp::Gt, &Ref { dims: vec![], data: vec![0.0] });
        let want = Ref::from_fn(&[3, 4, 5], |p| {
            if rmask.at_broadcast(p) != 0.0 { rt.at_broadcast(p) } else { rf.at_broadcast(p) }
        });
        s.record("where", None, format!("{view:?}"), Suite::compare(mask.try_where_select(&t, &f), &want, None));
    }
}

fn cast(s: &mut Suite) {
    for to in [DType::F32, DType::F64, DType::I64] {
        if !s.device.supports(to) {
            continue;
        }
        for view in [View::Contiguous, View::Transposed, View::Flipped] {
            let (t, r) = s.input(&[5, 6], view, Domain::Any);
            let mut data = r.data.clone();
            Suite::round(to, &mut data);
            let want = Ref { dims: r.dims.clone(), data };
            s.record(
                "cast",
                None,
                format!("{} -> {to} {view:?}", s.dtype),
                Suite::compare(t.try_cast(to), &want, None),
            );
            let (t, r) = s.input_typed(&[5, 6], view, Domain::Any, DType::I64);
            s.record("cast", None, format!("i64 -> {to} {view:?}"), Suite::compare(t.try_cast(to), &r, None));
        }
    }
}

fn views_and_copies(s: &mut Suite) {
    for view in View::ALL {
        let (t, r) = s.input(&[3, 4, 5], view, Domain::Any);
        s.record("copy", Some(Composite::Copy), format!("{view:?}"), Suite::compare(t.try_contiguous(), &r, None));
        let permuted = Ref::from_fn(&[5, 3, 4], |c| r.at(&[c[1], c[2], c[0]]));
        s.record_tensor_layer(
            "views",
            format!("permute {view:?}"),
            Suite::compare(t.try_permute(&[2, 0, 1]), &permuted, None),
        );
        let reshaped = Ref { dims: vec![12, 5], data: r.data.clone() };
        s.record_tensor_layer(
            "views",
            format!("reshape {view:?}"),
            Suite::compare(t.try_reshape([12, 5]), &reshaped, None),
        );
        let narrowed = Ref::from_fn(&[3, 2, 5], |c| r.at(&[c[0], c[1] + 1, c[2]]));
        s.record_tensor_layer(
            "views",
            format!("narrow {view:?}"),
            Suite::compare(t.try_narrow(1, 1, 2), &narrowed, None),
        );
        let flipped = Ref::from_fn(&[3, 4, 5], |c| r.at(&[2 - c[0], c[1], c[2]]));
        s.record_tensor_layer("views", format!("flip {view:?}"), Suite::compare(t.try_flip(0), &flipped, None));
        let unsqueezed = Ref { dims: vec![3, 1, 4, 5], data: r.data.clone() };
        let round_trip = t.try_unsqueeze(1).and_then(|u| u.try_squeeze(1)?.try_unsqueeze(1));
        s.record_tensor_layer("views", format!("unsqueeze {view:?}"), Suite::compare(round_trip, &unsqueezed, None));
        let broadcast = Ref::from_fn(&[2, 3, 4, 5], |c| r.at(&c[1..]));
        s.record_tensor_layer(
            "views",
            format!("broadcast {view:?}"),
            Suite::compare(t.try_broadcast_to([2, 3, 4, 5]), &broadcast, None),
        );
    }
}

fn movement(s: &mut Suite) {
    for view in View::ALL {
        let (dst, rd) = s.input(&[4, 6], View::Contiguous, Domain::Any);
        let (src, rs) = s.input(&[2, 3], view, Domain::Any);
        let want = Ref::from_fn(&[4, 6], |c| {
            if (1..3).contains(&c[0]) && (2..5).contains(&c[1]) { rs.at(&[c[0] - 1, c[1] - 2]) } else { rd.at(c) }
        });
        s.record(
            "assign",
            None,
            format!("slice_assign {view:?}"),
            Suite::compare(dst.try_slice_assign(&[1, 2], &src), &want, None),
        );
        let untouched =
            Suite::compare(Ok(dst.clone()), &rd, None).map_err(|e| format!("slice_assign changed its input: {e}"));
        s.record("assign", None, format!("slice_assign is out of place {view:?}"), untouched);
    }
    for view in View::ALL {
        let (dst, rd) = s.input(&[4, 6], View::Contiguous, Domain::Any);
        let (src, rs) = s.input(&[2, 6], view, Domain::Any);
        let outcome = dst.try_narrow(0, 1, 2).and_then(|region| region.try_add_scaled_(-0.5, &src));
        let want = Ref::from_fn(&[4, 6], |c| {
            if (1..3).contains(&c[0]) { rd.at(c) - 0.5 * rs.at(&[c[0] - 1, c[1]]) } else { rd.at(c) }
        });
        let checked = outcome.map_err(|e| e.to_string()).and_then(|_| Suite::compare(Ok(dst), &want, None));
        s.record("add_scaled", Some(Composite::AddScaled), format!("into a narrowed view {view:?}"), checked);
    }
    let (big, rb) = s.input(&[300, 1000], View::Contiguous, Domain::Any);
    let (step, rs) = s.input(&[1000], View::Contiguous, Domain::Any);
    let outcome = big.try_add_scaled_(2.0, &step);
    let want = Ref::from_fn(&[300, 1000], |c| rb.at(c) + 2.0 * rs.at(&c[1..]));
    let checked = outcome.map_err(|e| e.to_string()).and_then(|_| Suite::compare(Ok(big), &want, None));
    s.record("add_scaled", Some(Composite::AddScaled), "large, broadcast source".into(), checked);

    // Overlapping in-place assignment behaves as if the source were copied first.
    let (x, r) = s.input(&[3, 6], View::Contiguous, Domain::Any);
    let outcome = x.try_narrow(1, 1, 5).and_then(|dst| dst.try_assign(&x.try_narrow(1, 0, 5)?));
    let want = Ref::from_fn(&[3, 6], |c| if c[1] == 0 { r.at(c) } else { r.at(&[c[0], c[1] - 1]) });
    s.record(
        "assign",
        None,
        "overlapping shift".into(),
        outcome.map_err(|e| e.to_string()).and_then(|_| Suite::compare(Ok(x), &want, None)),
    );

    for view in View::ALL {
        concat_case(s, &[&[2, 3], &[2, 0], &[2, 4]], 1, view);
        concat_case(s, &[&[1, 5], &[3, 5]], 0, view);
    }
}

fn concat_case(s: &mut Suite, shapes: &[&[usize]], axis: usize, view: View) {
    let parts: Vec<(Tensor, Ref)> = shapes.iter().map(|d| s.input(d, view, Domain::Any)).collect();
    let tensors: Vec<&Tensor> = parts.iter().map(|(t, _)| t).collect();
    let refs: Vec<Ref> = parts.iter().map(|(_, r)| r.clone()).collect();
    let got = Tensor::try_cat(&tensors, axis as isize);
    s.record(
        "concat",
        Some(Composite::Concat),
        format!("axis {axis} {view:?}"),
        Suite::compare(got, &Ref::concat(&refs, axis), None),
    );
}
