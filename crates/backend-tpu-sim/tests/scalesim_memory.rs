//! SCALE-Sim 3.0's memory model: over a recorded grid of USER bandwidths (1 to 64 words a
//! cycle, and CALC mode), SRAM sizes (1 kB to ample), dataflows, GEMMs and convolutions on arrays from 4x4 to
//! 128x128, the SCALE-Sim timing reproduces SCALE-Sim's total cycles (with and without the
//! prefetch), stall cycles, and SRAM and DRAM counts exactly. The numbers in
//! `fixtures/scalesim_memory.csv` were recorded by `fixtures/run_scalesim.py --memory`.

use backend_tpu_sim::scalesim_memory::{Demand, Interface, MemoryCounts, Operands, ScaleSimMemory, replay};
use backend_tpu_sim::topology::LayerKind;
use backend_tpu_sim::{ConvLayer, Counts, Dataflow, Gemm, Timing, TpuConfig, simulate};

struct Case {
    line: String,
    layer: LayerKind,
    demand: Demand,
    memory: ScaleSimMemory,
    want: [i64; 9],
}

impl Case {
    fn chip(&self) -> TpuConfig {
        let d = &self.demand;
        TpuConfig {
            rows: d.rows,
            cols: d.cols,
            dataflow: d.dataflow,
            timing: Timing::ScaleSim,
            scalesim_memory: Some(self.memory),
            ..TpuConfig::preset("bf16-128").expect("a preset")
        }
    }
}

fn cases() -> Vec<Case> {
    include_str!("fixtures/scalesim_memory.csv")
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let n = |i: usize| f[i].parse::<usize>().unwrap_or_else(|_| panic!("field {i} of {line}"));
            let layer = if f[3] == "gemm" {
                LayerKind::Gemm(Gemm { m: n(5), n: n(6), k: n(7) })
            } else {
                LayerKind::Conv(ConvLayer {
                    height: n(5),
                    width: n(6),
                    filter_height: n(7),
                    filter_width: n(8),
                    channels: n(9),
                    filters: n(10),
                    stride: n(11),
                })
            };
            let ops = match layer {
                LayerKind::Gemm(g) => Operands::gemm(g),
                LayerKind::Conv(c) => Operands::conv(c),
            };
            let dataflow = Dataflow::from_short_name(f[2]).expect("ws, os or is");
            let (bytes, bw) = (n(12) as u64 * 1024, n(13) as u64);
            let memory = ScaleSimMemory {
                ifmap_bytes: bytes,
                filter_bytes: bytes,
                ofmap_bytes: bytes,
                interface: if bw == 0 { Interface::Calc } else { Interface::User { ifmap: bw, filter: bw, ofmap: bw } },
            };
            let mut want = [0i64; 9];
            for (w, i) in want.iter_mut().zip(14..23) {
                *w = f[i].parse().unwrap_or_else(|_| panic!("field {i} of {line}"));
            }
            Case { line: line.to_string(), layer, demand: Demand::new(ops, dataflow, n(0), n(1)), memory, want }
        })
        .collect()
}

fn got(m: &MemoryCounts) -> [i64; 6] {
    [
        m.span_incl_prefetch,
        m.last_cycle,
        m.stalls() as i64,
        m.ifmap_dram_reads as i64,
        m.filter_dram_reads as i64,
        m.ofmap_dram_writes as i64,
    ]
}

#[test]
fn the_replay_agrees_with_scalesim_on_every_recorded_case() {
    let cases = cases();
    assert!(cases.len() >= 150, "the recorded grid");
    let mut bad = 0;
    for case in &cases {
        let m = replay(&case.demand, &case.memory);
        let want = [case.want[0], case.want[1], case.want[2], case.want[6], case.want[7], case.want[8]];
        if got(&m) != want {
            bad += 1;
            eprintln!("{}\n  got  {:?}\n  want {:?}", case.line, got(&m), want);
        }
    }
    assert_eq!(bad, 0, "cases that disagree");
}

/// SCALE-Sim's nine columns from a chip's counts.
fn columns(k: &Counts) -> [i64; 9] {
    [
        k.scalesim_total_cycles_incl_prefetch(),
        k.scalesim_total_cycles(),
        k.stall_cycles(),
        k.ifmap_reads,
        k.filter_reads,
        k.ofmap_writes,
        k.ifmap_dram_reads,
        k.filter_dram_reads,
        k.ofmap_dram_writes,
    ]
    .map(|v| v as i64)
}

#[test]
fn a_chip_in_scalesim_timing_gives_scalesims_columns_fast_and_stepped() {
    for case in cases() {
        let chip = case.chip();
        let fast = simulate::fast_layer(&chip, case.layer);
        assert_eq!(columns(&fast.counts), case.want, "fast mode on {}", case.line);
        let g = fast.plan.gemm;
        let lhs: Vec<f32> = (0..g.m * g.k).map(|i| (i % 7) as f32 - 3.0).collect();
        let rhs: Vec<f32> = (0..g.k * g.n).map(|i| (i % 5) as f32 - 2.0).collect();
        let (_, stepped) = simulate::stepped_layer::<f32>(&chip, case.layer, &lhs, &rhs);
        assert_eq!(stepped.counts, fast.counts, "stepped mode on {}", case.line);
        let k = &fast.counts;
        assert_eq!(k.dram_read_bytes, k.ifmap_dram_reads + k.filter_dram_reads, "one-byte words");
    }
}

#[test]
fn a_scalesim_cfg_with_user_bandwidth_brings_its_memory() {
    let cfg = "[general]\nrun_name = issue30\n\n[architecture_presets]\nArrayHeight: 32\nArrayWidth: 32\n\
               IfmapSramSzkB: 4\nFilterSramSzkB: 4\nOfmapSramSzkB: 4\nBandwidth: 10\nDataflow: ws\n\n\
               [layout]\nIfmapSRAMBankBandwidth: 8\nFilterSRAMBankBandwidth: 6\n\n\
               [run_presets]\nInterfaceBandwidth: USER\n";
    let path = std::env::temp_dir().join(format!("tessera-issue30-{}.cfg", std::process::id()));
    std::fs::write(&path, cfg).expect("a temporary file");
    let chip = TpuConfig::load(&path);
    let calc = TpuConfig::load(&{
        std::fs::write(&path, cfg.replace("USER", "CALC")).expect("a temporary file");
        path.clone()
    });
    let bad = TpuConfig::load(&{
        std::fs::write(&path, cfg.replace("USER", "SOMETIMES")).expect("a temporary file");
        path.clone()
    });
    let _ = std::fs::remove_file(&path);
    let memory = chip.expect("a valid config").scalesim_memory.expect("SCALE-Sim's memories");
    assert_eq!(
        memory,
        ScaleSimMemory {
            ifmap_bytes: 4096,
            filter_bytes: 4096,
            ofmap_bytes: 4096,
            interface: Interface::User { ifmap: 8, filter: 6, ofmap: 10 },
        }
    );
    assert_eq!(calc.expect("a valid config").scalesim_memory.map(|m| m.interface), Some(Interface::Calc));
    assert!(bad.is_err(), "an unknown InterfaceBandwidth is an error");
}

mod demand {
    use backend_tpu_sim::scalesim_memory::{Demand, Interface, Operands, ScaleSimMemory, replay};
    use backend_tpu_sim::{ConvLayer, Dataflow, FoldPlan, analytic};
    use proptest::prelude::*;

    fn dataflow() -> impl Strategy<Value = Dataflow> {
        prop_oneof![Just(Dataflow::WeightStationary), Just(Dataflow::OutputStationary), Just(Dataflow::InputStationary)]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The demand the memories see is the array's SRAM traffic, word for word, and with
        /// ample memory it costs no stall: the cycles are the array's.
        #[test]
        fn the_demand_is_the_arrays_traffic_and_ample_memory_never_stalls(
            (h, r, c, m, stride) in (1usize..12, 1usize..4, 1usize..5, 1usize..9, 1usize..3),
            (rows, cols) in (1usize..9, 1usize..9),
            dataflow in dataflow(),
        ) {
            let conv = ConvLayer {
                height: h + r - 1, width: h + r, filter_height: r, filter_width: r,
                channels: c, filters: m, stride,
            };
            let ops = Operands::conv(conv);
            let demand = Demand::new(ops, dataflow, rows, cols);
            let plan = FoldPlan::new(conv.as_gemm(), dataflow, rows, cols);
            let want = analytic::counts(&plan);
            let (row_folds, col_folds) = demand.folds();
            let (mut ifmap, mut filter) = (Vec::new(), Vec::new());
            let (mut reads, mut weights, mut writes) = (0u64, 0u64, 0u64);
            for fc in 0..col_folds {
                for fr in 0..row_folds {
                    for x in 0..demand.fold_rows() {
                        writes += demand.cycle(fr, fc, x, &mut ifmap, &mut filter) as u64;
                        reads += ifmap.len() as u64;
                        weights += filter.len() as u64;
                    }
                }
            }
            // SCALE-Sim counts `rows + cols` extra OS writes per fold that its demand never makes.
            let extra = if dataflow == Dataflow::OutputStationary { want.folds * (rows + cols) as u64 } else { 0 };
            prop_assert_eq!((reads, weights, writes + extra), (want.ifmap_reads, want.filter_reads, want.ofmap_writes));
            let ample = ScaleSimMemory {
                ifmap_bytes: 1 << 20,
                filter_bytes: 1 << 20,
                ofmap_bytes: 1 << 20,
                interface: Interface::User { ifmap: 64, filter: 64, ofmap: 64 },
            };
            let m = replay(&demand, &ample);
            prop_assert_eq!(m.stalls(), 0);
            prop_assert_eq!(m.last_cycle as u64 + 1, want.cycles);
            prop_assert_eq!(m.ofmap_dram_writes, writes);
        }
    }
}
