//! Batch normalisation over the channel axis (PyTorch's `BatchNorm1d` and `BatchNorm2d`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use autograd::Var;
use tensor_core::{DType, Device, Result, Tensor, TensorError};

use crate::{Buffer, Module, Param, module::join};

/// Normalises each channel (axis 1) with the batch's mean and biased variance while training,
/// and with running estimates in eval mode; then scales by `weight` and shifts by `bias`.
///
/// Training updates `running_mean` and `running_var` (unbiased) with `momentum`, and counts
/// `num_batches_tracked`, the three buffers PyTorch saves, under the same names.
#[derive(Debug)]
pub struct BatchNorm {
    /// Per-channel scale γ, `[C]` (ones at start).
    pub weight: Param,
    /// Per-channel shift β, `[C]` (zeros at start).
    pub bias: Param,
    /// Running mean, `[C]`.
    pub running_mean: Buffer,
    /// Running (unbiased) variance, `[C]`.
    pub running_var: Buffer,
    /// Training batches seen (i64 scalar).
    pub num_batches_tracked: Buffer,
    /// Weight of the newest batch in the running estimates.
    pub momentum: f64,
    /// Added to the variance before the square root.
    pub eps: f64,
    /// The input rank this layer accepts: 2 or 3 for 1-D, 4 for 2-D.
    ranks: &'static [usize],
    training: AtomicBool,
}

impl BatchNorm {
    fn with_ranks(channels: usize, ranks: &'static [usize], device: &Arc<dyn Device>) -> Result<Self> {
        let f = |v: f64| Tensor::full(v, [channels], DType::F32, device);
        Ok(BatchNorm {
            weight: Param::new(f(1.0)?),
            bias: Param::new(f(0.0)?),
            running_mean: Buffer::new(f(0.0)?),
            running_var: Buffer::new(f(1.0)?),
            num_batches_tracked: Buffer::new(Tensor::from_vec(vec![0i64], Vec::<usize>::new(), device)?),
            momentum: 0.1,
            eps: 1e-5,
            ranks,
            training: AtomicBool::new(true),
        })
    }

    /// `BatchNorm2d(channels)`: inputs `[N, C, H, W]`.
    pub fn new_2d(channels: usize, device: &Arc<dyn Device>) -> Result<Self> {
        Self::with_ranks(channels, &[4], device)
    }

    /// `BatchNorm1d(channels)`: inputs `[N, C]` or `[N, C, L]`.
    pub fn new_1d(channels: usize, device: &Arc<dyn Device>) -> Result<Self> {
        Self::with_ranks(channels, &[2, 3], device)
    }

    /// The same layer with its parameters and running statistics in `dtype` (f64 for gradient
    /// checks).
    pub fn with_dtype(self, dtype: DType) -> Result<Self> {
        for p in [&self.weight, &self.bias] {
            p.set_value(p.value().try_cast(dtype)?)?;
        }
        for b in [&self.running_mean, &self.running_var] {
            b.set_value(b.value().try_cast(dtype)?)?;
        }
        Ok(self)
    }

    /// Folds a batch's statistics into the running estimates.
    fn update_running(&self, mean: &Tensor, var: &Tensor, count: usize) -> Result<()> {
        let m = self.momentum;
        let unbiased =
            var.try_unary(tensor_core::UnaryOp::Affine { mul: count as f64 / (count - 1).max(1) as f64, add: 0.0 })?;
        for (buffer, batch) in [(&self.running_mean, mean), (&self.running_var, &unbiased)] {
            let old = buffer.value();
            let blended = old.try_unary(tensor_core::UnaryOp::Affine { mul: 1.0 - m, add: 0.0 })?;
            let new = blended
                .try_add(&batch.try_unary(tensor_core::UnaryOp::Affine { mul: m, add: 0.0 })?.try_cast(old.dtype())?)?;
            buffer.set_value(new)?;
        }
        let seen = self.num_batches_tracked.value();
        self.num_batches_tracked.set_value(seen.try_add(&Tensor::from_vec(
            vec![1i64],
            Vec::<usize>::new(),
            seen.device(),
        )?)?)
    }
}

impl Module for BatchNorm {
    fn forward(&self, input: &Var) -> Result<Var> {
        let dims = input.dims();
        let channels = self.weight.value().numel();
        if !self.ranks.contains(&dims.len()) || dims[1] != channels {
            return Err(TensorError::invalid(
                "batch norm",
                format!("expects rank {:?} with {channels} channels on axis 1, got {}", self.ranks, input.shape()),
            ));
        }
        // Per-channel tensors broadcast as [1, C, 1, ...].
        let mut channel_shape = vec![1; dims.len()];
        channel_shape[1] = channels;
        let axes: Vec<isize> = (0..dims.len() as isize).filter(|&a| a != 1).collect();
        let (mean, var) = if self.training.load(Ordering::Relaxed) {
            let count = dims.iter().enumerate().filter(|(a, _)| *a != 1).map(|(_, d)| d).product::<usize>();
            if count < 2 {
                return Err(TensorError::invalid("batch norm", "training needs more than one value per channel"));
            }
            let mean = input.mean(&axes, true)?;
            let centred = input.sub(&mean)?;
            let var = centred.square()?.mean(&axes, true)?;
            self.update_running(&mean.value().try_reshape([channels])?, &var.value().try_reshape([channels])?, count)?;
            (mean, var)
        } else {
            let stat = |b: &Buffer| -> Result<Var> { Ok(Var::constant(b.value().try_reshape(channel_shape.clone())?)) };
            (stat(&self.running_mean)?, stat(&self.running_var)?)
        };
        let normalised = input.sub(&mean)?.div(&var.affine(1.0, self.eps)?.sqrt()?)?;
        let scale = self.weight.var().reshape(channel_shape.clone())?;
        let shift = self.bias.var().reshape(channel_shape)?;
        normalised.mul(&scale)?.add(&shift)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        visit(&join(prefix, "weight"), &self.weight);
        visit(&join(prefix, "bias"), &self.bias);
    }

    fn visit_buffers(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Buffer)) {
        visit(&join(prefix, "running_mean"), &self.running_mean);
        visit(&join(prefix, "running_var"), &self.running_var);
        visit(&join(prefix, "num_batches_tracked"), &self.num_batches_tracked);
    }

    fn set_training(&self, training: bool) {
        self.training.store(training, Ordering::Relaxed);
    }
}
