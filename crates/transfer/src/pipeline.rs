//! One run of a transfer mode, from a pretrained path to a test score: what the CLI calls.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nn_layers::Param;
use tensor_core::{Device, TensorRng};

use crate::adapt::{ContinueConfig, DomainClassifier, continue_pretraining};
use crate::body::{Body, BodyKind};
use crate::finetune::{Adaptation, FinetuneConfig, FinetuneReport, finetune};
use crate::lora::{Lora, LoraConfig};
use crate::optim::set_frozen;
use crate::task::{Example, TaskKind, TaskModel, classes_of};
use crate::words::ConvSpec;
use crate::{Result, TransferError};

/// How the pretrained body is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The same architecture, randomly initialised, trained whole: the baseline.
    Scratch,
    /// The body frozen (by the freeze patterns; all of it by default), its features computed
    /// once, the head trained on them.
    Features,
    /// The body trained with the head (parts frozen by the freeze patterns).
    Finetune,
    /// The body frozen, LoRA adapters on its target weights trained with the head.
    Lora,
    /// Fine-tuning with DANN's domain classifier on unlabelled target examples.
    Dann,
    /// Fine-tuning with the CORAL loss against unlabelled target examples.
    Coral,
    /// Continued LM pretraining on the target examples' text, then fine-tuning.
    Continue,
}

impl Mode {
    /// Parses a mode name as the CLI spells it.
    pub fn parse(name: &str) -> Result<Mode> {
        Ok(match name {
            "scratch" => Mode::Scratch,
            "features" => Mode::Features,
            "finetune" => Mode::Finetune,
            "lora" => Mode::Lora,
            "dann" => Mode::Dann,
            "coral" => Mode::Coral,
            "continue" => Mode::Continue,
            other => {
                return Err(TransferError::Invalid(format!(
                    "unknown mode `{other}`: expected scratch, features, finetune, lora, dann, coral or continue"
                )));
            }
        })
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Scratch => "scratch",
            Mode::Features => "features",
            Mode::Finetune => "finetune",
            Mode::Lora => "lora",
            Mode::Dann => "dann",
            Mode::Coral => "coral",
            Mode::Continue => "continue",
        }
    }
}

/// Everything a run needs besides the data.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The mode.
    pub mode: Mode,
    /// The task.
    pub task: TaskKind,
    /// The training loop.
    pub finetune: FinetuneConfig,
    /// Parameter-name patterns to freeze (features: everything when empty).
    pub freeze: Vec<String>,
    /// LoRA's rank, alpha and targets (targets empty: the body's defaults, see
    /// [`default_lora_targets`]).
    pub lora: LoraConfig,
    /// Weight of the DANN or CORAL term.
    pub adapt_weight: f64,
    /// Steps of continued pretraining.
    pub continue_steps: usize,
    /// Convolutions over word vectors (word2vec bodies), or their mean when `None`.
    pub conv: Option<ConvSpec>,
    /// Seed of the head, adapters, order and dropout.
    pub seed: u64,
    /// Where LoRA adapters are written (and continued pretraining keeps its files).
    pub out: Option<PathBuf>,
}

/// The weights LoRA adapts by default: BERT's attention queries and values (Hu et al.), GPT's
/// fused query-key-value projection, the recurrent LM's input and recurrent matrices.
pub fn default_lora_targets(kind: BodyKind) -> Vec<String> {
    let names: &[&str] = match kind {
        BodyKind::Bert => &["*attention.self.query.weight", "*attention.self.value.weight"],
        BodyKind::Gpt => &["*attn.c_attn.weight"],
        BodyKind::Rnn => &["rnn.weight_ih_l*", "rnn.weight_hh_l*"],
        BodyKind::Words => &[],
    };
    names.iter().map(|s| s.to_string()).collect()
}

/// What a run gave.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    /// The training report (its history is the learning curve).
    pub report: FinetuneReport,
    /// Test score of the kept epoch.
    pub test: f64,
    /// Weights trained (head, unfrozen body, adapters, domain classifier).
    pub trainable: usize,
    /// Weights in all: body, head, and the adapters or domain classifier of the mode.
    pub total: usize,
    /// Which body.
    pub body: BodyKind,
}

/// A task model trained by [`train_task`], with what its training gave.
pub struct Trained {
    /// The model, its head and (unfrozen) body trained.
    pub model: TaskModel,
    /// The training report (its history is the learning curve).
    pub report: FinetuneReport,
    /// Weights in all: body, head, and the adapters or domain classifier of the mode.
    pub total: usize,
}

/// Loads `pretrained`, prepares `config.mode`, trains on `train` choosing by `dev`, and
/// scores `test`. `target` holds unlabelled target-domain examples for DANN, CORAL and
/// continued pretraining.
pub fn run(
    pretrained: &Path,
    train: &[Example],
    dev: &[Example],
    test: &[Example],
    target: &[Example],
    config: &RunConfig,
    device: &Arc<dyn Device>,
) -> Result<RunOutcome> {
    let trained = train_task(pretrained, train, dev, target, config, device)?;
    let test = trained.model.evaluate(test, 64)?;
    let Trained { model, report, total } = trained;
    Ok(RunOutcome { trainable: report.trainable, report, test, total, body: model.body.kind() })
}

/// [`run`] without the test: the trained model itself, for callers that predict with it (see
/// [`TaskModel::predict`]).
pub fn train_task(
    pretrained: &Path,
    train: &[Example],
    dev: &[Example],
    target: &[Example],
    config: &RunConfig,
    device: &Arc<dyn Device>,
) -> Result<Trained> {
    let outputs = classes_of(config.task, train)?;
    let loaded = Body::load(pretrained, config.conv.as_ref(), device)?;
    let wrong = |expected: &str| TransferError::WrongKind {
        path: pretrained.to_path_buf(),
        found: loaded.kind().name().into(),
        expected: expected.into(),
    };
    match config.mode {
        Mode::Lora if loaded.kind() == BodyKind::Words => {
            return Err(wrong("LoRA adapts weight matrices of a network: a BERT, GPT or recurrent LM folder"));
        }
        Mode::Continue if loaded.kind() == BodyKind::Words => {
            return Err(wrong("continued pretraining needs a language model or BERT-style encoder folder"));
        }
        Mode::Dann | Mode::Coral | Mode::Continue if target.is_empty() => {
            return Err(TransferError::Invalid(format!(
                "mode {} needs unlabelled target-domain text (--target)",
                config.mode.name()
            )));
        }
        _ => {}
    }
    let body = if config.mode == Mode::Scratch { loaded.scratch(config.seed)? } else { loaded };
    if config.mode == Mode::Continue {
        let texts: Vec<String> = target.iter().map(|e| e.words.join(" ")).collect();
        let scratch = config.out.clone().unwrap_or_else(|| std::env::temp_dir().join("tessera-transfer-continue"));
        let steps = config.continue_steps.max(1);
        continue_pretraining(&body, &texts, ContinueConfig { steps, lr: 1e-3, seed: config.seed }, &scratch)?;
    }
    let mut rng = TensorRng::new(config.seed);
    let model = TaskModel::new(body, config.task, outputs, config.finetune.dropout, &mut rng)?;
    match config.mode {
        Mode::Features if config.freeze.is_empty() => {
            model.body.module().visit_params("", &mut |_, p: &Param| p.set_frozen(true));
        }
        _ => {
            for pattern in &config.freeze {
                set_frozen(model.body.module(), pattern, true)?;
            }
        }
    }
    let lora = if config.mode == Mode::Lora {
        let mut lora_config = config.lora.clone();
        if lora_config.targets.is_empty() {
            lora_config.targets = default_lora_targets(model.body.kind());
        }
        Some(Lora::attach(model.body.module(), &lora_config)?)
    } else {
        None
    };
    let extra = lora.as_ref().map(Lora::parameters).unwrap_or_default();
    let classifier =
        DomainClassifier::new(TaskModel::head_inputs(&model.body, config.task), 64, &mut rng, &model.body.device())?;
    let adaptation = match config.mode {
        Mode::Dann => Adaptation::Dann { target, classifier: &classifier, weight: config.adapt_weight },
        Mode::Coral => Adaptation::Coral { target, weight: config.adapt_weight },
        _ => Adaptation::None,
    };
    let report = finetune(&model, train, dev, &config.finetune, &extra, adaptation)?;
    if let (Some(lora), Some(out)) = (&lora, &config.out) {
        std::fs::create_dir_all(out).map_err(|e| TransferError::Invalid(format!("{}: {e}", out.display())))?;
        lora.save(&out.join("adapters.safetensors"))?;
    }
    let domain = if config.mode == Mode::Dann { nn_layers::ModuleExt::num_weights(&classifier) } else { 0 };
    let adapters = lora.as_ref().map_or(0, Lora::num_weights);
    let total = nn_layers::ModuleExt::num_weights(&model) + adapters + domain;
    Ok(Trained { model, report, total })
}
