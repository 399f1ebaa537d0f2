//! Tessera's simulated TPU: a systolic array of multiply-accumulate processing elements,
//! stepped cycle by cycle with real numbers, in the three classic dataflows.
//!
//! - [`mapping`]: GEMMs and convolutions as operand matrices, tiled into folds on the array.
//! - [`stepped`]: the array itself: operands move between neighbouring PEs every cycle, with
//!   fill (skew) and drain; products are real (f32, bf16 or int8 operands; f32 or i32 sums).
//! - [`analytic`]: the same counts in closed form (the fast mode), property-tested against the
//!   stepped array.
//! - [`memory`]: the memory path of the TPU-faithful timing (weight memory, FIFO, double-
//!   buffered tiles, unified buffer, accumulators, host link), stepped and in closed form.
//! - [`simulate`]: a layer on a configured chip in either [`Timing`], fast or stepped.
//! - [`Counts`]: cycles, SRAM traffic, utilisation and mapping efficiency; [`Report`] per layer
//!   and in total, with time and TOPS at the configured clock.
//! - [`TpuConfig`]: presets (`tpu-v1`, `bf16-128`), SCALE-Sim `.cfg` files and Tessera
//!   overrides; [`topology`] reads SCALE-Sim's layer files.
//!
//! The default timing is TPU-faithful; [`Timing::ScaleSim`] follows SCALE-Sim 3.0 (folds back
//! to back, full-array fill and drain), and `tests/scalesim.rs` checks those counts against
//! SCALE-Sim's own numbers over a grid of arrays, dataflows, GEMMs and convolutions.

#![warn(missing_docs)]

pub mod analytic;
mod config;
mod counts;
mod device;
mod error;
pub mod mapping;
pub mod memory;
pub mod numeric;
mod report;
pub mod simulate;
pub mod stepped;
pub mod topology;
mod trace;

pub use config::TpuConfig;
pub use counts::Counts;
pub use device::{Ledger, OpCost, TpuDevice, TpuStorage};
pub use error::TpuError;
pub use mapping::{ConvLayer, FoldPlan, Gemm};
pub use numeric::InputType;
pub use report::{LayerReport, Report};
pub use simulate::{LayerRun, Timing};

/// Which operand stays in the processing elements while the others stream through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dataflow {
    /// Weights stay (TPU v1): inputs stream right, partial sums flow down.
    WeightStationary,
    /// Outputs stay: inputs stream right, weights stream down, each PE accumulates one output.
    OutputStationary,
    /// Inputs stay: weights stream right, partial sums flow down.
    InputStationary,
}

impl Dataflow {
    /// SCALE-Sim's short name: `ws`, `os` or `is`.
    pub fn short_name(self) -> &'static str {
        match self {
            Dataflow::WeightStationary => "ws",
            Dataflow::OutputStationary => "os",
            Dataflow::InputStationary => "is",
        }
    }

    /// Parses `ws`, `os` or `is` (any case).
    pub fn from_short_name(name: &str) -> Option<Dataflow> {
        match name.trim().to_ascii_lowercase().as_str() {
            "ws" => Some(Dataflow::WeightStationary),
            "os" => Some(Dataflow::OutputStationary),
            "is" => Some(Dataflow::InputStationary),
            _ => None,
        }
    }
}
