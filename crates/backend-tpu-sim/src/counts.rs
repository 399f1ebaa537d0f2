//! What one simulated layer cost: cycles and SRAM traffic, with the derived figures.

use std::ops::AddAssign;

/// Cycle and traffic counts of a layer (or a sum of layers). Counts are counts: a layer that
/// takes cycles 0..=99 took 100 cycles (SCALE-Sim reports the last index, 99).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every cycle the layer occupied the array.
    pub cycles: u64,
    /// Cycles spent shifting stationary operands into the array (WS, IS).
    pub load_cycles: u64,
    /// Cycles spent streaming operands through the array, fill and drain included (in the
    /// faithful timing folds overlap, so only the last fold's drain is counted).
    pub stream_cycles: u64,
    /// Cycles the array waited for weights (faithful timing).
    pub weight_stall_cycles: u64,
    /// Cycles the array waited for inputs (faithful timing).
    pub input_stall_cycles: u64,
    /// Cycles the array waited for accumulators or outputs (faithful timing).
    pub output_stall_cycles: u64,
    /// Folds (tiles of the stationary operand) run.
    pub folds: u64,
    /// Input-matrix elements read from SRAM into the array.
    pub ifmap_reads: u64,
    /// Weight-matrix elements read from SRAM into the array.
    pub filter_reads: u64,
    /// Output elements written from the array to SRAM (partial sums of every fold).
    pub ofmap_writes: u64,
    /// Multiply-accumulates that contributed to an output.
    pub useful_macs: u64,
    /// Sum over folds of the PEs the fold's tile occupies.
    pub mapped_pes: u64,
    /// Bytes read from off-chip memory: weights, and inputs that do not fit on chip (faithful
    /// timing).
    pub dram_read_bytes: u64,
    /// Bytes written to off-chip memory: outputs that do not fit on chip (faithful timing).
    pub dram_write_bytes: u64,
    /// SCALE-Sim timing with its memory model: cycles from the first DRAM read of the initial
    /// SRAM fill to the last DRAM write of the final drain (SCALE-Sim's "Total Cycles (incl.
    /// prefetch)", as a count).
    pub cycles_incl_prefetch: u64,
    /// SCALE-Sim timing with its memory model: words read from DRAM into the ifmap SRAM.
    pub ifmap_dram_reads: u64,
    /// SCALE-Sim timing with its memory model: words read from DRAM into the filter SRAM.
    pub filter_dram_reads: u64,
    /// SCALE-Sim timing with its memory model: words written from the ofmap SRAM to DRAM.
    pub ofmap_dram_writes: u64,
}

impl Counts {
    /// Useful MACs per PE-cycle: `useful_macs / (cycles · rows · cols)`.
    pub fn utilisation(&self, pes: usize) -> f64 {
        if self.cycles == 0 { 0.0 } else { self.useful_macs as f64 / (self.cycles as f64 * pes as f64) }
    }

    /// The average fraction of the array a fold's tile occupies.
    pub fn mapping_efficiency(&self, pes: usize) -> f64 {
        if self.folds == 0 { 0.0 } else { self.mapped_pes as f64 / (self.folds as f64 * pes as f64) }
    }

    /// Every stall cycle, whatever the cause.
    pub fn stall_cycles(&self) -> u64 {
        self.weight_stall_cycles + self.input_stall_cycles + self.output_stall_cycles
    }

    /// SCALE-Sim's "Total Cycles": the index of the last cycle.
    pub fn scalesim_total_cycles(&self) -> u64 {
        self.cycles.saturating_sub(1)
    }

    /// SCALE-Sim's "Total Cycles (incl. prefetch)": the last DRAM write's cycle minus the
    /// first DRAM read's.
    pub fn scalesim_total_cycles_incl_prefetch(&self) -> u64 {
        self.cycles_incl_prefetch.saturating_sub(1)
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.cycles += o.cycles;
        self.load_cycles += o.load_cycles;
        self.stream_cycles += o.stream_cycles;
        self.weight_stall_cycles += o.weight_stall_cycles;
        self.input_stall_cycles += o.input_stall_cycles;
        self.output_stall_cycles += o.output_stall_cycles;
        self.folds += o.folds;
        self.ifmap_reads += o.ifmap_reads;
        self.filter_reads += o.filter_reads;
        self.ofmap_writes += o.ofmap_writes;
        self.useful_macs += o.useful_macs;
        self.mapped_pes += o.mapped_pes;
        self.dram_read_bytes += o.dram_read_bytes;
        self.dram_write_bytes += o.dram_write_bytes;
        self.cycles_incl_prefetch += o.cycles_incl_prefetch;
        self.ifmap_dram_reads += o.ifmap_dram_reads;
        self.filter_dram_reads += o.filter_dram_reads;
        self.ofmap_dram_writes += o.ofmap_dram_writes;
    }
}
