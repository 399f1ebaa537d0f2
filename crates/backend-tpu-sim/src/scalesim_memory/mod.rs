//! SCALE-Sim 3.0's memory model for the SCALE-Sim timing: double-buffered ifmap, filter and
//! ofmap scratchpads of the configured sizes, fed over DRAM interfaces of a user-set bandwidth
//! (`InterfaceBandwidth: USER`), with the stall cycles SCALE-Sim charges when a cycle's operands
//! are not resident or its outputs find the ofmap buffer full.
//!
//! [`replay`] runs the array's demand, cycle by cycle, through the three buffers:
//!
//! - cycle `i` of the layer is requested at `i + stalls so far`;
//! - each read buffer answers with an offset (one cycle on a hit; see [`buffers::ReadBuffer`]),
//!   the write buffer with the cycle its last write was accepted;
//! - the cycle's stall is the largest of `ifmap offset - 1`, `filter offset - 1` and
//!   `ofmap accept - request`, and adds to the stalls of every later cycle.
//!
//! SCALE-Sim's "Total Cycles" is the latest accept cycle; "Total Cycles (incl. prefetch)" runs
//! from the first DRAM read of the initial fill to the last DRAM write of the final drain.
//! `docs/tpu-sim.md` gives the equations; `tests/scalesim_memory.rs` checks every recorded case
//! against SCALE-Sim exactly.

pub mod buffers;
pub mod operands;

use buffers::{EstimateBuffer, ReadBuffer, WriteBuffer};
pub use operands::{Demand, Operands};

/// How SCALE-Sim sets the DRAM interfaces' bandwidth (`InterfaceBandwidth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interface {
    /// `USER`: words a cycle for the ifmap and filter interfaces (SCALE-Sim takes them from the
    /// `[layout]` section's `IfmapSRAMBankBandwidth` and `FilterSRAMBankBandwidth`) and the
    /// ofmap interface (`Bandwidth`).
    User {
        /// Ifmap DRAM words a cycle.
        ifmap: u64,
        /// Filter DRAM words a cycle.
        filter: u64,
        /// Ofmap DRAM words a cycle.
        ofmap: u64,
    },
    /// `CALC`: SCALE-Sim estimates the bandwidth the array needs, so reads never stall; it
    /// still counts the DRAM words it would fetch, and outputs drain at one word a cycle per
    /// array column.
    Calc,
}

/// SCALE-Sim's memories: three scratchpads (one-byte words) and their DRAM interfaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleSimMemory {
    /// Ifmap SRAM, bytes (`IfmapSramSzkB · 1024`).
    pub ifmap_bytes: u64,
    /// Filter SRAM, bytes.
    pub filter_bytes: u64,
    /// Ofmap SRAM, bytes.
    pub ofmap_bytes: u64,
    /// The DRAM interfaces.
    pub interface: Interface,
}

/// What the memory model adds to a layer's counts, in SCALE-Sim's terms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryCounts {
    /// SCALE-Sim's "Total Cycles": the cycle the last output was accepted (an index).
    pub last_cycle: i64,
    /// SCALE-Sim's "Total Cycles (incl. prefetch)": last DRAM write minus first DRAM read.
    pub span_incl_prefetch: i64,
    /// Stall cycles, charged to the operand whose wait was the longest in each cycle (ifmap
    /// first, then filter, then ofmap, on a tie).
    pub ifmap_stalls: u64,
    /// Stall cycles charged to the filter SRAM.
    pub filter_stalls: u64,
    /// Stall cycles charged to the ofmap SRAM.
    pub ofmap_stalls: u64,
    /// Words read from DRAM into the ifmap SRAM.
    pub ifmap_dram_reads: u64,
    /// Words read from DRAM into the filter SRAM.
    pub filter_dram_reads: u64,
    /// Words written from the ofmap SRAM to DRAM.
    pub ofmap_dram_writes: u64,
}

impl MemoryCounts {
    /// Every stall cycle.
    pub fn stalls(&self) -> u64 {
        self.ifmap_stalls + self.filter_stalls + self.ofmap_stalls
    }
}

/// A read SRAM as the replay sees it.
trait ReadSide {
    /// Serves one cycle's reads at `cycle`; the offset of the last one (1 on a hit).
    fn serve(&mut self, cycle: i64, addrs: &[u32]) -> i64;
    /// Completes outstanding fetches after the last cycle.
    fn finish(&mut self);
    /// Words read from DRAM, and the cycle the first arrived.
    fn dram(&self) -> (u64, i64);
}

impl ReadSide for ReadBuffer {
    fn serve(&mut self, cycle: i64, addrs: &[u32]) -> i64 {
        ReadBuffer::serve(self, cycle, addrs)
    }
    fn finish(&mut self) {}
    fn dram(&self) -> (u64, i64) {
        (self.dram_reads, self.dram_start)
    }
}

impl ReadSide for EstimateBuffer {
    fn serve(&mut self, cycle: i64, addrs: &[u32]) -> i64 {
        EstimateBuffer::serve(self, cycle, addrs);
        1
    }
    fn finish(&mut self) {
        EstimateBuffer::finish(self);
    }
    fn dram(&self) -> (u64, i64) {
        (self.dram_reads, self.first_arrival())
    }
}

/// Runs `demand` through `memory`, one demand cycle (and within it one address) at a time.
pub fn replay(demand: &Demand, memory: &ScaleSimMemory) -> MemoryCounts {
    let ops = demand.ops;
    match memory.interface {
        Interface::User { ifmap: ifmap_bw, filter: filter_bw, ofmap: ofmap_bw } => {
            let (order, padded) = demand.ifmap_prefetch();
            let ifmap = ReadBuffer::new(memory.ifmap_bytes, ifmap_bw, &order, ops.ifmap_space(), padded);
            let (order, padded) = demand.filter_prefetch();
            let filter = ReadBuffer::new(memory.filter_bytes, filter_bw, &order, ops.filter_space(), padded);
            run(demand, ifmap, filter, WriteBuffer::new(memory.ofmap_bytes, ofmap_bw))
        }
        Interface::Calc => {
            // SCALE-Sim's estimate: reads fetched first at 10 words a cycle, writes drained at
            // one word a cycle per array column.
            let ifmap = EstimateBuffer::new(memory.ifmap_bytes, 10, ops.ifmap_space());
            let filter = EstimateBuffer::new(memory.filter_bytes, 10, ops.filter_space());
            run(demand, ifmap, filter, WriteBuffer::new(memory.ofmap_bytes, demand.cols as u64))
        }
    }
}

fn run(demand: &Demand, mut ifmap: impl ReadSide, mut filter: impl ReadSide, mut ofmap: WriteBuffer) -> MemoryCounts {
    let mut counts = MemoryCounts::default();
    let (row_folds, col_folds) = demand.folds();
    let (mut ifmap_addrs, mut filter_addrs) = (Vec::new(), Vec::new());
    let (mut index, mut stalls, mut accepted) = (0i64, 0i64, 0i64);
    for fc in 0..col_folds {
        for fr in 0..row_folds {
            for x in 0..demand.fold_rows() {
                let writes = demand.cycle(fr, fc, x, &mut ifmap_addrs, &mut filter_addrs);
                let cycle = index + stalls;
                let waits = [ifmap.serve(cycle, &ifmap_addrs) - 1, filter.serve(cycle, &filter_addrs) - 1, {
                    accepted = ofmap.serve(cycle, writes);
                    accepted - cycle
                }];
                counts.last_cycle = counts.last_cycle.max(accepted);
                let worst = waits.into_iter().max().unwrap_or(0).max(0);
                if worst > 0 {
                    let who = waits.iter().position(|&w| w == worst).unwrap_or(2);
                    *[&mut counts.ifmap_stalls, &mut counts.filter_stalls, &mut counts.ofmap_stalls][who] +=
                        worst as u64;
                }
                stalls += worst;
                index += 1;
            }
        }
    }
    ifmap.finish();
    filter.finish();
    ofmap.flush(accepted);
    let ((ifmap_reads, ifmap_start), (filter_reads, filter_start)) = (ifmap.dram(), filter.dram());
    counts.span_incl_prefetch = ofmap.dram_stop - ifmap_start.min(filter_start);
    counts.ifmap_dram_reads = ifmap_reads;
    counts.filter_dram_reads = filter_reads;
    counts.ofmap_dram_writes = ofmap.dram_writes;
    counts
}
