//! Fully connected layer: `y = x Wᵀ + b`.

use std::sync::Arc;

use autograd::Var;
use tensor_core::{DType, Device, Result, TensorRng};

use crate::{Init, Module, Param, module::join};

/// A fully connected layer with weight `[out, in]` and bias `[out]` (PyTorch's layout).
#[derive(Debug)]
pub struct Linear {
    /// Weight, `[out_features, in_features]`.
    pub weight: Param,
    /// Bias, `[out_features]`, if any.
    pub bias: Option<Param>,
}

impl Linear {
    /// A layer initialised as PyTorch does (U(±1/√in) for weight and bias).
    pub fn new(inputs: usize, outputs: usize, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Self> {
        Self::with_init(inputs, outputs, true, Init::LecunUniform, DType::F32, rng, device)
    }

    /// A layer with a chosen initialiser for the weight, bias or not, and dtype.
    pub fn with_init(
        inputs: usize,
        outputs: usize,
        bias: bool,
        init: Init,
        dtype: DType,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<Self> {
        let weight = Param::new(init.tensor(&[outputs, inputs], dtype, rng, device)?);
        let bias = if bias {
            let bound = 1.0 / (inputs.max(1) as f64).sqrt();
            Some(Param::new(rng.uniform([outputs], -bound, bound, dtype, device)?))
        } else {
            None
        };
        Ok(Linear { weight, bias })
    }
}

impl Module for Linear {
    fn forward(&self, input: &Var) -> Result<Var> {
        let bias = self.bias.as_ref().map(Param::var);
        input.linear(&self.weight.var(), bias.as_ref())
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        visit(&join(prefix, "weight"), &self.weight);
        if let Some(b) = &self.bias {
            visit(&join(prefix, "bias"), b);
        }
    }
}
