//! Gradient checking by central finite differences in f64.

use tensor_core::{DType, HostBuffer, Result, Tensor, TensorError, TensorRng};

use crate::{Var, no_grad};

/// Step and tolerances of [`gradcheck`] (PyTorch's defaults).
#[derive(Clone, Copy, Debug)]
pub struct GradcheckOptions {
    /// Finite-difference step.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance.
    pub rtol: f64,
    /// Seed of the random output weights.
    pub seed: u64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions { eps: 1e-6, atol: 1e-5, rtol: 1e-3, seed: 0 }
    }
}

/// Checks the gradients that autograd computes for `f` at `inputs` (f64 tensors) against
/// central finite differences of `L = Σ f(inputs) ⊙ R` for a fixed random `R`. Errors name the
/// input, the element, and both values.
pub fn gradcheck(f: impl Fn(&[Var]) -> Result<Var>, inputs: &[Tensor], options: GradcheckOptions) -> Result<()> {
    gradcheck_scaled(&f, &f, 1.0, inputs, options)
}

/// The check of an op whose backward is deliberately not the derivative of its forward (a
/// gradient reversal): the gradient autograd computes through `f` must be `scale` times the
/// central differences of `reference`, a function with the same value as `f` at every input.
/// [`gradcheck`] is this with `reference = f` and `scale = 1`.
pub fn gradcheck_scaled(
    f: impl Fn(&[Var]) -> Result<Var>,
    reference: impl Fn(&[Var]) -> Result<Var>,
    scale: f64,
    inputs: &[Tensor],
    options: GradcheckOptions,
) -> Result<()> {
    for (i, input) in inputs.iter().enumerate() {
        if input.dtype() != DType::F64 {
            return Err(TensorError::invalid(
                "gradcheck",
                format!("input {i} is {}, gradcheck needs f64", input.dtype()),
            ));
        }
    }
    let params: Vec<Var> = inputs.iter().map(|t| Var::parameter(t.clone())).collect();
    let out = f(&params)?.value();
    let weights = TensorRng::new(options.seed).uniform(out.shape().clone(), 0.5, 1.5, DType::F64, out.device())?;
    let weighted = |value: Var| -> Result<Var> { value.mul(&Var::constant(weights.clone()))?.sum_all() };
    weighted(f(&params)?)?.backward()?;
    for (i, (param, input)) in params.iter().zip(inputs).enumerate() {
        let analytic = match param.grad() {
            Some(g) => g.to_f64_vec()?,
            None => vec![0.0; input.numel()],
        };
        let base = input.to_f64_vec()?;
        for j in 0..base.len() {
            let at = |delta: f64| -> Result<f64> {
                let mut values = base.clone();
                values[j] += delta;
                let moved = Tensor::from_buffer(HostBuffer::F64(values), input.shape().clone(), input.device())?;
                let vars: Vec<Var> = params
                    .iter()
                    .enumerate()
                    .map(|(k, p)| if k == i { Var::constant(moved.clone()) } else { Var::constant(p.value()) })
                    .collect();
                no_grad(|| weighted(reference(&vars)?))?.value().to_scalar()
            };
            let numeric = scale * (at(options.eps)? - at(-options.eps)?) / (2.0 * options.eps);
            if (analytic[j] - numeric).abs() > options.atol + options.rtol * numeric.abs() {
                return Err(TensorError::invalid(
                    "gradcheck",
                    format!("input {i} {} element {j}: analytic {} vs numeric {numeric}", input.shape(), analytic[j]),
                ));
            }
        }
    }
    Ok(())
}
