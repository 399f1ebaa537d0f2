//! Reverse-mode autodiff on the CPU backend: the gradient of a small function against its
//! formula, a least-squares fit by plain gradient descent, and a finite-difference gradient check.
//!
//! Run with `cargo run -p autograd --example gradients`.

use autograd::{GradcheckOptions, Var, gradcheck, no_grad};
use tensor_core::{DType, Tensor, TensorRng};

fn main() -> tensor_core::Result<()> {
    let device = backend_cpu::CpuDevice::shared();

    // f(x) = Σ tanh(x)², so df/dx = 2·tanh(x)·(1 - tanh²(x)).
    let values = [-1.5f64, -0.2, 0.0, 0.7, 2.0];
    let x = Var::parameter(Tensor::from_vec(values.to_vec(), [5], &device)?);
    let f = x.tanh()?.square()?.sum_all()?;
    f.backward()?;
    let grad = x.grad().expect("x is a parameter").to_vec::<f64>()?;
    println!("f(x) = Σ tanh(x)² = {:.6}", f.value().to_scalar()?);
    for (v, g) in values.iter().zip(&grad) {
        let formula = 2.0 * v.tanh() * (1.0 - v.tanh().powi(2));
        println!("  x = {v:>5.2}: autograd {g:>9.6}, formula {formula:>9.6}");
        assert!((g - formula).abs() < 1e-12);
    }

    // Fit y = 2·x₀ - 3·x₁ + 1 from 64 noise-free samples: loss, backward, step, repeat.
    let mut rng = TensorRng::new(0);
    let inputs = rng.uniform([64, 2], -1.0, 1.0, DType::F32, &device)?;
    let truth = Tensor::from_vec(vec![2.0f32, -3.0], [2, 1], &device)?;
    let targets = Var::constant(inputs.try_matmul(&truth)?.add_scalar(1.0));
    let inputs = Var::constant(inputs);
    let w = Var::parameter(Tensor::zeros([2, 1], DType::F32, &device)?);
    let b = Var::parameter(Tensor::zeros([1], DType::F32, &device)?);
    let learning_rate = 0.1;
    for step in 0..=300 {
        let loss = inputs.matmul(&w)?.add(&b)?.sub(&targets)?.square()?.mean_all()?;
        w.zero_grad();
        b.zero_grad();
        loss.backward()?;
        no_grad(|| -> tensor_core::Result<()> {
            for p in [&w, &b] {
                let gradient = p.grad().expect("a parameter of the loss");
                p.set_value(p.value().try_sub(&gradient.scale(learning_rate))?)?;
            }
            Ok(())
        })?;
        if step % 60 == 0 {
            println!("step {step:>3}: loss {:.6}", loss.value().to_scalar()?);
        }
    }
    let (w, b) = (w.value().to_vec::<f32>()?, b.value().to_scalar()?);
    println!("learned w = [{:.4}, {:.4}], b = {b:.4} (truth: [2, -3], 1)", w[0], w[1]);
    assert!((w[0] - 2.0).abs() < 1e-3 && (w[1] + 3.0).abs() < 1e-3 && (b - 1.0).abs() < 1e-3);

    // gradcheck compares autograd with central differences in f64: here a softmax over a
    // product through a transposed view, the kind of composition a model is made of.
    let a = rng.normal([3, 4], 0.0, 1.0, DType::F64, &device)?;
    let m = rng.normal([3, 5], 0.0, 1.0, DType::F64, &device)?;
    let composed = |v: &[Var]| v[0].transpose(0, 1)?.matmul(&v[1])?.tanh()?.log_softmax(-1);
    gradcheck(composed, &[a, m], GradcheckOptions::default())?;
    println!("gradcheck: log_softmax(tanh(aᵀ · m)) matches finite differences");
    Ok(())
}
