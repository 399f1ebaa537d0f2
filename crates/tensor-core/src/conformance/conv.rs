//! Cases for the convolution composites against a direct f64 convolution.

use super::formulas;
use super::reference::{Ref, coords};
use super::{Domain, Suite, View};
use crate::{Composite, ConvSpec, Window2d};

/// Calls `visit(x_index, w_index, y_index)` for every product term of the convolution
/// `y[n,o,i,j] += x[n, g·C/g + c, i·s + p·d - pad, j·s + q·d - pad] · w[o, c, p, q]`.
fn for_each_term(x: &[usize], w: &[usize], spec: &ConvSpec, mut visit: impl FnMut(usize, usize, usize)) {
    let win = &spec.window;
    let [oh, ow] = formulas::window_output_size(win, [x[2], x[3]]);
    let out_per_group = w[0] / spec.groups;
    for y in coords(&[x[0], w[0], oh, ow]) {
        let (n, o) = (y[0], y[1]);
        for wc in coords(&w[1..]) {
            let channel = (o / out_per_group) * w[1] + wc[0];
            let row = formulas::window_input_coord(win, 0, y[2], wc[1]);
            let col = formulas::window_input_coord(win, 1, y[3], wc[2]);
            if row < 0 || col < 0 || row as usize >= x[2] || col as usize >= x[3] {
                continue;
            }
            let xi = ((n * x[1] + channel) * x[2] + row as usize) * x[3] + col as usize;
            let wi = ((o * w[1] + wc[0]) * w[2] + wc[1]) * w[3] + wc[2];
            let yi = ((n * w[0] + o) * oh + y[2]) * ow + y[3];
            visit(xi, wi, yi);
        }
    }
}

/// Zeros shaped like `dims`.
fn zeros(dims: &[usize]) -> Ref {
    Ref { dims: dims.to_vec(), data: vec![0.0; dims.iter().product()] }
}

/// Accumulates `a[ai] · b[bi]` into `out[oi]` for every term, with the magnitude Σ|a·b|.
fn accumulate(out_dims: &[usize], terms: &[(usize, usize, usize)], a: &Ref, b: &Ref) -> (Ref, Vec<f64>) {
    let mut out = zeros(out_dims);
    let mut magnitude = vec![0.0; out.data.len()];
    for &(ai, bi, oi) in terms {
        out.data[oi] += a.data[ai] * b.data[bi];
        magnitude[oi] += (a.data[ai] * b.data[bi]).abs();
    }
    (out, magnitude)
}

pub(super) fn run(s: &mut Suite) {
    // (input, out channels, window, groups): odd sizes, stride, padding, dilation, groups.
    let cases = [
        ([2, 3, 7, 8], 4, Window2d::new([3, 3]).padding([1, 1]), 1),
        ([2, 4, 9, 6], 6, Window2d::new([3, 2]).stride([2, 2]).padding([1, 0]), 2),
        ([1, 2, 9, 9], 3, Window2d::new([3, 3]).dilation([2, 2]).padding([2, 1]), 1),
        ([3, 4, 5, 5], 4, Window2d::new([2, 2]), 4),
        ([2, 3, 1, 11], 5, Window2d::new([1, 3]).padding([0, 1]).stride([1, 2]), 1),
        ([0, 2, 4, 4], 2, Window2d::new([2, 2]), 1),
        // 256 output positions: the CPU pads rows of its per-sample columns here.
        ([2, 4, 16, 16], 4, Window2d::new([3, 3]).padding([1, 1]), 2),
        // Wide stride-1 outputs, which the CPU convolves directly out of the padded image:
        // ragged widths, dilation with uneven padding, padding wider than the kernel, 1-D.
        ([2, 3, 5, 30], 4, Window2d::new([3, 3]).padding([1, 1]), 1),
        ([1, 4, 8, 34], 6, Window2d::new([3, 5]).dilation([2, 2]).padding([3, 1]), 2),
        ([2, 2, 3, 45], 3, Window2d::new([2, 2]).padding([2, 2]), 1),
        ([2, 4, 1, 50], 4, Window2d::new([1, 3]).padding([0, 1]), 4),
    ];
    for (dims, out, window, groups) in cases {
        let spec = ConvSpec::new(window, groups);
        let wd = [out, dims[1] / groups, window.kernel[0], window.kernel[1]];
        let [oh, ow] = formulas::window_output_size(&window, [dims[2], dims[3]]);
        let yd = [dims[0], out, oh, ow];
        let mut terms = Vec::new();
        for_each_term(&dims, &wd, &spec, |xi, wi, yi| terms.push((xi, wi, yi)));
        for view in [View::Contiguous, View::Transposed, View::Flipped] {
            let case = format!("{dims:?} {wd:?} {window:?} groups {groups} {view:?}");
            let (x, rx) = s.input(&dims, view, Domain::Any);
            let (w, rw) = s.input(&wd, view, Domain::Any);
            let (g, rg) = s.input(&yd, view, Domain::Any);
            let (want, magnitude) = accumulate(&yd, &terms, &rx, &rw);
            s.record(
                "conv2d",
                Some(Composite::Conv2d),
                case.clone(),
                s.compare_product(x.try_conv2d(&w, None, &spec), &want, &magnitude),
            );
            let (b, rb) = s.input(&[out], View::Contiguous, Domain::Any);
            let biased = Ref::from_fn(&yd, |c| want.at(c) + rb.data[c[1]]);
            let biased_magnitude: Vec<f64> =
                magnitude.iter().enumerate().map(|(i, m)| m + rb.data[(i / (oh * ow)) % out].abs()).collect();
            s.record(
                "conv2d",
                Some(Composite::Conv2d),
                format!("{case} with bias"),
                s.compare_product(x.try_conv2d(&w, Some(&b), &spec), &biased, &biased_magnitude),
            );
            let gw: Vec<_> = terms.iter().map(|&(xi, wi, yi)| (yi, wi, xi)).collect();
            let (want, magnitude) = accumulate(&dims, &gw, &rg, &rw);
            s.record(
                "conv2d_input_grad",
                Some(Composite::Conv2dInputGrad),
                case.clone(),
                s.compare_product(g.try_conv2d_input_grad(&w, &spec, [dims[2], dims[3]]), &want, &magnitude),
            );
            let xg: Vec<_> = terms.iter().map(|&(xi, wi, yi)| (xi, yi, wi)).collect();
            let (want, magnitude) = accumulate(&wd, &xg, &rx, &rg);
            s.record(
                "conv2d_weight_grad",
                Some(Composite::Conv2dWeightGrad),
                case,
                s.compare_product(x.try_conv2d_weight_grad(&g, &spec), &want, &magnitude),
            );
        }
    }
    let (x, _) = s.input(&[1, 4, 5, 5], View::Contiguous, Domain::Any);
    let (w, _) = s.input(&[6, 3, 3, 3], View::Contiguous, Domain::Any);
    let outcome = match x.try_conv2d(&w, None, &ConvSpec::new(Window2d::new([3, 3]), 1)) {
        Err(e) if e.to_string().contains("[1, 4, 5, 5]") && e.to_string().contains("[6, 3, 3, 3]") => Ok(()),
        other => Err(format!("mismatched channels gave {other:?}")),
    };
    s.record("conv2d", Some(Composite::Conv2d), "channel mismatch message".into(), outcome);
}
