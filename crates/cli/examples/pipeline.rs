//! The library's pipeline end to end: train a small MLP on the built-in 8x8 digits, write its
//! model folder, save one held-out digit as a PNG file, then load the folder with
//! `tessera::Pipeline` and predict on the file, as a program using a trained model would.
//!
//! `cargo run --release -p tessera --example pipeline [-- MODEL_FOLDER INPUT...]`: with
//! arguments, it skips the training and predicts with that folder on those inputs.

use std::path::PathBuf;

use nn_layers::ModuleExt;
use nn_layers::data::read_digits_csv;
use nn_layers::optim::{Adam, AdamConfig};
use nn_layers::train::{FitConfig, fit_classifier};
use serde_json::json;
use tensor_core::TensorRng;
use tessera::folder::{self, Architecture, FolderConfig, InputFormat, LossCurve};
use tessera::images::ImageInput;
use tessera::{Pipeline, UseError};

fn main() -> Result<(), UseError> {
    let device = backend_cpu::CpuDevice::shared();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (model, inputs) = match args.split_first() {
        Some((model, inputs)) => (PathBuf::from(model), inputs.to_vec()),
        None => {
            let dir = std::env::temp_dir().join(format!("tessera-pipeline-example-{}", std::process::id()));
            let digits = read_digits_csv(&tessera::builtin::file("sklearn-digits/digits.csv.gz")?)?;
            let (train, test) = digits.split(0.8, 0);
            let sizes = vec![64, 64, 10];
            let mlp = tessera::pipeline::mlp(&sizes, &mut TensorRng::new(0), &device)?;
            let mut optimizer = Adam::new(mlp.parameters(), AdamConfig::adam(5e-3));
            let history =
                fit_classifier(&mlp, &mut optimizer, &train, None, FitConfig::new(10, 32, 0), &device, |_| {})?;
            let config = FolderConfig {
                architecture: Architecture::Mlp { sizes },
                input: InputFormat::Image(ImageInput::unit(8, 8, 1)),
                labels: (0..10).map(|d| d.to_string()).collect(),
                training: json!({ "data": "built-in digits", "epochs": 10 }),
                loss: LossCurve { train: history.iter().map(|e| e.train_loss).collect(), test: Vec::new() },
            };
            let folder_path = dir.join("digits-mlp");
            folder::save(&folder_path, &config, &mlp, &[])?;
            // The first held-out digit as an 8-bit grey PNG (pixels were scaled to [0, 1]).
            let (x, y) = test.batch(&[0], &device)?;
            let pixels: Vec<u8> = x.to_vec::<f32>()?.iter().map(|v| (v * 255.0).round() as u8).collect();
            let png = dir.join(format!("digit-{}.png", y.to_vec::<i64>()?[0]));
            image::GrayImage::from_raw(8, 8, pixels)
                .expect("64 pixels")
                .save(&png)
                .map_err(|e| UseError::Image { path: png.clone(), msg: e.to_string() })?;
            println!("trained {} and wrote {}", folder_path.display(), png.display());
            (folder_path, vec![png.to_string_lossy().into_owned()])
        }
    };
    let pipeline = Pipeline::load(&model, &device)?;
    for (input, prediction) in inputs.iter().zip(pipeline.predict(&inputs, 3)?) {
        println!("{input}: {prediction}");
    }
    Ok(())
}
