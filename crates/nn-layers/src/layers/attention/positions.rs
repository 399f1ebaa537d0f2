//! How a transformer knows where each token is: a learned table, the fixed sinusoids of
//! Vaswani et al. (2017), or rotary embeddings (RoPE, Su et al. 2021) that turn each query and
//! key by an angle proportional to its position.

use std::sync::Arc;

use autograd::Var;
use tensor_core::{DType, Device, Result, Tensor, TensorError};

/// The kind of position information a transformer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Positions {
    /// A trained `[context, width]` table added to the token embeddings (GPT-2's `wpe`).
    Learned,
    /// The fixed sinusoid table of "Attention is all you need", added to the embeddings.
    Sinusoidal,
    /// Rotary embeddings applied to the queries and keys of every attention layer.
    Rotary,
}

impl Positions {
    /// The name used in config files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Positions::Learned => "learned",
            Positions::Sinusoidal => "sinusoidal",
            Positions::Rotary => "rotary",
        }
    }

    /// The kind named `name` (see [`Positions::name`]).
    pub fn from_name(name: &str) -> Option<Positions> {
        [Positions::Learned, Positions::Sinusoidal, Positions::Rotary].into_iter().find(|p| p.name() == name)
    }
}

/// `[positions, width]`: `sin(p / 10000^(2i/width))` in column `2i`, the cosine in `2i + 1`.
pub fn sinusoidal_table(positions: usize, width: usize, device: &Arc<dyn Device>) -> Result<Tensor> {
    let mut data = vec![0.0f32; positions * width];
    for p in 0..positions {
        for i in 0..width.div_ceil(2) {
            let angle = p as f64 / 10000f64.powf(2.0 * i as f64 / width as f64);
            data[p * width + 2 * i] = angle.sin() as f32;
            if 2 * i + 1 < width {
                data[p * width + 2 * i + 1] = angle.cos() as f32;
            }
        }
    }
    Tensor::from_vec(data, [positions, width], device)
}

/// Rotary position embeddings over heads of `head_dim` features (GPT-NeoX's "rotate half"
/// pairing: feature `i` turns with feature `i + head_dim / 2`, at frequency
/// `10000^(-2i / head_dim)`).
#[derive(Clone, Debug)]
pub struct Rotary {
    cos: Tensor,
    sin: Tensor,
}

impl Rotary {
    /// Tables for `positions` positions; `head_dim` must be even.
    pub fn new(positions: usize, head_dim: usize, device: &Arc<dyn Device>) -> Result<Rotary> {
        if head_dim == 0 || !head_dim.is_multiple_of(2) {
            return Err(TensorError::invalid("rotary", format!("needs an even head width, got {head_dim}")));
        }
        let half = head_dim / 2;
        let (mut cos, mut sin) = (vec![0.0f32; positions * half], vec![0.0f32; positions * half]);
        for p in 0..positions {
            for i in 0..half {
                let angle = p as f64 * 10000f64.powf(-2.0 * i as f64 / head_dim as f64);
                cos[p * half + i] = angle.cos() as f32;
                sin[p * half + i] = angle.sin() as f32;
            }
        }
        Ok(Rotary {
            cos: Tensor::from_vec(cos, [positions, half], device)?,
            sin: Tensor::from_vec(sin, [positions, half], device)?,
        })
    }

    /// Positions the tables cover.
    pub fn positions(&self) -> usize {
        self.cos.dims()[0]
    }

    /// Turns `x` `[B, H, T, head_dim]` whose first step is at position `offset`.
    pub fn apply(&self, x: &Var, offset: usize) -> Result<Var> {
        let dims = x.dims();
        let (steps, half) = (dims[dims.len() - 2], dims[dims.len() - 1] / 2);
        if half != self.cos.dims()[1] || offset + steps > self.positions() {
            return Err(TensorError::invalid(
                "rotary",
                format!("x {dims:?} at offset {offset} does not fit tables {}", self.cos.shape()),
            ));
        }
        let table = |t: &Tensor| -> Result<Var> {
            let t = t.try_narrow(0, offset, steps)?;
            let t = if x.value().dtype() == DType::F32 { t } else { t.try_cast(x.value().dtype())? };
            Ok(Var::constant(t))
        };
        let (cos, sin) = (table(&self.cos)?, table(&self.sin)?);
        let (x1, x2) = (x.narrow(-1, 0, half)?, x.narrow(-1, half, half)?);
        let first = x1.mul(&cos)?.sub(&x2.mul(&sin)?)?;
        let second = x2.mul(&cos)?.add(&x1.mul(&sin)?)?;
        Var::cat(&[&first, &second], -1)
    }
}
