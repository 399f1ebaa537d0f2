//! `cargo xtask lm-ptb --config small|medium|tied [--epochs N] [-- extra tessera flags]`: trains
//! a recurrent language model on Penn Treebank (`../shared/data/ptb`) with a published recipe
//! through `tessera lm train` (release build), and prints the valid and test perplexity and the
//! wall time. Long runs: hold the benchmark lock, e.g. `flock /work/bench.lock cargo xtask
//! lm-ptb --config small`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{cargo, workspace_root};

/// A recipe: its name, what it reproduces, and the `tessera lm train` flags.
struct Recipe {
    name: &'static str,
    about: &'static str,
    /// `tessera lm train` flags, separated by spaces.
    flags: &'static str,
}

const RECIPES: &[Recipe] = &[
    Recipe {
        name: "small",
        about: "Zaremba et al. 2014 \"small\": 2 x 200 LSTM, no dropout, untied (paper: valid 120.7, test 114.5)",
        flags: "--arch lstm --embed 200 --hidden 200 --layers 2 --dropout 0 --init 0.1 --epochs \
                13 --batch 20 --bptt 20 --optimizer sgd --lr 1 --decay-after 4 --decay 0.5 \
                --clip 5",
    },
    Recipe {
        name: "medium",
        about: "Zaremba et al. 2014 \"medium\": 2 x 650 LSTM, dropout 0.5, untied (paper: valid 86.2, test 82.7)",
        flags: "--arch lstm --embed 650 --hidden 650 --layers 2 --dropout 0.5 --init 0.05 \
                --epochs 39 --batch 20 --bptt 35 --optimizer sgd --lr 1 --decay-after 6 --decay \
                0.8333333 --clip 5",
    },
    Recipe {
        name: "tied",
        about: "a regularised, tied 2 x 400 LSTM (dropout 0.5, Press & Wolf tying); not yet run here",
        flags: "--arch lstm --embed 400 --hidden 400 --layers 2 --dropout 0.5 --tie --init 0.05 \
                --epochs 20 --batch 20 --bptt 35 --optimizer sgd --lr 1 --decay-after 6 --decay \
                0.8 --clip 5",
    },
    Recipe {
        name: "pytorch-tied",
        about: "PyTorch's word-language-model example with --tied: 2 x 200 LSTM, dropout 0.2, lr 20 \
                quartered on plateaus, clip 0.25, 40 epochs (its README: test 87.17)",
        flags: "--arch lstm --embed 200 --hidden 200 --layers 2 --dropout 0.2 --tie --init 0.1 \
                --epochs 40 --batch 20 --bptt 35 --optimizer sgd --lr 20 --plateau --decay 0.25 \
                --clip 0.25 --mean-loss",
    },
];

fn usage() -> String {
    let names: Vec<String> = RECIPES.iter().map(|r| format!("  {:<7} {}", r.name, r.about)).collect();
    format!("usage: cargo xtask lm-ptb --config <name> [--epochs N] [-- tessera flags]\n{}", names.join("\n"))
}

/// A number following `label` in `line`.
fn number_after(line: &str, label: &str) -> Option<f64> {
    let rest = &line[line.find(label)? + label.len()..];
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The number just before `label` in `line`.
fn number_before(line: &str, label: &str) -> Option<f64> {
    let head = &line[..line.find(label)?];
    let start = head.rfind(|c: char| !(c.is_ascii_digit() || c == '.')).map_or(0, |i| i + 1);
    head[start..].parse().ok()
}

/// Runs the recipe named by `--config`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let (ours, extra) = match args.iter().position(|a| a == "--") {
        Some(at) => (&args[..at], &args[at + 1..]),
        None => (args, &[][..]),
    };
    let value = |flag: &str| ours.iter().position(|a| a == flag).and_then(|i| ours.get(i + 1)).cloned();
    let name = value("--config").ok_or_else(usage)?;
    let recipe = RECIPES.iter().find(|r| r.name == name).ok_or_else(usage)?;
    let root = workspace_root();
    let ptb = root.join("../shared/data/ptb");
    if !ptb.join("ptb.train.txt.gz").is_file() {
        return Err(format!("{} has no ptb.train.txt.gz", ptb.display()));
    }
    cargo(&["build", "--release", "-p", "tessera"], &[])?;
    let out = root.join(format!("target/lm-ptb-{name}"));
    let split = |s: &str| ptb.join(format!("ptb.{s}.txt.gz")).to_string_lossy().into_owned();
    let mut flags: Vec<String> = recipe.flags.split_whitespace().map(str::to_string).collect();
    if let (Some(epochs), Some(at)) = (value("--epochs"), flags.iter().position(|f| f == "--epochs")) {
        flags[at + 1] = epochs;
    }
    let mut command = Command::new(root.join("target/release/tessera"));
    command.args(["lm", "train"]).args(&flags);
    command
        .args(["--train", &split("train"), "--valid", &split("valid"), "--test", &split("test")])
        .arg("--out")
        .arg(&out)
        .args(extra)
        .current_dir(&root)
        .stdout(Stdio::piped());
    println!("PTB recipe `{name}`: {}", recipe.about);
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| format!("cannot run tessera: {e}"))?;
    let mut summary = None;
    let mut rates = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            if line.starts_with("epoch") {
                rates.extend(number_before(&line, " tokens/s"));
            }
            if line.starts_with("summary:") {
                summary = Some(line);
            }
        }
    }
    let status = child.wait().map_err(|e| format!("tessera did not finish: {e}"))?;
    if !status.success() {
        return Err(format!("`tessera lm train` failed ({status})"));
    }
    let summary = summary.ok_or("tessera printed no summary")?;
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let mean_rate = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    println!(
        "\nPTB {name}: valid perplexity {}, test perplexity {}, wall time {minutes:.1} min, {mean_rate:.0} training tokens/s",
        number_after(&summary, "valid perplexity ").map_or("-".into(), |v| format!("{v:.2}")),
        number_after(&summary, "test perplexity ").map_or("-".into(), |v| format!("{v:.2}")),
    );
    Ok(())
}
