//! The `qa` section of `cargo xtask bench`: the SQuAD reader's training throughput
//! (questions/s, one step of 32 questions at `tessera qa train`'s default sizes) and the
//! latency of answering one question about one passage, plus loading the reader's folder
//! (together what one `tessera qa answer` costs besides starting the process), on 1 and 2
//! threads (benches/benches/qa.rs).

use std::fmt::Write as _;
use std::path::Path;

use crate::bench::{criterion_elements, criterion_nanos, show};
use crate::cargo;

/// Runs the bench on 1 and 2 threads and returns the section's table.
pub(crate) fn report(root: &Path, quick: bool) -> Result<String, String> {
    for threads in [1, 2] {
        let mut args = vec!["bench", "--package", "tessera-benches", "--bench", "qa", "--"];
        if quick {
            args.push("--quick");
        }
        cargo(&args, &[("TESSERA_BENCH_THREADS", threads.to_string())])?;
    }
    let group = |t: usize| format!("cpu_qa_t{t}");
    let rate = |t: usize| {
        let ns = criterion_nanos(root, &group(t), "train_step_b32")?;
        Some(criterion_elements(root, &group(t), "train_step_b32")? / (ns / 1e9))
    };
    let ms = |t: usize, id: &str| criterion_nanos(root, &group(t), id).map(|ns| ns / 1e6);
    let mut out = String::new();
    let _ = writeln!(out, "## Question answering: the SQuAD reader (cpu)\n");
    let _ = writeln!(out, "| measure | t1 | t2 |\n|---|---|---|");
    let _ = writeln!(
        out,
        "| training, questions/s (batch 32, passages of 140 tokens) | {} | {} |",
        show(rate(1), 1),
        show(rate(2), 1)
    );
    let _ = writeln!(
        out,
        "| `qa answer`: one question, ms | {} | {} |",
        show(ms(1, "answer_one"), 2),
        show(ms(2, "answer_one"), 2)
    );
    let _ = writeln!(
        out,
        "| loading the reader's folder, ms | {} | {} |",
        show(ms(1, "load_folder"), 2),
        show(ms(2, "load_folder"), 2)
    );
    out.push('\n');
    Ok(out)
}
