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

/// The window of a convolution layer: what its kernel looks like and how it is applied.
pub trait ConvWindow: Copy + std::fmt::Debug + Send + Sync {
    /// The layer's name in errors (`Conv2d`).
    const NAME: &'static str;
    /// Kernel dimensions after `[out, in/groups]` in the weight's shape.
    fn kernel_dims(&self) -> Vec<usize>;
    /// The convolution of `input` with `weight` and `bias`.
    fn apply(&self, input: &Var, weight: &Var, bias: Option<&Var>, groups: usize) -> Result<Var>;
}

impl ConvWindow for Window2d {
    const NAME: &'static str = "Conv2d";

    fn kernel_dims(&self) -> Vec<usize> {
        self.kernel.to_vec()
    }

    fn apply(&self, input: &Var, weight: &Var, bias: Option<&Var>, groups: usize) -> Result<Var> {
        input.conv2d(weight, bias, self, groups)
    }
}

impl ConvWindow for Window1d {
    const NAME: &'static str = "Conv1d";

    fn kernel_dims(&self) -> Vec<usize> {
        vec![self.kernel]
    }

    fn apply(&self, input: &Var, weight: &Var, bias: Option<&Var>, groups: usize) -> Result<Var> {
        input.conv1d(weight, bias, self, groups)
    }
}

/// A convolution layer over `[N, C, ...]` with a `W` window ([`Conv2d`], [`Conv1d`]).
#[derive(Debug)]
pub struct Conv<W: ConvWindow> {
    /// Filters, `[out, in/groups, ...kernel]`.
    pub weight: Param,
    /// Bias, `[out]`, if any.
    pub bias: Option<Param>,
    /// Kernel, stride, padding and dilation.
    pub window: W,
    /// Channel groups.
    pub groups: usize,
}

/// A 2-D convolution over `[N, C, H, W]` (PyTorch's `nn.Conv2d`), weight `[out, in/groups, kh, kw]`.
pub type Conv2d = Conv<Window2d>;

/// A 1-D convolution over `[N, C, L]` (PyTorch's `nn.Conv1d`), weight `[out, in/groups, k]`;
/// over word embeddings, an n-gram detector.
pub type Conv1d = Conv<Window1d>;

impl<W: ConvWindow> Conv<W> {
    /// A dense convolution with a bias, f32.
    pub fn new(
        inputs: usize,
        outputs: usize,
        window: W,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<Self> {
        Self::with_config(inputs, outputs, window, ConvConfig::default(), rng, device)
    }

    /// A convolution with explicit groups, bias and dtype.
    pub fn with_config(
        inputs: usize,
        outputs: usize,
        window: W,
        config: ConvConfig,
        rng: &mut TensorRng,
        device: &Arc<dyn Device>,
    ) -> Result<Self> {
        let groups = config.groups;
        if groups == 0 || !inputs.is_multiple_of(groups) || !outputs.is_multiple_of(groups) {
            return Err(TensorError::invalid(
                W::NAME,
                format!("{groups} groups must divide both {inputs} input and {outputs} output channels"),
            ));
        }
        let mut dims = vec![outputs, inputs / groups];
        dims.extend(window.kernel_dims());
        let (weight, bias) = conv_params(&dims, &config, rng, device)?;
        Ok(Conv { weight, bias, window, groups })
    }
}

impl<W: ConvWindow> Module for Conv<W> {
    fn forward(&self, input: &Var) -> Result<Var> {
        let bias = self.bias.as_ref().map(Param::var);
        self.window.apply(input, &self.weight.var(), bias.as_ref(), self.groups)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        visit(&join(prefix, "weight"), &self.weight);
        if let Some(b) = &self.bias {
            visit(&join(prefix, "bias"), b);
        }
    }
}
