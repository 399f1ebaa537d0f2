//! `tessera glue`: the GLUE-style benchmark over the shipped data (see `docs/benchmark.md`).
//! `list` the tasks, `add` a spec file, `run` a model over tasks on a device (one JSON record
//! per run), `board` the leaderboard (Markdown and HTML), `export` the splits for peers.

use std::path::PathBuf;

use glue::board::Board;
use glue::data::{Target, load_task};
use glue::models::{Context, by_name, registry};
use glue::record::read_records;
use glue::registry;
use glue::run::run_model;
use serde_json::json;

use crate::devices::{self, DeviceKind};
use crate::error::CliError;

/// Where the data and the user's specs are.
#[derive(clap::Args, Debug, Clone)]
pub struct Where {
    /// Root the specs' data paths are relative to.
    #[arg(long, default_value = "../shared/data")]
    pub data_dir: PathBuf,
    /// Folder of user task specs (`tessera glue add` writes there).
    #[arg(long, default_value = "target/glue/tasks")]
    pub registry: PathBuf,
}

/// `tessera glue` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum GlueCommand {
    /// List the tasks (split sizes with --counts) and the models.
    List {
        /// Where.
        #[command(flatten)]
        place: Where,
        /// Load every task and print its split sizes.
        #[arg(long)]
        counts: bool,
    },
    /// Validate a task spec (JSON), load its data, and add it to the registry folder.
    Add {
        /// The spec file.
        spec: PathBuf,
        /// Where.
        #[command(flatten)]
        place: Where,
    },
    /// Train a model on tasks' train splits, select on dev, report test; writes a run record.
    Run(RunArgs),
    /// Render the leaderboard of the run records in a folder (Markdown and HTML).
    Board {
        /// Folder of run records.
        #[arg(long, default_value = "target/glue/runs")]
        runs: PathBuf,
        /// Where to write `leaderboard.md` and `leaderboard.html`.
        #[arg(long, default_value = "target/glue")]
        out: PathBuf,
    },
    /// Write each task's splits as JSON Lines (text, second, label or score) for peers.
    Export {
        /// Where.
        #[command(flatten)]
        place: Where,
        /// Tasks (all by default).
        #[arg(long, value_delimiter = ',')]
        tasks: Vec<String>,
        /// Output folder (`<task>/{train,dev,test}.jsonl`).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Options of `tessera glue run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Model (majority, tfidf-lr, word2vec-mlp, textcnn, bilstm; lm-tfidf with a language model
    /// as --pretrained; or a pretrained body used one way: bert|gpt|rnn-features|finetune|lora,
    /// with --pretrained).
    #[arg(long)]
    pub model: String,
    /// The model folder a pretrained model reads (`tessera lm train --arch bert|gpt|lstm`), or
    /// for lm-tfidf a word-level language model (an ARPA file from `tessera ngram train`, or a
    /// folder of `tessera lm train` with a word vocabulary).
    #[arg(long)]
    pub pretrained: Option<PathBuf>,
    /// Tasks, comma-separated (all by default).
    #[arg(long, value_delimiter = ',')]
    pub tasks: Vec<String>,
    /// Device.
    #[arg(long, value_enum, default_value_t = DeviceKind::Cpu)]
    pub device: DeviceKind,
    /// Seed of initialisation and shuffles (the splits have their own, fixed seeds).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fewer epochs (smoke runs and tests).
    #[arg(long)]
    pub quick: bool,
    /// Folder of run records.
    #[arg(long, default_value = "target/glue/runs")]
    pub runs: PathBuf,
    /// Where.
    #[command(flatten)]
    pub place: Where,
}

/// Runs a `tessera glue` subcommand.
pub fn run(command: GlueCommand) -> Result<(), CliError> {
    match command {
        GlueCommand::List { place, counts } => {
            for spec in registry::all(Some(&place.registry))? {
                let metrics: Vec<&str> = spec.metrics.iter().map(|m| m.name()).collect();
                print!("{:<16} {:<10} {:<20}", spec.name, spec.kind.name(), metrics.join(","));
                if counts {
                    let task = load_task(&spec, &place.data_dir)?;
                    print!(
                        " train {:>6} dev {:>6} test {:>6} classes {:>3}",
                        task.train.len(),
                        task.dev.len(),
                        task.test.len(),
                        task.classes.len()
                    );
                }
                println!("  {}", spec.description);
            }
            let models: Vec<&str> = registry().iter().map(|m| m.name()).collect();
            println!("models: {}", models.join(", "));
            Ok(())
        }
        GlueCommand::Add { spec, place } => {
            let parsed = glue::spec::load_spec(&spec)?;
            let task = load_task(&parsed, &place.data_dir)?;
            let added = registry::add(&spec, &place.registry)?;
            println!(
                "added {} ({}): train {} / dev {} / test {} examples, {} classes -> {}",
                added.name,
                added.kind.name(),
                task.train.len(),
                task.dev.len(),
                task.test.len(),
                task.classes.len(),
                place.registry.join(format!("{}.json", added.name)).display()
            );
            Ok(())
        }
        GlueCommand::Run(args) => run_glue(&args),
        GlueCommand::Board { runs, out } => {
            let board = Board::new(read_records(&runs)?);
            std::fs::create_dir_all(&out).map_err(|e| glue::GlueError::io(&out, e))?;
            let (md, html) = (out.join("leaderboard.md"), out.join("leaderboard.html"));
            std::fs::write(&md, board.markdown()).map_err(|e| glue::GlueError::io(&md, e))?;
            std::fs::write(&html, board.html()).map_err(|e| glue::GlueError::io(&html, e))?;
            print!("{}", board.markdown());
            println!("wrote {} and {}", md.display(), html.display());
            Ok(())
        }
        GlueCommand::Export { place, tasks, out } => {
            for spec in registry::select(&tasks, Some(&place.registry))? {
                let task = load_task(&spec, &place.data_dir)?;
                let dir = out.join(&spec.name);
                std::fs::create_dir_all(&dir).map_err(|e| glue::GlueError::io(&dir, e))?;
                for (name, split) in [("train", &task.train), ("dev", &task.dev), ("test", &task.test)] {
                    let lines: Vec<String> = split
                        .iter()
                        .map(|e| {
                            let target = match &e.target {
                                Target::Class(c) => json!(c),
                                Target::Score(s) => json!(s),
                                Target::Tags(t) => json!(t),
                            };
                            json!({ "text": e.text, "second": e.second, "target": target, "group": e.group })
                                .to_string()
                        })
                        .collect();
                    let path = dir.join(format!("{name}.jsonl"));
                    std::fs::write(&path, lines.join("\n") + "\n").map_err(|e| glue::GlueError::io(&path, e))?;
                }
                let meta = json!({ "name": spec.name, "kind": spec.kind.name(), "classes": task.classes,
                    "metrics": spec.metrics.iter().map(|m| m.name()).collect::<Vec<_>>() });
                let path = dir.join("task.json");
                std::fs::write(&path, meta.to_string()).map_err(|e| glue::GlueError::io(&path, e))?;
                println!("{}: train {} dev {} test {}", spec.name, task.train.len(), task.dev.len(), task.test.len());
            }
            Ok(())
        }
    }
}

fn run_glue(args: &RunArgs) -> Result<(), CliError> {
    let model = by_name(&args.model)?;
    let specs = registry::select(&args.tasks, Some(&args.place.registry))?;
    let device = args.device.open()?;
    let device_name = devices::describe(&device);
    let ctx = Context { device, seed: args.seed, quick: args.quick, pretrained: args.pretrained.clone() };
    if args.device == DeviceKind::TpuSim {
        devices::tpu_sim().reset_ledger();
    }
    println!("glue run: {} on {device_name}, seed {}", model.name(), args.seed);
    let mut record = run_model(model.as_ref(), &specs, &args.place.data_dir, &ctx, &device_name, |t| {
        let metrics: Vec<String> = t.metrics.iter().map(|(k, v)| format!("{k} {:.2}", 100.0 * v)).collect();
        println!(
            "  {:<16} {:<36} {:>7.1} s  {:>9.0} ex/s  (train {} dev {} test {})",
            t.task,
            metrics.join(", "),
            t.seconds,
            t.examples_per_second,
            t.counts[0],
            t.counts[1],
            t.counts[2]
        );
    })?;
    if args.device == DeviceKind::TpuSim {
        let tpu = devices::tpu_sim();
        let cycles = tpu.ledger().total_cycles();
        let seconds = cycles as f64 / (tpu.config().clock_mhz * 1e6);
        record.extra = json!({ "tpu_cycles": cycles, "tpu_simulated_seconds": seconds });
        println!("  simulated TPU: {cycles} cycles ({seconds:.3} s at {} MHz)", tpu.config().clock_mhz);
    }
    println!(
        "  suite score {:.2} over {} tasks, {:.1} s",
        record.suite_score(),
        record.tasks.len(),
        record.wall_seconds
    );
    let path = record.write(&args.runs)?;
    println!("wrote {}", path.display());
    Ok(())
}
