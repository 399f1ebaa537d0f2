//! Convolution layers with PyTorch's names and layouts: `weight` is `[out, in/groups, kh, kw]`
//! (`[out, in/groups, k]` in 1-D) and `bias` is `[out]`.

use std::sync::Arc;

use autograd::Var;
use tensor_core::{DType, Device, Result, TensorError, TensorRng, Window1d, Window2d};

use crate::{Init, Module, Param, module::join};

/// Options shared by [`Conv2d`] and [`Conv1d`] besides the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvConfig {
    /// Channel groups (1: dense; `in_channels`: depthwise).
    pub groups: usize,
    /// Whether the layer adds a bias.
    pub bias: bool,
    /// Parameter dtype.
    pub dtype: DType,
}

impl Default for ConvConfig {
    fn default() -> Self {
        ConvConfig { groups: 1, bias: true, dtype: DType::F32 }
    }
}

/// Weight and bias of a convolution, initialised as PyTorch does: U(±1/√fan_in) for both,
/// with fan_in = in/groups · taps.
fn conv_params(
    weight_dims: &[usize],
    config: &ConvConfig,
    rng: &mut TensorRng,
    device: &Arc<dyn Device>,
) -> Result<(Param, Option<Param>)> {
    let weight = Param::new(Init::LecunUniform.tensor(weight_dims, config.dtype, rng, device)?);
    let fan_in: usize = weight_dims[1..].iter().product();
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    let bias = config.bias.then(|| rng.uniform([weight_dims[0]], -bound, bound, config.dtype, device)).transpose()?;
    Ok((weight, bias.map(Param::new)))
}

fn check_groups(op: &'static str, inputs: usize, outputs: usize, groups: usize) -> Result<()> {
    if groups == 0 || !inputs.is_multiple_of(groups) || !outputs.is_multiple_of(groups) {
        return Err(TensorError::invalid(
            op,
            format!("{groups} groups must divide both {inputs} input and {outputs} output channels"),
        ));
    }
    Ok(())
}

fn visit_weight_bias(prefix: &str, weight: &Param, bias: Option<&Param>, visit: &mut dyn FnMut(&str, &Param)) {
    visit(&join(prefix, "weight"), weight);
    if let Some(b) = bias {
        visit(&join(prefix, "bias"), b);
    }
}

/// A 2-D convolution over `[N, C, H, W]` (PyTorch's `nn.Conv2d`).
#[derive(Debug)]
pub struct Conv2d {
    /// Filters, `[out, in/groups, kh, kw]`.
    pub weight: Param,
    /// Bias, `[out]`, if any.
    pub bias: Option<Param>,
    /// Kernel, stride, padding and dilation.
    pub window: Window2d,
    /// Channel groups.
    pub groups: usize,
}

impl Conv2d {
    /// A dense convolution with a bias, f32.
    pub fn new(
        inputs: usize,
        outputs: usize,
        window: Window2d,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<Self> {
        Self::with_config(inputs, outputs, window, ConvConfig::default(), rng, device)
    }

    /// A convolution with explicit groups, bias and dtype.
    pub fn with_config(
        inputs: usize,
        outputs: usize,
        window: Window2d,
        config: ConvConfig,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<Self> {
        check_groups("Conv2d", inputs, outputs, config.groups)?;
        let dims = [outputs, inputs / config.groups, window.kernel[0], window.kernel[1]];
        let (weight, bias) = conv_params(&dims, &config, rng, device)?;
        Ok(Conv2d { weight, bias, window, groups: config.groups })
    }
}

impl Module for Conv2d {
    fn forward(&self, input: &Var) -> Result<Var> {
        let bias = self.bias.as_ref().map(Param::var);
        input.conv2d(&self.weight.var(), bias.as_ref(), &self.window, self.groups)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        visit_weight_bias(prefix, &self.weight, self.bias.as_ref(), visit);
    }
}

/// A 1-D convolution over `[N, C, L]` (PyTorch's `nn.Conv1d`), e.g. over word embeddings.
#[derive(Debug)]
pub struct Conv1d {
    /// Filters, `[out, in/groups, k]`.
    pub weight: Param,
    /// Bias, `[out]`, if any.
    pub bias: Option<Param>,
    /// Kernel, stride, padding and dilation.
    pub window: Window1d,
    /// Channel groups.
    pub groups: usize,
}

impl Conv1d {
    /// A dense convolution with a bias, f32.
    pub fn new(
        inputs: usize,
        outputs: usize,
        window: Window1d,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<Self> {
        Self::with_config(inputs, outputs, window, ConvConfig::default(), rng, device)
    }

    /// A convolution with explicit groups, bias and dtype.
    pub fn with_config(
        inputs: usize,
        outputs: usize,
        window: Window1d,
        config: ConvConfig,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<Self> {
        check_groups("Conv1d", inputs, outputs, config.groups)?;
        let dims = [outputs, inputs / config.groups, window.kernel];
        let (weight, bias) = conv_params(&dims, &config, rng, device)?;
        Ok(Conv1d { weight, bias, window, groups: config.groups })
    }
}

impl Module for Conv1d {
    fn forward(&self, input: &Var) -> Result<Var> {
        let bias = self.bias.as_ref().map(Param::var);
        input.conv1d(&self.weight.var(), bias.as_ref(), &self.window, self.groups)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        visit_weight_bias(prefix, &self.weight, self.bias.as_ref(), visit);
    }
}
