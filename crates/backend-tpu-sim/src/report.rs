//! Reports: per layer and in total, the cycles, traffic, utilisation and throughput of a run.

use std::fmt;

use crate::memory::Schedule;
use crate::scalesim_memory::Interface;
use crate::topology::Layer;
use crate::{Counts, FoldPlan, Timing, TpuConfig, simulate};

/// One layer's simulated cost.
#[derive(Clone, Debug)]
pub struct LayerReport {
    /// The layer's name.
    pub name: String,
    /// Its tiling on the array.
    pub plan: FoldPlan,
    /// Its counts.
    pub counts: Counts,
    /// Its timeline, in the faithful timing.
    pub schedule: Option<Schedule>,
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
                let run = simulate::fast_layer(config, layer.kind);
                LayerReport { name: layer.name.clone(), plan: run.plan, counts: run.counts, schedule: run.schedule }
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
            "{}: {}x{} {} array, {:?} operands, {} MHz (peak {:.1} TOPS), {:?} timing",
            c.name,
            c.rows,
            c.cols,
            c.dataflow.short_name(),
            c.input,
            c.clock_mhz,
            2.0 * pes as f64 * c.clock_mhz * 1e6 / 1e12,
            c.timing
        )?;
        writeln!(
            f,
            "{:<12} {:>15} {:>11} {:>11} {:>11} {:>9} {:>9} {:>10} {:>6} {:>6} {:>11} {:>11} {:>11} {:>11} {:>11} {:>9} {:>6}",
            "layer",
            "gemm m,n,k",
            "cycles",
            "stream",
            "stall:wts",
            "inputs",
            "outputs",
            "load",
            "util%",
            "map%",
            "ifmap rd",
            "filter rd",
            "ofmap wr",
            "dram rd B",
            "dram wr B",
            "time us",
            "TOPS"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, gemm: String, k: &Counts| {
            writeln!(
                f,
                "{:<12} {:>15} {:>11} {:>11} {:>11} {:>9} {:>9} {:>10} {:>6.2} {:>6.2} {:>11} {:>11} {:>11} {:>11} {:>11} {:>9.2} {:>6.2}",
                name,
                gemm,
                k.cycles,
                k.stream_cycles,
                k.weight_stall_cycles,
                k.input_stall_cycles,
                k.output_stall_cycles,
                k.load_cycles,
                100.0 * k.utilisation(pes),
                100.0 * k.mapping_efficiency(pes),
                k.ifmap_reads,
                k.filter_reads,
                k.ofmap_writes,
                k.dram_read_bytes,
                k.dram_write_bytes,
                self.seconds(k) * 1e6,
                self.tops(k)
            )
        };
        for layer in &self.layers {
            let g = layer.plan.gemm;
            row(f, &layer.name, format!("{},{},{}", g.m, g.n, g.k), &layer.counts)?;
        }
        row(f, "total", String::new(), &self.total())?;
        if c.timing == Timing::ScaleSim && c.scalesim_memory.is_some() {
            self.fmt_scalesim_columns(f)?;
        }
        Ok(())
    }
}

impl Report {
    /// SCALE-Sim's compute and DRAM columns as SCALE-Sim prints them (cycles as the index of
    /// the last cycle, DRAM traffic in words).
    fn fmt_scalesim_columns(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(m) = self.config.scalesim_memory {
            let interface = match m.interface {
                Interface::User { ifmap, filter, ofmap } => {
                    format!("USER bandwidth {ifmap}/{filter}/{ofmap} words a cycle (ifmap/filter/ofmap)")
                }
                Interface::Calc => "CALC bandwidth".to_string(),
            };
            writeln!(
                f,
                "SCALE-Sim's columns: SRAMs {}/{}/{} kB, {interface}",
                m.ifmap_bytes / 1024,
                m.filter_bytes / 1024,
                m.ofmap_bytes / 1024
            )?;
        }
        writeln!(
            f,
            "{:<12} {:>30} {:>14} {:>14} {:>17} {:>18} {:>18}",
            "layer",
            "Total Cycles (incl. prefetch)",
            "Total Cycles",
            "Stall Cycles",
            "DRAM IFMAP Reads",
            "DRAM Filter Reads",
            "DRAM OFMAP Writes"
        )?;
        for layer in &self.layers {
            let k = &layer.counts;
            writeln!(
                f,
                "{:<12} {:>30} {:>14} {:>14} {:>17} {:>18} {:>18}",
                layer.name,
                k.scalesim_total_cycles_incl_prefetch(),
                k.scalesim_total_cycles(),
                k.stall_cycles(),
                k.ifmap_dram_reads,
                k.filter_dram_reads,
                k.ofmap_dram_writes
            )?;
        }
        Ok(())
    }
}
