//! Tessera beside its peers (numpy's OpenBLAS for GEMM, JAX for training steps) in paired
//! rounds.
//!
//! This machine is shared: its speed drifts by tens of percent over seconds to minutes as
//! neighbours come and go, so one Tessera run compared with one peer run minutes later says
//! more about the neighbours than about either program. Each round therefore runs Tessera's
//! benches and the peers back to back on the same thread count, alternating which goes first,
//! and the report gives the median of the per-round ratios with their range.

use std::fmt::Write as _;
use std::path::Path;

use crate::bench::{
    PeerRows, criterion_elements, criterion_nanos, jax_steps, numpy_sgemm, peer_python, peer_value, show,
};
use crate::cargo;

/// Thread counts every comparison runs on.
pub(crate) const THREADS: [usize; 2] = [1, 2];

/// The criterion bench targets that have a peer.
const PEERED_TARGETS: [&str; 6] = ["matmul", "mlp_step", "conv", "lstm", "lm_step", "gpt_step"];

/// The criterion bench targets of the training steps (the peered targets but matmul).
const TRAINING_TARGETS: [&str; 5] = ["mlp_step", "conv", "lstm", "lm_step", "gpt_step"];

const SHAPES: [&str; 7] =
    ["64x64x64", "128x128x128", "256x256x256", "512x512x512", "1024x1024x1024", "2048x2048x2048", "4096x1024x256"];

/// The matmul shape whose one-thread GFLOP/s the report sets beside one core's FMA peak.
const PEAK_CASE: &str = "1024x1024x1024";

/// (criterion bench name, criterion id, the JAX peer's case name).
const TRAINING_CASES: [(&str, &str, &str); 5] = [
    ("mlp_step", "784-256-10_b64", "mlp784-256-10_b64_step"),
    ("conv2d", "3x3_16-32_32x32_b32_fwdbwd", "conv3x3_16to32_32x32_b32_fwdbwd"),
    ("lstm", "in128_h256_seq35_b20_fwdbwd", "lstm_in128_h256_seq35_b20_fwdbwd"),
    ("lm_step", "ptb_small_b20_t20", "lm_ptb_small_b20_t20_step"),
    ("gpt", "char_l4_h4_c128_t64_b12_step", "gpt_char_l4_h4_c128_t64_b12_step"),
];

/// One paired measurement: Tessera's and the peer's value, and Tessera's speed over the peer's.
struct Pair {
    threads: usize,
    case: String,
    ours: f64,
    theirs: f64,
    speedup: f64,
}

/// Every round's pairs, and why a peer could not run (if it could not).
#[derive(Default)]
struct Rounds {
    pairs: Vec<Pair>,
    /// Per one-thread round: one core's FMA peak (GFLOP/s), and Tessera's and numpy's GFLOP/s on
    /// [`PEAK_CASE`].
    peaks: Vec<(f64, Option<(f64, f64)>)>,
    numpy_missing: Option<String>,
    jax_missing: Option<String>,
}

/// Runs `rounds` paired rounds and returns the matmul and training-step tables. The first round
/// runs every bench target (the GPU and TPU tables read those), later ones only the peered ones.
pub(crate) fn report(root: &Path, quick: bool, rounds: usize) -> Result<String, String> {
    let all = paired_rounds(root, quick, rounds, Targets::Peered)?;
    let mut out = matmul_table(&all, rounds);
    out.push('\n');
    out.push_str(&training_table(&all, rounds));
    Ok(out)
}

/// The training steps alone beside JAX, in `rounds` paired rounds.
pub(crate) fn training_report(root: &Path, quick: bool, rounds: usize) -> Result<String, String> {
    let all = paired_rounds(root, quick, rounds, Targets::Training)?;
    Ok(training_table(&all, rounds))
}

/// Which criterion targets a round runs.
#[derive(Clone, Copy, PartialEq)]
enum Targets {
    /// Every target in the first round (the GPU and TPU tables read those), the peered ones after.
    Peered,
    /// Only the training steps.
    Training,
}

fn paired_rounds(root: &Path, quick: bool, rounds: usize, targets: Targets) -> Result<Rounds, String> {
    let python = peer_python(root);
    let mut all = Rounds::default();
    for round in 0..rounds {
        for threads in THREADS {
            let ours_first = round % 2 == 0;
            let mut peers = (Ok(Vec::new()), Ok(Vec::new()));
            let run = |p: &Result<std::path::PathBuf, String>| run_peers(root, p, threads, targets == Targets::Peered);
            if !ours_first {
                peers = run(&python);
            }
            let list: &[&str] = match targets {
                Targets::Peered if round == 0 => &[],
                Targets::Peered => &PEERED_TARGETS,
                Targets::Training => &TRAINING_TARGETS,
            };
            run_ours(threads, quick, list)?;
            if ours_first {
                peers = run(&python);
            }
            all.record(root, threads, &peers);
        }
    }
    Ok(all)
}

fn run_peers(
    root: &Path,
    python: &Result<std::path::PathBuf, String>,
    threads: usize,
    with_numpy: bool,
) -> (PeerRows, PeerRows) {
    let numpy = if with_numpy { python.clone().and_then(|p| numpy_sgemm(root, &p, threads)) } else { Ok(Vec::new()) };
    let jax = python.clone().and_then(|p| jax_steps(root, &p, threads));
    (numpy, jax)
}

/// Tessera's criterion benches on `threads` threads: `targets`, or every target when empty.
fn run_ours(threads: usize, quick: bool, targets: &[&str]) -> Result<(), String> {
    let mut args = vec!["bench", "--package", "tessera-benches"];
    for target in targets {
        args.extend(["--bench", target]);
    }
    args.push("--");
    if quick {
        args.push("--quick");
    }
    cargo(&args, &[("TESSERA_BENCH_THREADS", threads.to_string())])
}

impl Rounds {
    /// Pairs this round's criterion results with the peers' rows.
    fn record(&mut self, root: &Path, threads: usize, (numpy, jax): &(PeerRows, PeerRows)) {
        if let Err(why) = numpy {
            self.numpy_missing = Some(why.clone());
        }
        if let Err(why) = jax {
            self.jax_missing = Some(why.clone());
        }
        let mut at_peak_case = None;
        for shape in SHAPES {
            let ours = criterion_nanos(root, &format!("cpu_matmul_f32_t{threads}"), shape).map(|ns| flops(shape) / ns);
            if let (Some(ours), Some(theirs)) = (ours, peer_value(numpy, threads, shape)) {
                self.pairs.push(Pair { threads, case: shape.into(), ours, theirs, speedup: ours / theirs });
                if shape == PEAK_CASE {
                    at_peak_case = Some((ours, theirs));
                }
            }
        }
        if threads == 1 {
            let peak = ["avx512", "avx2"].iter().find_map(|kind| {
                Some(criterion_elements(root, "cpu_fma_peak", kind)? / criterion_nanos(root, "cpu_fma_peak", kind)?)
            });
            self.peaks.extend(peak.map(|peak| (peak, at_peak_case)));
        }
        for (bench, id, peer_case) in TRAINING_CASES {
            let ours = criterion_nanos(root, &format!("cpu_{bench}_t{threads}"), id).map(|ns| ns / 1e6);
            if let (Some(ours), Some(theirs)) = (ours, peer_value(jax, threads, peer_case)) {
                self.pairs.push(Pair { threads, case: peer_case.into(), ours, theirs, speedup: theirs / ours });
            }
        }
    }

    /// (median of Tessera's values, median of the peer's, median speedup, min and max speedup)
    /// over the rounds of one case, if any round measured it.
    fn summary(&self, threads: usize, case: &str) -> Option<[f64; 5]> {
        let of = |pick: fn(&Pair) -> f64| -> Vec<f64> {
            self.pairs.iter().filter(|p| p.threads == threads && p.case == case).map(pick).collect()
        };
        let speedups = of(|p| p.speedup);
        let (low, high) = speedups.iter().fold((f64::MAX, f64::MIN), |(l, h), &s| (l.min(s), h.max(s)));
        Some([median(of(|p| p.ours))?, median(of(|p| p.theirs))?, median(speedups)?, low, high])
    }
}

/// The median of `values` (the mean of the middle two for an even count).
pub(crate) fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

fn flops(shape: &str) -> f64 {
    2.0 * shape.split('x').filter_map(|d| d.parse::<f64>().ok()).product::<f64>()
}

/// A table row's cells after the case: ours, theirs, median ratio, and the rounds' range.
fn cells(summary: Option<[f64; 5]>, digits: usize) -> String {
    match summary {
        Some([ours, theirs, ratio, low, high]) => {
            format!("{} | {} | {ratio:.2} | {low:.2}–{high:.2}", show(Some(ours), digits), show(Some(theirs), digits))
        }
        None => "- | - | - | -".into(),
    }
}

/// One comparison table: a heading, why the peer is missing (if it is), a header row, and a
/// row per (threads, label, case) with `digits` decimals.
struct Table<'a> {
    heading: String,
    missing: &'a Option<String>,
    header: &'a str,
    rows: Vec<(usize, String, &'a str)>,
    digits: usize,
}

impl Table<'_> {
    fn render(&self, all: &Rounds) -> String {
        let mut out = format!("## {}\n\n", self.heading);
        if let Some(why) = self.missing {
            let _ = writeln!(out, "peer unavailable: {why}\n");
        }
        let _ = writeln!(out, "{}\n|---|---|---|---|---|---|", self.header);
        for (threads, label, case) in &self.rows {
            let _ = writeln!(out, "| {threads} | {label} | {} |", cells(all.summary(*threads, case), self.digits));
        }
        out
    }
}

fn matmul_table(all: &Rounds, rounds: usize) -> String {
    let mut table = Table {
        heading: format!(
            "f32 matmul, backend-cpu vs numpy/OpenBLAS (GFLOP/s, medians of {rounds} paired rounds; ratio > 1 means Tessera is faster)"
        ),
        missing: &all.numpy_missing,
        header: "| threads | shape | tessera | numpy | tessera / numpy | per-round range |",
        rows: THREADS.iter().flat_map(|&t| SHAPES.iter().map(move |&s| (t, s.to_string(), s))).collect(),
        digits: 1,
    }
    .render(all);
    table.push_str(&peak_line(&all.peaks));
    table
}

/// One core's FMA peak over the one-thread rounds, and the share of it each side reached on
/// [`PEAK_CASE`] in the same round.
fn peak_line(peaks: &[(f64, Option<(f64, f64)>)]) -> String {
    let Some(peak) = median(peaks.iter().map(|p| p.0).collect()) else {
        return String::new();
    };
    let shares = |pick: fn(&(f64, f64)) -> f64| -> Vec<f64> {
        peaks.iter().filter_map(|(peak, at)| at.as_ref().map(|at| 100.0 * pick(at) / peak)).collect()
    };
    let show = |shares: Vec<f64>| {
        let each: Vec<String> = shares.iter().map(|s| format!("{s:.0}")).collect();
        median(shares).map_or("-".into(), |m| format!("{m:.0} % ({})", each.join(", ")))
    };
    format!(
        "\nOne core's FMA peak, measured in each one-thread round: {peak:.1} GFLOP/s (median). Share of it \
         at {PEAK_CASE} on one thread, median (each round): Tessera {}, numpy {}.\n",
        show(shares(|at| at.0)),
        show(shares(|at| at.1))
    )
}

fn training_table(all: &Rounds, rounds: usize) -> String {
    Table {
        heading: format!(
            "Training steps, backend-cpu vs JAX (XLA, jit) (ms/step, medians of {rounds} paired rounds; ratio > 1 means Tessera is faster)"
        ),
        missing: &all.jax_missing,
        header: "| threads | workload | tessera | jax | jax / tessera | per-round range |",
        rows: THREADS
            .iter()
            .flat_map(|&t| TRAINING_CASES.iter().map(move |&(bench, id, case)| (t, format!("{bench} {id}"), case)))
            .collect(),
        digits: 3,
    }
    .render(all)
}
