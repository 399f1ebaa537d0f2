//! Layer normalisation over the last axis.

use std::sync::Arc;

use autograd::Var;
use tensor_core::{DType, Device, Result, Tensor};

use crate::{Module, Param, module::join};

/// `(x - mean) / √(var + eps) · weight + bias` over the last axis (PyTorch's `nn.LayerNorm`
/// with one normalised dimension; biased variance).
#[derive(Debug)]
pub struct LayerNorm {
    /// Scale, `[dim]`, initialised to ones.
    pub weight: Param,
    /// Shift, `[dim]`, initialised to zeros.
    pub bias: Param,
    eps: f64,
}

impl LayerNorm {
    /// A layer norm over `dim` features.
    pub fn new(dim: usize, eps: f64, device: &Arc<dyn Device>) -> Result<Self> {
        Ok(LayerNorm {
            weight: Param::new(Tensor::ones([dim], DType::F32, device)?),
            bias: Param::new(Tensor::zeros([dim], DType::F32, device)?),
            eps,
        })
    }
}

impl Module for LayerNorm {
    fn forward(&self, input: &Var) -> Result<Var> {
        let centred = input.sub(&input.mean(&[-1], true)?)?;
        let var = centred.square()?.mean(&[-1], true)?;
        let normalised = centred.div(&var.affine(1.0, self.eps)?.sqrt()?)?;
        normalised.mul(&self.weight.var())?.add(&self.bias.var())
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        visit(&join(prefix, "weight"), &self.weight);
        visit(&join(prefix, "bias"), &self.bias);
    }
}
