//! Optimizers (SGD with momentum/Nesterov/weight decay, Adam, AdamW) and learning-rate
//! schedules. Updates run under `no_grad` with tensor ops, so they work on every backend.
//! Frozen parameters are skipped.

mod adam;
mod schedule;
mod sgd;

pub use adam::{Adam, AdamConfig};
pub use schedule::{Constant, Cosine, InverseSqrt, LrSchedule, StepDecay, Warmup};
pub use sgd::{Sgd, SgdConfig};

use tensor_core::{Result, Tensor, UnaryOp};

use crate::Param;

/// A parameter update rule.
pub trait Optimizer {
    /// Applies one update from the parameters' current gradients.
    fn step(&mut self) -> Result<()>;

    /// Clears the gradients of every parameter.
    fn zero_grad(&self);

    /// The learning rate in use.
    fn lr(&self) -> f64;

    /// Sets the learning rate (schedules call this).
    fn set_lr(&mut self, lr: f64);

    /// The optimizer's buffers by name (`<param>.<buffer>`), for checkpoints.
    fn state(&self) -> Result<Vec<(String, Tensor)>>;

    /// Restores buffers saved by [`Optimizer::state`]; unknown names are ignored.
    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()>;
}

/// `a·x + b·y` for two tensors (one pass fewer when `a` is 1).
pub(crate) fn axpby(a: f64, x: &Tensor, b: f64, y: &Tensor) -> Result<Tensor> {
    let by = y.try_unary(UnaryOp::Affine { mul: b, add: 0.0 })?;
    if a == 1.0 { x.try_add(&by) } else { x.try_unary(UnaryOp::Affine { mul: a, add: 0.0 })?.try_add(&by) }
}

/// The trainable (unfrozen) parameters that have a gradient.
pub(crate) fn with_grads(params: &[(String, Param)]) -> impl Iterator<Item = (&String, &Param, Tensor)> {
    params.iter().filter(|(_, p)| !p.is_frozen()).filter_map(|(n, p)| p.grad().map(|g| (n, p, g)))
}
