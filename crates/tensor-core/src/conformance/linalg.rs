//! Cases for matmul, indexing and the window ops.

use super::formulas;
use super::reference::Ref;
use super::{Domain, Suite, View};
use crate::{Composite, Tensor, TensorError, Window2d};

pub(super) fn run(s: &mut Suite) {
    matmul(s);
    gather_scatter(s);
    select_add(s);
    windows(s);
}

fn matmul(s: &mut Suite) {
    // The last two are above backend-cpu's threading thresholds (row bands; gemm's own split).
    let shapes: [(&[usize], &[usize]); 11] = [
        (&[1, 1], &[1, 1]),
        (&[3, 5], &[5, 4]),
        (&[17, 33], &[33, 9]),
        (&[0, 3], &[3, 4]),
        (&[3, 0], &[0, 4]),
        (&[2, 3, 4], &[4, 5]),
        (&[2, 1, 3, 4], &[5, 4, 6]),
        (&[8, 16, 12], &[8, 12, 10]),
        (&[128, 96], &[96, 112]),
        (&[320, 200], &[200, 300]),
        (&[64, 640], &[640, 448]),
    ];
    for (ld, rd) in shapes {
        for (lv, rv) in [
            (View::Contiguous, View::Contiguous),
            (View::Transposed, View::Contiguous),
            (View::Contiguous, View::Transposed),
            (View::Transposed, View::Transposed),
            (View::Flipped, View::Narrowed),
            (View::Broadcast, View::Flipped),
        ] {
            let (a, ra) = s.input(ld, lv, Domain::Any);
            let (b, rb) = s.input(rd, rv, Domain::Any);
            let (want, magnitude) = ra.matmul(&rb);
            s.record(
                "matmul",
                None,
                format!("{ld:?} {lv:?} x {rd:?} {rv:?}"),
                s.compare_product(a.try_matmul(&b), &want, &magnitude),
            );
        }
    }
    let (a, _) = s.input(&[32, 784], View::Contiguous, Domain::Any);
    let (b, _) = s.input(&[256, 10], View::Contiguous, Domain::Any);
    let outcome = match a.try_matmul(&b) {
        Err(e)
            if e.to_string()
                == "matmul: shapes do not match: lhs [32, 784] vs rhs [256, 10] (inner dimensions differ: 784 != 256)" =>
        {
            Ok(())
        }
        other => Err(format!("inner mismatch gave {other:?}")),
    };
    s.record("matmul", None, "inner mismatch message".into(), outcome);
}

fn expect_index_error(got: crate::Result<Tensor>) -> Result<(), String> {
    match got {
        Err(TensorError::IndexOutOfRange { .. }) => Ok(()),
        other => Err(format!("an out-of-range index gave {other:?}")),
    }
}

fn gather_scatter(s: &mut Suite) {
    for view in View::ALL {
        for (axis, index_dims) in [(0usize, [2usize, 5, 3]), (1, [4, 7, 6]), (2, [3, 2, 9])] {
            let (x, rx) = s.input(&[4, 5, 6], view, Domain::Any);
            let (index, ri) = s.index(&index_dims, [4, 5, 6][axis]);
            let case = format!("axis {axis} index {index_dims:?} {view:?}");
            s.record(
                "gather",
                None,
                case.clone(),
                Suite::compare(x.try_gather(axis as isize, &index), &rx.gather(axis, &ri), None),
            );
            let (src, rs) = s.input(&index_dims, View::Contiguous, Domain::Any);
            let (dst, rd) = s.input(&[4, 9, 9], view, Domain::Any);
            let (index, ri) = s.index(&index_dims, [4, 9, 9][axis]);
            let want = rd.scatter_add(axis, &ri, &rs);
            s.record(
                "scatter_add",
                None,
                case,
                Suite::compare(dst.try_scatter_add(axis as isize, &index, &src), &want, None),
            );
        }
    }
    let (x, _) = s.input(&[3, 4], View::Contiguous, Domain::Any);
    let bad = Tensor::from_vec(vec![0i64, 4, 1], [1, 3], &s.device).expect("upload");
    s.record("gather", None, "index out of range".into(), expect_index_error(x.try_gather(1, &bad)));
    let src = Tensor::ones([1, 3], s.dtype, &s.device).expect("ones");
    s.record("scatter_add", None, "index out of range".into(), expect_index_error(x.try_scatter_add(1, &bad, &src)));
}

fn select_add(s: &mut Suite) {
    for view in View::ALL {
        for (dims, axis) in [(&[6, 5][..], 0usize), (&[6, 5], 1), (&[3, 4, 5], 2), (&[3, 4, 5], 0)] {
            let (x, rx) = s.input(dims, view, Domain::Any);
            let picks: Vec<usize> = vec![dims[axis] - 1, 0, 2, 2, 1];
            let index = Tensor::from_vec(picks.iter().map(|&p| p as i64).collect::<Vec<_>>(), [picks.len()], &s.device)
                .expect("upload");
            let case = format!("{dims:?} axis {axis} {view:?}");
            s.record(
                "index_select",
                Some(Composite::IndexSelect),
                case.clone(),
                Suite::compare(x.try_index_select(axis as isize, &index), &rx.index_select(axis, &picks), None),
            );
            let mut src_dims = dims.to_vec();
            src_dims[axis] = picks.len();
            let (src, rs) = s.input(&src_dims, view, Domain::Any);
            s.record(
                "index_add",
                Some(Composite::IndexAdd),
                case,
                Suite::compare(x.try_index_add(axis as isize, &index, &src), &rx.index_add(axis, &picks, &rs), None),
            );
        }
    }
    let (table, rt) = s.input(&[10, 4], View::Narrowed, Domain::Any);
    let ids = Tensor::from_vec(vec![3i64, 9, 0, 3, 7, 1], [2, 3], &s.device).expect("upload");
    let want = Ref::from_fn(&[2, 3, 4], |c| rt.at(&[[3, 9, 0, 3, 7, 1][c[0] * 3 + c[1]], c[2]]));
    s.record_tensor_layer(
        "embedding",
        "[10, 4] ids [2, 3]".into(),
        Suite::compare(table.try_embedding(&ids), &want, None),
    );
    let bad = Tensor::from_vec(vec![10i64], [1], &s.device).expect("upload");
    s.record(
        "index_select",
        Some(Composite::IndexSelect),
        "index out of range".into(),
        expect_index_error(table.try_index_select(0, &bad)),
    );
}

fn windows(s: &mut Suite) {
    let configs = [
        ([2, 3, 7, 8], Window2d::new([3, 3]).padding([1, 1])),
        ([2, 3, 7, 8], Window2d::new([3, 3]).padding([1, 1]).stride([2, 2])),
        ([1, 2, 9, 6], Window2d::new([3, 2]).dilation([2, 1])),
        ([2, 2, 6, 6], Window2d::new([2, 2]).stride([2, 2])),
        ([3, 4, 1, 11], Window2d::new([1, 3]).padding([0, 2])),
        ([1, 1, 5, 5], Window2d::new([5, 5])),
        ([2, 2, 7, 9], Window2d::new([3, 3]).stride([1, 2]).padding([2, 3]).dilation([2, 2])),
        ([0, 2, 4, 4], Window2d::new([2, 2])),
    ];
    for (dims, w) in configs {
        for view in [View::Contiguous, View::Transposed, View::Flipped, View::Narrowed] {
            let case = format!("{dims:?} {w:?} {view:?}");
            let (x, rx) = s.input(&dims, view, Domain::Any);
            s.record(
                "unfold",
                Some(Composite::Unfold),
                case.clone(),
                Suite::compare(x.try_unfold(&w), &rx.unfold(&w, 0.0), None),
            );
            let (values, positions) = rx.max_pool2d(&w);
            let got = x.try_max_pool2d(&w);
            let (got_values, got_positions) = match got {
                Ok((v, p)) => (Ok(v), Ok(p)),
                Err(e) => (Err(e.clone()), Err(e)),
            };
            s.record("max_pool2d", Some(Composite::MaxPool2d), case.clone(), Suite::compare(got_values, &values, None));
            s.record(
                "max_pool2d",
                Some(Composite::MaxPool2d),
                format!("{case} indices"),
                Suite::compare(got_positions, &positions, None),
            );
            s.record(
                "avg_pool2d",
                Some(Composite::AvgPool2d),
                case.clone(),
                Suite::compare(x.try_avg_pool2d(&w), &rx.avg_pool2d(&w), None),
            );
            let out = formulas::window_output_size(&w, [dims[2], dims[3]]);
            let taps = w.kernel[0] * w.kernel[1];
            let (cols, rc) = s.input(&[dims[0], dims[1] * taps, out[0] * out[1]], view, Domain::Any);
            s.record(
                "fold",
                Some(Composite::Fold),
                case,
                Suite::compare(cols.try_fold(&w, [dims[2], dims[3]]), &rc.fold(&w, [dims[2], dims[3]]), None),
            );
        }
    }
}
