//! The memory path of the TPU-faithful timing: where each fold's operands come from, how long
//! they take to arrive, and when the array has to wait for them.
//!
//! - Weights come from off-chip weight memory over one DMA channel into a weight FIFO of
//!   `fifo_tiles` slots. A stationary weight tile (WS) then shifts into the PEs' second weight
//!   buffer in `rows` cycles while the current tile computes (double buffering, as in TPU v1).
//! - Inputs live in the unified buffer when the layer's inputs and outputs fit there; otherwise
//!   each fold's inputs come over the host channel into one of two staging slots.
//! - Outputs gather in the accumulators, which are double-buffered in halves: one group of
//!   folds (a column fold of one pass) fills a half while the other half drains. A group's
//!   outputs go to the unified buffer as they leave the array, or over the host channel when
//!   the layer spills.
//!
//! [`fast::schedule`] computes the timeline with one recurrence per fold; [`stepped::schedule`]
//! steps the DMA engines, the FIFO, the weight shifter, the array's stream and the accumulator
//! halves cycle by cycle. `tests/fast_mode.rs` proves them identical.

pub mod fast;
pub mod stepped;

/// A channel's bandwidth as bytes per million cycles, so transfer times are exact integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bandwidth {
    /// Bytes moved every million cycles (at least 1).
    pub bytes_per_mega_cycle: u64,
}

impl Bandwidth {
    /// `bytes_per_cycle`, rounded to a millionth of a byte (at least one).
    pub fn from_bytes_per_cycle(bytes_per_cycle: f64) -> Bandwidth {
        Bandwidth { bytes_per_mega_cycle: ((bytes_per_cycle * 1e6).round() as u64).max(1) }
    }

    /// Cycles to move `bytes`: `ceil(bytes · 10⁶ / bytes_per_mega_cycle)`.
    pub fn cycles(&self, bytes: u64) -> u64 {
        (bytes as u128 * 1_000_000).div_ceil(self.bytes_per_mega_cycle as u128) as u64
    }
}

/// Which operand a dataflow holds in the PEs, and so which one the weight shifter loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stationary {
    /// WS: weight tiles shift in; inputs stream.
    Weights,
    /// IS: input tiles shift in; weights stream.
    Inputs,
    /// OS: nothing shifts in; both operands stream and the outputs stay.
    Outputs,
}

/// The machine the timeline runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pipeline {
    /// What the PEs hold.
    pub stationary: Stationary,
    /// Cycles to shift a stationary tile into the PEs (the array's rows).
    pub shift_cycles: u64,
    /// Weight FIFO slots (at least one).
    pub fifo_tiles: usize,
    /// Weight memory to the FIFO.
    pub weight_memory: Bandwidth,
    /// Host memory to and from the unified buffer, for layers that do not fit in it.
    pub host: Bandwidth,
}

/// What one fold needs, in the order the array runs the folds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FoldWork {
    /// Vectors streamed through the array: one per cycle.
    pub temporal: u64,
    /// Cycles from the last vector entering to the last useful result leaving.
    pub drain: u64,
    /// Bytes from weight memory (the stationary tile in WS, the streamed weights otherwise).
    pub weight_bytes: u64,
    /// Bytes from host memory (zero when the inputs stay in the unified buffer).
    pub input_bytes: u64,
    /// The accumulator group (consecutive folds that sum into the same outputs).
    pub group: usize,
    /// Bytes written to host memory when this fold closes its group (zero when the outputs
    /// stay in the unified buffer, and for every fold but a group's last).
    pub output_bytes: u64,
}

/// Cycles the array waited, by what it waited for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stalls {
    /// Waiting for a weight tile to arrive or shift in (or streamed weights to arrive).
    pub weights: u64,
    /// Waiting for inputs from host memory (or an input tile to shift in, in IS).
    pub inputs: u64,
    /// Waiting for an accumulator half to drain, or for the last outputs to reach host memory.
    pub outputs: u64,
}

impl Stalls {
    /// All stall cycles.
    pub fn total(&self) -> u64 {
        self.weights + self.inputs + self.outputs
    }
}

impl std::ops::AddAssign for Stalls {
    fn add_assign(&mut self, o: Stalls) {
        self.weights += o.weights;
        self.inputs += o.inputs;
        self.outputs += o.outputs;
    }
}

/// When each fold's work happened: half-open cycle intervals `[start, end)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FoldTimes {
    /// The weight DMA.
    pub fetch: (u64, u64),
    /// The input DMA (empty when the inputs stay on chip).
    pub input: (u64, u64),
    /// The stationary tile's shift into the PEs (empty in OS).
    pub shift: (u64, u64),
    /// Vectors entering the array.
    pub stream: (u64, u64),
    /// The cycle after the fold's last useful result left the array.
    pub drained: u64,
    /// The wait before the stream started.
    pub stalls: Stalls,
}

/// A layer's timeline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    /// Per fold.
    pub folds: Vec<FoldTimes>,
    /// Per accumulator group: the interval its outputs took to leave.
    pub outputs: Vec<(u64, u64)>,
    /// Every cycle of the layer.
    pub cycles: u64,
    /// Cycles the array streamed, plus the last fold's drain.
    pub stream_cycles: u64,
    /// Cycles the array waited, by cause (the last outputs' trip to host memory included).
    pub stalls: Stalls,
}

impl Pipeline {
    /// When the weight FIFO slot of a fold frees: once its tile has shifted into the PEs (WS),
    /// or once its streamed weights have been used (IS, OS).
    fn fifo_release(&self, t: &FoldTimes) -> u64 {
        if self.stationary == Stationary::Weights { t.shift.1 } else { t.stream.1 }
    }

    /// When the input staging slot of a fold frees: once its tile has shifted in (IS), or once
    /// its streamed inputs have been used.
    fn input_release(&self, t: &FoldTimes) -> u64 {
        if self.stationary == Stationary::Inputs { t.shift.1 } else { t.stream.1 }
    }

    /// When the stationary tile's source data is on chip.
    fn shift_source_ready(&self, t: &FoldTimes) -> u64 {
        match self.stationary {
            Stationary::Weights => t.fetch.1,
            Stationary::Inputs => t.input.1,
            Stationary::Outputs => 0,
        }
    }

    /// When the weights and inputs a fold streams are ready: `(weights, inputs)`.
    fn stream_ready(&self, t: &FoldTimes) -> (u64, u64) {
        match self.stationary {
            Stationary::Weights => (t.shift.1, t.input.1),
            Stationary::Inputs => (t.fetch.1, t.shift.1),
            Stationary::Outputs => (t.fetch.1, t.input.1),
        }
    }
}

/// Splits the wait `[idle_from, start)` by what was missing at each cycle: weights while they
/// were not ready, then inputs, then the accumulators.
fn attribute(idle_from: u64, start: u64, weights_ready: u64, inputs_ready: u64) -> Stalls {
    let weights = weights_ready.clamp(idle_from, start) - idle_from;
    let inputs = inputs_ready.clamp(idle_from.max(weights_ready), start).saturating_sub(idle_from.max(weights_ready));
    Stalls { weights, inputs, outputs: start - idle_from - weights - inputs }
}
