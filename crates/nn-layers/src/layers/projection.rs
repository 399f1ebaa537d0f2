//! A linear map whose weight is stored `[in, out]`: Hugging Face's GPT-2 `Conv1D`, so GPT-2
//! checkpoints load as they are.

use std::sync::Arc;

use autograd::Var;
use tensor_core::{DType, Device, Result, Tensor, TensorRng};

use crate::{Module, Param, module::join};

/// `y = x · W + b` with `W` `[in, out]` (Hugging Face's `Conv1D` layout, transposed from
/// [`crate::layers::Linear`]'s).
#[derive(Debug)]
pub struct Projection {
    /// Weight, `[in_features, out_features]`.
    pub weight: Param,
    /// Bias, `[out_features]`, if any.
    pub bias: Option<Param>,
}

impl Projection {
    /// Weight drawn N(0, std²), bias zeros (GPT-2's initialisation).
    pub fn normal(
        inputs: usize,
        outputs: usize,
        std: f64,
        bias: bool,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<Self> {
        let weight = Param::new(rng.normal([inputs, outputs], 0.0, std, DType::F32, device)?);
        let bias = if bias { Some(Param::new(Tensor::zeros([outputs], DType::F32, device)?)) } else { None };
        Ok(Projection { weight, bias })
    }
}

impl Module for Projection {
    /// `input` `[..., in]` to `[..., out]`; leading axes are flattened for one product, so the
    /// weight's gradient is one `[in, out]` product too.
    fn forward(&self, input: &Var) -> Result<Var> {
        let dims = input.dims();
        let w = self.weight.var();
        let (inputs, outputs) = (w.dims()[0], w.dims()[1]);
        let rows = dims.iter().rev().skip(1).product::<usize>();
        let mut y = input.reshape([rows, inputs])?.matmul(&w)?;
        if let Some(bias) = &self.bias {
            y = y.add(&bias.var())?;
        }
        let mut out = dims[..dims.len() - 1].to_vec();
        out.push(outputs);
        y.reshape(out)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        visit(&join(prefix, "weight"), &self.weight);
        if let Some(b) = &self.bias {
            visit(&join(prefix, "bias"), b);
        }
    }
}
