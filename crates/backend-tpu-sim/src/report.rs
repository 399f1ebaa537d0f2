//! Reports: per layer and in total, the cycles, traffic, utilisation and throughput of a run.

use std::fmt;

use crate::topology::Layer;
use crate::{Counts, FoldPlan, TpuConfig, analytic};

/// One layer's simulated cost.
#[derive(Clone, Debug)]
pub struct LayerReport {
    /// The layer's name.
    pub name: String,
    /// Its tiling on the array.
    pub plan: FoldPlan,
    /// Its counts.
    pub counts: Counts,
}

/// A run of layers on one configuration.
#[derive(Clone, Debug)]
pub struct Report {
    /// The chip.
    pub config: TpuConfig,
    /// Each layer, in order.
    pub layers: Vec<LayerReport>,
}

impl Report {
    /// Simulates `layers` on `config` in the fast mode.
    pub fn fast(config: &TpuConfig, layers: &[Layer]) -> Report {
        let layers = layers
            .iter()
            .map(|layer| {
                let plan = FoldPlan::new(layer.gemm(), config.dataflow, config.rows, config.cols);
                LayerReport { name: layer.name.clone(), plan, counts: analytic::counts(&plan) }
            })
            .collect();
        Report { config: config.clone(), layers }
    }

    /// The sum over layers.
    pub fn total(&self) -> Counts {
        let mut total = Counts::default();
        for layer in &self.layers {
            total += layer.counts;
        }
        total
    }

    /// Seconds at the configured clock.
    pub fn seconds(&self, counts: &Counts) -> f64 {
        counts.cycles as f64 / (self.config.clock_mhz * 1e6)
    }

    /// Achieved tera-operations per second (2 per MAC) at the configured clock.
    pub fn tops(&self, counts: &Counts) -> f64 {
        let seconds = self.seconds(counts);
        if seconds == 0.0 { 0.0 } else { 2.0 * counts.useful_macs as f64 / seconds / 1e12 }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        let pes = c.pes();
        writeln!(
            f,
            "{}: {}x{} {} array, {:?} operands, {} MHz (peak {:.1} TOPS)",
            c.name,
            c.rows,
            c.cols,
            c.dataflow.short_name(),
            c.input,
            c.clock_mhz,
            2.0 * pes as f64 * c.clock_mhz * 1e6 / 1e12
        )?;
        writeln!(
            f,
            "{:<14} {:>16} {:>12} {:>12} {:>12} {:>7} {:>7} {:>12} {:>12} {:>12} {:>10} {:>7}",
            "layer",
            "gemm m,n,k",
            "cycles",
            "load",
            "stream",
            "util%",
            "map%",
            "ifmap rd",
            "filter rd",
            "ofmap wr",
            "time us",
            "TOPS"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, gemm: String, k: &Counts| {
            writeln!(
                f,
                "{:<14} {:>16} {:>12} {:>12} {:>12} {:>7.2} {:>7.2} {:>12} {:>12} {:>12} {:>10.2} {:>7.2}",
                name,
                gemm,
                k.cycles,
                k.load_cycles,
                k.stream_cycles,
                100.0 * k.utilisation(pes),
                100.0 * k.mapping_efficiency(pes),
                k.ifmap_reads,
                k.filter_reads,
                k.ofmap_writes,
                self.seconds(k) * 1e6,
                self.tops(k)
            )
        };
        for layer in &self.layers {
            let g = layer.plan.gemm;
            row(f, &layer.name, format!("{},{},{}", g.m, g.n, g.k), &layer.counts)?;
        }
        row(f, "total", String::new(), &self.total())
    }
}
