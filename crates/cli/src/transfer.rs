//! `tessera transfer`: one transfer run (a pretrained body, a task, a mode, a label budget, a
//! seed) with its learning curve, and `tessera transfer curve`: a sweep of label budgets ×
//! seeds × bodies and modes into one table and plot.

use std::path::{Path, PathBuf};
use std::time::Instant;

use nn_layers::train::LossPlot;
use transfer::data::{Splits, read_examples};
use transfer::{
    ConvSpec, Example, FinetuneConfig, LoraConfig, Mode, RunConfig, RunOutcome, ScheduleKind, TaskKind, run,
};

use crate::devices::DeviceKind;
use crate::error::CliError;

const MOVIES: &str = "../shared/data/vader-sentiment/movieReviewSnippets_GroundTruth.txt.gz";

/// Options shared by a run and a sweep.
#[derive(clap::Args, Debug, Clone)]
pub struct CommonArgs {
    /// Task: classify, regress, tag or pair.
    #[arg(long, default_value = "classify")]
    pub task: String,
    /// Labelled data: a VADER ground-truth file (classify: sign of the score, zeros dropped;
    /// regress: the score; pair: same sign) or, for tag, a Brown `*.jsonl.gz` file.
    #[arg(long, default_value = MOVIES)]
    pub data: PathBuf,
    /// Unlabelled target-domain data (a VADER file) for dann, coral and continue; with
    /// --test-on-target the test split comes from it instead.
    #[arg(long)]
    pub target: Option<PathBuf>,
    /// Take the test split from --target (domain shift: train on --data, test on the target).
    #[arg(long)]
    pub test_on_target: bool,
    /// Use the text of the whole training pool, labels ignored, as the unlabelled text of dann,
    /// coral and continue (ULMFiT's semi-supervised setting: the language model is fine-tuned on
    /// the task's own sentences, never on its dev or test split). Excludes --target.
    #[arg(long, conflicts_with = "target")]
    pub unlabelled_pool: bool,
    /// Size of the fixed test split.
    #[arg(long, default_value_t = 2000)]
    pub test: usize,
    /// Size of the fixed dev split (early stopping).
    #[arg(long, default_value_t = 500)]
    pub dev: usize,
    /// Passes over the labelled examples.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Examples per step.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Peak learning rate (of the head; lower groups get --decay times less each).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Discriminative fine-tuning: rate factor per layer group below the head (ULMFiT 0.385).
    #[arg(long, default_value_t = 1.0)]
    pub decay: f64,
    /// Schedule: constant, stlr (slanted triangular) or linear (warm-up and linear decay).
    #[arg(long, default_value = "linear")]
    pub schedule: String,
    /// AdamW weight decay.
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    /// Epochs without a better dev score before stopping.
    #[arg(long, default_value_t = 3)]
    pub patience: usize,
    /// Gradual unfreezing (ULMFiT): one more layer group per epoch, from the head down.
    #[arg(long)]
    pub gradual: bool,
    /// Dropout on the head's input.
    #[arg(long, default_value_t = 0.1)]
    pub dropout: f64,
    /// Freeze parameters matching this pattern (repeatable; `*` matches any run).
    #[arg(long)]
    pub freeze: Vec<String>,
    /// LoRA rank.
    #[arg(long, default_value_t = 4)]
    pub lora_rank: usize,
    /// LoRA alpha (the change is alpha/rank · B·A).
    #[arg(long, default_value_t = 8.0)]
    pub lora_alpha: f64,
    /// LoRA target weights (repeatable; default: the body's attention or recurrent matrices).
    #[arg(long)]
    pub lora_target: Vec<String>,
    /// Weight of the DANN or CORAL term.
    #[arg(long, default_value_t = 0.1)]
    pub adapt_weight: f64,
    /// Steps of continued pretraining (mode continue).
    #[arg(long, default_value_t = 200)]
    pub continue_steps: usize,
    /// Read word2vec vectors through Kim's convolutions (widths 3/4/5, 100 filters) instead of
    /// averaging them.
    #[arg(long)]
    pub conv: bool,
    /// Device to run on.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
}

/// Options of `tessera transfer`.
#[derive(clap::Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct TransferArgs {
    /// A sweep instead of one run.
    #[command(subcommand)]
    pub command: Option<TransferCommand>,
    /// The pretrained model folder (bert, gpt or rnn-lm) or word2vec vector file.
    #[arg(long, required = true)]
    pub pretrained: Option<PathBuf>,
    /// Mode: scratch, features, finetune, lora, dann, coral or continue.
    #[arg(long, default_value = "finetune")]
    pub mode: String,
    /// Labelled training examples (all of the pool when absent).
    #[arg(long)]
    pub labels: Option<usize>,
    /// Seed of the labels drawn, the head, the order and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder: `curve.svg` (and LoRA's `adapters.safetensors`).
    #[arg(long, default_value = "transfer-out")]
    pub out: PathBuf,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `tessera transfer ...` subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum TransferCommand {
    /// Sweep label budgets × seeds for each pretrained body and mode: a table of mean ± spread
    /// and a plot of accuracy against labels.
    Curve(CurveArgs),
    /// Write the training pool's sentences, labels dropped, one tokenised sentence per line: the
    /// task's own unlabelled text for pretraining word vectors or a language model on
    /// (ULMFiT's semi-supervised setting). The dev and test splits are never written.
    PoolText(PoolTextArgs),
}

/// Options of `tessera transfer pool-text`.
#[derive(clap::Args, Debug, Clone)]
pub struct PoolTextArgs {
    /// Where to write the sentences.
    #[arg(short, long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options of `tessera transfer curve`.
#[derive(clap::Args, Debug, Clone)]
pub struct CurveArgs {
    /// Pretrained bodies (repeatable).
    #[arg(long, required = true)]
    pub pretrained: Vec<PathBuf>,
    /// Modes, comma-separated.
    #[arg(long, default_value = "scratch,features,finetune")]
    pub modes: String,
    /// Label budgets, comma-separated (`all` for the whole pool).
    #[arg(long, default_value = "100,300,1000,all")]
    pub labels: String,
    /// Seeds per budget.
    #[arg(long, default_value_t = 3)]
    pub seeds: u64,
    /// Output folder: `curve.svg` and `curve.tsv`.
    #[arg(long, default_value = "transfer-curve")]
    pub out: PathBuf,
    #[command(flatten)]
    pub common: CommonArgs,
}

struct Data {
    splits: Splits,
    target: Vec<Example>,
    task: TaskKind,
}

fn load_data(common: &CommonArgs) -> Result<Data, CliError> {
    let task = TaskKind::parse(&common.task).map_err(usage)?;
    let examples = read_examples(&common.data, task).map_err(usage)?;
    let (splits, target) = match (&common.target, common.test_on_target) {
        (Some(path), true) => {
            let target = Splits::new(read_examples(path, task).map_err(usage)?, common.test, 0).map_err(usage)?;
            let own = Splits::new(examples, 0, common.dev).map_err(usage)?;
            (Splits { test: target.test, dev: own.dev, pool: own.pool }, target.pool)
        }
        (Some(path), false) => {
            (Splits::new(examples, common.test, common.dev).map_err(usage)?, read_examples(path, task).map_err(usage)?)
        }
        (None, true) => return Err(CliError::Usage("--test-on-target needs --target".into())),
        (None, false) => {
            let splits = Splits::new(examples, common.test, common.dev).map_err(usage)?;
            let target = if common.unlabelled_pool { splits.pool.clone() } else { Vec::new() };
            (splits, target)
        }
    };
    Ok(Data { splits, target, task })
}

fn usage(e: transfer::TransferError) -> CliError {
    CliError::Usage(e.to_string())
}

fn run_config(
    common: &CommonArgs,
    mode: Mode,
    task: TaskKind,
    seed: u64,
    out: Option<&Path>,
) -> Result<RunConfig, CliError> {
    let schedule = match common.schedule.as_str() {
        "constant" => ScheduleKind::Constant,
        "stlr" => ScheduleKind::SlantedTriangular,
        "linear" => ScheduleKind::WarmupLinear,
        other => return Err(CliError::Usage(format!("unknown --schedule `{other}`: constant, stlr or linear"))),
    };
    Ok(RunConfig {
        mode,
        task,
        finetune: FinetuneConfig {
            epochs: common.epochs,
            batch: common.batch,
            lr: common.lr,
            decay: common.decay,
            schedule,
            weight_decay: common.weight_decay,
            patience: Some(common.patience),
            gradual_unfreeze: common.gradual,
            dropout: common.dropout,
            clip: 1.0,
            seed,
        },
        freeze: common.freeze.clone(),
        lora: LoraConfig {
            rank: common.lora_rank,
            alpha: common.lora_alpha,
            targets: common.lora_target.clone(),
            seed,
        },
        adapt_weight: common.adapt_weight,
        continue_steps: common.continue_steps,
        conv: common.conv.then(ConvSpec::default),
        seed,
        out: out.map(Path::to_path_buf),
    })
}

/// `tessera transfer`: one run, a summary and `out/curve.svg`.
pub fn transfer(args: &TransferArgs) -> Result<(), CliError> {
    match &args.command {
        Some(TransferCommand::Curve(curve_args)) => return curve(curve_args),
        Some(TransferCommand::PoolText(pool_args)) => return pool_text(pool_args),
        None => {}
    }
    let pretrained = args.pretrained.clone().ok_or_else(|| CliError::Usage("--pretrained is required".into()))?;
    let mode = Mode::parse(&args.mode).map_err(usage)?;
    let data = load_data(&args.common)?;
    let device = args.common.device.open()?;
    let train = data.splits.train(args.labels, args.seed);
    let config = run_config(&args.common, mode, data.task, args.seed, Some(&args.out))?;
    let start = Instant::now();
    let outcome =
        run(&pretrained, &train, &data.splits.dev, &data.splits.test, &data.target, &config, &device).map_err(usage)?;
    for r in &outcome.report.history {
        println!(
            "epoch {:>3}  train loss {:.4}  dev {:.4}  lr {:.2e}  {:.1}s",
            r.epoch, r.train_loss, r.dev, r.lr, r.seconds
        );
    }
    std::fs::create_dir_all(&args.out).map_err(|e| CliError::Usage(format!("{}: {e}", args.out.display())))?;
    let curve = args.out.join("curve.svg");
    let history = &outcome.report.history;
    LossPlot::new(format!("{} {} on {} labels", pretrained.display(), mode.name(), train.len()))
        .x_label("epoch")
        .y_label("dev score / train loss")
        .series("dev", history.iter().map(|r| (r.epoch as f64, r.dev)))
        .series("train loss", history.iter().map(|r| (r.epoch as f64, r.train_loss)))
        .write(&curve)?;
    println!(
        "{} {} ({}), {} labels, seed {}: test {:.4} on {} examples; best epoch {} (dev {:.4}); {} of {} weights \
         trained{}; {:.1}s{}; curve {}",
        pretrained.display(),
        mode.name(),
        outcome.body.name(),
        train.len(),
        args.seed,
        outcome.test,
        data.splits.test.len(),
        outcome.report.best_epoch,
        outcome.report.best_dev,
        outcome.trainable,
        outcome.total,
        if outcome.report.cached { " on cached features" } else { "" },
        start.elapsed().as_secs_f64(),
        crate::memory::memory_note(),
        curve.display()
    );
    Ok(())
}

/// `tessera transfer curve`: the sweep.
pub fn curve(args: &CurveArgs) -> Result<(), CliError> {
    let data = load_data(&args.common)?;
    let device = args.common.device.open()?;
    let modes = args.modes.split(',').map(|m| Mode::parse(m.trim())).collect::<Result<Vec<_>, _>>().map_err(usage)?;
    let budgets: Vec<Option<usize>> = args
        .labels
        .split(',')
        .map(|b| match b.trim() {
            "all" => Ok(None),
            n => n.parse().map(Some).map_err(|_| CliError::Usage(format!("--labels: `{n}` is not a number or `all`"))),
        })
        .collect::<Result<_, _>>()?;
    std::fs::create_dir_all(&args.out).map_err(|e| CliError::Usage(format!("{}: {e}", args.out.display())))?;
    let mut table = String::from("body\tmode\tlabels\tmean\tstd\truns\tseconds\n");
    let mut plot =
        LossPlot::new("test score against labelled examples").x_label("labelled examples").y_label("test score");
    println!("{:<40} {:<9} {:>7} {:>8} {:>7} {:>8}", "body", "mode", "labels", "mean", "std", "seconds");
    for pretrained in &args.pretrained {
        for &mode in &modes {
            let mut points = Vec::new();
            for &budget in &budgets {
                let mut scores = Vec::new();
                let start = Instant::now();
                let mut labels = 0;
                for seed in 0..args.seeds {
                    let train = data.splits.train(budget, seed);
                    labels = train.len();
                    let config = run_config(&args.common, mode, data.task, seed, None)?;
                    let outcome: RunOutcome =
                        run(pretrained, &train, &data.splits.dev, &data.splits.test, &data.target, &config, &device)
                            .map_err(usage)?;
                    scores.push(outcome.test);
                }
                let mean = scores.iter().sum::<f64>() / scores.len() as f64;
                let var = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (scores.len().max(2) - 1) as f64;
                let seconds = start.elapsed().as_secs_f64() / scores.len() as f64;
                let name = pretrained.display().to_string();
                println!("{name:<40} {:<9} {labels:>7} {mean:>8.4} {:>7.4} {seconds:>8.1}", mode.name(), var.sqrt());
                table.push_str(&format!(
                    "{name}\t{}\t{labels}\t{mean:.4}\t{:.4}\t{}\t{seconds:.1}\n",
                    mode.name(),
                    var.sqrt(),
                    scores.len()
                ));
                points.push((labels as f64, mean));
            }
            let label = format!(
                "{} {}",
                pretrained.file_name().map_or_else(String::new, |n| n.to_string_lossy().into()),
                mode.name()
            );
            plot = plot.series(label, points);
        }
    }
    let tsv = args.out.join("curve.tsv");
    nn_layers::checkpoint::write_atomically(&tsv, |out| out.write_all(table.as_bytes()))?;
    plot.write(&args.out.join("curve.svg"))?;
    println!("table {}, plot {}", tsv.display(), args.out.join("curve.svg").display());
    Ok(())
}

/// `tessera transfer pool-text`: the pool's sentences as unlabelled text.
pub fn pool_text(args: &PoolTextArgs) -> Result<(), CliError> {
    let data = load_data(&args.common)?;
    if data.task == TaskKind::Pair {
        return Err(CliError::Usage("pool-text writes single sentences: use --task classify or regress".into()));
    }
    let mut text = String::new();
    for example in &data.splits.pool {
        text.push_str(&example.words.join(" "));
        text.push('\n');
    }
    nn_layers::checkpoint::write_atomically(&args.out, |out| out.write_all(text.as_bytes()))?;
    println!(
        "wrote {} pool sentences to {} (held out: {} dev, {} test)",
        data.splits.pool.len(),
        args.out.display(),
        data.splits.dev.len(),
        data.splits.test.len()
    );
    Ok(())
}
