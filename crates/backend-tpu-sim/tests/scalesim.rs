//! SCALE-Sim 3.0 compatibility: over a grid of arrays (4x4 to 128x128, square and not), all
//! three dataflows, odd GEMMs and convolutions, the fast mode and the stepped array reproduce
//! SCALE-Sim's total cycles and SRAM read and write counts exactly. The numbers in
//! `fixtures/scalesim_grid.csv` were recorded by `fixtures/run_scalesim.py` (SCALE-Sim 3.0.0).

use backend_tpu_sim::{ConvLayer, Counts, Dataflow, FoldPlan, Gemm, Timing, TpuConfig, analytic, simulate, stepped};

struct Case {
    name: String,
    plan: FoldPlan,
    total_cycles: u64,
    ifmap_reads: u64,
    filter_reads: u64,
    ofmap_writes: u64,
}

fn cases() -> Vec<Case> {
    let text = include_str!("fixtures/scalesim_grid.csv");
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let n = |i: usize| f[i].parse::<usize>().unwrap_or_else(|_| panic!("field {i} of {line}"));
            let gemm = if f[3] == "gemm" {
                Gemm { m: n(5), n: n(6), k: n(7) }
            } else {
                ConvLayer {
                    height: n(5),
                    width: n(6),
                    filter_height: n(7),
                    filter_width: n(8),
                    channels: n(9),
                    filters: n(10),
                    stride: n(11),
                }
                .as_gemm()
            };
            let dataflow = Dataflow::from_short_name(f[2]).expect("ws, os or is");
            Case {
                name: format!("{}x{} {} {}", f[0], f[1], f[2], f[4]),
                plan: FoldPlan::new(gemm, dataflow, n(0), n(1)),
                total_cycles: n(12) as u64,
                ifmap_reads: n(14) as u64,
                filter_reads: n(15) as u64,
                ofmap_writes: n(16) as u64,
            }
        })
        .collect()
}

fn check(case: &Case, counts: &Counts, mode: &str) {
    let got = (counts.scalesim_total_cycles(), counts.ifmap_reads, counts.filter_reads, counts.ofmap_writes);
    let want = (case.total_cycles, case.ifmap_reads, case.filter_reads, case.ofmap_writes);
    assert_eq!(got, want, "{mode} on {}: (total cycles, ifmap, filter, ofmap)", case.name);
}

#[test]
fn the_fast_mode_agrees_with_scalesim_on_every_case() {
    let cases = cases();
    assert_eq!(cases.len(), 6 * 3 * 7, "the recorded grid");
    for case in &cases {
        check(case, &analytic::counts(&case.plan), "fast mode");
    }
}

#[test]
fn the_stepped_array_agrees_with_scalesim_on_every_case() {
    for case in cases() {
        let g = case.plan.gemm;
        let lhs: Vec<f32> = (0..g.m * g.k).map(|i| (i % 7) as f32 - 3.0).collect();
        let rhs: Vec<f32> = (0..g.k * g.n).map(|i| (i % 5) as f32 - 2.0).collect();
        let (_, counts) = stepped::run::<f32>(&case.plan, &lhs, &rhs);
        check(&case, &counts, "stepped array");
    }
}

#[test]
fn a_chip_in_scalesim_timing_agrees_with_scalesim_on_every_case() {
    for case in cases() {
        let p = case.plan;
        let mut config = TpuConfig::preset("tpu-v1").unwrap();
        (config.rows, config.cols, config.dataflow, config.timing) = (p.rows, p.cols, p.dataflow, Timing::ScaleSim);
        let run = simulate::fast(&config, p.gemm);
        assert_eq!((run.passes.len(), run.schedule), (1, None));
        check(&case, &run.counts, "scalesim timing");
    }
}
