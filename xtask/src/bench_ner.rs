//! The `ner` section of `cargo xtask bench`: the CRF loss's forward+backward and Viterbi
//! decoding in sentences per second, and the latency of tagging one sentence with a
//! CoNLL-sized BiLSTM-CRF (benches/benches/ner.rs), on 1 and 2 threads.

use std::fmt::Write as _;
use std::path::Path;

use crate::bench::{criterion_elements, criterion_nanos, show};
use crate::cargo;

/// Runs the bench on 1 and 2 threads and returns the section's table.
pub(crate) fn report(root: &Path, quick: bool) -> Result<String, String> {
    for threads in [1, 2] {
        let mut args = vec!["bench", "--package", "tessera-benches", "--bench", "ner", "--"];
        if quick {
            args.push("--quick");
        }
        cargo(&args, &[("TESSERA_BENCH_THREADS", threads.to_string())])?;
    }
    let rate = |t: usize, id: &str| {
        let group = format!("cpu_ner_t{t}");
        let ns = criterion_nanos(root, &group, id)?;
        Some(criterion_elements(root, &group, id)? / (ns / 1e9))
    };
    let mut out = String::new();
    let _ = writeln!(out, "## NER: CRF and tagging (cpu, 9 IOB2 tags, batch of 32 sentences of 8-40 words)\n");
    let _ = writeln!(out, "| path | t1 | t2 |\n|---|---|---|");
    for (id, what) in [
        ("crf_fwdbwd_b32_t40_k9", "CRF loss forward+backward, sentences/s"),
        ("viterbi_b32_t40_k9", "Viterbi decoding, sentences/s"),
    ] {
        let _ = writeln!(out, "| {what} | {} | {} |", show(rate(1, id), 0), show(rate(2, id), 0));
    }
    let latency = |t: usize| criterion_nanos(root, &format!("cpu_ner_t{t}"), "tag_one_sentence_w12").map(|ns| ns / 1e6);
    let _ = writeln!(
        out,
        "| `ner tag` one 12-word sentence (BiLSTM-CRF, 19,400 words), ms | {} | {} |",
        show(latency(1), 2),
        show(latency(2), 2)
    );
    out.push('\n');
    Ok(out)
}
