//! TextCNN on the VADER movie-review sentences (Rotten Tomatoes snippets): binary sentiment by
//! the sign of the mean rating, a seeded 80/10/10 split, random embeddings. The epoch is chosen
//! on the validation split; its test accuracy must reach 75%.

use backend_cpu::CpuDevice;
use nlp::classify::{TextCnn, TextCnnConfig, sentiment_task};
use nn_layers::ModuleExt;
use nn_layers::optim::{Adam, AdamConfig};
use nn_layers::train::{FitConfig, evaluate_classifier, fit_classifier};
use tensor_core::TensorRng;
use test_support::shared_data;

/// Trains for up to `epochs`, returns (valid, test, epoch) at the best validation epoch.
fn run(shape: impl Fn(usize) -> TextCnnConfig, epochs: u64) -> Option<(f64, f64, u64)> {
    let dir = shared_data("vader-sentiment")?;
    let path = dir.join("movieReviewSnippets_GroundTruth.txt.gz");
    let task = sentiment_task(&path, [0.8, 0.1, 0.1], 0, 5).expect("the VADER file parses");
    println!(
        "split: {} train / {} valid / {} test sentences ({} neutral dropped), vocabulary {}",
        task.train.len(),
        task.valid.len(),
        task.test.len(),
        task.neutral_dropped,
        task.vocab.len()
    );
    assert_eq!(task.train.len() + task.valid.len() + task.test.len() + task.neutral_dropped, 10_605);
    let dev = CpuDevice::shared();
    let config = shape(task.vocab.len());
    let model = TextCnn::new(&config, &mut TensorRng::new(0), &dev).unwrap();
    let mut opt = Adam::new(model.parameters(), AdamConfig::adam(2e-3));
    let mut best = (0.0, 0.0, 0);
    for epoch in 1..=epochs {
        fit_classifier(&model, &mut opt, &task.train, None, FitConfig::new(1, 50, epoch), &dev, |_| {}).unwrap();
        let (_, valid) = evaluate_classifier(&model, &task.valid, 500, &dev).unwrap();
        let (_, test) = evaluate_classifier(&model, &task.test, 500, &dev).unwrap();
        println!("epoch {epoch}: valid {:.2}%, test {:.2}%", 100.0 * valid, 100.0 * test);
        if valid > best.0 {
            best = (valid, test, epoch);
        }
    }
    let (valid, test, epoch) = best;
    println!("chosen epoch {epoch}: valid {:.2}%, test {:.2}%", 100.0 * valid, 100.0 * test);
    Some(best)
}

/// CI size: 64-wide embeddings, 64 filters per width, three epochs.
#[test]
fn textcnn_classifies_movie_review_sentiment() {
    let small = |vocab| TextCnnConfig { embedding: 64, filters: 64, ..TextCnnConfig::kim(vocab, 2) };
    let Some((_, test, epoch)) = run(small, 3) else { return };
    assert!(test >= 0.75, "test accuracy {test} at the best validation epoch {epoch}");
}

/// Kim's size (128-wide embeddings, 100 filters per width), six epochs:
/// `cargo test --release -p nlp --test textcnn_sentiment -- --ignored --nocapture`.
#[test]
#[ignore = "full size, about two minutes"]
fn textcnn_full_size() {
    let Some((_, test, epoch)) = run(|vocab| TextCnnConfig::kim(vocab, 2), 6) else { return };
    assert!(test >= 0.75, "test accuracy {test} at the best validation epoch {epoch}");
}
