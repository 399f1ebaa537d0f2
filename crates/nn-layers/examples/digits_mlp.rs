//! An MLP learns scikit-learn's 8x8 handwritten digits (shipped in `data/sklearn-digits`):
//! named parameters, Adam with a cosine schedule, the training loop, then a safetensors
//! checkpoint reloaded into a fresh model that scores the same.
//!
//! Run with `cargo run -p nn-layers --example digits_mlp`.

use std::path::Path;
use std::sync::Arc;

use nn_layers::checkpoint;
use nn_layers::data::read_digits_csv;
use nn_layers::layers::{Activation, Linear, Sequential};
use nn_layers::optim::{Adam, AdamConfig};
use nn_layers::train::{FitConfig, evaluate_classifier, fit_classifier};
use nn_layers::{ModuleExt, Result};
use tensor_core::{Device, TensorRng};

/// `64 -> hidden -> ReLU -> 10`, named like PyTorch's `nn.Sequential` (`0.weight`, `2.bias`).
fn mlp(hidden: usize, seed: u64, device: &Arc<dyn Device>) -> Result<Sequential> {
    let mut rng = TensorRng::new(seed);
    Ok(Sequential::new()
        .push(Linear::new(64, hidden, &mut rng, device)?)
        .push(Activation::Relu)
        .push(Linear::new(hidden, 10, &mut rng, device)?))
}

fn main() -> Result<()> {
    let device = backend_cpu::CpuDevice::shared();
    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sklearn-digits/digits.csv.gz");
    let (train, test) = read_digits_csv(&csv)?.split(0.8, 0);
    println!("digits: {} train / {} test examples of {:?} pixels", train.len(), test.len(), train.feature_dims());

    let model = mlp(32, 0, &device)?;
    for (name, param) in model.parameters() {
        println!("  {name:<8} {}", param.value().shape());
    }
    let (epochs, batch, lr) = (10, 32, 1e-2);
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::adam(lr));
    let config = FitConfig::new(epochs, batch, 0).with_cosine(lr, train.len());
    fit_classifier(&model, &mut optimizer, &train, Some(&test), config, &device, |e| {
        let (loss, accuracy) = e.eval.unwrap_or((f64::NAN, f64::NAN));
        println!(
            "epoch {:>2}: train loss {:.4}, test loss {loss:.4}, test accuracy {:.1}%",
            e.epoch,
            e.train_loss,
            100.0 * accuracy
        );
    })?;
    let (_, trained) = evaluate_classifier(&model, &test, 256, &device)?;

    // Save (atomically, PyTorch names and layouts), load into a differently seeded model.
    let folder = std::env::temp_dir().join(format!("tessera-digits-example-{}", std::process::id()));
    std::fs::create_dir_all(&folder).map_err(|e| nn_layers::NnError::io(&folder, e))?;
    let path = folder.join("digits_mlp.safetensors");
    checkpoint::save(&path, &model, None)?;
    let reloaded = mlp(32, 99, &device)?;
    let report = checkpoint::load(&path, &reloaded, None)?;
    let (_, restored) = evaluate_classifier(&reloaded, &test, 256, &device)?;
    std::fs::remove_dir_all(&folder).map_err(|e| nn_layers::NnError::io(&folder, e))?;
    println!(
        "test accuracy {:.2}% trained, {:.2}% after reloading {}",
        100.0 * trained,
        100.0 * restored,
        path.display()
    );
    assert!(report.missing.is_empty() && report.unexpected.is_empty());
    assert_eq!(trained, restored, "a reloaded checkpoint scores exactly the same");
    assert!(trained > 0.9, "an MLP reaches over 90% on the digits in a few epochs");
    Ok(())
}
