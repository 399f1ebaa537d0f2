//! Where a device's cycles went: per op, calls and cycles, and for matrix products the array's
//! full counts.

use std::collections::BTreeMap;
use std::fmt;

use crate::Counts;

/// One op's share.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OpCost {
    /// Times the op ran.
    pub calls: u64,
    /// Cycles charged to it.
    pub cycles: u64,
}

/// Cycles by op since the device was made (or the ledger reset).
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    /// Per op name.
    pub ops: BTreeMap<String, OpCost>,
    /// The array's counts over every matrix product.
    pub array: Counts,
}

impl Ledger {
    pub(crate) fn charge(&mut self, op: &str, cycles: u64, array: Option<Counts>) {
        let cost = self.ops.entry(op.to_string()).or_default();
        cost.calls += 1;
        cost.cycles += cycles;
        if let Some(counts) = array {
            self.array += counts;
        }
    }

    /// Every cycle charged.
    pub fn total_cycles(&self) -> u64 {
        self.ops.values().map(|c| c.cycles).sum()
    }
}

impl fmt::Display for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.total_cycles().max(1);
        writeln!(f, "{:<12} {:>10} {:>14} {:>7}", "op", "calls", "cycles", "share")?;
        for (op, cost) in &self.ops {
            let share = 100.0 * cost.cycles as f64 / total as f64;
            writeln!(f, "{op:<12} {:>10} {:>14} {share:>6.1}%", cost.calls, cost.cycles)?;
        }
        writeln!(f, "{:<12} {:>10} {:>14}", "total", "", self.total_cycles())?;
        let a = &self.array;
        write!(
            f,
            "array: {} folds, {} stream + {} stall cycles ({} weights, {} inputs, {} outputs), {} useful MACs, \
             {} ifmap / {} filter reads, {} ofmap writes, {} DRAM bytes read, {} written",
            a.folds,
            a.stream_cycles,
            a.stall_cycles(),
            a.weight_stall_cycles,
            a.input_stall_cycles,
            a.output_stall_cycles,
            a.useful_macs,
            a.ifmap_reads,
            a.filter_reads,
            a.ofmap_writes,
            a.dram_read_bytes,
            a.dram_write_bytes
        )
    }
}
