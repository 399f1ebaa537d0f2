//! Reports and traces: totals are the sum of layers, times and TOPS follow the clock, and the
//! Chrome trace lays the folds end to end over exactly the reported cycles.

use backend_tpu_sim::topology::{Layer, LayerKind};
use backend_tpu_sim::{Gemm, Report, TpuConfig};

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
fn the_trace_lays_folds_end_to_end() {
    let config = TpuConfig::preset("bf16-128").unwrap();
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
