//! Shared by the MNIST tests: train with Adam and a cosine schedule, print each epoch.

use std::sync::Arc;

use nn_layers::data::Dataset;
use nn_layers::optim::{Adam, AdamConfig};
use nn_layers::train::{FitConfig, fit_classifier};
use nn_layers::{Module, ModuleExt};
use tensor_core::Device;

/// Trains `model` for `epochs` (batch 64, Adam at `lr` decaying on a cosine); returns the
/// test accuracy after each epoch.
pub fn fit_mnist(
    model: &dyn Module,
    train: &Dataset,
    test: &Dataset,
    epochs: usize,
    lr: f64,
    dev: &Arc<dyn Device>,
) -> Vec<f64> {
    let mut opt = Adam::new(model.parameters(), AdamConfig::adam(lr));
    let config = FitConfig::new(epochs, 64, 0).with_cosine(lr, train.len());
    let history = fit_classifier(model, &mut opt, train, Some(test), config, dev, |e| {
        let (loss, acc) = e.eval.expect("evaluated every epoch");
        println!(
            "epoch {}: train loss {:.4}, test loss {loss:.4}, test accuracy {:.2}% ({:.1} s)",
            e.epoch,
            e.train_loss,
            acc * 100.0,
            e.seconds
        );
    })
    .expect("training runs");
    history.iter().map(|e| e.eval.expect("evaluated").1).collect()
}
