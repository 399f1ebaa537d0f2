//! Transfer beats the same model trained from scratch, on data that ships with the repository,
//! in seconds: word2vec vectors trained here on the unlabelled words of the Brown sample (30
//! documents) give a part-of-speech tagger trained on 40 labelled sentences what random vectors
//! cannot — useful vectors for the words its few labels never showed it.

mod common;

use nlp::word2vec::{Embeddings, VectorFormat, Word2Vec, Word2VecConfig};
use transfer::{Example, FinetuneConfig, LoraConfig, Mode, RunConfig, ScheduleKind, TaskKind, run};

#[test]
fn word2vec_features_beat_scratch_on_brown_tags_with_40_sentences() {
    let (examples, _) =
        transfer::data::brown_examples(&test_support::repo_data("brown-sample/brown_sample.jsonl.gz")).unwrap();
    // Unlabelled text: every sentence's words (no tags).
    let corpus: Vec<Vec<String>> = examples.iter().map(|e| e.words.clone()).collect();
    let config = Word2VecConfig {
        size: 48,
        window: 2,
        min_count: 1,
        iter: 8,
        threads: 1,
        sample: 0.0,
        cbow: true,
        ..Word2VecConfig::default()
    };
    let (model, _) = Word2Vec::train(&corpus, &config, &mut |_| {}).unwrap();
    let dir = common::temp("end-to-end");
    let vectors = dir.join("brown.vec");
    Embeddings::from_model(model).save(&vectors, VectorFormat::Text).unwrap();

    // Every 7th sentence is labelled data for training or dev; the rest after 400 is test.
    let train: Vec<Example> = examples.iter().step_by(7).take(40).cloned().collect();
    let dev: Vec<Example> = examples.iter().skip(3).step_by(7).take(40).cloned().collect();
    let test: Vec<Example> = examples.iter().skip(400).step_by(2).take(600).cloned().collect();
    let finetune = FinetuneConfig {
        epochs: 25,
        batch: 8,
        lr: 1e-2,
        schedule: ScheduleKind::Constant,
        patience: Some(5),
        dropout: 0.0,
        ..FinetuneConfig::default()
    };
    let run_mode = |mode: Mode| {
        let config = RunConfig {
            mode,
            task: TaskKind::Tag,
            finetune: finetune.clone(),
            freeze: Vec::new(),
            lora: LoraConfig { rank: 1, alpha: 1.0, targets: Vec::new(), seed: 0 },
            adapt_weight: 0.0,
            continue_steps: 0,
            conv: None,
            seed: 5,
            out: None,
        };
        run(&vectors, &train, &dev, &test, &[], &config, &common::device()).unwrap()
    };
    let scratch = run_mode(Mode::Scratch);
    let features = run_mode(Mode::Features);
    let tuned = run_mode(Mode::Finetune);
    eprintln!(
        "Brown coarse tags, 40 labelled sentences, {} test words: scratch {:.3}, word2vec features {:.3}, \
         word2vec fine-tuned {:.3}",
        test.iter().map(|e| e.words.len()).sum::<usize>(),
        scratch.test,
        features.test,
        tuned.test
    );
    assert!(features.report.cached);
    assert!(features.test > scratch.test + 0.05, "features {:.3} vs scratch {:.3}", features.test, scratch.test);
    assert!(tuned.test > scratch.test + 0.05, "fine-tuned {:.3} vs scratch {:.3}", tuned.test, scratch.test);
}
