//! `tessera mt train`: a joint BPE vocabulary from the training split, an encoder-decoder
//! trained on token-count batches, validation BLEU per epoch, the best model kept as a folder,
//! loss and BLEU curves, and `--resume` from a training checkpoint.

use std::path::PathBuf;
use std::time::Instant;

use nn_layers::ModuleExt;
use nn_layers::optim::{Adam, AdamConfig};
use serde_json::json;
use transfer::{Lora, LoraConfig};
use translate::data::{Vocabulary, encode_pairs, read_splits};
use translate::decode::DecodeOptions;
use translate::train::{EpochReport, TrainConfig, fit, write_curves};
use translate::transformer::TransformerConfig;

use crate::devices::DeviceKind;
use crate::error::CliError;
use crate::mt_model::{Arch, MtModel, TOKENIZER, build_model, data_json, save};

/// Arguments of `tessera mt train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// The architecture.
    #[arg(long, value_enum, default_value_t = Arch::Rnn)]
    pub arch: Arch,
    /// A folder with train/valid/test .tsv(.gz) files, or one TSV file (all for training).
    #[arg(long)]
    pub data: PathBuf,
    /// Source column of the TSV header.
    #[arg(long)]
    pub src: String,
    /// Target column of the TSV header.
    #[arg(long)]
    pub tgt: String,
    /// The model folder to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Joint BPE vocabulary size (3 specials + 256 bytes + merges).
    #[arg(long, default_value_t = 8000)]
    pub vocab_size: usize,
    /// Recurrent cell: gru or lstm.
    #[arg(long, default_value = "gru")]
    pub cell: String,
    /// Attention: luong or bahdanau.
    #[arg(long, default_value = "luong")]
    pub attention: String,
    /// Embedding width (the transformer's model width).
    #[arg(long, default_value_t = 256)]
    pub embed: usize,
    /// Hidden units (decoder, and each encoder direction); the transformer's MLP width is
    /// four times this unless --ff says otherwise.
    #[arg(long, default_value_t = 256)]
    pub hidden: usize,
    /// Stacked layers (the transformer's encoder and decoder blocks each; default 1 for the
    /// recurrent model, 3 for the transformer).
    #[arg(long)]
    pub layers: Option<usize>,
    /// Transformer: attention heads.
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// Transformer: width inside each block's MLP.
    #[arg(long, default_value_t = 1024)]
    pub ff: usize,
    /// Transformer: the longest source and target in subwords the positions table covers
    /// (longer inputs are an error when translating).
    #[arg(long, default_value_t = 256)]
    pub max_positions: usize,
    /// Dropout.
    #[arg(long, default_value_t = 0.2)]
    pub dropout: f64,
    /// Epochs.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Padded tokens per batch.
    #[arg(long, default_value_t = 4096)]
    pub max_tokens: usize,
    /// Adam's learning rate (the peak, with --warmup).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Inverse-square-root schedule with this many warm-up steps (default: constant rate).
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Label smoothing ε.
    #[arg(long, default_value_t = 0.1)]
    pub label_smoothing: f64,
    /// Clip gradients to this global norm (0: no clipping).
    #[arg(long, default_value_t = 1.0)]
    pub clip: f64,
    /// Training pairs with a side longer than this many subwords are left out.
    #[arg(long, default_value_t = 100)]
    pub max_len: usize,
    /// Validation sentences translated (greedy) after each epoch.
    #[arg(long, default_value_t = 500)]
    pub valid_sentences: usize,
    /// Seed of initialisation, batch order and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write a training checkpoint here (default: OUT/checkpoint).
    #[arg(long)]
    pub checkpoint_dir: Option<PathBuf>,
    /// Steps between training checkpoints.
    #[arg(long, default_value_t = 500)]
    pub checkpoint_every: usize,
    /// Continue from the training checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Stop after this many steps in all (a checkpoint is written; --resume continues).
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Stop when the training steps have used this many minutes of process CPU time (every
    /// thread; validation not counted), then validate the epoch in progress. With the same
    /// thread count (`RAYON_NUM_THREADS=1`) this is a fair budget on a shared machine.
    #[arg(long)]
    pub cpu_minutes: Option<f64>,
    /// Stop when the training steps have taken this many wall-clock minutes, likewise.
    #[arg(long)]
    pub wall_minutes: Option<f64>,
    /// Start from this model folder's weights and vocabulary (fine-tuning); its config fixes
    /// the architecture and sizes, so --arch and the size options are ignored (--resume
    /// then continues this run's own checkpoint).
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// With --init: train LoRA adapters of this rank (Hu et al. 2021; `transfer::Lora`) on the
    /// weight matrices named by --lora-targets, the model itself frozen; the best epoch's
    /// adapters are merged into the saved weights (and kept in OUT/lora.safetensors).
    /// No gradient clipping, no training checkpoint (not resumable).
    #[arg(long, requires = "init", conflicts_with = "resume")]
    pub lora_rank: Option<usize>,
    /// LoRA's scale numerator α (the change is α/rank · B·A).
    #[arg(long, default_value_t = 16.0)]
    pub lora_alpha: f64,
    /// Weight matrices LoRA adapts, comma-separated patterns (`*` matches any run); the default
    /// is every projection of the transformer's self-attention, cross-attention and MLPs.
    #[arg(long, default_value = "*attn*weight,*cross*weight,*mlp*weight")]
    pub lora_targets: String,
    /// Device to run on.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

/// The best epoch's LoRA adapters in the model folder (before they are merged).
const LORA_FILE: &str = "lora.safetensors";

/// Runs `tessera mt train`.
pub fn train(args: &TrainArgs) -> Result<(), CliError> {
    let start = Instant::now();
    let device = args.device.open()?;
    let splits = read_splits(&args.data, &args.src, &args.tgt)?;
    let tokenizer = args.out.join(TOKENIZER);
    let init = args.init.as_deref().map(|dir| crate::mt_model::load(dir, &device)).transpose()?;
    let (model, vocab) = match init {
        Some(folder) => (folder.model, folder.vocab),
        None => {
            let vocab = if args.resume && tokenizer.is_file() {
                Vocabulary::load(&tokenizer)?
            } else {
                Vocabulary::train(&splits.train, args.vocab_size)?
            };
            (build_model(args.arch, &model_json(args, vocab.size()), args.seed, &device)?, vocab)
        }
    };
    let examples = encode_pairs(&vocab, &splits.train, Some(args.max_len));
    let module = model.module();
    let lora = match args.lora_rank {
        Some(rank) => {
            let targets = args.lora_targets.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
            let config = LoraConfig { rank, alpha: args.lora_alpha, targets: targets.collect(), seed: args.seed };
            Some(Lora::attach(module, &config).map_err(|e| CliError::Usage(format!("--lora-rank: {e}")))?)
        }
        None => None,
    };
    let trained = lora.as_ref().map_or_else(|| module.parameters(), Lora::parameters);
    let mut optimizer = Adam::new(trained.clone(), AdamConfig::adam(args.lr));
    std::fs::create_dir_all(&args.out)
        .map_err(|e| tessera::UseError::folder(&args.out, format!("cannot create: {e}")))?;
    vocab.save(&tokenizer)?;
    println!(
        "mt train: {} {}→{} pairs ({} kept up to {} subwords), vocabulary {}, {} parameters ({} trained), {}{}",
        splits.train.len(),
        args.src,
        args.tgt,
        examples.len(),
        args.max_len,
        vocab.size(),
        module.num_weights(),
        trained.iter().map(|(_, p)| p.value().numel()).sum::<usize>(),
        crate::devices::describe(&device),
        args.init.as_ref().map(|d| format!(", starting from {}", d.display())).unwrap_or_default()
    );
    let config = TrainConfig {
        epochs: args.epochs,
        max_tokens: args.max_tokens,
        lr: args.lr,
        warmup: args.warmup,
        smoothing: args.label_smoothing,
        clip: (args.clip > 0.0 && lora.is_none()).then_some(args.clip),
        seed: args.seed,
        valid_sentences: args.valid_sentences,
        decode: DecodeOptions::default(),
        checkpoint_dir: lora
            .is_none()
            .then(|| args.checkpoint_dir.clone().unwrap_or_else(|| args.out.join("checkpoint"))),
        checkpoint_every: args.checkpoint_every,
        resume: args.resume,
        max_steps: args.max_steps,
        cpu_budget: args.cpu_minutes.map(|m| m * 60.0),
        wall_budget: args.wall_minutes.map(|m| m * 60.0),
        progress: true,
    };
    let (mut best, mut best_config) = (f64::NEG_INFINITY, None);
    let folder_config = |history: &[EpochReport]| {
        json!({
            "model": model.config_json(),
            "data": data_json(&args.data, &args.src, &args.tgt),
            "training": {
                "epochs": args.epochs, "max_tokens": args.max_tokens, "lr": args.lr, "warmup": args.warmup,
                "label_smoothing": args.label_smoothing, "clip": args.clip, "max_len": args.max_len, "seed": args.seed,
                "cpu_minutes": args.cpu_minutes, "wall_minutes": args.wall_minutes,
                "init": args.init.as_ref().map(|d| d.display().to_string()),
                "lora": args.lora_rank.map(|r| json!({ "rank": r, "alpha": args.lora_alpha, "targets": args.lora_targets })),
                "threads": std::env::var("RAYON_NUM_THREADS").ok(),
                "seconds": start.elapsed().as_secs_f64(),
            },
            "history": history.iter().map(|r| json!({
                "epoch": r.epoch, "train_loss": r.train_loss, "valid_bleu": r.valid.map(|v| v.0),
                "valid_chrf": r.valid.map(|v| v.1), "seconds": r.seconds,
            })).collect::<Vec<_>>(),
        })
    };
    let mut on_epoch = |history: &[EpochReport]| -> translate::Result<()> {
        let Some(report) = history.last() else { return Ok(()) };
        let (bleu, chrf) = report.valid.unwrap_or((f64::NAN, f64::NAN));
        println!(
            "epoch {:>3}: train loss {:.4}, valid BLEU {bleu:.2} chrF {chrf:.2} ({:.0} s)",
            report.epoch, report.train_loss, report.seconds
        );
        write_curves(&args.out, history)?;
        // Keep the best validation BLEU (every epoch without a validation set). A resumed run
        // starts from the best of the epochs before it: the folder already holds that model.
        let score = report.valid.map_or(f64::INFINITY, |v| v.0);
        let earlier = &history[..history.len() - 1];
        best = earlier.iter().filter_map(|r| r.valid.map(|v| v.0)).fold(best, f64::max);
        if score >= best {
            best = score;
            let config = folder_config(history);
            save(&args.out, &model, &vocab, &config).map_err(|e| translate::TranslateError::Invalid(e.to_string()))?;
            best_config = Some(config);
            if let Some(lora) = &lora {
                lora.save(&args.out.join(LORA_FILE)).map_err(|e| translate::TranslateError::Invalid(e.to_string()))?;
            }
        }
        Ok(())
    };
    let outcome = match &model {
        MtModel::Rnn(m) => fit(m.as_ref(), &mut optimizer, &vocab, &examples, &splits.valid, &config, &mut on_epoch)?,
        MtModel::Transformer(m) => {
            fit(m.as_ref(), &mut optimizer, &vocab, &examples, &splits.valid, &config, &mut on_epoch)?
        }
    };
    if let (Some(lora), Some(config)) = (lora, best_config) {
        // The folder holds the frozen weights; fold the best epoch's adapters into them.
        let adapted = |e: transfer::TransferError| CliError::Usage(format!("LoRA: {e}"));
        lora.load(&args.out.join(LORA_FILE)).map_err(adapted)?;
        lora.merge().map_err(adapted)?;
        save(&args.out, &model, &vocab, &config)?;
    }
    println!(
        "{} steps, {:.0} target tokens/s, {:.1} min; training steps {:.2} CPU min, {:.2} wall min{}; model in {}",
        outcome.steps,
        outcome.tokens_per_second,
        start.elapsed().as_secs_f64() / 60.0,
        outcome.cpu_seconds / 60.0,
        outcome.step_seconds / 60.0,
        if outcome.budget_spent { " (budget spent)" } else { "" },
        args.out.display()
    );
    if outcome.stopped {
        println!("stopped after {} steps; continue with --resume", outcome.steps);
    }
    Ok(())
}

/// The `model` entry of a fresh model's `config.json` from the size options.
fn model_json(args: &TrainArgs, vocab_size: usize) -> serde_json::Value {
    match args.arch {
        Arch::Rnn => json!({
            "arch": "rnn", "cell": args.cell, "vocab_size": vocab_size, "embed": args.embed, "hidden": args.hidden,
            "layers": args.layers.unwrap_or(1), "attention": args.attention, "dropout": args.dropout,
        }),
        Arch::Transformer => TransformerConfig {
            layers: args.layers.unwrap_or(3),
            width: args.embed,
            heads: args.heads,
            ff: args.ff,
            dropout: args.dropout,
            max_positions: args.max_positions.max(args.max_len + 2),
            ..TransformerConfig::small(vocab_size)
        }
        .to_json(),
    }
}
