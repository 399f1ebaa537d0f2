//! Reports and traces: totals are the sum of layers, times and TOPS follow the clock; the
//! Chrome trace lays SCALE-Sim's folds end to end over exactly the reported cycles, and in the
//! faithful timing shows every cycle of the array as streaming or a stall.

use backend_tpu_sim::topology::{Layer, LayerKind};
use backend_tpu_sim::{Gemm, Report, Timing, TpuConfig};
use serde_json::Value;

fn layers() -> Vec<Layer> {
    [("fc1", Gemm { m: 200, n: 300, k: 784 }), ("fc2", Gemm { m: 200, n: 10, k: 300 })]
        .into_iter()
        .map(|(name, g)| Layer { name: name.into(), kind: LayerKind::Gemm(g) })
        .collect()
}

#[test]
fn totals_times_and_tops_follow_the_layers_and_clock() {
    let config = TpuConfig::preset("tpu-v1").unwrap();
    let report = Report::fast(&config, &layers());
    let total = report.total();
    assert_eq!(total.cycles, report.layers.iter().map(|l| l.counts.cycles).sum::<u64>());
    assert_eq!(total.useful_macs, 200 * 300 * 784 + 200 * 10 * 300);
    assert!((report.seconds(&total) - total.cycles as f64 / 700e6).abs() < 1e-15);
    let peak = 2.0 * 256.0 * 256.0 * 700e6 / 1e12;
    let tops = report.tops(&total);
    assert!(tops > 0.0 && tops <= peak, "{tops} TOPS of {peak}");
    let text = report.to_string();
    assert!(
        text.contains("fc1") && text.contains("fc2") && text.lines().last().unwrap().starts_with("total"),
        "{text}"
    );
}

#[test]
fn the_scalesim_trace_lays_folds_end_to_end() {
    let config = TpuConfig { timing: Timing::ScaleSim, ..TpuConfig::preset("bf16-128").unwrap() };
    let report = Report::fast(&config, &layers());
    let trace = report.chrome_trace();
    let events = trace["traceEvents"].as_array().unwrap();
    let us_per_cycle = 1.0 / config.clock_mhz;
    let folds: Vec<_> = events.iter().filter(|e| e["tid"] == 1 && e["ph"] == "X").collect();
    let layer_events: Vec<_> = events.iter().filter(|e| e["tid"] == 0 && e["ph"] == "X").collect();
    assert_eq!(layer_events.len(), 2);
    let total = report.total();
    assert_eq!(folds.iter().filter(|e| e["name"] == "stream").count() as u64, total.folds);
    let mut end = 0.0f64;
    for e in &folds {
        let (ts, dur) = (e["ts"].as_f64().unwrap(), e["dur"].as_f64().unwrap());
        assert!((ts - end).abs() < 1e-6, "events are contiguous");
        end = ts + dur;
    }
    assert!((end - total.cycles as f64 * us_per_cycle).abs() < 1e-6);
    let mut bytes = Vec::new();
    report.write_chrome_trace(&mut bytes).unwrap();
    assert!(serde_json::from_slice::<serde_json::Value>(&bytes).is_ok());
}

/// The `[start, end)` cycles of the trace events on `track`, in order.
fn spans(trace: &Value, track: u64, clock_mhz: f64) -> Vec<(u64, u64)> {
    let mut spans: Vec<(u64, u64)> = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["tid"] == track && e["ph"] == "X")
        .map(|e| {
            let cycles = |key: &str| (e[key].as_f64().unwrap() * clock_mhz).round() as u64;
            (cycles("ts"), cycles("ts") + cycles("dur"))
        })
        .collect();
    spans.sort();
    spans
}

#[test]
fn the_faithful_trace_shows_every_cycle_streaming_or_stalled() {
    let config = TpuConfig { dram_bytes_per_cycle: 8.0, ..TpuConfig::preset("bf16-128").unwrap() };
    let report = Report::fast(&config, &layers());
    let trace = report.chrome_trace();
    let layer_spans = spans(&trace, 0, config.clock_mhz);
    let mut busy = spans(&trace, 1, config.clock_mhz);
    busy.extend(spans(&trace, 5, config.clock_mhz));
    busy.sort();
    let total = report.total();
    assert!(total.weight_stall_cycles > 0, "slow weights stall the array");
    for (layer, &(start, end)) in report.layers.iter().zip(&layer_spans) {
        let inside: Vec<_> = busy.iter().filter(|s| s.0 >= start && s.1 <= end).collect();
        let mut at = start;
        for span in &inside {
            assert_eq!(span.0, at, "{}: streams and stalls leave no gap", layer.name);
            at = span.1;
        }
        assert!(end - at <= (config.rows + config.cols) as u64, "{}: only the last drain follows", layer.name);
    }
    for track in [2, 3, 4, 6] {
        assert!(spans(&trace, track, config.clock_mhz).iter().all(|s| s.1 > s.0));
    }
}
