//! `Var::conv2d` against a direct, loop-by-loop convolution written from the definition (no
//! im2col), on odd shapes: non-square kernels and inputs, stride 2, padding, dilation 2, groups.

use autograd::Var;
use backend_cpu::CpuDevice;
use tensor_core::{DType, Device, Tensor, TensorRng, Window2d};

/// `y[n,o,i,j] = b[o] + Σ_{c in group(o), p, q} x[n,c,i·s+p·d-pad, j·s+q·d-pad] · w[o,c',p,q]`.
fn direct_conv(
    x: &[f64],
    xd: [usize; 4],
    w: &[f64],
    wd: [usize; 4],
    b: &[f64],
    win: &Window2d,
    groups: usize,
) -> Vec<f64> {
    let [n, c, h, wi] = xd;
    let [o, cg, kh, kw] = wd;
    let span =
        |a: usize, len: usize, k: usize| (len + 2 * win.padding[a] - win.dilation[a] * (k - 1) - 1) / win.stride[a] + 1;
    let (oh, ow) = (span(0, h, kh), span(1, wi, kw));
    let og = o / groups;
    let mut y = vec![0.0; n * o * oh * ow];
    for ni in 0..n {
        for oi in 0..o {
            let g = oi / og;
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = b[oi];
                    for ci in 0..cg {
                        let channel = g * cg + ci;
                        for p in 0..kh {
                            for q in 0..kw {
                                let yy = (i * win.stride[0] + p * win.dilation[0]) as isize - win.padding[0] as isize;
                                let xx = (j * win.stride[1] + q * win.dilation[1]) as isize - win.padding[1] as isize;
                                if yy < 0 || xx < 0 || yy >= h as isize || xx >= wi as isize {
                                    continue;
                                }
                                let xv = x[((ni * c + channel) * h + yy as usize) * wi + xx as usize];
                                acc += xv * w[((oi * cg + ci) * kh + p) * kw + q];
                            }
                        }
                    }
                    y[((ni * o + oi) * oh + i) * ow + j] = acc;
                }
            }
        }
    }
    y
}

#[test]
fn conv2d_matches_the_direct_definition() {
    let dev: std::sync::Arc<dyn Device> = CpuDevice::shared();
    let mut rng = TensorRng::new(7);
    let cases = [
        (Window2d::new([3, 2]).stride([2, 2]).padding([1, 1]), 1, [3, 4, 9, 6], 5),
        (Window2d::new([3, 3]).dilation([2, 2]).padding([2, 1]), 1, [2, 3, 8, 11], 4),
        (Window2d::new([2, 3]).stride([2, 1]), 2, [2, 6, 7, 5], 4),
        (Window2d::new([1, 1]), 3, [1, 6, 4, 3], 6),
        (Window2d::new([5, 5]).padding([2, 2]), 1, [2, 1, 12, 12], 6),
    ];
    for (window, groups, xd, out) in cases {
        let wd = [out, xd[1] / groups, window.kernel[0], window.kernel[1]];
        let x = rng.normal(xd, 0.0, 1.0, DType::F64, &dev).unwrap();
        let w = rng.normal(wd, 0.0, 1.0, DType::F64, &dev).unwrap();
        let b = rng.normal([out], 0.0, 1.0, DType::F64, &dev).unwrap();
        let got = Var::constant(x.clone())
            .conv2d(&Var::constant(w.clone()), Some(&Var::constant(b.clone())), &window, groups)
            .unwrap()
            .value();
        let want = direct_conv(
            &x.to_vec::<f64>().unwrap(),
            xd,
            &w.to_vec::<f64>().unwrap(),
            wd,
            &b.to_vec::<f64>().unwrap(),
            &window,
            groups,
        );
        let got_values = got.to_vec::<f64>().unwrap();
        assert_eq!(got_values.len(), want.len(), "{window:?} groups {groups}: output {:?}", got.dims());
        for (i, (g, e)) in got_values.iter().zip(&want).enumerate() {
            assert!((g - e).abs() < 1e-10, "{window:?} groups {groups}: element {i} is {g}, expected {e}");
        }
        // The f32 path agrees with the f64 one to single precision.
        let got32 = Var::constant(x.cast(DType::F32))
            .conv2d(&Var::constant(w.cast(DType::F32)), Some(&Var::constant(b.cast(DType::F32))), &window, groups)
            .unwrap()
            .value()
            .to_vec::<f32>()
            .unwrap();
        for (g, e) in got32.iter().zip(&want) {
            assert!((*g as f64 - e).abs() < 1e-4 * (1.0 + e.abs()), "f32 {g} vs {e}");
        }
    }
}

#[test]
fn conv2d_rejects_mismatched_shapes() {
    let dev: std::sync::Arc<dyn Device> = CpuDevice::shared();
    let x = Var::constant(Tensor::zeros([1, 4, 5, 5], DType::F32, &dev).unwrap());
    let w = Var::constant(Tensor::zeros([6, 3, 3, 3], DType::F32, &dev).unwrap());
    let err = x.conv2d(&w, None, &Window2d::new([3, 3]), 1).unwrap_err().to_string();
    assert!(err.contains("[1, 4, 5, 5]") && err.contains("[6, 3, 3, 3]"), "{err}");
    assert!(x.conv2d(&w, None, &Window2d::new([3, 3]), 3).is_err(), "3 groups do not divide 4 channels");
    let big = Var::constant(Tensor::zeros([6, 4, 7, 7], DType::F32, &dev).unwrap());
    assert!(x.conv2d(&big, None, &Window2d::new([7, 7]), 1).is_err(), "kernel larger than the input");
}
