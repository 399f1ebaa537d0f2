//! Resumable training: a training checkpoint is a folder holding the model and the optimizer's
//! state (`weights.safetensors`: parameters, buffers, Adam's moments and step counts) and where
//! training stands (`train_state.txt`: epoch, batches done in it, optimizer steps — which fix the
//! learning-rate schedule's position — the epoch's running means, and the finished epochs).
//!
//! The data order is a pure function of the seed and the epoch (see [`crate::data::Batches`]),
//! so the loader's position is the epoch and the number of its batches already applied; the
//! classifiers trained here draw no other random numbers while training.
//!
//! A folder is written whole into `<dir>.tmp-<pid>`, every file and the folder fsynced, then
//! swapped in by two renames (`<dir>` to `<dir>.old`, the new one to `<dir>`); a process killed at
//! any moment leaves either the previous checkpoint or the new one complete, and
//! [`load_training`] finds whichever it is.

use std::path::{Path, PathBuf};

use super::{EpochStats, Mean};
use crate::checkpoint::{self, write_atomically};
use crate::optim::Optimizer;
use crate::{Module, NnError, Result};

/// The weights file of a training checkpoint.
pub const TRAIN_WEIGHTS: &str = "weights.safetensors";
/// The position file of a training checkpoint.
pub const TRAIN_STATE: &str = "train_state.txt";

/// Where a training run stands.
#[derive(Clone, Debug, Default)]
pub struct TrainPosition {
    /// The 1-based epoch in progress (or the next one, when `batches_done` is 0).
    pub epoch: usize,
    /// Batches of that epoch already applied (or skipped).
    pub batches_done: usize,
    /// Optimizer steps taken so far, over all epochs.
    pub step: usize,
    /// The epoch's running mean training loss so far.
    pub loss: Mean,
    /// The epoch's running training accuracy so far.
    pub hits: Mean,
    /// Steps of the epoch skipped for non-finite values.
    pub skipped: usize,
    /// The finished epochs.
    pub history: Vec<EpochStats>,
    /// Named numbers a training loop keeps across a resume (e.g. the best validation score and
    /// its epoch); names hold no whitespace.
    pub notes: Vec<(String, f64)>,
}

impl TrainPosition {
    /// The note called `name`, if kept.
    pub fn note(&self, name: &str) -> Option<f64> {
        self.notes.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
    }

    /// Keeps `value` as the note `name` (replacing an earlier one).
    pub fn set_note(&mut self, name: &str, value: f64) {
        match self.notes.iter_mut().find(|(n, _)| n == name) {
            Some(note) => note.1 = value,
            None => self.notes.push((name.to_string(), value)),
        }
    }
}

/// The temporary and the previous folder beside `dir`.
fn siblings(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let name = dir
        .file_name()
        .ok_or_else(|| NnError::Invalid(format!("{} cannot be a checkpoint folder", dir.display())))?
        .to_string_lossy()
        .into_owned();
    Ok((dir.with_file_name(format!("{name}.tmp-{}", std::process::id())), dir.with_file_name(format!("{name}.old"))))
}

/// Fsyncs a folder, so that the renames and files in it are on disk.
fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir).and_then(|f| f.sync_all()).map_err(|e| NnError::io(dir, e))
}

/// Replaces the folder `dir` by one that `fill` writes, atomically: `fill` writes into
/// `<dir>.tmp-<pid>`, which is fsynced and swapped in by two renames (`dir` to `<dir>.old`, the
/// new one to `dir`). A process killed at any moment leaves the previous folder or the new one
/// complete; [`complete_folder`] finds whichever it is. `fill`'s errors come back as they are.
pub fn replace_folder_atomically<E: From<NnError>>(
    dir: &Path,
    fill: impl FnOnce(&Path) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let (tmp, old) = siblings(dir)?;
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| NnError::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| NnError::io(&tmp, e))?;
    fill(&tmp)?;
    sync_dir(&tmp)?;
    if dir.exists() {
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| NnError::io(&old, e))?;
        }
        std::fs::rename(dir, &old).map_err(|e| NnError::io(dir, e))?;
    }
    std::fs::rename(&tmp, dir).map_err(|e| NnError::io(dir, e))?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| NnError::io(&old, e))?;
    }
    Ok(())
}

/// The complete folder written by [`replace_folder_atomically`] at `dir`: `dir` itself, or
/// `<dir>.old` after a kill between the two renames. `marker` is the file written last, whose
/// presence shows the folder complete.
pub fn complete_folder(dir: &Path, marker: &str) -> Result<Option<PathBuf>> {
    let (_, old) = siblings(dir)?;
    Ok([dir.to_path_buf(), old].into_iter().find(|d| d.join(marker).is_file()))
}

/// Writes a training checkpoint of `model`, `optimizer` and `position` into `dir`, atomically.
pub fn save_training(
    dir: &Path,
    model: &dyn Module,
    optimizer: &dyn Optimizer,
    position: &TrainPosition,
) -> Result<()> {
    replace_folder_atomically(dir, |tmp| -> Result<()> {
        checkpoint::save(&tmp.join(TRAIN_WEIGHTS), model, Some(optimizer))?;
        let text = encode(position);
        write_atomically(&tmp.join(TRAIN_STATE), |out| out.write_all(text.as_bytes()))
    })
}

/// Loads the training checkpoint in `dir` (or, after a kill between the two renames of a save,
/// the previous one beside it) into `model` and `optimizer`; returns where training stands.
pub fn load_training(dir: &Path, model: &dyn Module, optimizer: &mut dyn Optimizer) -> Result<TrainPosition> {
    let found = complete_folder(dir, TRAIN_STATE)?.ok_or_else(|| {
        NnError::format(dir, format!("no training checkpoint here ({TRAIN_STATE} and {TRAIN_WEIGHTS})"))
    })?;
    let state_path = found.join(TRAIN_STATE);
    let text = std::fs::read_to_string(&state_path).map_err(|e| NnError::io(&state_path, e))?;
    let position = decode(&text).map_err(|msg| NnError::format(&state_path, msg))?;
    let weights = found.join(TRAIN_WEIGHTS);
    let report = checkpoint::load(&weights, model, Some(optimizer))?;
    if !report.missing.is_empty() {
        return Err(NnError::format(&weights, format!("missing tensors {:?}", report.missing)));
    }
    Ok(position)
}

/// An f64 exactly, as the hex of its bits.
fn bits(x: f64) -> String {
    format!("{:016x}", x.to_bits())
}

fn encode(p: &TrainPosition) -> String {
    let mut out = format!(
        "tessera-train-state 1\nepoch {}\nbatches_done {}\nstep {}\nloss {} {}\nhits {} {}\nskipped {}\n",
        p.epoch,
        p.batches_done,
        p.step,
        bits(p.loss.sum),
        bits(p.loss.weight),
        bits(p.hits.sum),
        bits(p.hits.weight),
        p.skipped
    );
    for e in &p.history {
        let (eval_loss, eval_acc) = e.eval.unwrap_or((f64::NAN, f64::NAN));
        out.push_str(&format!(
            "finished {} {} {} {} {} {} {} {}\n",
            e.epoch,
            bits(e.train_loss),
            bits(e.train_accuracy),
            u8::from(e.eval.is_some()),
            bits(eval_loss),
            bits(eval_acc),
            bits(e.seconds),
            e.skipped_steps
        ));
    }
    for (name, value) in &p.notes {
        out.push_str(&format!("note {name} {}\n", bits(*value)));
    }
    out
}

fn decode(text: &str) -> std::result::Result<TrainPosition, String> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, "tessera-train-state 1")) => {}
        _ => return Err("line 1: expected `tessera-train-state 1`".into()),
    }
    let mut p = TrainPosition::default();
    for (i, line) in lines {
        let fail = |what: &str| format!("line {}: {what}: `{line}`", i + 1);
        let fields: Vec<&str> = line.split_whitespace().collect();
        let int = |k: usize| fields.get(k).and_then(|f| f.parse::<usize>().ok()).ok_or_else(|| fail("not a count"));
        let float = |k: usize| {
            fields
                .get(k)
                .and_then(|f| u64::from_str_radix(f, 16).ok())
                .map(f64::from_bits)
                .ok_or_else(|| fail("not a float's bits"))
        };
        match fields.first().copied() {
            Some("epoch") => p.epoch = int(1)?,
            Some("batches_done") => p.batches_done = int(1)?,
            Some("step") => p.step = int(1)?,
            Some("loss") => p.loss = Mean { sum: float(1)?, weight: float(2)? },
            Some("hits") => p.hits = Mean { sum: float(1)?, weight: float(2)? },
            Some("skipped") => p.skipped = int(1)?,
            Some("note") if fields.len() == 3 => p.notes.push((fields[1].to_string(), float(2)?)),
            Some("finished") => p.history.push(EpochStats {
                epoch: int(1)?,
                train_loss: float(2)?,
                train_accuracy: float(3)?,
                eval: if int(4)? == 1 { Some((float(5)?, float(6)?)) } else { None },
                seconds: float(7)?,
                skipped_steps: int(8)?,
            }),
            _ => return Err(fail("unknown entry")),
        }
    }
    if p.epoch == 0 {
        return Err("no `epoch` entry".into());
    }
    Ok(p)
}
