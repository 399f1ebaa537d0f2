//! The training checkpoint: `checkpoint/` in the output folder is a model folder plus
//! `optimizer.safetensors` (the optimizer's buffers and the recurrent state carried into the
//! next window, under `carried.`) and `trainer.json` (epoch, window, step, seed, the running
//! loss of the epoch and the history). It is written whole into a temporary folder, fsynced
//! and swapped in (`nn_layers::train::replace_folder_atomically`), so a crash leaves one
//! complete checkpoint.

use std::path::{Path, PathBuf};

use nn_layers::NnError;
use nn_layers::checkpoint::{load_tensors, save_tensors, write_atomically};
use nn_layers::optim::Optimizer;
use nn_layers::train::{complete_folder, replace_folder_atomically};
use serde_json::{Value, json};
use tensor_core::Tensor;

use super::{EpochReport, TrainConfig};
use crate::corpus::read_text;
use crate::lm::{LmNetwork, LmState, NeuralLm, folder};
use crate::{NlpError, Result};

/// The folder of the latest checkpoint inside a training output folder.
pub const CHECKPOINT_DIR: &str = "checkpoint";
const OPTIMIZER_FILE: &str = "optimizer.safetensors";
const TRAINER_FILE: &str = "trainer.json";
const CARRIED: &str = "carried.";

/// Where training stands: enough, with the weights, optimizer buffers and carried state, to
/// continue exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainerState {
    /// Epochs finished.
    pub epoch: usize,
    /// Windows of the current epoch done (the data position).
    pub window: usize,
    /// Steps taken in all (the schedule's and the dropout masks' position).
    pub step: usize,
    /// Sum of the current epoch's training negative log-likelihood.
    pub nll_sum: f64,
    /// Tokens behind `nll_sum`.
    pub nll_tokens: usize,
    /// Finished epochs.
    pub history: Vec<EpochReport>,
    seed: u64,
    streams: usize,
    window_len: usize,
    train_tokens: usize,
}

impl TrainerState {
    /// The state before the first step.
    pub fn fresh(config: &TrainConfig, train_tokens: usize) -> TrainerState {
        TrainerState {
            epoch: 0,
            window: 0,
            step: 0,
            nll_sum: 0.0,
            nll_tokens: 0,
            history: Vec::new(),
            seed: config.seed,
            streams: config.streams,
            window_len: config.window,
            train_tokens,
        }
    }

    fn to_json(&self) -> Value {
        // Floats as text: Rust prints the shortest form that parses back to the same bits.
        let history: Vec<Value> = self
            .history
            .iter()
            .map(|e| {
                json!({
                    "epoch": e.epoch, "train_ppl": e.train_ppl.to_string(), "valid_ppl": e.valid_ppl.to_string(),
                    "lr": e.lr.to_string(), "seconds": e.seconds.to_string(),
                    "tokens_per_second": e.tokens_per_second.to_string(), "best": e.best,
                })
            })
            .collect();
        json!({
            "epoch": self.epoch, "window": self.window, "step": self.step,
            "nll_sum": self.nll_sum.to_string(), "nll_tokens": self.nll_tokens,
            "rng": { "seed": self.seed, "step": self.step },
            "streams": self.streams, "window_len": self.window_len, "train_tokens": self.train_tokens,
            "history": history,
        })
    }

    fn from_json(doc: &Value, path: &Path) -> Result<TrainerState> {
        let bad = |key: &str| NlpError::Parse {
            path: path.to_path_buf(),
            line: 0,
            msg: format!("`{key}` is missing or malformed"),
        };
        let whole = |v: &Value, key: &str| v[key].as_u64().ok_or_else(|| bad(key));
        let float = |v: &Value, key: &str| v[key].as_str().and_then(|s| s.parse::<f64>().ok()).ok_or_else(|| bad(key));
        let history = doc["history"]
            .as_array()
            .ok_or_else(|| bad("history"))?
            .iter()
            .map(|e| {
                Ok(EpochReport {
                    epoch: whole(e, "epoch")? as usize,
                    train_ppl: float(e, "train_ppl")?,
                    valid_ppl: float(e, "valid_ppl")?,
                    lr: float(e, "lr")?,
                    seconds: float(e, "seconds")?,
                    tokens_per_second: float(e, "tokens_per_second")?,
                    best: e["best"].as_bool().ok_or_else(|| bad("best"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(TrainerState {
            epoch: whole(doc, "epoch")? as usize,
            window: whole(doc, "window")? as usize,
            step: whole(doc, "step")? as usize,
            nll_sum: float(doc, "nll_sum")?,
            nll_tokens: whole(doc, "nll_tokens")? as usize,
            history,
            seed: whole(&doc["rng"], "seed")?,
            streams: whole(doc, "streams")? as usize,
            window_len: whole(doc, "window_len")? as usize,
            train_tokens: whole(doc, "train_tokens")? as usize,
        })
    }
}

/// Writes the checkpoint of `state` into `out/checkpoint/`.
#[allow(clippy::expect_used, reason = "an invariant, not input: JSON values serialise")]
pub(super) fn save<M: LmNetwork>(
    out: &Path,
    lm: &NeuralLm<M>,
    optimizer: &dyn Optimizer,
    state: &TrainerState,
    carried: Option<&LmState>,
) -> Result<()> {
    let mut tensors: Vec<(String, Tensor)> = optimizer.state()?;
    if let Some(carried) = carried {
        tensors.extend(carried.to_tensors().into_iter().map(|(n, t)| (format!("{CARRIED}{n}"), t)));
    }
    let text = serde_json::to_string_pretty(&state.to_json()).expect("JSON values serialise");
    replace_folder_atomically(&out.join(CHECKPOINT_DIR), |tmp| -> Result<()> {
        folder::save_model_folder(tmp, lm)?;
        save_tensors(&tmp.join(OPTIMIZER_FILE), &tensors)?;
        Ok(write_atomically(&tmp.join(TRAINER_FILE), |out| out.write_all(text.as_bytes()))?)
    })
}

/// The complete checkpoint folder of `out`: `checkpoint/`, or `checkpoint.old/` when a crash
/// came between the two renames that swap a new checkpoint in.
fn checkpoint_dir(out: &Path) -> Result<PathBuf> {
    let dir = out.join(CHECKPOINT_DIR);
    complete_folder(&dir, TRAINER_FILE)?.ok_or_else(|| {
        NnError::format(
            dir.join(TRAINER_FILE),
            "missing: there is no checkpoint to resume from (train without --resume first)",
        )
        .into()
    })
}

/// Loads the checkpoint of `out` into `lm` and `optimizer`; returns the trainer state and the
/// carried recurrent state. The checkpoint must come from the same data, batch shape, seed and
/// model.
pub(super) fn restore<M: LmNetwork>(
    out: &Path,
    lm: &NeuralLm<M>,
    optimizer: &mut dyn Optimizer,
    config: &TrainConfig,
    train_tokens: usize,
) -> Result<(TrainerState, Option<LmState>)> {
    let dir = checkpoint_dir(out)?;
    let trainer_path = dir.join(TRAINER_FILE);
    let doc: Value = serde_json::from_str(&read_text(&trainer_path)?).map_err(|e| NlpError::Parse {
        path: trainer_path.clone(),
        line: e.line(),
        msg: format!("invalid JSON: {e}"),
    })?;
    let state = TrainerState::from_json(&doc, &trainer_path)?;
    let expected = TrainerState::fresh(config, train_tokens);
    let fits = (state.seed, state.streams, state.window_len, state.train_tokens)
        == (expected.seed, expected.streams, expected.window_len, expected.train_tokens);
    if !fits {
        return Err(NnError::format(
            &trainer_path,
            format!(
                "written for seed {}, {} streams x {} steps over {} tokens; this run has seed {}, {} x {} over {}",
                state.seed,
                state.streams,
                state.window_len,
                state.train_tokens,
                expected.seed,
                expected.streams,
                expected.window_len,
                expected.train_tokens
            ),
        )
        .into());
    }
    let (stored, config_path) = folder::read_config(&dir)?;
    let ours = lm.model().config_json();
    let differs: Vec<String> = ours
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(key, value)| stored[key.as_str()] != **value)
        .map(|(key, value)| format!("{key} {} (this run: {value})", stored[key.as_str()]))
        .collect();
    if !differs.is_empty() {
        return Err(
            NnError::format(config_path, format!("was written for another model: {}", differs.join(", "))).into()
        );
    }
    let weights = dir.join(folder::MODEL_WEIGHTS);
    let report = nn_layers::checkpoint::load(&weights, lm.model(), None)?;
    if !report.missing.is_empty() {
        return Err(NnError::format(&weights, format!("missing tensors {:?}", report.missing)).into());
    }
    let tensors = load_tensors(&dir.join(OPTIMIZER_FILE), lm.device())?;
    let (carried, buffers): (Vec<_>, Vec<_>) = tensors.into_iter().partition(|(n, _)| n.starts_with(CARRIED));
    optimizer.load_state(&buffers)?;
    let carried: Vec<(String, Tensor)> =
        carried.into_iter().map(|(n, t)| (n[CARRIED.len()..].to_string(), t)).collect();
    let carried = if state.window > 0 { lm.model().carried_from_tensors(&carried) } else { None };
    if state.window > 0 && carried.is_none() {
        return Err(NnError::format(dir.join(OPTIMIZER_FILE), "the carried recurrent state is missing").into());
    }
    Ok((state, carried))
}
