//! A run as a Chrome trace-event timeline (opens in Perfetto or chrome://tracing), in
//! microseconds at the configured clock: one track of layers; in SCALE-Sim's timing one of each
//! fold's phases (loading the stationary tile, streaming); in the faithful timing one per unit
//! (weight DMA, input DMA, shifter, array, output DMA) and one of stalls by cause.

use serde_json::{Value, json};

use crate::memory::{FoldTimes, Schedule};
use crate::{Report, analytic};

/// The tracks, in order.
const TRACKS: [&str; 7] = ["layers", "folds", "weight DMA", "input DMA", "shift tile", "stalls", "output DMA"];

impl Report {
    /// The run as Chrome trace-event JSON.
    pub fn chrome_trace(&self) -> Value {
        let us_per_cycle = 1.0 / self.config.clock_mhz;
        let mut events = vec![
            json!({"name": "process_name", "ph": "M", "pid": 0, "args": {"name": format!("tpu-sim {}", self.config.name)}}),
        ];
        for (tid, name) in TRACKS.iter().enumerate() {
            events.push(json!({"name": "thread_name", "ph": "M", "pid": 0, "tid": tid, "args": {"name": name}}));
        }
        let mut add = |name: &str, track: usize, start: u64, cycles: u64, args: Value| {
            if cycles > 0 {
                events.push(json!({
                    "name": name, "ph": "X", "pid": 0, "tid": track,
                    "ts": start as f64 * us_per_cycle, "dur": cycles as f64 * us_per_cycle, "args": args,
                }));
            }
        };
        let mut now = 0u64;
        for layer in &self.layers {
            let c = &layer.counts;
            let g = layer.plan.gemm;
            let args = json!({
                "gemm": format!("{}x{}x{}", g.m, g.n, g.k), "cycles": c.cycles, "folds": c.folds,
                "utilisation": c.utilisation(self.config.pes()), "weight_stalls": c.weight_stall_cycles,
                "input_stalls": c.input_stall_cycles, "output_stalls": c.output_stall_cycles,
                "ifmap_reads": c.ifmap_reads, "filter_reads": c.filter_reads, "ofmap_writes": c.ofmap_writes,
                "dram_read_bytes": c.dram_read_bytes, "dram_write_bytes": c.dram_write_bytes,
            });
            add(&layer.name, 0, now, c.cycles, args);
            match &layer.schedule {
                Some(schedule) => faithful_events(schedule, now, &mut add),
                None => {
                    let mut at = now;
                    for (index, (fold, f)) in analytic::fold_counts(&layer.plan).enumerate() {
                        let tile = json!({"fold": index, "rows_used": fold.rows_used, "cols_used": fold.cols_used});
                        add("load tile", 1, at, f.load_cycles, tile.clone());
                        add("stream", 1, at + f.load_cycles, f.stream_cycles, tile);
                        at += f.cycles;
                    }
                }
            }
            now += c.cycles;
        }
        json!({ "traceEvents": events, "displayTimeUnit": "ns" })
    }

    /// Writes [`Report::chrome_trace`] to `out`.
    pub fn write_chrome_trace(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer(out, &self.chrome_trace()).map_err(std::io::Error::other)
    }
}

/// The units' work and the array's stalls of one faithful timeline starting at cycle `at`.
fn faithful_events(schedule: &Schedule, at: u64, add: &mut impl FnMut(&str, usize, u64, u64, Value)) {
    let span = |add: &mut dyn FnMut(&str, usize, u64, u64, Value), name: &str, track, (s, e): (u64, u64), fold| {
        add(name, track, at + s, e - s, json!({ "fold": fold }));
    };
    let mut idle_from = 0;
    for (fold, t) in schedule.folds.iter().enumerate() {
        let FoldTimes { fetch, input, shift, stream, stalls, .. } = *t;
        span(add, "stream", 1, stream, fold);
        span(add, "weights", 2, fetch, fold);
        span(add, "inputs", 3, input, fold);
        span(add, "shift", 4, shift, fold);
        // The wait before the stream, split in the order the causes were attributed.
        let mut s = idle_from;
        for (cause, cycles) in
            [("weight stall", stalls.weights), ("input stall", stalls.inputs), ("output stall", stalls.outputs)]
        {
            span(add, cause, 5, (s, s + cycles), fold);
            s += cycles;
        }
        idle_from = stream.1;
    }
    for (group, &out) in schedule.outputs.iter().enumerate() {
        span(add, "outputs", 6, out, group);
    }
}
