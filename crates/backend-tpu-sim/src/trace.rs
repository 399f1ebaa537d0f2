//! A run as a Chrome trace-event timeline (opens in Perfetto or chrome://tracing): one track of
//! layers, one of each fold's phases (loading the stationary tile, streaming), in microseconds at
//! the configured clock.

use serde_json::{Value, json};

use crate::{Report, analytic};

impl Report {
    /// The run as Chrome trace-event JSON.
    pub fn chrome_trace(&self) -> Value {
        let us_per_cycle = 1.0 / self.config.clock_mhz;
        let event = |name: String, track: u32, start: u64, cycles: u64, args: Value| {
            json!({
                "name": name, "ph": "X", "pid": 0, "tid": track,
                "ts": start as f64 * us_per_cycle, "dur": cycles as f64 * us_per_cycle, "args": args,
            })
        };
        let mut events = vec![
            json!({"name": "process_name", "ph": "M", "pid": 0, "args": {"name": format!("tpu-sim {}", self.config.name)}}),
            json!({"name": "thread_name", "ph": "M", "pid": 0, "tid": 0, "args": {"name": "layers"}}),
            json!({"name": "thread_name", "ph": "M", "pid": 0, "tid": 1, "args": {"name": "folds"}}),
        ];
        let mut now = 0u64;
        for layer in &self.layers {
            let c = &layer.counts;
            let g = layer.plan.gemm;
            events.push(event(
                layer.name.clone(),
                0,
                now,
                c.cycles,
                json!({
                    "gemm": format!("{}x{}x{}", g.m, g.n, g.k), "cycles": c.cycles, "folds": c.folds,
                    "utilisation": c.utilisation(self.config.pes()), "ifmap_reads": c.ifmap_reads,
                    "filter_reads": c.filter_reads, "ofmap_writes": c.ofmap_writes,
                }),
            ));
            for (index, (fold, f)) in analytic::fold_counts(&layer.plan).enumerate() {
                let tile = json!({"fold": index, "rows_used": fold.rows_used, "cols_used": fold.cols_used});
                if f.load_cycles > 0 {
                    events.push(event("load tile".into(), 1, now, f.load_cycles, tile.clone()));
                }
                events.push(event("stream".into(), 1, now + f.load_cycles, f.stream_cycles, tile));
                now += f.cycles;
            }
        }
        json!({ "traceEvents": events, "displayTimeUnit": "ns" })
    }

    /// Writes [`Report::chrome_trace`] to `out`.
    pub fn write_chrome_trace(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer(out, &self.chrome_trace()).map_err(std::io::Error::other)
    }
}
