//! `tessera lm train --arch bert`: a BERT-style encoder pretrained with the masked-LM objective
//! on a text file (one sentence per line, or prose with `--prose`), over a word vocabulary with
//! BERT's special tokens, or over WordPiece subwords (`--wordpiece N`, learned from the training
//! text, cased with `--cased`); validation every `--eval-every` steps reports the held-out masked-token
//! accuracy beside the majority-token baseline, and the most accurate model is kept as a model
//! folder (`<out>/best`).

use std::time::{Duration, Instant};

use nlp::encoder::{
    Bert, BertConfig, BertVocab, EvalReport, Masking, PretrainConfig, majority_baseline, pack_inputs, pretrain,
};
use nn_layers::ModuleExt;
use nn_layers::layers::Activation;
use tensor_core::TensorRng;

use crate::error::CliError;
use crate::lm::read_text_sentences;
use crate::lm_train::{OptimizerArg, TrainArgs};

/// The encoder's options of `tessera lm train` (with `--arch bert`).
#[derive(clap::Args, Debug, Clone)]
pub struct BertArgs {
    /// BERT: stop (after a last validation) once training has run this many seconds.
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// BERT: the fraction of word tokens hidden in each input (80% become [MASK], 10% a random
    /// word, 10% stay).
    #[arg(long, default_value_t = 0.15)]
    pub mask_rate: f64,
    /// BERT: learn a WordPiece vocabulary of this many ids (specials included) from the training
    /// text, read as Hugging Face's BertTokenizer reads a vocab.txt, instead of a word
    /// vocabulary; lines are read as written (not with --prose, which lower-cases).
    #[arg(long)]
    pub wordpiece: Option<usize>,
    /// BERT with --wordpiece: keep case and accents (a "cased" vocabulary); the default
    /// lower-cases and strips accents.
    #[arg(long)]
    pub cased: bool,
}

/// Options the encoder does not take, as a usage error.
fn refuse_unsupported(args: &TrainArgs) -> Result<(), CliError> {
    let refused = [
        (args.bpe.is_some(), "--bpe (a BERT reads a word vocabulary with [PAD] [UNK] [CLS] [SEP] [MASK])"),
        (args.gpt.chars, "--chars"),
        (args.resume, "--resume"),
        (args.optimizer == Some(OptimizerArg::Sgd), "--optimizer sgd (a BERT pretrains with AdamW)"),
        (args.gpt.accumulate > 1, "--accumulate"),
        (
            args.bert.wordpiece.is_some() && args.text.prose,
            "--prose with --wordpiece (prose is lower-cased; give lines)",
        ),
        (
            args.bert.cased && args.bert.wordpiece.is_none(),
            "--cased without --wordpiece (the word vocabulary is lower-cased)",
        ),
        (args.bert.wordpiece.is_some_and(|n| n < 64), "--wordpiece below 64 ids"),
    ];
    match refused.iter().find(|(given, _)| *given) {
        Some((_, flag)) => Err(CliError::Usage(format!("--arch bert does not take {flag}"))),
        None => Ok(()),
    }
}

/// `tessera lm train --arch bert`: a line per validation and a summary line with the final and
/// best held-out masked-token accuracy and the baseline (which `cargo xtask bert-pretrain`
/// reads).
pub fn train_bert(args: &TrainArgs) -> Result<(), CliError> {
    refuse_unsupported(args)?;
    let started = Instant::now();
    let device = args.device.open()?;
    let lines = read_text_sentences(&args.train, &args.text)?;
    let (train_lines, held_lines) = match &args.valid {
        Some(path) => (lines, read_text_sentences(path, &args.text)?),
        None if args.gpt.split > 0.0 && args.gpt.split < 1.0 => {
            let cut = (lines.len() as f64 * args.gpt.split) as usize;
            (lines[..cut].to_vec(), lines[cut..].to_vec())
        }
        None => return Err(CliError::Usage(format!("--split must lie in (0, 1), got {}", args.gpt.split))),
    };
    let vocab = match args.bert.wordpiece {
        Some(size) => {
            BertVocab::train_wordpiece(train_lines.iter().map(String::as_str), size, args.min_count, !args.bert.cased)
        }
        None => BertVocab::build(train_lines.iter().map(String::as_str), args.min_count, args.vocab_size),
    };
    let ids = |lines: &[String]| -> Vec<Vec<u32>> { lines.iter().map(|l| vocab.tokenize(l)).collect() };
    let g = &args.gpt;
    let train = pack_inputs(&ids(&train_lines), &vocab, g.context, args.seed)?;
    let held_out = pack_inputs(&ids(&held_lines), &vocab, g.context, args.seed.wrapping_add(1))?;
    if train.is_empty() || held_out.is_empty() {
        return Err(CliError::Usage(format!(
            "{} training and {} held-out inputs: both texts need words",
            train.len(),
            held_out.len()
        )));
    }
    let config = BertConfig {
        dropout: args.dropout,
        activation: if g.gelu_tanh { Activation::GeluTanh } else { Activation::Gelu },
        ..BertConfig::new(vocab.size(), g.context, args.layers, g.heads, g.width)
    };
    let bert = Bert::new(config, &mut TensorRng::new(args.seed), &device)?;
    let recipe = PretrainConfig {
        steps: g.steps,
        batch: args.batch.unwrap_or(32),
        lr: args.lr.unwrap_or(1e-3),
        warmup: args.warmup.unwrap_or(100),
        min_lr: args.min_lr.unwrap_or(1e-5),
        weight_decay: args.weight_decay.unwrap_or(0.01),
        betas: (0.9, args.beta2.unwrap_or(0.999)),
        clip: args.clip.unwrap_or(1.0),
        eval_every: g.eval_every.max(1),
        eval_inputs: Some(g.eval_windows.max(1)),
        masking: Masking { rate: args.bert.mask_rate, ..Masking::default() },
        seed: args.seed,
        time_limit: args.bert.time_limit.map(Duration::from_secs_f64),
        progress: true,
    };
    let baseline = majority_baseline(&train, &vocab, &recipe.held_out_batches(&held_out, &vocab, &device)?);
    if let Some(size) = args.bert.wordpiece {
        println!(
            "WordPiece vocabulary: {} of {size} ids learned ({}), {:.2} pieces per whitespace word on the held-out text",
            vocab.size(),
            if args.bert.cased { "cased" } else { "lower-cased" },
            pieces_per_word(&vocab, &held_lines)
        );
    }
    println!(
        "training BERT {} layers x {} heads, width {}, {} positions ({} weights, {} ids) on {} inputs, validating on {} of {} held-out inputs; {} inputs per step, {} steps{}; majority-token baseline {:.4}",
        config.layers,
        config.heads,
        config.width,
        config.positions,
        bert.num_weights(),
        vocab.size(),
        train.len(),
        recipe.eval_inputs.unwrap_or(0).min(held_out.len()),
        held_out.len(),
        recipe.batch,
        recipe.steps,
        args.bert.time_limit.map_or_else(String::new, |s| format!(" (at most {s:.0} s)")),
        baseline
    );
    let outcome = pretrain(&bert, &vocab, &train, &held_out, &recipe, Some(&args.out), &mut |e: &EvalReport| {
        println!(
            "step {:>6}: train loss {:.4}, held-out loss {:.4}, masked-token accuracy {:.4}, lr {:.2e}, {:.1} s{}",
            e.step,
            e.train_loss,
            e.held_out.loss,
            e.held_out.accuracy,
            e.lr,
            e.seconds,
            if e.best { "  (best)" } else { "" }
        );
    })?;
    let best = outcome.history.iter().map(|e| e.held_out.accuracy).fold(0.0, f64::max);
    let last = outcome.history.last().map_or(0.0, |e| e.held_out.accuracy);
    let trained = outcome.history.last().map_or(0.0, |e| e.seconds);
    println!(
        "summary: held-out masked-token accuracy {last:.4} (best {best:.4}), majority baseline {baseline:.4}, {} steps{}, wall time {:.1} s (training {trained:.1} s); model folder {}, curve {}",
        outcome.steps,
        if outcome.stopped_by_time { " (stopped by --time-limit)" } else { "" },
        started.elapsed().as_secs_f64(),
        args.out.join("best").display(),
        args.out.join("accuracy.svg").display()
    );
    Ok(())
}

/// Pieces per whitespace-separated word of `lines` (1.0 for a word vocabulary).
fn pieces_per_word(vocab: &BertVocab, lines: &[String]) -> f64 {
    let words: usize = lines.iter().map(|l| l.split_whitespace().count()).sum();
    let pieces: usize = lines.iter().map(|l| vocab.tokenize(l).len()).sum();
    pieces as f64 / words.max(1) as f64
}
