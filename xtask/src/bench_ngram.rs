//! The n-gram section of `cargo xtask bench`: Tessera's Kneser-Ney 5-gram on Penn Treebank
//! beside KenLM. KenLM is not installed here; its numbers are the ones measured on this machine
//! kind and recorded in `../shared/data/ptb/kenlm/SOURCE.md`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::cargo;

/// KenLM `lmplz -o 5` on PTB train: CPU-seconds, and resident MB with `-S 1G`.
const KENLM_BUILD_S: f64 = 2.0;
const KENLM_BUILD_MB: f64 = 230.0;
/// KenLM `query` over PTB test with the 5-gram ARPA, loading included.
const KENLM_QUERY_S: f64 = 1.0;
/// KenLM's 5-gram test perplexity.
const KENLM_PPL_5: f64 = 141.1862;

/// A number following `label` in `text` (e.g. "peak memory 115 MB" for label "peak memory ").
fn number_after(text: &str, label: &str) -> Option<f64> {
    let rest = &text[text.find(label)? + label.len()..];
    let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn run_tessera(root: &Path, args: &[&str]) -> Result<(String, f64), String> {
    let started = Instant::now();
    let out = Command::new(root.join("target/release/tessera"))
        .args(args)
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run tessera: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!("`tessera {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)));
    }
    Ok((text, started.elapsed().as_secs_f64()))
}

/// Builds the 5-gram with the CLI (ARPA written), then loads it and scores PTB test; one run each.
pub(crate) fn report(root: &Path, criterion_nanos: impl Fn(&str, &str) -> Option<f64>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## N-gram LM on Penn Treebank, Tessera vs KenLM (ratio > 1 means Tessera is faster)\n");
    let ptb = root.join("../shared/data/ptb");
    if !ptb.exists() {
        let _ = writeln!(out, "skipped: {} is missing\n", ptb.display());
        return out;
    }
    let measured = cargo(&["build", "--release", "-p", "tessera"], &[]).and_then(|()| {
        let arpa = root.join("target/bench-kn5.arpa");
        let (train, test) = (ptb.join("ptb.train.txt.gz"), ptb.join("ptb.test.txt.gz"));
        let (built, build_s) = run_tessera(
            root,
            &["ngram", "train", "--order", "5", "-o", &arpa.to_string_lossy(), &train.to_string_lossy()],
        )?;
        let (scored, query_s) =
            run_tessera(root, &["ngram", "ppl", "--model", &arpa.to_string_lossy(), &test.to_string_lossy()])?;
        Ok((built, build_s, scored, query_s))
    });
    let (built, build_s, scored, query_s) = match measured {
        Ok(m) => m,
        Err(why) => {
            let _ = writeln!(out, "failed: {why}\n");
            return out;
        }
    };
    let show = |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
    let ratio = |kenlm: f64, ours: Option<f64>| show(ours.map(|o| kenlm / o), 2);
    let in_memory = criterion_nanos("cpu_ngram", "ptb_build_kn5").map(|ns| ns / 1e9);
    let scoring = criterion_nanos("cpu_ngram", "ptb_score_test_kn5").map(|ns| ns / 1e9);
    let build_mb = number_after(&built, "peak memory ");
    let ppl = number_after(&scored, "perplexity ");
    let _ = writeln!(out, "| measure | tessera | kenlm | kenlm / tessera |\n|---|---|---|---|");
    let rows = [
        ("build 5-gram, count + estimate, s (criterion)", in_memory, KENLM_BUILD_S, 3),
        ("build 5-gram + write ARPA, s (CLI, one run)", Some(build_s), KENLM_BUILD_S, 3),
        ("load ARPA + score test, s (CLI, one run)", Some(query_s), KENLM_QUERY_S, 3),
        ("score test with the built model, s (criterion)", scoring, KENLM_QUERY_S, 3),
        ("peak resident memory of the build, MB", build_mb, KENLM_BUILD_MB, 0),
    ];
    for (what, ours, kenlm, digits) in rows {
        let _ = writeln!(out, "| {what} | {} | {kenlm} | {} |", show(ours, digits), ratio(kenlm, ours));
    }
    let _ = writeln!(out, "| test perplexity (5-gram) | {} | {KENLM_PPL_5} | - |", show(ppl, 4));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_follow_labels() {
        let text = "counted in 0.5 s, wrote x in 0.8 s, peak memory 115 MB\n";
        assert_eq!(super::number_after(text, "peak memory "), Some(115.0));
        assert_eq!(super::number_after("t.gz: perplexity 141.1861  (3761", "perplexity "), Some(141.1861));
        assert_eq!(super::number_after("nothing", "perplexity "), None);
    }
}
