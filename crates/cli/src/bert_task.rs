//! What `ner train --encoder` and `qa train --encoder` share: the encoder options, preparing
//! the pretrained body (frozen, with LoRA adapters, or fine-tuned whole), the fit, and the task
//! folder (`encoder/`, `head.safetensors`, then a marker JSON written last).

use std::path::{Path, PathBuf};
use std::time::Instant;

use autograd::Var;
use nlp::encoder::save_bert;
use nn_layers::Module;
use nn_layers::checkpoint::{self, write_atomically};
use serde_json::{Value, json};
use transfer::{Body, FitConfig, FitReport, Lora, LoraConfig, default_lora_targets, fit_with, set_frozen};

use crate::error::CliError;

/// Options of a task trained on a pretrained BERT-style encoder.
#[derive(clap::Args, Debug, Clone)]
pub struct EncoderArgs {
    /// Fine-tune this pretrained BERT model folder as the task's encoder (subword pieces; see
    /// crates/cli/src/ner_bert.rs and qa_bert.rs) instead of the model trained from scratch.
    #[arg(long)]
    pub encoder: Option<PathBuf>,
    /// With --encoder: freeze the encoder and train the head alone (features).
    #[arg(long)]
    pub freeze: bool,
    /// With --encoder: the peak learning rate (warm-up then linear decay; --lr with --freeze or
    /// --lora-rank).
    #[arg(long, default_value_t = 1e-4)]
    pub encoder_lr: f64,
    /// With --encoder: train LoRA adapters of this rank on the attention queries and values
    /// (and the head) instead of the whole encoder; merged before saving.
    #[arg(long)]
    pub lora_rank: Option<usize>,
}

/// The schedule of a fit, from the task's own options.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// Passes over the training windows.
    pub epochs: usize,
    /// Windows per step.
    pub batch: usize,
    /// The task's `--lr` (the rate when only a head or adapters train).
    pub lr: f64,
    /// Time box in minutes.
    pub minutes: Option<f64>,
    /// Seed.
    pub seed: u64,
}

/// One fit on a pretrained encoder.
#[derive(Clone, Debug)]
pub struct EncoderRun<'a> {
    /// The pretrained encoder folder.
    pub encoder: &'a Path,
    /// Train the head alone on frozen states.
    pub freeze: bool,
    /// LoRA adapters of this rank on the attention queries and values (the encoder frozen),
    /// merged into the weights before saving.
    pub lora: Option<usize>,
    /// Peak learning rate.
    pub lr: f64,
    /// Epochs, batch, time box and seed.
    pub schedule: Schedule,
}

impl EncoderArgs {
    /// The run on `encoder` with the task's `schedule`: the encoder's rate when it is
    /// fine-tuned whole, the task's `--lr` otherwise.
    pub fn run<'a>(&self, encoder: &'a Path, schedule: Schedule) -> EncoderRun<'a> {
        let whole = !self.freeze && self.lora_rank.is_none();
        EncoderRun {
            encoder,
            freeze: self.freeze,
            lora: self.lora_rank,
            lr: if whole { self.encoder_lr } else { schedule.lr },
            schedule,
        }
    }
}

impl EncoderRun<'_> {
    /// Freezes `body` or attaches LoRA adapters to it, as asked; the adapters, when attached.
    pub fn prepare(&self, body: &Body) -> Result<Option<Lora>, CliError> {
        if self.freeze {
            set_frozen(body.module(), "bert.*", true)?;
        }
        let Some(rank) = self.lora else { return Ok(None) };
        let config = LoraConfig {
            rank,
            alpha: 2.0 * rank as f64,
            targets: default_lora_targets(body.kind()),
            seed: self.schedule.seed,
        };
        Ok(Some(Lora::attach(body.module(), &config)?))
    }

    /// What trains, in words.
    pub fn mode(&self) -> &'static str {
        match (self.freeze, self.lora) {
            (true, _) => "encoder frozen (features)",
            (false, Some(_)) => "LoRA on the encoder",
            (false, None) => "fine-tuning the encoder",
        }
    }

    /// Trains `model` (and `lora`'s adapters) over `windows` with `loss`, printing each step's
    /// loss, then merges the adapters into the weights.
    pub fn fit<T>(
        &self,
        model: &dyn Module,
        lora: Option<Lora>,
        windows: &[T],
        loss: impl FnMut(&[&T], u64) -> transfer::Result<Var>,
        started: Instant,
    ) -> Result<FitReport, CliError> {
        let config = FitConfig {
            epochs: self.schedule.epochs,
            batch: self.schedule.batch,
            lr: self.lr,
            seconds: self.schedule.minutes.map(|m| m * 60.0),
            seed: self.schedule.seed,
            ..FitConfig::default()
        };
        let extra = lora.as_ref().map(Lora::parameters).unwrap_or_default();
        let report = fit_with(model, &extra, windows, &config, loss, |step, loss| {
            println!("step {step:>6}  loss {loss:.4}  {:.1} min", started.elapsed().as_secs_f64() / 60.0)
        })?;
        if let Some(lora) = lora {
            lora.merge()?;
        }
        Ok(report)
    }

    /// The folder's record: the settings every task keeps, then the fields of `task`.
    pub fn record(&self, task: Value) -> Value {
        let mut record = json!({
            "encoder": self.encoder, "freeze": self.freeze, "lora_rank": self.lora,
            "epochs": self.schedule.epochs, "batch": self.schedule.batch, "lr": self.lr, "seed": self.schedule.seed,
        });
        if let (Some(fields), Value::Object(task)) = (record.as_object_mut(), task) {
            fields.extend(task);
        }
        record
    }
}

/// `report`'s summary line: steps, trained weights, whether the time box stopped it, minutes.
pub fn fit_summary(report: &FitReport) -> String {
    format!(
        "trained {} steps ({} weights){} in {:.1} min",
        report.steps,
        report.trained_weights,
        if report.stopped_by_time { ", stopped by --minutes" } else { "" },
        report.seconds / 60.0
    )
}

/// Writes a task folder: the encoder of `body`, `head`, then `marker` holding `record` last
/// (so a folder with a marker is complete).
pub fn save_folder(out: &Path, body: &Body, head: &dyn Module, marker: &str, record: &Value) -> Result<(), CliError> {
    let (bert, vocab) = body.bert().ok_or_else(|| CliError::Usage("the task's body is not a BERT".into()))?;
    std::fs::create_dir_all(out).map_err(|e| CliError::Usage(format!("{}: {e}", out.display())))?;
    save_bert(&out.join("encoder"), bert, vocab)?;
    checkpoint::save(&out.join("head.safetensors"), head, None)?;
    let text = format!("{record:#}");
    write_atomically(&out.join(marker), |w| w.write_all(text.as_bytes()))?;
    Ok(())
}

/// The record in `folder`'s `marker` file, with the file's path for error messages.
pub fn read_marker(folder: &Path, marker: &str) -> Result<(PathBuf, Value), CliError> {
    let path = folder.join(marker);
    let text = std::fs::read_to_string(&path).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    let record =
        serde_json::from_str(&text).map_err(|e| CliError::Usage(format!("{}: not JSON: {e}", path.display())))?;
    Ok((path, record))
}

/// Loads `folder/head.safetensors` into `head`; a missing tensor is an error naming the file.
pub fn load_head(folder: &Path, head: &dyn Module) -> Result<(), CliError> {
    let path = folder.join("head.safetensors");
    let report = checkpoint::load(&path, head, None)?;
    if !report.missing.is_empty() {
        return Err(nn_layers::NnError::format(&path, format!("missing tensors {:?}", report.missing)).into());
    }
    Ok(())
}
