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
//! - [`scalesim_memory`]: SCALE-Sim 3.0's memory model for its timing (double-buffered
//!   scratchpads, USER or CALC DRAM bandwidth, prefetch, stalls), replayed over its demand.
//! - [`simulate`]: a layer on a configured chip in either [`Timing`], fast or stepped.
//! - [`Counts`]: cycles, SRAM traffic, utilisation and mapping efficiency; [`Report`] per layer
//!   and in total, with time and TOPS at the configured clock.
//! - [`TpuConfig`]: presets (`tpu-v1`, `bf16-128`), SCALE-Sim `.cfg` files and Tessera
//!   overrides; [`topology`] reads SCALE-Sim's layer files.
//!
//! The default timing is TPU-faithful; [`Timing::ScaleSim`] follows SCALE-Sim 3.0 (folds back
//! to back, full-array fill and drain), and `tests/scalesim.rs` checks those counts against
//! SCALE-Sim's own numbers over a grid of arrays, dataflows, GEMMs and convolutions.
//!
//! ```
//! use std::sync::Arc;
//! use backend_tpu_sim::{Gemm, TpuConfig, TpuDevice, simulate};
//! use tensor_core::{Device, Tensor};
//!
//! // The fast mode's counts for a GEMM on tpu-v1's 256x256 weight-stationary array.
//! let config = TpuConfig::preset("tpu-v1").unwrap();
//! let run = simulate::fast(&config, Gemm { m: 200, n: 256, k: 256 });
//! assert_eq!(run.counts.useful_macs, 200 * 256 * 256);
//! assert_eq!(run.counts.folds, 1); // the whole weight matrix fits the array at once
//! assert!(run.counts.utilisation(config.pes()) < 1.0); // fill, drain and weight loads cost
//!
//! // As a Device: tensors multiply on the array and every op is charged in the ledger.
//! let tpu = TpuDevice::exact();
//! let device: Arc<dyn Device> = tpu.clone();
//! let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2], &device)?;
//! let product = a.try_matmul(&a)?.try_relu()?;
//! assert_eq!(product.to_vec::<f32>()?, [7.0, 10.0, 15.0, 22.0]);
//! let ledger = tpu.ledger();
//! assert_eq!(ledger.ops["matmul"].calls, 1);
//! assert!(ledger.ops["unary"].cycles > 0);
//! # Ok::<(), tensor_core::TensorError>(())
//! ```

#![warn(missing_docs)]
// Outside input reaches this crate's readers: no `unwrap()`/`expect()` outside tests, except
// where an `#[allow]` gives the reason it cannot fail (issue #28).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod analytic;
mod config;
mod counts;
mod device;
mod error;
pub mod mapping;
pub mod memory;
pub mod numeric;
mod report;
pub mod scalesim_memory;
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
