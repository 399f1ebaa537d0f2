//! The training recipe of Vaswani et al. (2017), scaled down: Adam with β = (0.9, 0.98) and
//! ε = 1e-9, the inverse-square-root warm-up schedule, label smoothing 0.1; one update per
//! batch of sentence pairs.

use autograd::{Var, clip_grad_norm};
use nn_layers::ModuleExt;
use nn_layers::optim::{Adam, AdamConfig, InverseSqrt, LrSchedule, Optimizer};

use super::{TransformerSeq2Seq, label_smoothed_loss};
use crate::{Result, Seq2Seq, SourceBatch, TargetBatch};

/// The optimiser's settings and the loss's smoothing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransformerRecipe {
    /// The learning rate at the end of warm-up.
    pub peak_lr: f64,
    /// Linear warm-up steps, after which the rate falls as `1/√step`.
    pub warmup: usize,
    /// Adam's moment decays.
    pub betas: (f64, f64),
    /// Adam's ε.
    pub eps: f64,
    /// Label smoothing of the cross-entropy.
    pub label_smoothing: f64,
    /// Clips the global gradient norm to this, if set (Vaswani et al. do not clip).
    pub clip_norm: Option<f64>,
    /// Dropout masks of step `s` are drawn from seed `seed + s`.
    pub seed: u64,
}

impl Default for TransformerRecipe {
    /// Peak rate 1e-3 after 1,000 warm-up steps, β = (0.9, 0.98), ε = 1e-9, smoothing 0.1, no
    /// clipping.
    fn default() -> Self {
        TransformerRecipe {
            peak_lr: 1e-3,
            warmup: 1000,
            betas: (0.9, 0.98),
            eps: 1e-9,
            label_smoothing: 0.1,
            clip_norm: None,
            seed: 0,
        }
    }
}

impl TransformerRecipe {
    /// The learning-rate schedule.
    pub fn schedule(&self) -> InverseSqrt {
        InverseSqrt { peak: self.peak_lr, warmup: self.warmup }
    }
}

/// Trains a [`TransformerSeq2Seq`] by the recipe, one batch per [`TransformerTrainer::step`].
pub struct TransformerTrainer<'m> {
    model: &'m TransformerSeq2Seq,
    recipe: TransformerRecipe,
    adam: Adam,
    leaves: Vec<Var>,
    steps: usize,
}

impl<'m> TransformerTrainer<'m> {
    /// A trainer with fresh Adam moments over every parameter of `model`.
    pub fn new(model: &'m TransformerSeq2Seq, recipe: TransformerRecipe) -> Self {
        let params = model.parameters();
        let leaves = params.iter().map(|(_, p)| p.leaf().clone()).collect();
        let config = AdamConfig {
            lr: recipe.peak_lr,
            betas: recipe.betas,
            eps: recipe.eps,
            weight_decay: 0.0,
            decoupled: false,
        };
        TransformerTrainer { model, recipe, adam: Adam::new(params, config), leaves, steps: 0 }
    }

    /// Updates taken so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Continues a run from update `steps` (the schedule and the dropout seeds go on from
    /// there); restore the moments with [`TransformerTrainer::optimizer_mut`].
    pub fn resume_at(&mut self, steps: usize) {
        self.steps = steps;
    }

    /// The optimizer, whose [`Optimizer::state`] a checkpoint saves.
    pub fn optimizer(&self) -> &Adam {
        &self.adam
    }

    /// The optimizer, for [`Optimizer::load_state`] when resuming.
    pub fn optimizer_mut(&mut self) -> &mut Adam {
        &mut self.adam
    }

    /// The learning rate the next update uses.
    pub fn next_lr(&self) -> f64 {
        self.recipe.schedule().lr(self.steps)
    }

    /// One update on a batch (forward with dropout, label-smoothed loss, backward, Adam at
    /// the scheduled rate); returns the batch's loss per target token.
    pub fn step(&mut self, source: &SourceBatch, target: &TargetBatch) -> Result<f64> {
        self.adam.set_lr(self.next_lr());
        self.adam.zero_grad();
        let seed = self.recipe.seed.wrapping_add(self.steps as u64);
        let logits = self.model.logits(source, target, Some(seed))?;
        let loss = label_smoothed_loss(&logits, target, self.recipe.label_smoothing)?;
        loss.backward()?;
        if let Some(max) = self.recipe.clip_norm {
            clip_grad_norm(&self.leaves, max)?;
        }
        self.adam.step()?;
        self.steps += 1;
        Ok(loss.value().to_scalar()?)
    }
}
