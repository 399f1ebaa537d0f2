//! The graph's behaviour: accumulation, no_grad, detach, freeing, clipping, anomaly detection.

use autograd::{Var, clip_grad_norm, clip_grad_value, no_grad};
use backend_cpu::CpuDevice;
use tensor_core::{DType, Tensor};

fn tensor(values: &[f64], dims: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), dims, &CpuDevice::shared()).unwrap()
}

#[test]
fn chain_rule_on_a_known_function() {
    // f(x, w) = sum(sigmoid(x·w)); df/dw = xᵀ (s ⊙ (1 - s))
    let x = Var::constant(tensor(&[1.0, 2.0, -1.0, 0.5], &[2, 2]));
    let w = Var::parameter(tensor(&[0.3, -0.2], &[2, 1]));
    x.matmul(&w).unwrap().sigmoid().unwrap().sum_all().unwrap().backward().unwrap();
    let grad = w.grad().unwrap().to_vec::<f64>().unwrap();
    let s = |z: f64| 1.0 / (1.0 + (-z).exp());
    let (z0, z1) = (0.3 - 2.0 * 0.2, -0.3 - 0.5 * 0.2);
    let d = |z: f64| s(z) * (1.0 - s(z));
    let want = [d(z0) - d(z1), 2.0 * d(z0) + 0.5 * d(z1)];
    for (g, w) in grad.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "{g} vs {w}");
    }
}

#[test]
fn gradients_accumulate_until_zeroed() {
    let w = Var::parameter(tensor(&[2.0], &[1]));
    for _ in 0..3 {
        w.square().unwrap().sum_all().unwrap().backward().unwrap();
    }
    assert_eq!(w.grad().unwrap().to_vec::<f64>().unwrap(), vec![12.0]);
    w.zero_grad();
    assert!(w.grad().is_none());
}

#[test]
fn shared_subexpressions_sum_their_paths() {
    let w = Var::parameter(tensor(&[3.0], &[1]));
    let y = w.square().unwrap();
    y.add(&y).unwrap().mul(&w).unwrap().sum_all().unwrap().backward().unwrap();
    // d/dw (2w³) = 6w² = 54
    assert_eq!(w.grad().unwrap().to_vec::<f64>().unwrap(), vec![54.0]);
}

#[test]
fn nothing_is_recorded_without_grad() {
    let w = Var::parameter(tensor(&[1.0, 2.0], &[2]));
    let c = Var::constant(tensor(&[1.0, 2.0], &[2]));
    assert!(!c.exp().unwrap().requires_grad(), "constants record nothing");
    let y = no_grad(|| w.exp().unwrap());
    assert!(!y.requires_grad() && y.is_leaf(), "no_grad records nothing");
    assert!(w.exp().unwrap().requires_grad(), "the mode comes back after no_grad");
    let d = w.exp().unwrap().detach();
    assert!(!d.requires_grad());
    assert!(d.mul(&c).unwrap().sum_all().unwrap().backward().is_err(), "backward through a detached value");
}

#[test]
fn backward_frees_the_graph() {
    let w = Var::parameter(tensor(&[1.0], &[1]));
    let loss = w.exp().unwrap().sum_all().unwrap();
    loss.backward().unwrap();
    let err = loss.backward().unwrap_err();
    assert!(err.to_string().contains("already freed"), "{err}");
}

#[test]
fn clipping_bounds_the_gradients() {
    let a = Var::parameter(tensor(&[0.0, 0.0], &[2]));
    let b = Var::parameter(tensor(&[0.0], &[1]));
    a.set_grad(Some(tensor(&[3.0, 0.0], &[2])));
    b.set_grad(Some(tensor(&[4.0], &[1])));
    let norm = clip_grad_norm(&[a.clone(), b.clone()], 1.0).unwrap();
    assert!((norm - 5.0).abs() < 1e-12);
    let clipped: Vec<f64> =
        [a.grad().unwrap(), b.grad().unwrap()].iter().flat_map(|g| g.to_vec::<f64>().unwrap()).collect();
    let new_norm = clipped.iter().map(|g| g * g).sum::<f64>().sqrt();
    assert!((new_norm - 1.0).abs() < 1e-5, "{new_norm}");
    b.set_grad(Some(tensor(&[-4.0], &[1])));
    clip_grad_value(std::slice::from_ref(&b), 0.5).unwrap();
    assert_eq!(b.grad().unwrap().to_vec::<f64>().unwrap(), vec![-0.5]);
}

#[test]
fn f32_parameters_train_too() {
    let w = Var::parameter(Tensor::ones([3], DType::F32, &CpuDevice::shared()).unwrap());
    w.scale(2.0).unwrap().sum_all().unwrap().backward().unwrap();
    assert_eq!(w.grad().unwrap().to_vec::<f32>().unwrap(), vec![2.0; 3]);
}

#[test]
fn gradcheck_catches_a_wrong_gradient() {
    // Cutting one path with detach makes the analytic gradient x instead of 2x.
    let x = tensor(&[0.5, -1.5, 2.0], &[3]);
    let wrong = autograd::gradcheck(|v| v[0].detach().mul(&v[0]), std::slice::from_ref(&x), Default::default());
    assert!(wrong.unwrap_err().to_string().contains("analytic"));
    assert!(autograd::gradcheck(|v| v[0].mul(&v[0]), &[x], Default::default()).is_ok());
}

#[test]
fn slices_of_one_var_accumulate_into_one_gradient() {
    // y = x * 2 is split into its rows; each row is used with a different weight, and y is
    // also used whole, so slice gradients and a full gradient meet in the same buffer.
    let x = Var::parameter(tensor(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]));
    let y = x.scale(2.0).unwrap();
    let mut total = y.sum_all().unwrap();
    for t in 0..3 {
        let row = y.narrow(0, t, 1).unwrap();
        total = total.add(&row.scale((t + 1) as f64).unwrap().sum_all().unwrap()).unwrap();
    }
    // Row 0 twice more.
    total = total.add(&y.narrow(0, 0, 1).unwrap().sum_all().unwrap()).unwrap();
    total.backward().unwrap();
    // d total / d y[t] = 1 + (t + 1) (+ 1 for row 0); d y / d x = 2.
    let want = [6.0, 6.0, 6.0, 6.0, 8.0, 8.0];
    assert_eq!(x.grad().unwrap().to_vec::<f64>().unwrap(), want);
}

#[test]
fn detect_anomaly_names_the_first_non_finite_op_forward_or_backward() {
    let device = backend_cpu::CpuDevice::shared();
    // sqrt(0) is finite, its derivative 1 / (2 sqrt(0)) is not: a backward anomaly.
    let x = autograd::Var::parameter(tensor_core::Tensor::from_vec(vec![0.0f32, 4.0], [2], &device).unwrap());
    let (result, anomaly) = autograd::detect_anomaly(|| x.sqrt()?.sum_all()?.backward());
    result.unwrap();
    let anomaly = anomaly.expect("the infinite gradient of sqrt at 0 is found");
    assert_eq!((anomaly.phase, anomaly.input_shapes.clone()), ("backward", vec![vec![2]]));
    assert!(anomaly.op.contains("rules/elementwise.rs"), "{anomaly}");
    // log(-1) is NaN in the forward pass; nothing is recorded outside detect_anomaly.
    let y = autograd::Var::parameter(tensor_core::Tensor::from_vec(vec![-1.0f32], [1], &device).unwrap());
    let (_, anomaly) = autograd::detect_anomaly(|| y.log().map(|_| ()));
    assert_eq!(anomaly.expect("log(-1) is found").phase, "forward");
    assert!(autograd::detect_anomaly(|| x.square().map(|_| ())).1.is_none(), "finite ops are no anomaly");
}
