//! The word2vec section of `cargo xtask bench`: Tessera and gensim 4.4 side by side on the same
//! corpus (Shakespeare, Austen, Moby Dick, the State of the Union addresses, Brown and the
//! Wikipedia sample from `../shared/data`, text8-normalised, about 5.9 M tokens), same settings
//! (size 100, window 5, min-count 5, sample 1e-3, negative 5 or hs 1), 1 and 2 threads; both
//! sets of vectors are scored with the same evaluator. Memory is measured on the corpus and on
//! the corpus repeated four times.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use nlp::word2vec::TextNormalizer;

use crate::cargo;

/// Each mode: its name, Tessera's flags, and gensim's `sg hs` arguments.
pub(crate) const MODES: [(&str, &[&str], &str); 3] = [
    ("SG + NS", &["--cbow", "0", "--hs", "0", "--negative", "5"], "1 0"),
    ("CBOW + NS", &["--cbow", "1", "--hs", "0", "--negative", "5"], "0 0"),
    ("SG + HS", &["--cbow", "0", "--hs", "1", "--negative", "0"], "1 1"),
];

/// gensim 4.4 on the same settings: `corpus sg hs threads epochs output`; prints its words/s.
const GENSIM: &str = r#"
import sys, time
from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence
path, sg, hs, threads, epochs, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
m = Word2Vec(vector_size=100, window=5, min_count=5, sample=1e-3, sg=sg, hs=hs, negative=0 if hs else 5,
             workers=threads, epochs=epochs, seed=1, alpha=0.025 if sg else 0.05)
m.build_vocab(LineSentence(path))
start = time.time()
trained, raw = m.train(LineSentence(path), total_examples=m.corpus_count, epochs=epochs)
print(f"= {raw / (time.time() - start):.0f} words/s")
m.wv.save_word2vec_format(out)
"#;

/// Lines of at most 1,000 text8 tokens from every source, written to `out`.
fn build_corpus(data: &Path, out: &Path) -> Result<u64, String> {
    let read = |relative: &str| -> Result<String, String> {
        let path = data.join(relative);
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?)
            .read_to_string(&mut text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(text)
    };
    let mut texts = Vec::new();
    for plain in ["shakespeare/shakespeare_gut.txt.gz", "austen/austen_novels.txt.gz", "moby-dick/moby_dick.txt.gz"] {
        texts.push(read(plain)?);
    }
    for (file, field) in [("sotu/sotu.jsonl.gz", "text"), ("brown/brown_tagged.jsonl.gz", "tagged_text")] {
        for line in read(file)?.lines() {
            let doc: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("{file}: {e}"))?;
            let text = doc[field].as_str().unwrap_or_default();
            let words: Vec<&str> = text
                .split_whitespace()
                .map(|t| if field == "tagged_text" { t.rsplit_once('/').map_or(t, |(w, _)| w) } else { t })
                .collect();
            texts.push(words.join(" "));
        }
    }
    texts.push(read("enwiki-sample/enwiki-articles1-shortened.xml.gz")?);
    let normalizer = TextNormalizer { lowercase: true, text8: true };
    let mut file = std::io::BufWriter::new(std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?);
    let mut tokens = 0u64;
    for text in texts {
        let words = normalizer.tokens(&text);
        for line in words.chunks(1000) {
            writeln!(file, "{}", line.join(" ")).map_err(|e| e.to_string())?;
            tokens += line.len() as u64;
        }
    }
    file.flush().map_err(|e| e.to_string())?;
    Ok(tokens)
}

/// A Python with gensim 4.4 in `target/gensim-venv`, made when missing.
fn gensim_python(root: &Path) -> Result<PathBuf, String> {
    crate::bench::venv_python(root, "gensim-venv", "gensim", &["gensim==4.4.0"])
}

/// The number printed before `label` ... e.g. `= 123 words/s`, or after it (`Spearman 0.61`).
fn number_near(text: &str, before: &str, after: &str) -> Option<f64> {
    let rest = &text[text.find(before)? + before.len()..];
    let rest = rest.trim_start();
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    let value = rest[..end].parse().ok()?;
    rest[end..].trim_start().starts_with(after).then_some(value)
}

/// Tessera's raw words/s training `corpus` in a mode (`flags`) into `output`; `None` when the
/// run fails.
pub(crate) fn tessera_words_per_second(
    tessera: &Path,
    corpus: &Path,
    flags: &[&str],
    threads: usize,
    epochs: usize,
    output: &Path,
) -> Option<f64> {
    let text = run(Command::new(tessera)
        .args(["word2vec", "train", "--train"])
        .arg(corpus)
        .arg("--output")
        .arg(output)
        .args(["--iter", &epochs.to_string(), "--threads", &threads.to_string()])
        .args(flags))
    .ok()?;
    number_near(&text, "=", "words/s")
}

/// gensim's raw words/s on the same settings (`sg hs` in `flags`); `None` when the run fails.
pub(crate) fn gensim_words_per_second(
    python: &Path,
    corpus: &Path,
    flags: &str,
    threads: usize,
    epochs: usize,
    output: &Path,
) -> Option<f64> {
    let text = run(Command::new(python)
        .args(["-c", GENSIM])
        .arg(corpus)
        .args(flags.split(' '))
        .arg(threads.to_string())
        .arg(epochs.to_string())
        .arg(output))
    .ok()?;
    number_near(&text, "=", "words/s")
}

/// Runs `command`; its stdout and stderr together, or why it failed.
fn run(command: &mut Command) -> Result<String, String> {
    let out = command.output().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{command:?} failed: {}", text.lines().last().unwrap_or("")))
    }
}

/// (analogy accuracy %, Spearman) of a vectors file, by Tessera's evaluator.
fn quality(tessera: &Path, vectors: &Path, eval: &Path) -> Option<(f64, f64)> {
    let text = run(Command::new(tessera)
        .args(["word2vec", "eval", "--vectors"])
        .arg(vectors)
        .arg("--analogies")
        .arg(eval.join("questions-words.txt"))
        .arg("--similarity")
        .arg(eval.join("wordsim353.tsv")))
    .ok()?;
    Some((number_near(&text, "analogies total", "%")?, number_near(&text, "Spearman", "over")?))
}

pub(crate) fn report(root: &Path, quick: bool) -> String {
    let mut out = String::new();
    let epochs = if quick { 1 } else { 3 };
    let _ = writeln!(
        out,
        "## word2vec, Tessera vs gensim 4.4 ({epochs} epochs; words/s from one run; ratio > 1 means Tessera is faster)\n"
    );
    let data = root.join("../shared/data");
    let corpus = root.join("target/w2v-corpus.txt");
    let tokens = match build_corpus(&data, &corpus) {
        Ok(tokens) => tokens,
        Err(why) => {
            let _ = writeln!(out, "skipped: {why}\n");
            return out;
        }
    };
    if let Err(why) = cargo(&["build", "--release", "-p", "tessera"], &[]) {
        let _ = writeln!(out, "failed: {why}\n");
        return out;
    }
    let tessera = root.join("target/release/tessera");
    let python = gensim_python(root);
    if let Err(why) = &python {
        let _ = writeln!(out, "gensim peer unavailable: {why}\n");
    }
    let _ = writeln!(out, "corpus: {tokens} tokens ({})\n", corpus.display());
    let _ = writeln!(
        out,
        "| mode | threads | tessera words/s | gensim words/s | tessera / gensim | analogy % (tessera / gensim) | WordSim ρ (tessera / gensim) |\n|---|---|---|---|---|---|---|"
    );
    let eval = data.join("word-eval");
    let mut ours_by_mode = Vec::new();
    for (mode, flags, gensim_flags) in MODES {
        let mut ours_threads = Vec::new();
        for threads in [1usize, 2] {
            let (ours_vectors, theirs_vectors) = (
                root.join(format!("target/w2v-tessera-{threads}.txt")),
                root.join(format!("target/w2v-gensim-{threads}.txt")),
            );
            let ours = tessera_words_per_second(&tessera, &corpus, flags, threads, epochs, &ours_vectors);
            let theirs = python
                .as_ref()
                .ok()
                .and_then(|p| gensim_words_per_second(p, &corpus, gensim_flags, threads, epochs, &theirs_vectors));
            let (q_ours, q_theirs) = (
                quality(&tessera, &ours_vectors, &eval),
                theirs.and_then(|_| quality(&tessera, &theirs_vectors, &eval)),
            );
            let show = |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
            let _ = writeln!(
                out,
                "| {mode} | {threads} | {} | {} | {} | {} / {} | {} / {} |",
                show(ours, 0),
                show(theirs, 0),
                show(ours.zip(theirs).map(|(a, b)| a / b), 2),
                show(q_ours.map(|q| q.0), 2),
                show(q_theirs.map(|q| q.0), 2),
                show(q_ours.map(|q| q.1), 3),
                show(q_theirs.map(|q| q.1), 3)
            );
            ours_threads.push(ours);
        }
        ours_by_mode.push((mode, ours_threads));
    }
    let _ = writeln!(
        out,
        "\nTessera's scaling, 2 threads / 1 thread, from the runs above (minutes apart): {}",
        ours_by_mode
            .iter()
            .map(|(m, t)| format!("{m} {}", t[0].zip(t[1]).map_or("-".into(), |(a, b)| format!("{:.2}x", b / a))))
            .collect::<Vec<_>>()
            .join(", ")
    );
    out.push_str(&crate::bench_word2vec_scaling::report(&tessera, python.as_deref().ok(), &corpus, root));
    let _ = writeln!(out, "\n{}", memory_report(&tessera, &corpus, root));
    out
}

/// Peak memory of CBOW training on the corpus and on it repeated four times, beside the two
/// weight matrices.
fn memory_report(tessera: &Path, corpus: &Path, root: &Path) -> String {
    let repeated = root.join("target/w2v-corpus-x4.txt");
    let copy = || -> std::io::Result<()> {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&repeated)?);
        for _ in 0..4 {
            for line in BufReader::new(std::fs::File::open(corpus)?).lines() {
                writeln!(file, "{}", line?)?;
            }
        }
        file.flush()
    };
    if let Err(e) = copy() {
        return format!("memory: cannot write {}: {e}", repeated.display());
    }
    let mut rows = Vec::new();
    for (name, path) in [("corpus", corpus), ("corpus x4", repeated.as_path())] {
        let text = run(Command::new(tessera)
            .args(["word2vec", "train", "--iter", "1", "--threads", "2", "--train"])
            .arg(path)
            .arg("--output")
            .arg(root.join("target/w2v-memory.txt")));
        let Ok(text) = text else { continue };
        let words = number_near(&text, "", "words (min-count")
            .or_else(|| text.split_whitespace().next().and_then(|w| w.parse().ok()));
        let peak = number_near(&text, "peak memory", "MB");
        let matrices = words.map(|v| 2.0 * v * 100.0 * 4.0 / (1 << 20) as f64);
        rows.push(format!(
            "{name}: peak {} MB, weight matrices {} MB",
            peak.map_or("-".into(), |p| format!("{p:.0}")),
            matrices.map_or("-".into(), |m| format!("{m:.1}"))
        ));
    }
    format!("memory (CBOW, 1 epoch, 2 threads): {}", rows.join("; "))
}
