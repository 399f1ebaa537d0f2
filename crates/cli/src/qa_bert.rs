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

use qa::metric::{self, SquadScore};
use qa::squad::SquadSet;
use serde_json::json;
use tensor_core::Device;
use transfer::{BertSpanReader, Body, SpanAnswer, SpanConfig, TransferError};

use crate::bert_task::{EncoderRun, fit_summary, load_head, read_marker, save_folder};
use crate::error::CliError;

/// The file that marks a BERT reader's folder.
pub const MARKER: &str = "bert-reader.json";

/// Whether `folder` holds a BERT reader (rather than the attentive reader).
pub fn is_bert_reader(folder: &Path) -> bool {
    folder.join(MARKER).is_file()
}

/// Settings of a BERT reader run, from `qa train`'s options.
pub struct BertQaSettings<'a> {
    /// The encoder, what trains, and the schedule.
    pub run: EncoderRun<'a>,
    /// Window and answer sizes.
    pub span: SpanConfig,
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
    let run = &settings.run;
    let body = Body::load(run.encoder, None, device)?;
    let reader = BertSpanReader::new(body, settings.span, run.schedule.seed)?;
    let lora = run.prepare(&reader.body)?;
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
        run.encoder.display(),
        train.len(),
        inside,
        skipped,
        windows.len(),
        dev.len(),
        run.mode()
    );
    let report = run.fit(&reader, lora, &windows, |batch, seed| reader.loss(batch, Some(seed)), started)?;
    let eval_clock = Instant::now();
    let score = metric::evaluate(dev, &predict_set(&reader, dev)?);
    println!(
        "{}; dev EM {:.2}, F1 {:.2} on {} questions ({:.1} min)",
        fit_summary(&report),
        score.exact_match,
        score.f1,
        score.questions,
        eval_clock.elapsed().as_secs_f64() / 60.0
    );
    let record = run.record(json!({
        "max_question": settings.span.max_question, "doc_stride": settings.span.doc_stride,
        "max_answer": settings.span.max_answer,
        "train_questions": train.len(), "windows": windows.len(), "steps": report.steps,
        "epoch_losses": report.epoch_losses, "train_minutes": report.seconds / 60.0,
        "wall_minutes": started.elapsed().as_secs_f64() / 60.0,
        "dev_questions": score.questions, "dev_exact_match": score.exact_match, "dev_f1": score.f1,
    }));
    save_folder(out, &reader.body, &reader.head, MARKER, &record)?;
    Ok(score)
}

/// Loads a BERT reader folder.
pub fn load(folder: &Path, device: &Arc<dyn Device>) -> Result<BertSpanReader, CliError> {
    let (marker, record) = read_marker(folder, MARKER)?;
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
    load_head(folder, &reader.head)?;
    Ok(reader)
}

/// One answer of a loaded reader.
pub fn answer(reader: &BertSpanReader, question: &str, context: &str) -> Result<SpanAnswer, CliError> {
    Ok(reader.answer(&[(question, context)], 8)?.remove(0))
}
