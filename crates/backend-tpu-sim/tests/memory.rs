//! The faithful timing on cases small enough to follow by hand, the memory settings each
//! doing what they say, and the tpu-v1 studies: an MLP at batch 200 waits on weights; a
//! convolution-heavy network keeps the array busy.

use std::path::Path;

use backend_tpu_sim::memory::{Bandwidth, FoldTimes, Stalls};
use backend_tpu_sim::topology::read_topology;
use backend_tpu_sim::{Dataflow, Gemm, InputType, Report, Timing, TpuConfig, simulate};

/// A 4x4 int8 weight-stationary chip with weights arriving at `weight_bw` bytes a cycle.
fn small_chip(weight_bw: f64) -> TpuConfig {
    let mut c = TpuConfig::preset("tpu-v1").unwrap();
    (c.rows, c.cols, c.dataflow, c.input) = (4, 4, Dataflow::WeightStationary, InputType::Int8);
    c.dram_bytes_per_cycle = weight_bw;
    c
}

#[test]
fn two_folds_by_hand() {
    // [10, 8] x [8, 4] on 4x4: two 16-byte weight tiles (k 0..4, 4..8), ten vectors each.
    let gemm = Gemm { m: 10, n: 4, k: 8 };
    let fast = simulate::fast(&small_chip(4.0), gemm);
    let s = fast.schedule.as_ref().unwrap();
    let fold = |fetch, shift, stream, drained, weights| FoldTimes {
        fetch,
        input: (0, 0),
        shift,
        stream,
        drained,
        stalls: Stalls { weights, inputs: 0, outputs: 0 },
    };
    // Tile 0 arrives in 4 cycles and shifts in 4; tile 1 arrives meanwhile and shifts in while
    // fold 0 streams, so fold 1 follows fold 0 without a gap. Results drain rows + cols - 2.
    assert_eq!(s.folds[0], fold((0, 4), (4, 8), (8, 18), 24, 8));
    assert_eq!(s.folds[1], FoldTimes { input: (0, 0), ..fold((4, 8), (8, 12), (18, 28), 34, 0) });
    assert_eq!((s.cycles, s.stream_cycles, s.stalls.weights), (34, 26, 8));

    // At a quarter of the bandwidth tile 1 arrives at cycle 32: fold 1 waits 6 cycles for it
    // to arrive (cycle 32) and shift in (cycle 36).
    let slow = simulate::fast(&small_chip(1.0), gemm);
    let s = slow.schedule.as_ref().unwrap();
    assert_eq!((s.folds[1].fetch, s.folds[1].shift, s.folds[1].stream), ((16, 32), (32, 36), (36, 46)));
    assert_eq!((s.cycles, s.stalls.weights), (52, 20 + 6));
    assert_eq!(slow.counts.dram_read_bytes, 32);
}

#[test]
fn bandwidth_is_exact_in_integers() {
    let tpu_v1 = Bandwidth::from_bytes_per_cycle(34e9 / 700e6);
    assert_eq!(tpu_v1.cycles(256 * 256), 1350, "a 64 KiB tile over 34 GB/s at 700 MHz");
    assert_eq!(tpu_v1.cycles(0), 0);
    assert_eq!(Bandwidth::from_bytes_per_cycle(0.5).cycles(3), 6);
}

#[test]
fn each_memory_setting_does_what_it_says() {
    let gemm = Gemm { m: 300, n: 512, k: 1024 };
    let base = TpuConfig::preset("tpu-v1").unwrap();
    let run = |c: &TpuConfig| simulate::fast(c, gemm).counts;
    let plain = run(&base);
    assert_eq!((plain.input_stall_cycles, plain.dram_write_bytes), (0, 0), "the layer fits on chip");
    // More weight bandwidth: fewer weight stalls.
    let fast_dram = TpuConfig { dram_bytes_per_cycle: base.dram_bytes_per_cycle * 8.0, ..base.clone() };
    assert!(run(&fast_dram).weight_stall_cycles < plain.weight_stall_cycles);
    // A one-tile FIFO cannot fetch ahead.
    let shallow = TpuConfig { weight_fifo_tiles: 1, ..base.clone() };
    assert!(run(&shallow).weight_stall_cycles > plain.weight_stall_cycles);
    // A unified buffer too small for the layer: inputs and outputs cross the host link.
    let small_buffer = TpuConfig { unified_buffer_bytes: 64 << 10, ..base.clone() };
    let spilled = run(&small_buffer);
    assert!(spilled.dram_read_bytes > plain.dram_read_bytes && spilled.dram_write_bytes == 300 * 512);
    assert!(spilled.cycles > plain.cycles && spilled.input_stall_cycles + spilled.output_stall_cycles > 0);
    // Accumulators for 100 vectors per half: three passes, each fetching every weight tile again.
    let small_acc = TpuConfig { accumulator_bytes: 2 * 100 * 256 * 4, ..base.clone() };
    let split = simulate::fast(&small_acc, gemm);
    assert_eq!(split.passes.len(), 3);
    assert_eq!(split.counts.dram_read_bytes, 3 * plain.dram_read_bytes);
    // Every cycle streams or stalls, in both.
    for c in [plain, spilled, split.counts] {
        assert_eq!(c.cycles, c.stream_cycles + c.stall_cycles());
    }
}

#[test]
fn faithful_timing_overlaps_what_scalesim_runs_back_to_back() {
    // With weights close at hand, double buffering hides every load but the first and folds
    // share their fill and drain; SCALE-Sim's accounting charges each fold for both.
    let mut c = TpuConfig::preset("bf16-128").unwrap();
    c.dram_bytes_per_cycle = 1e6;
    let gemm = Gemm { m: 1024, n: 1024, k: 1024 };
    let faithful = simulate::fast(&c, gemm).counts;
    let scalesim = simulate::fast(&TpuConfig { timing: Timing::ScaleSim, ..c.clone() }, gemm).counts;
    assert_eq!(faithful.weight_stall_cycles, 1 + 128, "the first tile's fetch and shift");
    assert_eq!(faithful.cycles, 64 * 1024 + (1 + 128) + (128 + 128 - 2));
    assert_eq!(scalesim.cycles, 64 * (128 + 1024 + 128 + 128 - 2));
    assert_eq!(faithful.useful_macs, scalesim.useful_macs);
}

fn study(file: &str) -> Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("studies").join(file);
    let layers = read_topology(&path).expect("the study's topology parses");
    Report::fast(&TpuConfig::preset("tpu-v1").unwrap(), &layers)
}

#[test]
fn on_tpu_v1_an_mlp_at_batch_200_waits_on_weights() {
    let report = study("tpu_v1_mlp.csv");
    println!("{report}");
    let t = report.total();
    let stalled = t.weight_stall_cycles as f64 / t.cycles as f64;
    assert!(stalled > 0.8, "weight stalls are {:.1}% of cycles", 100.0 * stalled);
    assert!(t.utilisation(256 * 256) < 0.2, "utilisation {:.3}", t.utilisation(256 * 256));
}

#[test]
fn on_tpu_v1_a_convolution_heavy_network_keeps_the_array_busy() {
    let report = study("tpu_v1_cnn.csv");
    println!("{report}");
    let t = report.total();
    assert!(t.utilisation(256 * 256) > 0.9, "utilisation {:.3}", t.utilisation(256 * 256));
    assert!(t.stall_cycles() * 10 < t.cycles, "stalls {} of {} cycles", t.stall_cycles(), t.cycles);
}
