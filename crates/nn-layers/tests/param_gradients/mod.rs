//! Shared by the attention and transformer tests: parameter gradients against central
//! differences.

use std::sync::Arc;

use autograd::{Var, no_grad};
use nn_layers::{Module, ModuleExt};
use tensor_core::{DType, Device, Tensor, TensorRng};

/// Checks a few elements of every parameter's gradient of `Σ f() ⊙ R` by central differences.
pub fn check_parameter_gradients(module: &dyn Module, f: &dyn Fn() -> Var, dev: &Arc<dyn Device>) {
    let weights = TensorRng::new(9).uniform(f().value().shape().clone(), 0.5, 1.5, DType::F64, dev).unwrap();
    let loss = || f().mul(&Var::constant(weights.clone())).unwrap().sum_all().unwrap();
    module.parameters().iter().for_each(|(_, p)| p.zero_grad());
    loss().backward().unwrap();
    for (name, p) in module.parameters() {
        let analytic = p.grad().unwrap().to_vec::<f64>().unwrap();
        let base = p.value().to_vec::<f64>().unwrap();
        for j in [0, base.len() / 2, base.len() - 1] {
            let at = |delta: f64| {
                let mut moved = base.clone();
                moved[j] += delta;
                p.set_value(Tensor::from_vec(moved, p.value().shape().clone(), dev).unwrap()).unwrap();
                let value = no_grad(loss).value().to_scalar().unwrap();
                p.set_value(Tensor::from_vec(base.clone(), p.value().shape().clone(), dev).unwrap()).unwrap();
                value
            };
            let numeric = (at(1e-6) - at(-1e-6)) / 2e-6;
            assert!(
                (analytic[j] - numeric).abs() < 1e-6 + 1e-4 * numeric.abs(),
                "{name}[{j}]: {} vs {numeric}",
                analytic[j]
            );
        }
    }
}
