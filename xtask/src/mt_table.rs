//! `cargo xtask mt-table`: the recurrent and the transformer encoder-decoder trained for the same
//! budget of process CPU time on each shipped parallel set, then scored on the test split
//! (greedy, beam 5 at the default length penalty, and beam 5 at the penalty chosen on the
//! validation split), as one Markdown table (`docs/translation.md`, "Equal CPU budget").
//!
//! The two models of a set train at the same time, one thread each, so a run takes about
//! `3 × budget` of wall time on two idle cores plus evaluation. A model whose folder already
//! holds a finished training log is not trained again, and every evaluation's result is kept
//! in `MODEL/eval/`, so an interrupted run resumes where it stopped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::lm_train_run::option;
use crate::workspace_root;

/// A parallel set of `../shared/data/mt` and the flags its recipe adds.
struct Set {
    name: &'static str,
    src: &'static str,
    tgt: &'static str,
    extra: &'static [&'static str],
}

const SETS: [Set; 3] = [
    Set { name: "ding-de-en", src: "de", tgt: "en", extra: &[] },
    Set { name: "libreoffice-help-de-en", src: "de", tgt: "en", extra: &[] },
    // Verses reach hundreds of subwords; the longest pairs are left out of training only.
    Set { name: "bible-en-es", src: "en", tgt: "es", extra: &["--max-len", "64"] },
];

/// The two architectures and their recipes (docs/translation.md explains the choices).
const ARCHS: [(&str, &[&str]); 2] = [
    ("rnn", &["--arch", "rnn", "--dropout", "0.2", "--lr", "1e-3"]),
    (
        "transformer",
        &["--arch", "transformer", "--dropout", "0.1", "--lr", "1e-3", "--warmup", "300", "--max-positions", "1024"],
    ),
];

/// Length penalties (Wu et al. 2016's α) tried on the validation split for beam 5.
const PENALTIES: [&str; 4] = ["0.6", "1.0", "1.5", "2.0"];

/// What the table shows for one model.
struct Row {
    set: &'static str,
    arch: &'static str,
    parameters: String,
    steps: String,
    cpu_minutes: String,
    wall_minutes: String,
    greedy: Score,
    beam_default: Score,
    penalty: &'static str,
    beam_chosen: Score,
}

/// BLEU and chrF of one evaluation.
#[derive(Clone, Copy)]
struct Score {
    bleu: f64,
    chrf: f64,
}

/// `cargo xtask mt-table [--cpu-minutes M] [--sets a,b] [--valid-limit N] [--test-limit N] [--out DIR]`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let minutes = option(args, "--cpu-minutes", "20")?;
    let valid_limit = option(args, "--valid-limit", "300")?;
    let test_limit = option(args, "--test-limit", "")?;
    let wanted = option(args, "--sets", &SETS.map(|s| s.name).join(","))?;
    let root = workspace_root();
    let out = root.join(option(args, "--out", "target/mt-table")?);
    let data = root.join("../shared/data/mt");
    if !data.is_dir() {
        return Err(format!("{}: the parallel sets are missing (see ../shared/data/mt/SOURCE.md)", data.display()));
    }
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    crate::cargo(&["build", "--release", "-p", "tessera"], &[])?;
    let job = Job {
        tessera: root.join("target/release/tessera"),
        out,
        data,
        minutes,
        valid_limit,
        test_limit: (!test_limit.is_empty()).then_some(test_limit),
    };
    let mut rows = Vec::new();
    for name in wanted.split(',') {
        let set = SETS.iter().find(|s| s.name == name).ok_or_else(|| format!("--sets: no set `{name}`"))?;
        // Both models of a set train and evaluate at once, one thread each.
        let results: Vec<Result<Row, String>> = std::thread::scope(|scope| {
            let handles: Vec<_> = ARCHS.iter().map(|arch| scope.spawn(|| job.model(set, arch))).collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a worker panicked".into()))).collect()
        });
        for row in results {
            rows.push(row?);
        }
    }
    let table = render(&rows, &job.minutes);
    let path = job.out.join("table.md");
    std::fs::write(&path, &table).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("\n{table}\nwritten to {}", path.display());
    Ok(())
}

/// One `mt-table` run: the CLI binary, the output folder, the data and the budget.
struct Job {
    tessera: PathBuf,
    out: PathBuf,
    data: PathBuf,
    minutes: String,
    valid_limit: String,
    test_limit: Option<String>,
}

impl Job {
    /// Trains (unless a finished log is there) and evaluates one model.
    fn model(&self, set: &'static Set, (arch, flags): &(&'static str, &[&str])) -> Result<Row, String> {
        let dir = self.out.join(format!("{}-{arch}", set.name));
        let log = self.out.join(format!("{}-{arch}.log", set.name));
        // A finished log ends with the summary line: the folder holds the best epoch.
        let mut text = std::fs::read_to_string(&log).unwrap_or_default();
        if !text.contains("model in") {
            let data = self.data.join(set.name);
            let mut args: Vec<String> = ["mt", "train", "--data"].map(String::from).to_vec();
            args.push(data.display().to_string());
            args.extend(["--src", set.src, "--tgt", set.tgt, "--out"].map(String::from));
            args.push(dir.display().to_string());
            args.extend(flags.iter().chain(set.extra).map(|s| s.to_string()));
            args.extend(["--max-tokens", "1024", "--epochs", "1000", "--valid-sentences", "150"].map(String::from));
            args.extend(["--label-smoothing", "0.1", "--clip", "1", "--cpu-minutes", &self.minutes].map(String::from));
            println!("{} {arch}: training for {} CPU minutes, log in {}", set.name, self.minutes, log.display());
            let file = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
            let status = self.command(&args).stdout(file).status().map_err(|e| self.cannot_run(e))?;
            if !status.success() {
                return Err(format!("`tessera {}` failed ({status})", args.join(" ")));
            }
            text = std::fs::read_to_string(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        }
        let last = text.lines().rev().find(|l| l.contains("model in")).unwrap_or_default();
        let greedy = self.eval(&dir, "test", "1", "0.6")?;
        let beam_default = self.eval(&dir, "test", "5", "0.6")?;
        let mut penalty = PENALTIES[0];
        let mut best = f64::NEG_INFINITY;
        for candidate in PENALTIES {
            let score = self.eval(&dir, "valid", "5", candidate)?;
            if score.bleu > best {
                (best, penalty) = (score.bleu, candidate);
            }
        }
        let beam_chosen = self.eval(&dir, "test", "5", penalty)?;
        println!("{} {arch}: evaluated (α {penalty} chosen on validation)", set.name);
        Ok(Row {
            set: set.name,
            arch,
            parameters: word_before(&text, " parameters"),
            steps: word_before(last, " steps,"),
            cpu_minutes: word_before(last, " CPU min"),
            wall_minutes: word_before(last, " wall min"),
            greedy,
            beam_default,
            penalty,
            beam_chosen,
        })
    }

    /// `tessera mt eval` on a split, its output line kept in `MODEL/eval/` and reused.
    fn eval(&self, dir: &Path, split: &str, beam: &str, penalty: &str) -> Result<Score, String> {
        let limit = if split == "valid" { Some(&self.valid_limit) } else { self.test_limit.as_ref() };
        let name = format!("{split}-n{}-beam{beam}-lp{penalty}", limit.map_or("all", String::as_str));
        let cache = dir.join("eval").join(format!("{name}.txt"));
        let line = match std::fs::read_to_string(&cache) {
            Ok(line) if line.contains("BLEU") => line,
            _ => {
                std::fs::create_dir_all(dir.join("eval")).map_err(|e| format!("{}: {e}", dir.display()))?;
                let mut args: Vec<String> = ["mt", "eval"].map(String::from).to_vec();
                args.push(dir.display().to_string());
                args.extend(
                    ["--split", split, "--beam", beam, "--length-penalty", penalty, "--output"].map(String::from),
                );
                args.push(dir.join("eval").join(format!("{name}.hyp")).display().to_string());
                if let Some(limit) = limit {
                    args.extend(["--limit".to_string(), limit.clone()]);
                }
                let line = self.tessera_output(&args)?;
                std::fs::write(&cache, &line).map_err(|e| format!("{}: {e}", cache.display()))?;
                line
            }
        };
        let number_after = |key: &str| {
            let word = line.split(key).nth(1).and_then(|rest| rest.split_whitespace().next());
            word.and_then(|w| w.parse::<f64>().ok()).ok_or_else(|| format!("{}: no {key}in `{line}`", cache.display()))
        };
        Ok(Score { bleu: number_after("BLEU ")?, chrf: number_after("chrF ")? })
    }

    /// `tessera ARGS` on one thread.
    fn command(&self, args: &[String]) -> Command {
        let mut command = Command::new(&self.tessera);
        command.args(args).env("RAYON_NUM_THREADS", "1");
        command
    }

    /// The error of a `tessera` that could not start.
    fn cannot_run(&self, e: std::io::Error) -> String {
        format!("cannot run {}: {e}", self.tessera.display())
    }

    /// Runs `tessera ARGS` on one thread and returns the last line it printed.
    fn tessera_output(&self, args: &[String]) -> Result<String, String> {
        let output = self.command(args).output().map_err(|e| self.cannot_run(e))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(format!("`tessera {}` failed ({}): {}", args.join(" "), output.status, stderr.trim()));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        Ok(stdout.lines().last().unwrap_or_default().to_string())
    }
}

/// The word just before `marker` in `text` (e.g. the count before " parameters"), or `?`.
fn word_before(text: &str, marker: &str) -> String {
    let word = text.split(marker).next().filter(|head| head.len() < text.len());
    word.and_then(|head| head.split([' ', '(', '\r']).next_back()).unwrap_or("?").to_string()
}

/// The Markdown table and, under it, the two comparisons the issue asks about.
fn render(rows: &[Row], minutes: &str) -> String {
    let mut table = format!(
        "Budget {minutes} CPU minutes per model (one thread). Test split; beam 5 at α 0.6, and at the α chosen on validation.\n\n\
         | set | model | params | steps | CPU min | wall min | BLEU greedy | chrF greedy | BLEU beam 5 (α 0.6) | chrF | α (valid) | BLEU beam 5 | chrF |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    for r in rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {:.2} | {:.2} |\n",
            r.set,
            r.arch,
            r.parameters,
            r.steps,
            r.cpu_minutes,
            r.wall_minutes,
            r.greedy.bleu,
            r.greedy.chrf,
            r.beam_default.bleu,
            r.beam_default.chrf,
            r.penalty,
            r.beam_chosen.bleu,
            r.beam_chosen.chrf
        ));
    }
    let find = |set: &str, arch: &str| rows.iter().find(|r| r.set == set && r.arch == arch);
    let mut wins = 0;
    let mut gains = Vec::new();
    for set in SETS.iter().map(|s| s.name) {
        if let (Some(rnn), Some(tf)) = (find(set, "rnn"), find(set, "transformer")) {
            wins += usize::from(tf.greedy.bleu.max(tf.beam_chosen.bleu) > rnn.greedy.bleu.max(rnn.beam_chosen.bleu));
            gains.push(format!("{set} {:+.2}", tf.beam_chosen.bleu - tf.greedy.bleu));
        }
    }
    table.push_str(&format!(
        "\nThe transformer beats the recurrent model (best of greedy and beam 5 at the chosen α) on {wins} of {} sets; \
         its beam-5 gain over greedy: {}.\n",
        gains.len(),
        gains.join(", ")
    ));
    table
}
