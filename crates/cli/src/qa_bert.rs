//! `tessera qa train --encoder DIR`: extractive QA with a pretrained BERT-style encoder through
//! `transfer::BertSpanReader` (start and end scores over `[CLS] question [SEP] context window
//! [SEP]`, contexts cut into overlapping windows, the best span mapped back to characters of the
//! passage), scored with qa's official EM/F1. The model folder holds the encoder (`encoder/`),
//! the head (`head.safetensors`) and `bert-reader.json`; `qa eval` and `qa answer` recognise it
//! by that file.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use nlp::encoder::save_bert;
use nn_layers::checkpoint::{self, write_atomically};
use qa::metric::{self, SquadScore};
use qa::squad::SquadSet;
use serde_json::{Value, json};
use tensor_core::Device;
use transfer::{
    BertSpanReader, Body, FitConfig, Lora, LoraConfig, SpanAnswer, SpanConfig, TransferError, default_lora_targets,
    fit_with, set_frozen,
};

use crate::error::CliError;

/// The file that marks a BERT reader's folder.
pub const MARKER: &str = "bert-reader.json";

/// Whether `folder` holds a BERT reader (rather than the attentive reader).
pub fn is_bert_reader(folder: &Path) -> bool {
    folder.join(MARKER).is_file()
}

/// Settings of a BERT reader run, from `qa train`'s options.
pub struct BertQaSettings<'a> {
    /// The pretrained encoder folder.
    pub encoder: &'a Path,
    /// Train the head alone on frozen states.
    pub freeze: bool,
    /// Window and answer sizes.
    pub span: SpanConfig,
    /// Passes over the training windows.
    pub epochs: usize,
    /// Windows per step.
    pub batch: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Time box in minutes.
    pub minutes: Option<f64>,
    /// Seed.
    pub seed: u64,
    /// LoRA adapters of this rank on the attention queries and values (the encoder frozen),
    /// merged into the weights before saving.
    pub lora: Option<usize>,
}

/// Answers every question of `set` (question id → answer text).
pub fn predict_set(reader: &BertSpanReader, set: &SquadSet) -> Result<HashMap<String, String>, CliError> {
    let items: Vec<(&str, &str, &str)> = set
        .paragraphs
        .iter()
        .flat_map(|p| p.questions.iter().map(move |q| (q.id.as_str(), q.text.as_str(), p.context.as_str())))
        .collect();
    let mut predictions = HashMap::new();
    for chunk in items.chunks(64) {
        let pairs: Vec<(&str, &str)> = chunk.iter().map(|&(_, q, c)| (q, c)).collect();
        let answers = reader.answer(&pairs, 32)?;
        for ((id, _, _), found) in chunk.iter().zip(answers) {
            predictions.insert(id.to_string(), found.text);
        }
    }
    Ok(predictions)
}

/// Trains on `train`, scores on `dev`, writes the folder; returns the dev score.
pub fn train(
    settings: &BertQaSettings,
    train: &SquadSet,
    dev: &SquadSet,
    out: &Path,
    device: &Arc<dyn Device>,
) -> Result<SquadScore, CliError> {
    let started = Instant::now();
    let body = Body::load(settings.encoder, None, device)?;
    let reader = BertSpanReader::new(body, settings.span, settings.seed)?;
    if settings.freeze {
        set_frozen(reader.body.module(), "bert.*", true)?;
    }
    let lora = match settings.lora {
        Some(rank) => Some(Lora::attach(
            reader.body.module(),
            &LoraConfig {
                rank,
                alpha: 2.0 * rank as f64,
                targets: default_lora_targets(reader.body.kind()),
                seed: settings.seed,
            },
        )?),
        None => None,
    };
    let extra = lora.as_ref().map(Lora::parameters).unwrap_or_default();
    let mut windows = Vec::new();
    let (mut skipped, mut inside) = (0, 0);
    for paragraph in &train.paragraphs {
        for question in &paragraph.questions {
            let Some(answer) = question.answers.first() else { continue };
            let span = (answer.start, answer.start + answer.text.chars().count());
            match reader.windows(&question.text, &paragraph.context, Some(span), &question.id) {
                Ok(found) => {
                    inside += usize::from(found.iter().any(|w| w.label != (0, 0)));
                    windows.extend(found);
                }
                Err(TransferError::AllUnknown { .. }) => skipped += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
    println!(
        "qa with {}: {} training questions ({} answers inside a window, {} contexts unreadable) in {} windows, {} dev questions; {}",
        settings.encoder.display(),
        train.len(),
        inside,
        skipped,
        windows.len(),
        dev.len(),
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
        &reader,
        &extra,
        &windows,
        &config,
        |batch, seed| reader.loss(batch, Some(seed)),
        |step, loss| println!("step {step:>6}  loss {loss:.4}  {:.1} min", started.elapsed().as_secs_f64() / 60.0),
    )?;
    if let Some(lora) = lora {
        lora.merge()?;
    }
    let eval_clock = Instant::now();
    let score = metric::evaluate(dev, &predict_set(&reader, dev)?);
    println!(
        "trained {} steps ({} weights){} in {:.1} min; dev EM {:.2}, F1 {:.2} on {} questions ({:.1} min)",
        report.steps,
        report.trained_weights,
        if report.stopped_by_time { ", stopped by --minutes" } else { "" },
        report.seconds / 60.0,
        score.exact_match,
        score.f1,
        score.questions,
        eval_clock.elapsed().as_secs_f64() / 60.0
    );
    let record = json!({
        "encoder": settings.encoder, "freeze": settings.freeze, "lora_rank": settings.lora,
        "max_question": settings.span.max_question, "doc_stride": settings.span.doc_stride,
        "max_answer": settings.span.max_answer,
        "epochs": settings.epochs, "batch": settings.batch, "lr": settings.lr, "seed": settings.seed,
        "train_questions": train.len(), "windows": windows.len(), "steps": report.steps,
        "epoch_losses": report.epoch_losses, "train_minutes": report.seconds / 60.0,
        "wall_minutes": started.elapsed().as_secs_f64() / 60.0,
        "dev_questions": score.questions, "dev_exact_match": score.exact_match, "dev_f1": score.f1,
    });
    let (bert, vocab) = reader.body.bert().ok_or_else(|| CliError::Usage("the reader's body is not a BERT".into()))?;
    std::fs::create_dir_all(out).map_err(|e| CliError::Usage(format!("{}: {e}", out.display())))?;
    save_bert(&out.join("encoder"), bert, vocab)?;
    checkpoint::save(&out.join("head.safetensors"), &reader.head, None)?;
    let text = format!("{record:#}");
    write_atomically(&out.join(MARKER), |w| w.write_all(text.as_bytes()))?;
    Ok(score)
}

/// Loads a BERT reader folder.
pub fn load(folder: &Path, device: &Arc<dyn Device>) -> Result<BertSpanReader, CliError> {
    let marker = folder.join(MARKER);
    let text = std::fs::read_to_string(&marker).map_err(|e| CliError::Usage(format!("{}: {e}", marker.display())))?;
    let record: Value =
        serde_json::from_str(&text).map_err(|e| CliError::Usage(format!("{}: not JSON: {e}", marker.display())))?;
    let size = |key: &str| {
        record[key]
            .as_u64()
            .map(|v| v as usize)
            .ok_or_else(|| CliError::Usage(format!("{}: `{key}` must be a whole number", marker.display())))
    };
    let span = SpanConfig {
        max_question: size("max_question")?,
        doc_stride: size("doc_stride")?,
        max_answer: size("max_answer")?,
    };
    let reader = BertSpanReader::new(Body::load(&folder.join("encoder"), None, device)?, span, 0)?;
    let head = folder.join("head.safetensors");
    let report = checkpoint::load(&head, &reader.head, None)?;
    if !report.missing.is_empty() {
        return Err(nn_layers::NnError::format(&head, format!("missing tensors {:?}", report.missing)).into());
    }
    Ok(reader)
}

/// One answer of a loaded reader.
pub fn answer(reader: &BertSpanReader, question: &str, context: &str) -> Result<SpanAnswer, CliError> {
    Ok(reader.answer(&[(question, context)], 8)?.remove(0))
}
