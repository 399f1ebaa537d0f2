//! Pretrained networks as benchmark models, through `crates/transfer`: a BERT-style encoder, a
//! GPT or a recurrent LM (the model folder of [`Context::pretrained`]) read as frozen features,
//! fine-tuned whole, or adapted with LoRA, with a fresh linear head per task. The epoch is
//! chosen on dev (transfer's own dev score: accuracy, or negative squared error for scores).

use std::path::Path;

use nlp::encoder::Bert;
use nlp::lm::{Gpt, LmNetwork, RnnLm, read_config};
use serde_json::json;
use transfer::{
    BodyKind, FinetuneConfig, LoraConfig, Mode, Prediction, RunConfig, TaskKind as TransferTask, TransferError,
    train_task,
};

use super::{Context, Fitted, Model, Outputs};
use crate::data::{Example, Target, TaskData};
use crate::error::{GlueError, Result};
use crate::spec::TaskKind;

/// A pretrained body used one way, e.g. `bert-finetune`.
#[derive(Clone, Copy, Debug)]
pub struct Pretrained {
    name: &'static str,
    body: BodyKind,
    mode: Mode,
}

/// Every registered combination of body and mode.
pub const PRETRAINED: [Pretrained; 9] = [
    Pretrained { name: "bert-features", body: BodyKind::Bert, mode: Mode::Features },
    Pretrained { name: "bert-finetune", body: BodyKind::Bert, mode: Mode::Finetune },
    Pretrained { name: "bert-lora", body: BodyKind::Bert, mode: Mode::Lora },
    Pretrained { name: "gpt-features", body: BodyKind::Gpt, mode: Mode::Features },
    Pretrained { name: "gpt-finetune", body: BodyKind::Gpt, mode: Mode::Finetune },
    Pretrained { name: "gpt-lora", body: BodyKind::Gpt, mode: Mode::Lora },
    Pretrained { name: "rnn-features", body: BodyKind::Rnn, mode: Mode::Features },
    Pretrained { name: "rnn-finetune", body: BodyKind::Rnn, mode: Mode::Finetune },
    Pretrained { name: "rnn-lora", body: BodyKind::Rnn, mode: Mode::Lora },
];

impl Pretrained {
    /// The `architecture` a model folder's `config.json` must name for this body.
    fn architecture(&self) -> &'static str {
        match self.body {
            BodyKind::Bert => Bert::ARCHITECTURE,
            BodyKind::Gpt => Gpt::ARCHITECTURE,
            _ => RnnLm::ARCHITECTURE,
        }
    }

    /// The training settings: a head on frozen features learns fast; a whole body moves slowly.
    fn finetune_config(&self, ctx: &Context) -> FinetuneConfig {
        let (epochs, lr) = match self.mode {
            Mode::Features => (10, 1e-3),
            Mode::Lora => (6, 1e-3),
            _ => (4, 1e-4),
        };
        FinetuneConfig { epochs: if ctx.quick { 1 } else { epochs }, lr, seed: ctx.seed, ..FinetuneConfig::default() }
    }

    /// Checks that `folder` holds this model's body before any training.
    fn check_folder(&self, folder: &Path) -> Result<()> {
        let (doc, config_path) = read_config(folder)?;
        let found = doc["architecture"].as_str().unwrap_or("(none)");
        if found != self.architecture() {
            return Err(TransferError::WrongKind {
                path: config_path,
                found: format!("architecture {found}"),
                expected: format!(
                    "model `{}` reads {} (architecture {})",
                    self.name,
                    self.body.name(),
                    self.architecture()
                ),
            }
            .into());
        }
        Ok(())
    }
}

/// A benchmark example as transfer reads it (tokenised by transfer's word tokenizer).
fn to_transfer(example: &Example) -> transfer::Example {
    match (&example.target, &example.second) {
        (Target::Tags(tags), _) => {
            transfer::Example::tagged(example.tokens.clone(), tags.iter().map(|&t| t as i64).collect())
        }
        (Target::Score(score), _) => transfer::Example::value(&example.text, *score),
        (Target::Class(class), Some(second)) => transfer::Example::pair(&example.text, second, *class as i64),
        (Target::Class(class), None) => transfer::Example::class(&example.text, *class as i64),
    }
}

/// Predictions in the benchmark's form.
fn to_outputs(predictions: Vec<Prediction>, kind: TaskKind) -> Outputs {
    match kind {
        TaskKind::Regression => Outputs::Scores(
            predictions.into_iter().map(|p| if let Prediction::Value(v) = p { v } else { 0.0 }).collect(),
        ),
        TaskKind::Tagging => Outputs::Tags(
            predictions.into_iter().map(|p| if let Prediction::Tags(t) = p { t } else { Vec::new() }).collect(),
        ),
        _ => Outputs::Classes(
            predictions.into_iter().map(|p| if let Prediction::Class(c) = p { c } else { 0 }).collect(),
        ),
    }
}

impl Model for Pretrained {
    fn name(&self) -> &'static str {
        self.name
    }

    /// Sentence and pair classification and regression; tagging needs one token per word,
    /// which only some bodies have, so it is left to the taggers.
    fn supports(&self, kind: TaskKind) -> bool {
        kind != TaskKind::Tagging
    }

    fn fit(&self, task: &TaskData, ctx: &Context) -> Result<Fitted> {
        let folder = ctx.pretrained.as_deref().ok_or_else(|| {
            GlueError::Invalid(format!("model `{}` needs a pretrained model folder (--pretrained DIR)", self.name))
        })?;
        self.check_folder(folder)?;
        let kind = task.spec.kind;
        let task_kind = match kind {
            TaskKind::Single => TransferTask::Classify,
            TaskKind::Pair => TransferTask::Pair,
            TaskKind::Regression => TransferTask::Regress,
            TaskKind::Tagging => TransferTask::Tag,
        };
        let convert = |examples: &[Example]| examples.iter().map(to_transfer).collect::<Vec<_>>();
        let (train, dev, test) = (convert(&task.train), convert(&task.dev), convert(&task.test));
        let config = RunConfig {
            mode: self.mode,
            task: task_kind,
            finetune: self.finetune_config(ctx),
            freeze: Vec::new(),
            lora: LoraConfig { rank: 4, alpha: 8.0, targets: Vec::new(), seed: ctx.seed },
            adapt_weight: 0.0,
            continue_steps: 0,
            conv: None,
            seed: ctx.seed,
            out: None,
        };
        let trained = train_task(folder, &train, &dev, &[], &config, &ctx.device)?;
        let predict = |examples: &[transfer::Example]| -> Result<Outputs> {
            Ok(to_outputs(trained.model.predict(examples, 64, 0)?, kind))
        };
        let (dev_outputs, test_outputs) = (predict(&dev)?, predict(&test)?);
        let report = &trained.report;
        Ok(Fitted {
            dev: dev_outputs,
            test: test_outputs,
            config: json!({
                "pretrained": folder.display().to_string(),
                "body": self.body.name(),
                "mode": self.mode.name(),
                "epochs": config.finetune.epochs,
                "lr": config.finetune.lr,
                "batch": config.finetune.batch,
                "kept_epoch": report.best_epoch,
                "trainable_weights": report.trainable,
                "total_weights": trained.total,
            }),
            examples_seen: report.history.len() * train.len(),
        })
    }
}
