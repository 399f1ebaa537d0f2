//! Weight initialisers, driven by a seeded [`TensorRng`].

use std::sync::Arc;

use tensor_core::{DType, Device, Result, Tensor, TensorRng};

/// How to fill a weight of shape `[fan_out, fan_in, ...]` (PyTorch's convention).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// U(-a, a).
    Uniform(f64),
    /// N(0, std²).
    Normal(f64),
    /// Glorot: U(±√(6 / (fan_in + fan_out))).
    XavierUniform,
    /// Glorot: N(0, 2 / (fan_in + fan_out)).
    XavierNormal,
    /// He: U(±√(6 / fan_in)), for ReLU networks.
    KaimingUniform,
    /// He: N(0, 2 / fan_in).
    KaimingNormal,
    /// PyTorch's default for Linear and Conv: U(±1/√fan_in).
    LecunUniform,
    /// All zeros.
    Zeros,
    /// All ones.
    Ones,
}

/// (fan_in, fan_out) of a weight shape: `[out, in, k...]`.
pub fn fans(dims: &[usize]) -> (usize, usize) {
    let receptive: usize = dims.iter().skip(2).product();
    match dims.len() {
        0 => (1, 1),
        1 => (dims[0], dims[0]),
        _ => (dims[1] * receptive, dims[0] * receptive),
    }
}

impl Init {
    /// A tensor of `dims` filled by this rule.
    pub fn tensor(self, dims: &[usize], dtype: DType, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Tensor> {
        let (fan_in, fan_out) = fans(dims);
        let (fan_in, fan_out) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
        match self {
            Init::Uniform(a) => rng.uniform(dims, -a, a, dtype, device),
            Init::Normal(std) => rng.normal(dims, 0.0, std, dtype, device),
            Init::XavierUniform => {
                let a = (6.0 / (fan_in + fan_out)).sqrt();
                rng.uniform(dims, -a, a, dtype, device)
            }
            Init::XavierNormal => rng.normal(dims, 0.0, (2.0 / (fan_in + fan_out)).sqrt(), dtype, device),
            Init::KaimingUniform => {
                let a = (6.0 / fan_in).sqrt();
                rng.uniform(dims, -a, a, dtype, device)
            }
            Init::KaimingNormal => rng.normal(dims, 0.0, (2.0 / fan_in).sqrt(), dtype, device),
            Init::LecunUniform => {
                let a = 1.0 / fan_in.sqrt();
                rng.uniform(dims, -a, a, dtype, device)
            }
            Init::Zeros => Tensor::zeros(dims, dtype, device),
            Init::Ones => Tensor::ones(dims, dtype, device),
        }
    }
}
