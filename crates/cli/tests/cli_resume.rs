//! `tessera train mlp|cnn|textcnn|tagger --resume`, `tessera ner|qa train --resume` and `tessera lm train --resume`: a run killed with
//! SIGKILL at random moments (mid-epoch and in the middle of writing a checkpoint, which it does
//! every two steps) and resumed each time from its training checkpoint ends with weights
//! byte-identical to an uninterrupted one-thread run with the same seed.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::tessera;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-cli-resume-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A training command under test.
struct Job {
    name: &'static str,
    /// The flags of a run writing into `out`: uninterrupted (`None`), or checkpointing every two
    /// steps into `ckpt` and resuming from it when `Some(true)`.
    args: fn(out: &Path, ckpt: &Path, resume: Option<bool>) -> Vec<String>,
    /// Whether a checkpoint exists to resume from (the folder, or the previous one after a kill
    /// between the two renames of a save).
    started: fn(out: &Path, ckpt: &Path) -> bool,
    /// The final weights of a run.
    weights: fn(out: &Path) -> PathBuf,
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// `tessera train mlp|cnn` on the digits, its checkpoints in their own folder.
fn classifier_args(arch: &str, out: &Path, ckpt: &Path, resume: Option<bool>) -> Vec<String> {
    let mut args = strings(&["train", arch, "--dataset", "digits", "--epochs", "4", "--hidden", "16"]);
    args.extend(strings(&["--batch-size", "32", "--seed", "5", "--out", &out.display().to_string()]));
    if let Some(resume) = resume {
        let flag = if resume { "--resume" } else { "--checkpoint-dir" };
        args.extend(strings(&[flag, &ckpt.display().to_string(), "--checkpoint-every", "2"]));
    }
    args
}

fn in_own_folder(_: &Path, ckpt: &Path) -> bool {
    ckpt.exists() || ckpt.with_file_name("ckpt.old").exists()
}

const MLP: Job = Job {
    name: "mlp",
    args: |out, ckpt, resume| classifier_args("mlp", out, ckpt, resume),
    started: in_own_folder,
    weights: |out| out.join("weights.safetensors"),
};

const CNN: Job = Job {
    name: "cnn",
    args: |out, ckpt, resume| classifier_args("cnn", out, ckpt, resume),
    started: in_own_folder,
    weights: |out| out.join("weights.safetensors"),
};

/// `tessera train tagger` (a BiLSTM with dropout) on four documents of the shipped Brown sample.
const TAGGER: Job = Job {
    name: "tagger",
    args: |out, ckpt, resume| {
        let mut args = strings(&["train", "tagger", "--corpus", "data/brown-sample/brown_sample.jsonl.gz"]);
        args.extend(strings(&["--out", &out.display().to_string(), "--hidden", "8", "--epochs", "2"]));
        args.extend(strings(&["--batch-size", "16", "--train-docs", "4", "--seed", "2"]));
        if let Some(resume) = resume {
            let flag = if resume { "--resume" } else { "--checkpoint-dir" };
            args.extend(strings(&[flag, &ckpt.display().to_string(), "--checkpoint-every", "2"]));
        }
        args
    },
    started: in_own_folder,
    weights: |out| out.join("weights.safetensors"),
};

/// A toy corpus for the language model, written beside the runs.
const LM_TEXT: &str = "the cat sat on the mat\nthe dog sat on the log\na cat saw the dog\nthe dog saw a cat\n";

/// `tessera lm train` (a GRU with dropout): its checkpoint is `<out>/checkpoint`.
const LM: Job = Job {
    name: "lm",
    args: |out, _, resume| {
        let corpus = out.with_file_name("corpus.txt");
        if !corpus.exists() {
            std::fs::write(&corpus, LM_TEXT.repeat(40)).unwrap();
        }
        let corpus = corpus.display().to_string();
        let mut args = strings(&["lm", "train", "--arch", "gru", "--train", &corpus, "--valid", &corpus]);
        args.extend(strings(&["--out", &out.display().to_string(), "--embed", "16", "--hidden", "16"]));
        args.extend(strings(&["--layers", "2", "--dropout", "0.3", "--epochs", "3", "--batch", "4", "--bptt", "6"]));
        args.extend(strings(&["--optimizer", "adamw", "--lr", "0.01", "--seed", "3", "--checkpoint-every", "2"]));
        if resume == Some(true) {
            args.push("--resume".into());
        }
        args
    },
    started: |out, _| out.join("checkpoint").exists() || out.join("checkpoint.old").exists(),
    weights: |out| out.join("checkpoint").join("weights.safetensors"),
};

/// Labelled sentences for the TextCNN, written beside the runs: positive and negative words.
fn textcnn_data(out: &Path) -> String {
    let data = out.with_file_name("reviews.csv");
    if !data.exists() {
        let words = [["great", "fine", "fun", "warm"], ["dull", "bad", "slow", "cold"]];
        let mut text = String::from("text,label\n");
        for i in 0..120usize {
            let label = i % 2;
            let w = &words[label];
            text.push_str(&format!(
                "a {} and {} film number {i},{}\n",
                w[i % 4],
                w[(i / 4) % 4],
                ["pos", "neg"][label]
            ));
        }
        std::fs::write(&data, text).unwrap();
    }
    data.display().to_string()
}

/// `tessera train textcnn` (dropout 0.5 before its head) on 120 labelled sentences.
const TEXTCNN: Job = Job {
    name: "textcnn",
    args: |out, ckpt, resume| {
        let data = textcnn_data(out);
        let mut args = strings(&["train", "textcnn", "--data", &data, "--embedding", "8", "--filters", "4"]);
        args.extend(strings(&[
            "--epochs",
            "3",
            "--batch-size",
            "8",
            "--seed",
            "6",
            "--out",
            &out.display().to_string(),
        ]));
        if let Some(resume) = resume {
            let flag = if resume { "--resume" } else { "--checkpoint-dir" };
            args.extend(strings(&[flag, &ckpt.display().to_string(), "--checkpoint-every", "2"]));
        }
        args
    },
    started: in_own_folder,
    weights: |out| out.join("weights.safetensors"),
};

/// A synthetic CoNLL-2003-style split for the NER tagger, written beside the runs.
fn ner_split(out: &Path, name: &str, count: usize, seed: u64) -> String {
    let path = out.with_file_name(format!("ner-{name}.txt"));
    if !path.exists() {
        let mut text = String::from("-DOCSTART- -X- -X- O\n\n");
        for sentence in ner::synthetic::sentences(count, seed) {
            for (word, tag) in sentence.words.iter().zip(&sentence.tags) {
                text.push_str(&format!("{word} NN O {tag}\n"));
            }
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
    }
    path.display().to_string()
}

/// `tessera ner train` (a BiLSTM-CRF with char-CNN features and dropout) on 60 sentences.
const NER: Job = Job {
    name: "ner",
    args: |out, ckpt, resume| {
        let (train, valid) = (ner_split(out, "train", 60, 1), ner_split(out, "valid", 10, 2));
        let test = ner_split(out, "test", 10, 3);
        let mut args = strings(&["ner", "train", "--train", &train, "--valid", &valid, "--test", &test]);
        args.extend(strings(&["--epochs", "3", "--word-dim", "8", "--char-filters", "4", "--hidden", "8"]));
        args.extend(strings(&["--dropout", "0.3", "--batch-size", "8", "--seed", "7"]));
        args.extend(strings(&["--out", &out.display().to_string()]));
        if let Some(resume) = resume {
            let flag = if resume { "--resume" } else { "--checkpoint-dir" };
            args.extend(strings(&[flag, &ckpt.display().to_string(), "--checkpoint-every", "2"]));
        }
        args
    },
    started: in_own_folder,
    weights: |out| out.join("weights.safetensors"),
};

/// A SQuAD v1.1 file of `n` one-question paragraphs (the answer: the word after `key`),
/// written beside the runs.
fn squad(out: &Path, name: &str, n: usize) -> String {
    let path = out.with_file_name(format!("squad-{name}.json"));
    if !path.exists() {
        let words = ["oak", "elm", "ash", "fir", "yew", "bay", "box", "lime"];
        let paragraphs: Vec<serde_json::Value> = (0..n)
            .map(|i| {
                let answer = words[(i * 3 + name.len()) % words.len()];
                let context = format!("the {} grove has key {answer} trees near {}", words[i % 8], words[(i / 8) % 8]);
                let start = context.find(" key ").unwrap() + 5;
                serde_json::json!({"context": context, "qas": [{"id": format!("{name}{i}"),
                    "question": "Which trees follow key?", "answers": [{"text": answer, "answer_start": start}]}]})
            })
            .collect();
        let doc = serde_json::json!({"version": "1.1", "data": [{"title": "t", "paragraphs": paragraphs}]});
        std::fs::write(&path, doc.to_string()).unwrap();
    }
    path.display().to_string()
}

/// `tessera qa train` (BiLSTM encoders with dropout) on 64 questions.
const QA: Job = Job {
    name: "qa",
    args: |out, ckpt, resume| {
        let (train, dev) = (squad(out, "train", 64), squad(out, "dev", 8));
        let mut args = strings(&["qa", "train", "--train", &train, "--dev", &dev, "--epochs", "3"]);
        args.extend(strings(&["--batch-size", "8", "--embedding", "8", "--hidden", "8", "--dropout", "0.3"]));
        args.extend(strings(&["--seed", "8", "--no-progress", "--out", &out.display().to_string()]));
        if let Some(resume) = resume {
            let flag = if resume { "--resume" } else { "--checkpoint-dir" };
            args.extend(strings(&[flag, &ckpt.display().to_string(), "--checkpoint-every", "2"]));
        }
        args
    },
    started: in_own_folder,
    weights: |out| out.join("weights.safetensors"),
};

fn one_thread(command: &mut Command) -> &mut Command {
    command.env("RAYON_NUM_THREADS", "1").current_dir(test_support::workspace_root())
}

/// Runs `job` to the end, killing it at random moments and resuming; returns how many kills
/// landed before it finished and its final weights.
fn killed_and_resumed(job: &Job, dir: &Path, mut seed: u64) -> (usize, Vec<u8>) {
    let out = dir.join("killed");
    let ckpt = dir.join("ckpt");
    let mut kills = 0;
    for _ in 0..200 {
        let run = (job.args)(&out, &ckpt, Some((job.started)(&out, &ckpt)));
        let mut child = one_thread(&mut Command::new(env!("CARGO_BIN_EXE_tessera")))
            .args(&run)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        // The first kill lands early (start-up and the first steps take longer than this); the
        // window then widens, so that kills land anywhere and a run eventually finishes.
        let wait_ms = 5 + (seed >> 33) % (30 + 40 * kills as u64);
        std::thread::sleep(Duration::from_millis(wait_ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
            continue;
        }
        let status = child.wait().unwrap();
        assert!(status.success(), "{}: a resumed run failed ({status}) after {kills} kills", job.name);
        return (kills, std::fs::read((job.weights)(&out)).unwrap());
    }
    panic!("{}: no run finished in 200 tries", job.name);
}

fn check(job: &Job, seed: u64) {
    let dir = scratch(job.name);
    let reference = dir.join("reference");
    let status = one_thread(&mut Command::new(env!("CARGO_BIN_EXE_tessera")))
        .args((job.args)(&reference, &dir.join("unused"), None))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the uninterrupted {} run failed", job.name);
    let expected = std::fs::read((job.weights)(&reference)).unwrap();
    let (kills, got) = killed_and_resumed(job, &dir, seed);
    let name = job.name;
    assert!(kills >= 1, "{name}: the run finished before any kill; the test would prove nothing");
    assert!(got == expected, "{name}: after {kills} kills the final weights differ from the uninterrupted run's");
    eprintln!("{name}: {kills} kills, final weights identical");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_killed_mlp_run_resumes_to_identical_weights() {
    check(&MLP, 1);
}

#[test]
fn a_killed_cnn_run_resumes_to_identical_weights() {
    check(&CNN, 2);
}

#[test]
fn a_killed_tagger_run_resumes_to_identical_weights() {
    check(&TAGGER, 4);
}

#[test]
fn a_killed_textcnn_run_resumes_to_identical_weights() {
    check(&TEXTCNN, 5);
}

#[test]
fn a_killed_ner_run_resumes_to_identical_weights() {
    check(&NER, 6);
}

#[test]
fn a_killed_qa_run_resumes_to_identical_weights() {
    check(&QA, 7);
}

#[test]
fn a_killed_recurrent_lm_run_resumes_to_identical_weights() {
    check(&LM, 3);
}

#[test]
fn resuming_from_a_folder_without_a_checkpoint_is_a_typed_error() {
    let dir = scratch("none");
    let missing = dir.join("nothing");
    let run = classifier_args("mlp", &dir.join("out"), &missing, Some(true));
    let run: Vec<&str> = run.iter().map(String::as_str).collect();
    let message = tessera(&run).error().to_string();
    assert!(message.contains("nothing") && message.contains("no training checkpoint"), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}
