//! Users' own images end to end: MNIST test digits written out as PNG files in an ImageFolder
//! tree, a CNN trained on them into a model folder, and `tessera predict` on the PNGs giving
//! exactly the classes `tessera eval` gives on the same digits read from the IDX files. Then
//! bad input: each a one-line message naming the file and the problem.

mod common;

use std::path::{Path, PathBuf};

use common::{number_after, scratch, tessera};
use nn_layers::data::{read_idx_images, read_idx_labels};
use test_support::shared_data;

/// How many test digits become PNG files.
const DIGITS: usize = 300;

fn write_grey_png(path: &Path, width: usize, height: usize, pixels: &[u8]) {
    let file = std::fs::File::create(path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width as u32, height as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header().unwrap().write_image_data(pixels).unwrap();
}

/// The first `DIGITS` MNIST test images as `root/<label>/<index>.png`; returns each index's path.
fn write_image_folder(mnist: &Path, root: &Path) -> Vec<PathBuf> {
    let (_, h, w, pixels) = read_idx_images(&mnist.join("t10k-images-idx3-ubyte.gz")).unwrap();
    let labels = read_idx_labels(&mnist.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    (0..DIGITS)
        .map(|i| {
            let dir = root.join(labels[i].to_string());
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{i:05}.png"));
            write_grey_png(&path, w, h, &pixels[i * h * w..][..h * w]);
            path
        })
        .collect()
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

#[test]
fn predict_on_png_files_matches_eval_on_the_idx_files() {
    let Some(mnist) = shared_data("mnist") else { return };
    let root = scratch("predict", "digits");
    let paths = write_image_folder(&mnist, &root);
    let model = scratch("predict", "cnn");
    let (root_arg, model_arg) = (root.to_str().unwrap(), model.to_str().unwrap());
    // Trained and tested on the same 300 PNGs: the point is agreement, not accuracy.
    let run = tessera(&[
        "train",
        "cnn",
        "--images",
        root_arg,
        "--test-images",
        root_arg,
        "--epochs",
        "2",
        "--hidden",
        "32",
        "--out",
        model_arg,
    ]);
    let out = run.ok();
    assert!(out.starts_with("training LeNet CNN 28x28 -> conv5x5(16)"), "{out}");
    let trained = number_after(out.lines().find(|l| l.starts_with("summary:")).unwrap(), "test accuracy");
    for file in ["config.json", "weights.safetensors", "loss.svg"] {
        assert!(model.join(file).is_file(), "{file} in the model folder");
    }
    let config: serde_json::Value = serde_json::from_slice(&std::fs::read(model.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["architecture"], "lenet");
    assert_eq!(config["labels"], serde_json::json!(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]));
    assert_eq!((config["input"]["height"].as_u64(), config["input"]["channels"].as_u64()), (Some(28), Some(1)));

    let predictions = scratch("predict", "eval.jsonl");
    let limit = DIGITS.to_string();
    let mnist_arg = mnist.to_str().unwrap();
    let eval = tessera(&[
        "eval",
        "--checkpoint",
        model_arg,
        "--dataset",
        "mnist",
        "--data-dir",
        mnist_arg,
        "--limit",
        &limit,
        "--predictions",
        predictions.to_str().unwrap(),
    ]);
    let line = eval.ok();
    assert!(line.contains(&format!("({DIGITS} examples)")), "{line}");
    // The same images, read from PNG in training and from IDX here: the same accuracy.
    assert!((number_after(line, "accuracy") - trained).abs() < 1e-9, "{line} vs {trained}%");
    let from_eval = json_lines(&std::fs::read_to_string(&predictions).unwrap());
    assert_eq!(from_eval.len(), DIGITS);

    let mut args = vec!["predict", model_arg, "--json", "--top-k", "3"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let from_predict = json_lines(tessera(&args).ok());
    assert_eq!(from_predict.len(), DIGITS);
    for (i, (e, p)) in from_eval.iter().zip(&from_predict).enumerate() {
        assert_eq!(e["index"], i);
        assert_eq!(p["input"], paths[i].to_str().unwrap());
        assert_eq!(p["label"], e["predicted"], "digit {i}: predict {p} vs eval {e}");
        let top = p["top"].as_array().unwrap();
        assert_eq!(top.len(), 3);
        let probabilities: Vec<f64> = top.iter().map(|t| t["probability"].as_f64().unwrap()).collect();
        assert!(probabilities.windows(2).all(|w| w[0] >= w[1]) && probabilities[0] <= 1.0, "{p}");
    }

    // A folder stands for its images; plain output is `path<TAB>label probability`.
    let one_class = root.join("7");
    let plain = tessera(&["predict", model_arg, one_class.to_str().unwrap()]);
    let lines: Vec<&str> = plain.ok().lines().collect();
    assert_eq!(lines.len(), std::fs::read_dir(&one_class).unwrap().count());
    assert!(lines[0].starts_with(one_class.to_str().unwrap()) && lines[0].contains('\t'), "{}", lines[0]);
}

#[test]
fn bad_images_and_folders_are_messages_naming_the_file() {
    let root = scratch("predict-bad", "images");
    let only = root.join("cats");
    std::fs::create_dir_all(&only).unwrap();
    write_grey_png(&only.join("a.png"), 4, 4, &[0; 16]);
    let root_arg = root.to_str().unwrap();
    let message = tessera(&["train", "mlp", "--images", root_arg]).error().to_string();
    assert_eq!(
        message,
        format!("{root_arg}: an image folder needs one subfolder per class and at least two classes, found 1")
    );

    let dogs = root.join("dogs");
    std::fs::create_dir_all(&dogs).unwrap();
    write_grey_png(&dogs.join("b.png"), 4, 4, &[255; 16]);
    let bytes = std::fs::read(only.join("a.png")).unwrap();
    std::fs::write(dogs.join("truncated.png"), &bytes[..bytes.len() / 2]).unwrap();
    let message = tessera(&["train", "mlp", "--images", root_arg]).error().to_string();
    let truncated = dogs.join("truncated.png");
    assert!(message.starts_with(&format!("{}: unreadable image: ", truncated.display())), "{message}");
    std::fs::remove_file(&truncated).unwrap();

    let other_classes = scratch("predict-bad", "other-classes");
    for class in ["cats", "birds"] {
        std::fs::create_dir_all(other_classes.join(class)).unwrap();
        write_grey_png(&other_classes.join(class).join("c.png"), 4, 4, &[9; 16]);
    }
    let run = tessera(&["train", "mlp", "--images", root_arg, "--test-images", other_classes.to_str().unwrap()]);
    let message = run.error().to_string();
    assert_eq!(
        message,
        format!(
            "{}: classes [\"birds\", \"cats\"] differ from the training folder's [\"cats\", \"dogs\"]",
            other_classes.display()
        )
    );

    let model = scratch("predict-bad", "mlp");
    let model_arg = model.to_str().unwrap();
    let run =
        tessera(&["train", "mlp", "--images", root_arg, "--test-fraction", "0", "--epochs", "1", "--out", model_arg]);
    run.ok();
    let a = only.join("a.png");
    let ok = tessera(&["predict", model_arg, a.to_str().unwrap()]);
    assert!(ok.ok().starts_with(&format!("{}\t", a.display())));
    let text = scratch("predict-bad", "not-an-image.png");
    std::fs::write(&text, "hello").unwrap();
    let message = tessera(&["predict", model_arg, text.to_str().unwrap()]).error().to_string();
    assert!(message.starts_with(&format!("{}: unreadable image: ", text.display())), "{message}");

    // A folder whose weights belong to another model, then one without weights.
    let other = scratch("predict-bad", "other");
    tessera(&["train", "mlp", "--epochs", "1", "--hidden", "8", "--out", other.to_str().unwrap()]).ok();
    std::fs::copy(other.join("weights.safetensors"), model.join("weights.safetensors")).unwrap();
    let message = tessera(&["predict", model_arg, a.to_str().unwrap()]).error().to_string();
    assert!(message.starts_with(&format!("{}: ", model.join("weights.safetensors").display())), "{message}");
    assert!(message.contains("the files do not belong together"), "{message}");
    std::fs::remove_file(model.join("weights.safetensors")).unwrap();
    let message = tessera(&["predict", model_arg, a.to_str().unwrap()]).error().to_string();
    assert!(message.starts_with(&format!("{}: missing", model.join("weights.safetensors").display())), "{message}");
    let message = tessera(&["predict", "/nonexistent/model", "x.png"]).error().to_string();
    assert_eq!(message, "/nonexistent/model: no such model folder");
}
