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
use nlp::encoder::save_bert;
use nn_layers::checkpoint::{self, write_atomically};
use serde_json::{Value, json};
use tensor_core::Device;
use transfer::{BertTagger, Body, FitConfig, Lora, LoraConfig, default_lora_targets, fit_with, set_frozen};

use crate::error::CliError;

/// The file that marks a BERT tagger's folder.
pub const MARKER: &str = "bert-tagger.json";

/// Whether `folder` holds a BERT tagger (rather than a BiLSTM-CRF).
pub fn is_bert_tagger(folder: &Path) -> bool {
    folder.join(MARKER).is_file()
}

/// Settings of a BERT tagger run, from `ner train`'s options.
pub struct BertNerSettings<'a> {
    /// The pretrained encoder folder.
    pub encoder: &'a Path,
    /// Train the head alone on frozen states.
    pub freeze: bool,
    /// Passes over the training sentences.
    pub epochs: usize,
    /// Windows per step.
    pub batch: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Dropout on the states the head reads.
    pub dropout: f64,
    /// Time box in minutes.
    pub minutes: Option<f64>,
    /// Seed.
    pub seed: u64,
    /// LoRA adapters of this rank on the attention queries and values (the encoder frozen),
    /// merged into the weights before saving.
    pub lora: Option<usize>,
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
    let body = Body::load(settings.encoder, None, device)?;
    let tagger = BertTagger::new(body, tags.len(), settings.dropout, settings.seed)?;
    if settings.freeze {
        set_frozen(tagger.body.module(), "bert.*", true)?;
    }
    let lora = match settings.lora {
        Some(rank) => Some(Lora::attach(
            tagger.body.module(),
            &LoraConfig {
                rank,
                alpha: 2.0 * rank as f64,
                targets: default_lora_targets(tagger.body.kind()),
                seed: settings.seed,
            },
        )?),
        None => None,
    };
    let extra = lora.as_ref().map(Lora::parameters).unwrap_or_default();
    let gold = tag_ids(train, &tags)?;
    let windows = tagger.windows(&words(train))?;
    println!(
        "ner with {}: {} train sentences in {} windows, {} tags, {}",
        settings.encoder.display(),
        train.len(),
        windows.len(),
        tags.len(),
        if settings.freeze {
            "encoder frozen (features)"
        } else if settings.lora.is_some() {
            "LoRA on the encoder"
        } else {
            "fine-tuning the encoder"
        }
    );
    let config = FitConfig {
        epochs: settings.epochs,
        batch: settings.batch,
        lr: settings.lr,
        seconds: settings.minutes.map(|m| m * 60.0),
        seed: settings.seed,
        ..FitConfig::default()
    };
    let report = fit_with(
        &tagger,
        &extra,
        &windows,
        &config,
        |batch, seed| tagger.loss(batch, &gold, Some(seed)),
        |step, loss| println!("step {step:>6}  loss {loss:.4}  {:.1} min", started.elapsed().as_secs_f64() / 60.0),
    )?;
    if let Some(lora) = lora {
        lora.merge()?;
    }
    let (valid_scores, _) = evaluate(&tagger, &tags, valid)?;
    println!(
        "trained {} steps ({} weights){} in {:.1} min; valid F1 {:.2}",
        report.steps,
        report.trained_weights,
        if report.stopped_by_time { ", stopped by --minutes" } else { "" },
        report.seconds / 60.0,
        100.0 * valid_scores.overall.f1()
    );
    let (scores, predicted) = evaluate(&tagger, &tags, test)?;
    println!("test:\n{}", scores.table());
    let record = json!({
        "tags": tags,
        "encoder": settings.encoder,
        "freeze": settings.freeze, "lora_rank": settings.lora,
        "epochs": settings.epochs, "batch": settings.batch, "lr": settings.lr, "seed": settings.seed,
        "train_sentences": train.len(), "steps": report.steps, "epoch_losses": report.epoch_losses,
        "train_minutes": report.seconds / 60.0, "wall_minutes": started.elapsed().as_secs_f64() / 60.0,
        "valid_f1": valid_scores.overall.f1(), "test_f1": scores.overall.f1(),
        "test_precision": scores.overall.precision(), "test_recall": scores.overall.recall(),
    });
    save(out, &tagger, &record)?;
    Ok((scores, predicted))
}

/// Writes the folder: encoder, head, then the marker file last.
fn save(out: &Path, tagger: &BertTagger, record: &Value) -> Result<(), CliError> {
    let (bert, vocab) = tagger.body.bert().ok_or_else(|| CliError::Usage("the tagger's body is not a BERT".into()))?;
    std::fs::create_dir_all(out).map_err(|e| CliError::Usage(format!("{}: {e}", out.display())))?;
    save_bert(&out.join("encoder"), bert, vocab)?;
    checkpoint::save(&out.join("head.safetensors"), &tagger.head, None)?;
    let text = format!("{record:#}");
    write_atomically(&out.join(MARKER), |w| w.write_all(text.as_bytes()))?;
    Ok(())
}

/// Loads a BERT tagger folder: the tagger and its tags.
pub fn load(folder: &Path, device: &Arc<dyn Device>) -> Result<(BertTagger, Vec<String>), CliError> {
    let marker = folder.join(MARKER);
    let text = std::fs::read_to_string(&marker).map_err(|e| CliError::Usage(format!("{}: {e}", marker.display())))?;
    let record: Value =
        serde_json::from_str(&text).map_err(|e| CliError::Usage(format!("{}: not JSON: {e}", marker.display())))?;
    let tags: Vec<String> = record["tags"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t.as_str().map(String::from)).collect())
        .filter(|t: &Vec<String>| t.len() >= 2)
        .ok_or_else(|| CliError::Usage(format!("{}: `tags` must list at least two tags", marker.display())))?;
    let body = Body::load(&folder.join("encoder"), None, device)?;
    let tagger = BertTagger::new(body, tags.len(), 0.0, 0)?;
    let head = folder.join("head.safetensors");
    let report = checkpoint::load(&head, &tagger.head, None)?;
    if !report.missing.is_empty() {
        return Err(nn_layers::NnError::format(&head, format!("missing tensors {:?}", report.missing)).into());
    }
    Ok((tagger, tags))
}
