//! Layer normalisation over the last axis.

use std::sync::Arc;

use autograd::Var;
use tensor_core::{DType, Device, Result, Tensor};

use crate::{Module, Param, module::join};

/// `(x - mean) / √(var + eps) · weight + bias` over the last axis (PyTorch's `nn.LayerNorm`
/// with one normalised dimension; biased variance). The bias is optional, as in nanoGPT's
/// `bias=False` models.
#[derive(Debug)]
pub struct LayerNorm {
    /// Scale, `[dim]`, initialised to ones.
    pub weight: Param,
    /// Shift, `[dim]`, initialised to zeros, if any.
    pub bias: Option<Param>,
    eps: f64,
}

impl LayerNorm {
    /// A layer norm over `dim` features, with a bias.
    pub fn new(dim: usize, eps: f64, device: &Arc<dyn Device>) -> Result<Self> {
        Self::with_bias(dim, eps, true, device)
    }

    /// A layer norm over `dim` features, with a bias or not.
    pub fn with_bias(dim: usize, eps: f64, bias: bool, device: &Arc<dyn Device>) -> Result<Self> {
        Ok(LayerNorm {
            weight: Param::new(Tensor::ones([dim], DType::F32, device)?),
            bias: if bias { Some(Param::new(Tensor::zeros([dim], DType::F32, device)?)) } else { None },
            eps,
        })
    }
}

impl Module for LayerNorm {
    fn forward(&self, input: &Var) -> Result<Var> {
        let centred = input.sub(&input.mean(&[-1], true)?)?;
        let var = centred.square()?.mean(&[-1], true)?;
        let normalised = centred.div(&var.affine(1.0, self.eps)?.sqrt()?)?;
        let scaled = normalised.mul(&self.weight.var())?;
        match &self.bias {
            Some(bias) => scaled.add(&bias.var()),
            None => Ok(scaled),
        }
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        visit(&join(prefix, "weight"), &self.weight);
        if let Some(bias) = &self.bias {
            visit(&join(prefix, "bias"), bias);
        }
    }
}
