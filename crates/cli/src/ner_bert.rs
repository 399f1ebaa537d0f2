//! `tessera ner train --encoder DIR`: named-entity recognition with a pretrained BERT-style
//! encoder through `transfer::BertTagger` (each word's tag on its first subword, long sentences
//! cut into windows of whole words), fine-tuned or, with `--freeze`, as frozen features under
//! a trained head. The model folder holds the encoder (`encoder/`, a BERT folder), the head
//! (`head.safetensors`) and `bert-tagger.json` (tags, settings, scores); `ner eval` and
//! `ner tag` recognise it by that file and load it from the one path.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use ner::conll::Sentence;
use ner::metric::EntityScores;
use serde_json::json;
use tensor_core::Device;
use transfer::{BertTagger, Body};

use crate::bert_task::{EncoderRun, fit_summary, load_head, read_marker, save_folder};
use crate::error::CliError;

/// The file that marks a BERT tagger's folder.
pub const MARKER: &str = "bert-tagger.json";

/// Whether `folder` holds a BERT tagger (rather than a BiLSTM-CRF).
pub fn is_bert_tagger(folder: &Path) -> bool {
    folder.join(MARKER).is_file()
}

/// Settings of a BERT tagger run, from `ner train`'s options.
pub struct BertNerSettings<'a> {
    /// The encoder, what trains, and the schedule.
    pub run: EncoderRun<'a>,
    /// Dropout on the states the head reads.
    pub dropout: f64,
    /// Sentences to train on (all when `None`).
    pub limit: Option<usize>,
}

fn tag_ids(sentences: &[Sentence], tags: &[String]) -> Result<Vec<Vec<i64>>, CliError> {
    sentences
        .iter()
        .map(|s| {
            s.tags
                .iter()
                .map(|t| {
                    tags.iter()
                        .position(|x| x == t)
                        .map(|i| i as i64)
                        .ok_or_else(|| CliError::Usage(format!("tag {t} does not occur in the training data")))
                })
                .collect()
        })
        .collect()
}

fn words(sentences: &[Sentence]) -> Vec<Vec<String>> {
    sentences.iter().map(|s| s.words.clone()).collect()
}

/// Predicted tags (as strings) of `sentences`.
pub fn predict(tagger: &BertTagger, tags: &[String], sentences: &[Vec<String>]) -> Result<Vec<Vec<String>>, CliError> {
    let ids = tagger.predict(sentences, 64)?;
    Ok(ids.into_iter().map(|row| row.into_iter().map(|i| tags[i].clone()).collect()).collect())
}

/// Scores of `tagger` on labelled `sentences`, with its predictions.
pub fn evaluate(
    tagger: &BertTagger,
    tags: &[String],
    sentences: &[Sentence],
) -> Result<(EntityScores, Vec<Vec<String>>), CliError> {
    let predicted = predict(tagger, tags, &words(sentences))?;
    let gold: Vec<Vec<String>> = sentences.iter().map(|s| s.tags.clone()).collect();
    Ok((EntityScores::compute(&gold, &predicted), predicted))
}

/// Trains on `train`, picks nothing on `valid` but reports it, scores `test`; writes the folder.
pub fn train(
    settings: &BertNerSettings,
    (train, valid, test): (&[Sentence], &[Sentence], &[Sentence]),
    out: &Path,
    device: &Arc<dyn Device>,
) -> Result<(EntityScores, Vec<Vec<String>>), CliError> {
    let started = Instant::now();
    let mut tags: Vec<String> = train.iter().flat_map(|s| s.tags.iter().cloned()).collect();
    tags.sort();
    tags.dedup();
    let train = &train[..settings.limit.unwrap_or(train.len()).min(train.len())];
    let run = &settings.run;
    let body = Body::load(run.encoder, None, device)?;
    let tagger = BertTagger::new(body, tags.len(), settings.dropout, run.schedule.seed)?;
    let lora = run.prepare(&tagger.body)?;
    let gold = tag_ids(train, &tags)?;
    let windows = tagger.windows(&words(train))?;
    println!(
        "ner with {}: {} train sentences in {} windows, {} tags, {}",
        run.encoder.display(),
        train.len(),
        windows.len(),
        tags.len(),
        run.mode()
    );
    let report = run.fit(&tagger, lora, &windows, |batch, seed| tagger.loss(batch, &gold, Some(seed)), started)?;
    let (valid_scores, _) = evaluate(&tagger, &tags, valid)?;
    println!("{}; valid F1 {:.2}", fit_summary(&report), 100.0 * valid_scores.overall.f1());
    let (scores, predicted) = evaluate(&tagger, &tags, test)?;
    println!("test:\n{}", scores.table());
    let record = run.record(json!({
        "tags": tags,
        "train_sentences": train.len(), "steps": report.steps, "epoch_losses": report.epoch_losses,
        "train_minutes": report.seconds / 60.0, "wall_minutes": started.elapsed().as_secs_f64() / 60.0,
        "valid_f1": valid_scores.overall.f1(), "test_f1": scores.overall.f1(),
        "test_precision": scores.overall.precision(), "test_recall": scores.overall.recall(),
    }));
    save_folder(out, &tagger.body, &tagger.head, MARKER, &record)?;
    Ok((scores, predicted))
}

/// Loads a BERT tagger folder: the tagger and its tags.
pub fn load(folder: &Path, device: &Arc<dyn Device>) -> Result<(BertTagger, Vec<String>), CliError> {
    let (marker, record) = read_marker(folder, MARKER)?;
    let tags: Vec<String> = record["tags"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t.as_str().map(String::from)).collect())
        .filter(|t: &Vec<String>| t.len() >= 2)
        .ok_or_else(|| CliError::Usage(format!("{}: `tags` must list at least two tags", marker.display())))?;
    let body = Body::load(&folder.join("encoder"), None, device)?;
    let tagger = BertTagger::new(body, tags.len(), 0.0, 0)?;
    load_head(folder, &tagger.head)?;
    Ok((tagger, tags))
}
