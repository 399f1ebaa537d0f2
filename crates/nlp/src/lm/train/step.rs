//! One training step of truncated back-propagation through time: what [`super::train`] runs
//! per window, public so that benchmarks time exactly the trainer's step.

use autograd::{Var, clip_grad_norm};
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::optim::Optimizer;
use nn_layers::train::{Alone, Replicas};
use tensor_core::Tensor;

use super::{TrainConfig, step_seed};
use crate::Result;
use crate::lm::{LmNetwork, LmState};

/// A network, its parameters' leaves and the recipe: forward, loss, backward, clipping and the
/// optimizer's update.
pub struct Stepper<'a, M: LmNetwork> {
    /// The network being trained.
    pub model: &'a M,
    /// Its parameters' leaves (clipping reads their gradients).
    pub leaves: &'a [Var],
    /// The recipe (loss scaling, clipping, dropout seed).
    pub config: &'a TrainConfig,
}

impl<M: LmNetwork> Stepper<'_, M> {
    /// Forward over ids `[T, N]` after `carried` (a fresh start when `None`), cross-entropy
    /// against `targets` `[T·N]` scaled for one of `parts` accumulated windows, and backward
    /// into the parameters' gradients; dropout masks come from the window's number `window`.
    /// Returns the mean negative log-likelihood per token and the state after the window,
    /// detached from the graph.
    pub fn accumulate(
        &self,
        inputs: &Tensor,
        targets: &Tensor,
        carried: Option<&LmState>,
        window: usize,
        parts: usize,
    ) -> Result<(f64, LmState)> {
        self.accumulate_on(&mut Alone, inputs, targets, carried, window, parts, 1)
    }

    /// [`Stepper::accumulate`] as one of `replicas`, whose inputs are this replica's shard of
    /// streams, `1 / share` of the global batch's: backward goes through the replicas, which
    /// leave in the gradients the mean over every replica's streams.
    #[allow(clippy::too_many_arguments)]
    pub fn accumulate_on<R: Replicas>(
        &self,
        replicas: &mut R,
        inputs: &Tensor,
        targets: &Tensor,
        carried: Option<&LmState>,
        window: usize,
        parts: usize,
        global_streams: usize,
    ) -> Result<(f64, LmState)> {
        let steps = inputs.dims().first().copied().unwrap_or(0);
        let seed = step_seed(self.config.seed, window);
        let (logits, next) = self.model.forward_window(inputs, carried, Some(seed))?;
        let mean = cross_entropy(&logits, targets, CrossEntropy::default())?;
        let loss = if self.config.sum_over_time { mean.scale(steps as f64)? } else { mean.clone() };
        let loss = if parts > 1 { loss.scale(1.0 / parts as f64)? } else { loss };
        let local = inputs.dims().get(1).copied().unwrap_or(0);
        replicas.backward(Some(&loss), local, global_streams.max(local))?;
        Ok((mean.value().to_scalar()?, next.detach()))
    }

    /// Clips the accumulated gradients and applies `optimizer`'s update at its current rate.
    pub fn update(&self, optimizer: &mut dyn Optimizer) -> Result<()> {
        if self.config.clip > 0.0 {
            clip_grad_norm(self.leaves, self.config.clip)?;
        }
        optimizer.step()?;
        Ok(())
    }

    /// One whole step on one window: zero the gradients, [`Stepper::accumulate`], then
    /// [`Stepper::update`].
    pub fn step(
        &self,
        optimizer: &mut dyn Optimizer,
        inputs: &Tensor,
        targets: &Tensor,
        carried: Option<&LmState>,
        window: usize,
    ) -> Result<(f64, LmState)> {
        optimizer.zero_grad();
        let out = self.accumulate(inputs, targets, carried, window, 1)?;
        self.update(optimizer)?;
        Ok(out)
    }
}
