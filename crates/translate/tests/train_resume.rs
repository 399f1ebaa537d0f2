//! A training run stopped halfway and resumed from its checkpoint ends with exactly the weights
//! and history of the run that never stopped; a CPU or wall-clock budget ends training early.

use std::sync::Arc;

use backend_cpu::CpuDevice;
use nn_layers::ModuleExt;
use nn_layers::layers::CellKind;
use nn_layers::optim::{Adam, AdamConfig};
use tensor_core::{Device, TensorRng};
use translate::data::{Pair, Vocabulary, encode_pairs};
use translate::rnn::{Attention, RnnConfig, RnnSeq2Seq};
use translate::train::{TrainConfig, fit};

fn pairs() -> Vec<Pair> {
    let words = ["rot", "grün", "blau", "gelb", "schwarz", "weiß"];
    let english = ["red", "green", "blue", "yellow", "black", "white"];
    (0..60)
        .map(|i| {
            let (a, b) = (i % 6, (i / 6) % 6);
            Pair {
                source: format!("{} und {}", words[a], words[b]),
                target: format!("{} and {}", english[a], english[b]),
            }
        })
        .collect()
}

fn model(vocab: &Vocabulary, device: &Arc<dyn Device>) -> RnnSeq2Seq {
    let config = RnnConfig {
        cell: CellKind::Lstm,
        vocab_size: vocab.size(),
        embed: 16,
        hidden: 24,
        layers: 2,
        attention: Attention::Luong,
        dropout: 0.1,
    };
    RnnSeq2Seq::new(config, &mut TensorRng::new(3), device).unwrap()
}

fn weights(model: &RnnSeq2Seq) -> Vec<Vec<f64>> {
    model.parameters().iter().map(|(_, p)| p.value().to_f64_vec().unwrap()).collect()
}

#[test]
fn a_resumed_run_ends_where_an_uninterrupted_one_does() {
    let device: Arc<dyn Device> = CpuDevice::shared();
    let data = pairs();
    let vocab = Vocabulary::train(&data, 290).unwrap();
    let examples = encode_pairs(&vocab, &data, Some(50));
    let dir = std::env::temp_dir().join(format!("tessera-mt-resume-{}", std::process::id()));
    let mut config = TrainConfig::new(2, 60, 0.01);
    config.warmup = Some(3);
    config.valid_sentences = 10;
    config.checkpoint_every = 1_000;

    let whole = model(&vocab, &device);
    let mut optimizer = Adam::new(whole.parameters(), AdamConfig::adam(config.lr));
    let straight = fit(&whole, &mut optimizer, &vocab, &examples, &data, &config, &mut |_| Ok(())).unwrap();
    assert!(!straight.stopped && straight.history.len() == 2);

    config.checkpoint_dir = Some(dir.clone());
    config.max_steps = Some(straight.steps / 2 + 1);
    let first = model(&vocab, &device);
    let mut optimizer = Adam::new(first.parameters(), AdamConfig::adam(config.lr));
    let stopped = fit(&first, &mut optimizer, &vocab, &examples, &data, &config, &mut |_| Ok(())).unwrap();
    assert!(stopped.stopped && stopped.steps == straight.steps / 2 + 1);

    config.max_steps = None;
    config.resume = true;
    let second = model(&vocab, &device);
    let mut optimizer = Adam::new(second.parameters(), AdamConfig::adam(config.lr));
    let resumed = fit(&second, &mut optimizer, &vocab, &examples, &data, &config, &mut |_| Ok(())).unwrap();
    assert_eq!(resumed.steps, straight.steps);
    assert_eq!(weights(&second), weights(&whole));
    let losses =
        |o: &translate::train::TrainOutcome| o.history.iter().map(|r| (r.train_loss, r.valid)).collect::<Vec<_>>();
    assert_eq!(losses(&resumed), losses(&straight));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_cpu_or_wall_budget_stops_training_and_validates_the_epoch_in_progress() {
    let device: Arc<dyn Device> = CpuDevice::shared();
    let data = pairs();
    let vocab = Vocabulary::train(&data, 290).unwrap();
    let examples = encode_pairs(&vocab, &data, Some(50));
    // Batches of 60 tokens: about a dozen steps an epoch, far more than a zero budget allows.
    let mut config = TrainConfig::new(50, 60, 0.01);
    config.valid_sentences = 10;
    for (cpu, wall) in [(Some(0.0), None), (None, Some(0.0))] {
        config.cpu_budget = cpu;
        config.wall_budget = wall;
        let m = model(&vocab, &device);
        let mut optimizer = Adam::new(m.parameters(), AdamConfig::adam(config.lr));
        let mut seen = Vec::new();
        let outcome = fit(&m, &mut optimizer, &vocab, &examples, &data, &config, &mut |h| {
            seen.push(h.len());
            Ok(())
        })
        .unwrap();
        // A zero budget is spent before the first step: nothing ran, nothing was validated.
        assert!(outcome.budget_spent && !outcome.stopped, "{outcome:?}");
        assert_eq!((outcome.steps, outcome.history.len(), seen.len()), (0, 0, 0));
    }
    // A budget of 2 steps' worth of CPU time ends inside the first epoch, which is validated.
    let m = model(&vocab, &device);
    let mut optimizer = Adam::new(m.parameters(), AdamConfig::adam(config.lr));
    config.wall_budget = None;
    config.max_steps = Some(1);
    let one = fit(&m, &mut optimizer, &vocab, &examples, &data, &config, &mut |_| Ok(())).unwrap();
    assert!(one.cpu_seconds > 0.0 && one.step_seconds > 0.0);
    config.max_steps = None;
    config.cpu_budget = Some(2.0 * one.cpu_seconds);
    let m = model(&vocab, &device);
    let mut optimizer = Adam::new(m.parameters(), AdamConfig::adam(config.lr));
    let outcome = fit(&m, &mut optimizer, &vocab, &examples, &data, &config, &mut |_| Ok(())).unwrap();
    assert!(outcome.budget_spent, "{outcome:?}");
    assert!(outcome.steps >= 1 && outcome.steps < 50 * 5, "{} steps", outcome.steps);
    assert!(outcome.cpu_seconds >= 2.0 * one.cpu_seconds);
    let last = outcome.history.last().expect("the epoch in progress is validated");
    assert!(last.valid.is_some() && last.train_loss.is_finite());
}
