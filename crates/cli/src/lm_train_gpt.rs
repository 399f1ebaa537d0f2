//! `tessera lm train --arch gpt`: a GPT (decoder-only transformer) on a text file, at the
//! character level (`--chars`), over words or over BPE ids, trained on batches of windows at
//! random places (nanoGPT's recipe) with validation every `--eval-every` steps, the best model
//! kept as a model folder, a perplexity curve and `--resume`.

use std::time::Instant;

use nlp::corpus::read_text;
use nlp::lm::train::{TrainConfig, Windows};
use nlp::lm::{CharVocab, Gpt, GptConfig, LanguageModel, NeuralLm, NeuralVocab, TokenStream, Vocabulary, load_network};
use nn_layers::ModuleExt;
use nn_layers::layers::{Activation, Positions};
use tensor_core::TensorRng;

use crate::error::CliError;
use crate::lm::read_text_sentences;
use crate::lm_train::{TrainArgs, train_config, vocabulary};

/// How positions are told apart.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PositionsArg {
    /// A trained table (GPT-2).
    Learned,
    /// Fixed sinusoids (Vaswani et al.).
    Sinusoidal,
    /// Rotary embeddings of queries and keys (RoPE).
    Rotary,
}

/// The transformer's options of `tessera lm train` (with `--arch gpt`).
#[derive(clap::Args, Debug, Clone)]
pub struct GptArgs {
    /// GPT: attention heads per block.
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// GPT: features per position.
    #[arg(long, default_value_t = 128)]
    pub width: usize,
    /// GPT: positions, the window of every step.
    #[arg(long, default_value_t = 64)]
    pub context: usize,
    /// GPT: position scheme.
    #[arg(long, value_enum, default_value_t = PositionsArg::Learned)]
    pub positions: PositionsArg,
    /// GPT: biases in projections and layer norms (nanoGPT's recipe has none).
    #[arg(long)]
    pub bias: bool,
    /// GPT: GELU's tanh approximation (GPT-2) instead of the exact GELU.
    #[arg(long)]
    pub gelu_tanh: bool,
    /// GPT: characters as tokens (the text as it is, lines ending in a newline token).
    #[arg(long)]
    pub chars: bool,
    /// GPT: optimizer steps in all.
    #[arg(long, default_value_t = 2000)]
    pub steps: usize,
    /// GPT: validate (and write a checkpoint) every this many steps.
    #[arg(long, default_value_t = 250)]
    pub eval_every: usize,
    /// GPT: windows of validation text scored at each validation (evenly spaced).
    #[arg(long, default_value_t = 200)]
    pub eval_windows: usize,
    /// Windows whose gradients are accumulated into each update.
    #[arg(long, default_value_t = 1)]
    pub accumulate: usize,
    /// Without --valid: the first this fraction of --train trains, the rest validates.
    #[arg(long, default_value_t = 0.9)]
    pub split: f64,
}

/// The training and validation streams of a GPT run and its vocabulary.
fn streams(args: &TrainArgs) -> Result<(NeuralVocab, TokenStream, TokenStream), CliError> {
    let read = |path: &std::path::Path| -> Result<Vec<String>, CliError> {
        if args.gpt.chars {
            Ok(read_text(path)?.lines().map(str::to_string).collect())
        } else {
            read_text_sentences(path, &args.text)
        }
    };
    let train_text = read(&args.train)?;
    let vocab = if args.gpt.chars {
        NeuralVocab::Chars(CharVocab::build(&train_text.join("\n")))
    } else {
        vocabulary(args, &train_text)?
    };
    let stream = |text: &[String]| {
        let ids: Vec<Vec<u32>> = text.iter().map(|s| vocab.encode(s).iter().map(|t| t.id).collect()).collect();
        TokenStream::from_sentences(&ids, vocab.end_id())
    };
    let whole = stream(&train_text);
    let (train, valid) = match &args.valid {
        Some(path) => (whole, stream(&read(path)?)),
        None if (0.0..1.0).contains(&args.gpt.split) && args.gpt.split > 0.0 => whole.split(args.gpt.split),
        None => return Err(CliError::Usage(format!("--split must lie in (0, 1), got {}", args.gpt.split))),
    };
    Ok((vocab, train, valid))
}

/// `tessera lm train --arch gpt`: a line per validation and a summary (valid and test
/// perplexity, and the validation loss in nats, which `cargo xtask gpt-shakespeare` reads).
pub fn train_gpt(args: &TrainArgs, job: &crate::job::Job) -> Result<(), CliError> {
    let started = Instant::now();
    let device = args.device.open()?;
    let (vocab, train_stream, valid_stream) = streams(args)?;
    let g = &args.gpt;
    let config = GptConfig {
        vocab_size: vocab.size(),
        context: g.context,
        layers: args.layers,
        heads: g.heads,
        width: g.width,
        dropout: args.dropout,
        bias: g.bias,
        positions: match g.positions {
            PositionsArg::Learned => Positions::Learned,
            PositionsArg::Sinusoidal => Positions::Sinusoidal,
            PositionsArg::Rotary => Positions::Rotary,
        },
        activation: if g.gelu_tanh { Activation::GeluTanh } else { Activation::Gelu },
    };
    let model = Gpt::new(config, &mut TensorRng::new(args.seed), &device)?;
    let weights = model.num_weights();
    let lm = NeuralLm::new(model, vocab)?;
    let every = g.eval_every.max(1);
    let recipe = TrainConfig {
        epochs: g.steps.div_ceil(every),
        window: g.context,
        windows: Windows::Random { steps_per_epoch: every * g.accumulate.max(1) },
        accumulate: g.accumulate.max(1),
        eval_windows: Some(g.eval_windows),
        eval_streams: args.batch.unwrap_or(12),
        ..train_config(args)
    };
    println!(
        "training {} ({weights} weights) on {} tokens ({} ids), validating on {}; {} windows of {} per step{}, {} steps{}",
        lm.describe(),
        train_stream.predicted(),
        lm.vocab().size(),
        valid_stream.predicted(),
        recipe.streams,
        recipe.window,
        if recipe.accumulate > 1 { format!(" x {} accumulated", recipe.accumulate) } else { String::new() },
        recipe.epochs * every,
        if args.resume { ", resumed" } else { "" }
    );
    let outcome = crate::lm_train::train_in_job(
        job,
        &lm,
        &train_stream,
        &valid_stream,
        &recipe,
        &args.out,
        args.resume,
        &mut |e| {
            println!(
                "step {:>5}: train loss {:.4}, val loss {:.4} (perplexity {:.3}), lr {:.2e}, {:.1} s, {:.0} tokens/s{}",
                e.epoch * every,
                e.train_ppl.ln(),
                e.valid_ppl.ln(),
                e.valid_ppl,
                e.lr,
                e.seconds,
                e.tokens_per_second,
                if e.best { "  (best)" } else { "" }
            );
        },
    )?;
    if !outcome.finished {
        println!("stopped after {} steps; continue with --resume", outcome.steps);
    }
    let best = args.out.join("best");
    let test = match (&args.test, best.is_dir()) {
        (Some(path), true) => {
            let model = load_network::<Gpt>(&best, &device)?;
            let lines = if g.chars {
                read_text(path)?.lines().map(str::to_string).collect()
            } else {
                read_text_sentences(path, &args.text)?
            };
            Some(model.perplexity(&lines.iter().map(String::as_str).collect::<Vec<_>>())?.perplexity())
        }
        _ => None,
    };
    let last = outcome.history.last().map(|e| e.valid_ppl);
    let shown =
        |value: Option<f64>, f: fn(f64) -> f64| value.map_or_else(|| "-".to_string(), |v| format!("{:.4}", f(v)));
    let train_seconds = outcome.history.iter().fold(0.0, |total, e| total + e.seconds);
    println!(
        "summary: final val loss {} (perplexity {}), test perplexity {}, wall time {:.1} s (training {train_seconds:.1} s); model folder {}, curve {}",
        shown(last, f64::ln),
        shown(last, |v| v),
        shown(test, |v| v),
        started.elapsed().as_secs_f64(),
        best.display(),
        args.out.join("perplexity.svg").display()
    );
    Ok(())
}
