//! Losses against hand computations, stability for large logits, and optimizer updates
//! against PyTorch's formulas.

use autograd::{GradcheckOptions, Var, gradcheck};
use backend_cpu::CpuDevice;
use nn_layers::Param;
use nn_layers::loss::{CrossEntropy, Reduction, bce_with_logits, cross_entropy, mse};
use nn_layers::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use tensor_core::{DType, Tensor, TensorRng};

fn t(values: &[f32], dims: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), dims, &CpuDevice::shared()).unwrap()
}

fn labels(values: &[i64]) -> Tensor {
    Tensor::from_vec(values.to_vec(), [values.len()], &CpuDevice::shared()).unwrap()
}

fn scalar(v: Var) -> f64 {
    v.value().to_scalar().unwrap()
}

#[test]
fn cross_entropy_matches_the_formula() {
    let logits = [1.0f32, 2.0, 0.5, -1.0, 0.0, 3.0];
    let lse = |r: &[f32]| r.iter().map(|&v| (v as f64).exp()).sum::<f64>().ln();
    let nll0 = lse(&logits[..3]) - 2.0;
    let nll1 = lse(&logits[3..]) - (-1.0);
    let x = Var::constant(t(&logits, &[2, 3]));
    let y = labels(&[1, 0]);
    let mean = scalar(cross_entropy(&x, &y, CrossEntropy::default()).unwrap());
    assert!((mean - (nll0 + nll1) / 2.0).abs() < 1e-6);
    let ignored = CrossEntropy { ignore_index: Some(0), ..Default::default() };
    let only_first = scalar(cross_entropy(&x, &labels(&[1, 0]), ignored).unwrap());
    assert!((only_first - nll0).abs() < 1e-6, "ignored targets are not counted");
    let smooth = CrossEntropy { label_smoothing: 0.1, reduction: Reduction::Sum, ..Default::default() };
    let uniform = |r: &[f32]| lse(r) - r.iter().map(|&v| v as f64).sum::<f64>() / 3.0;
    let want = 0.9 * (nll0 + nll1) + 0.1 * (uniform(&logits[..3]) + uniform(&logits[3..]));
    assert!((scalar(cross_entropy(&x, &y, smooth).unwrap()) - want).abs() < 1e-5);
}

#[test]
fn label_smoothed_cross_entropy_gradients_match_finite_differences() {
    let dev = CpuDevice::shared();
    let logits = TensorRng::new(3).normal([4, 5], 0.0, 2.0, DType::F64, &dev).unwrap();
    let y = labels(&[1, -1, 4, 0]);
    for reduction in [Reduction::Mean, Reduction::Sum] {
        let options = CrossEntropy { ignore_index: Some(-1), label_smoothing: 0.1, reduction };
        gradcheck(|v| cross_entropy(&v[0], &y, options), std::slice::from_ref(&logits), GradcheckOptions::default())
            .unwrap();
    }
}

#[test]
fn losses_stay_finite_for_huge_logits() {
    let x = Var::parameter(t(&[1000.0, -1000.0, 0.0, 500.0, -500.0, 0.0], &[2, 3]));
    let loss = cross_entropy(&x, &labels(&[1, 0]), CrossEntropy::default()).unwrap();
    assert!((scalar(loss.clone()) - 1000.0).abs() < 1e-3);
    loss.backward().unwrap();
    assert!(x.grad().unwrap().to_vec::<f32>().unwrap().iter().all(|g| g.is_finite()));
    let b = bce_with_logits(&Var::constant(t(&[800.0, -800.0], &[2])), &t(&[0.0, 1.0], &[2]), Reduction::Mean).unwrap();
    assert!((scalar(b) - 800.0).abs() < 1e-3);
    let m = mse(&Var::constant(t(&[1.0, 2.0], &[2])), &Var::constant(t(&[0.0, 0.0], &[2])), Reduction::Sum).unwrap();
    assert_eq!(scalar(m), 5.0);
}

fn param_with_grad(value: f32, grad: f32) -> Param {
    let p = Param::new(t(&[value], &[1]));
    p.leaf().set_grad(Some(t(&[grad], &[1])));
    p
}

#[test]
fn sgd_momentum_nesterov_and_weight_decay_follow_pytorch() {
    let p = param_with_grad(1.0, 0.5);
    let config = SgdConfig { lr: 0.1, momentum: 0.9, nesterov: true, weight_decay: 0.01 };
    let mut opt = Sgd::new(vec![("w".into(), p.clone())], config);
    opt.step().unwrap();
    // g = 0.5 + 0.01·1 = 0.51; v = g; nesterov: d = g + 0.9 v = 0.969; p = 1 - 0.0969
    let after_one = p.value().to_vec::<f32>().unwrap()[0] as f64;
    assert!((after_one - (1.0 - 0.1 * 0.969)).abs() < 1e-6);
    p.leaf().set_grad(Some(t(&[0.5], &[1])));
    opt.step().unwrap();
    let g = 0.5 + 0.01 * after_one;
    let v = 0.9 * 0.51 + g;
    let want = after_one - 0.1 * (g + 0.9 * v);
    assert!((p.value().to_vec::<f32>().unwrap()[0] as f64 - want).abs() < 1e-6);
}

#[test]
fn adam_first_step_moves_by_lr_and_frozen_params_stay() {
    let p = param_with_grad(1.0, -3.0);
    let frozen = param_with_grad(2.0, 1.0);
    frozen.set_frozen(true);
    frozen.leaf().set_grad(Some(t(&[1.0], &[1])));
    let mut opt = Adam::new(vec![("p".into(), p.clone()), ("f".into(), frozen.clone())], AdamConfig::adam(0.01));
    opt.step().unwrap();
    assert!((p.value().to_vec::<f32>().unwrap()[0] - 1.01).abs() < 1e-6, "the first Adam step is lr·sign(g)");
    assert_eq!(frozen.value().to_vec::<f32>().unwrap(), vec![2.0]);
    let decayed = param_with_grad(1.0, 0.0);
    let mut adamw = Adam::new(vec![("d".into(), decayed.clone())], AdamConfig::adamw(0.1));
    adamw.step().unwrap();
    assert!((decayed.value().to_vec::<f32>().unwrap()[0] - 0.999).abs() < 1e-6, "AdamW decays the weight itself");
    // Exempt from decay (GPT recipes decay matrices only): a zero gradient leaves it as it is.
    let (matrix, vector) = (param_with_grad(1.0, 0.0), param_with_grad(1.0, 0.0));
    let named = vec![("m.weight".into(), matrix.clone()), ("ln.weight".into(), vector.clone())];
    let mut adamw = Adam::new(named, AdamConfig::adamw(0.1)).without_decay(|name, _| name.starts_with("ln."));
    adamw.step().unwrap();
    assert!((matrix.value().to_vec::<f32>().unwrap()[0] - 0.999).abs() < 1e-6);
    assert_eq!(vector.value().to_vec::<f32>().unwrap(), [1.0], "exempt from decay");
}

/// The gradient of parameter element `i` at step `t` (1-based): signs and sizes change from
/// step to step, so the second moment's decay and its bias correction show in the updates.
fn scripted_grad(t: usize, i: usize) -> f64 {
    [[-3.0, 0.5, 0.02], [1.0, 0.4, -2.0], [0.25, -1.5, 1.0], [2.0, 0.0, -0.1], [-0.5, 3.0, 0.7], [0.1, -0.2, 4.0]]
        [t - 1][i]
}

/// Adam in f64, written out from PyTorch's documented algorithm (not from the implementation):
/// the weights after each of `steps` steps from `start`, under `config`.
fn adam_by_hand(config: AdamConfig, start: &[f64], steps: usize) -> Vec<Vec<f64>> {
    let (b1, b2) = config.betas;
    let (mut p, mut m, mut v) = (start.to_vec(), vec![0.0; start.len()], vec![0.0; start.len()]);
    (1..=steps)
        .map(|t| {
            for i in 0..p.len() {
                let mut g = scripted_grad(t, i);
                if config.decoupled {
                    p[i] *= 1.0 - config.lr * config.weight_decay;
                } else {
                    g += config.weight_decay * p[i];
                }
                m[i] = b1 * m[i] + (1.0 - b1) * g;
                v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                let (m_hat, v_hat) = (m[i] / (1.0 - b1.powi(t as i32)), v[i] / (1.0 - b2.powi(t as i32)));
                p[i] -= config.lr * m_hat / (v_hat.sqrt() + config.eps);
            }
            p.clone()
        })
        .collect()
}

/// Runs the optimizer for six scripted steps and compares every step's weights with the hand
/// computation. β₁ ≠ β₂ and a large ε make a swapped β, a missing bias correction, ε inside
/// the square root or decay applied the wrong way each move the weights by far more than 1e-5.
fn assert_adam_follows_the_formula(config: AdamConfig) {
    let start = [1.0, -0.5, 2.0];
    let p = Param::new(t(&start.map(|v| v as f32), &[3]));
    let mut opt = Adam::new(vec![("w".into(), p.clone())], config);
    for (step, want) in adam_by_hand(config, &start, 6).iter().enumerate() {
        let grad: Vec<f32> = (0..3).map(|i| scripted_grad(step + 1, i) as f32).collect();
        p.leaf().set_grad(Some(t(&grad, &[3])));
        opt.step().unwrap();
        let got = p.value().to_vec::<f32>().unwrap();
        for (g, w) in got.iter().zip(want) {
            assert!((*g as f64 - w).abs() < 1e-5, "{config:?}: step {}: got {got:?}, want {want:?}", step + 1);
        }
    }
}

#[test]
fn adam_follows_the_formula_over_several_steps() {
    let config = AdamConfig { betas: (0.8, 0.95), eps: 1e-2, ..AdamConfig::adam(0.05) };
    assert_adam_follows_the_formula(config);
    assert_adam_follows_the_formula(AdamConfig { weight_decay: 0.1, ..config });
}

#[test]
fn adamw_decays_the_weights_apart_from_the_gradient_over_several_steps() {
    let config = AdamConfig { betas: (0.8, 0.95), eps: 1e-2, weight_decay: 0.2, ..AdamConfig::adamw(0.05) };
    assert!(config.decoupled);
    assert_adam_follows_the_formula(config);
}
