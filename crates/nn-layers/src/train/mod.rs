//! Training utilities: running metrics, a progress bar, and training curves as SVG or PNG.

mod fit;
mod nonfinite;
mod plot;
mod progress;
mod replicas;
mod resume;

pub use fit::{EpochStats, FitConfig, evaluate_classifier, fit_classifier, fit_classifier_on};
pub use nonfinite::{NonFinitePolicy, all_finite, check_step, first_nonfinite};
pub use plot::{LossPlot, PlotFormat, Series, write_loss_svg};
pub use progress::Progress;
pub use replicas::{Alone, Replicas, shard_range};
pub use resume::{
    TRAIN_STATE, TRAIN_WEIGHTS, TrainPosition, complete_folder, load_training, replace_folder_atomically, save_training,
};

/// The dropout seed of step `step` of a run seeded `seed`: every trainer reseeds its dropout
/// from it before each step, so a resumed run draws the masks an uninterrupted one does.
pub fn dropout_seed(seed: u64, step: usize) -> u64 {
    seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ step as u64
}

/// A running mean (of a loss, an accuracy…).
#[derive(Clone, Copy, Debug, Default)]
pub struct Mean {
    sum: f64,
    weight: f64,
}

impl Mean {
    /// Adds a value with a weight (e.g. the batch size).
    pub fn add(&mut self, value: f64, weight: f64) {
        self.sum += value * weight;
        self.weight += weight;
    }

    /// The mean so far (0 when empty).
    pub fn value(&self) -> f64 {
        if self.weight == 0.0 { 0.0 } else { self.sum / self.weight }
    }
}
