//! A layer on the configured chip, in either timing: SCALE-Sim's (folds back to back, no
//! memory model) or the TPU-faithful one (overlapped folds fed by the memory path), in the
//! fast mode or stepped.

use crate::mapping::{Fold, FoldPlan, Gemm};
use crate::memory::{self, Bandwidth, FoldWork, Pipeline, Schedule, Stationary};
use crate::numeric::Accumulator;
use crate::scalesim_memory::{self, Demand, Operands};
use crate::topology::LayerKind;
use crate::{Counts, Dataflow, TpuConfig, analytic, stepped};

/// How cycles are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timing {
    /// SCALE-Sim 3.0's accounting: folds back to back, full-array fill and drain per fold,
    /// every load exposed, ample SRAM and bandwidth. Agrees with SCALE-Sim count for count.
    ScaleSim,
    /// A TPU v1-like chip: double-buffered stationary tiles and back-to-back streams, fed by
    /// weight memory, the unified buffer, the accumulators and the host link, with stalls
    /// counted by cause (see `docs/tpu-sim.md`).
    Faithful,
}

impl Timing {
    /// Parses `scalesim` or `faithful` (any case).
    pub fn from_name(name: &str) -> Option<Timing> {
        match name.trim().to_ascii_lowercase().as_str() {
            "scalesim" | "scale-sim" => Some(Timing::ScaleSim),
            "faithful" => Some(Timing::Faithful),
            _ => None,
        }
    }
}

/// One run of the array over part of a layer: the faithful timing splits the streamed
/// dimension so a column fold's outputs fit in half of the accumulators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pass {
    /// The first streamed vector (a row of the output in WS, a column in IS).
    pub start: usize,
    /// The tiling of this part.
    pub plan: FoldPlan,
}

/// A layer's simulated cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerRun {
    /// The whole layer's tiling.
    pub plan: FoldPlan,
    /// The parts the array runs (one, unless the accumulators are too small for the layer).
    pub passes: Vec<Pass>,
    /// Cycles, traffic and stalls.
    pub counts: Counts,
    /// The faithful timing's timeline (`None` in SCALE-Sim's).
    pub schedule: Option<Schedule>,
}

/// Bytes of one accumulator (an f32 or i32 partial sum).
const ACCUMULATOR_BYTES: u64 = 4;

/// The passes of `gemm` on `config`.
pub fn passes(config: &TpuConfig, gemm: Gemm) -> Vec<Pass> {
    let plan = FoldPlan::new(gemm, config.dataflow, config.rows, config.cols);
    let longest = match (config.timing, config.dataflow) {
        (Timing::ScaleSim, _) | (_, Dataflow::OutputStationary) => plan.temporal.max(1),
        _ => (config.accumulator_bytes / 2 / (config.cols as u64 * ACCUMULATOR_BYTES)).max(1) as usize,
    };
    (0..plan.temporal.max(1))
        .step_by(longest)
        .map(|start| {
            let len = longest.min(plan.temporal - start.min(plan.temporal));
            let part = match config.dataflow {
                Dataflow::WeightStationary => Gemm { m: len, ..gemm },
                Dataflow::InputStationary => Gemm { n: len, ..gemm },
                Dataflow::OutputStationary => gemm,
            };
            Pass { start, plan: FoldPlan::new(part, config.dataflow, config.rows, config.cols) }
        })
        .collect()
}

/// The memory path of `config` for its dataflow.
pub fn pipeline(config: &TpuConfig) -> Pipeline {
    Pipeline {
        stationary: match config.dataflow {
            Dataflow::WeightStationary => Stationary::Weights,
            Dataflow::InputStationary => Stationary::Inputs,
            Dataflow::OutputStationary => Stationary::Outputs,
        },
        shift_cycles: config.rows as u64,
        fifo_tiles: config.weight_fifo_tiles.max(1),
        weight_memory: Bandwidth::from_bytes_per_cycle(config.dram_bytes_per_cycle),
        host: Bandwidth::from_bytes_per_cycle(config.host_bytes_per_cycle),
    }
}

/// What each fold of `passes` needs from the memories. The layer's inputs and outputs stay in
/// the unified buffer when they fit; otherwise they travel over the host link.
pub fn work(config: &TpuConfig, gemm: Gemm, passes: &[Pass]) -> Vec<FoldWork> {
    let e = config.input.bytes();
    let (m, n, k) = (gemm.m as u64, gemm.n as u64, gemm.k as u64);
    let spills = (m * k + m * n) * e > config.unified_buffer_bytes;
    let on_host = |bytes: u64| if spills { bytes } else { 0 };
    let mut work = Vec::new();
    for pass in passes {
        let plan = &pass.plan;
        let t = plan.temporal as u64;
        let folds: Vec<Fold> = plan.folds().collect();
        for (i, fold) in folds.iter().enumerate() {
            let (ru, cu) = (fold.rows_used as u64, fold.cols_used as u64);
            let new_group = work.is_empty()
                || config.dataflow == Dataflow::OutputStationary
                || i == 0
                || folds[i - 1].col_start != fold.col_start;
            let group = work.last().map_or(0, |w: &FoldWork| w.group + new_group as usize);
            let closes_group = config.dataflow == Dataflow::OutputStationary
                || folds.get(i + 1).is_none_or(|next| next.col_start != fold.col_start);
            let (weights, inputs, outputs, drain) = match config.dataflow {
                Dataflow::WeightStationary => (ru * cu, t * ru, t * cu, plan.rows as u64 + cu - 2),
                Dataflow::InputStationary => (t * ru, ru * cu, t * cu, plan.rows as u64 + cu - 2),
                Dataflow::OutputStationary => (t * cu, ru * t, ru * cu, ru + cu - 2),
            };
            work.push(FoldWork {
                temporal: t,
                drain,
                weight_bytes: weights * e,
                input_bytes: on_host(inputs * e),
                group,
                output_bytes: if closes_group { on_host(outputs * e) } else { 0 },
            });
        }
    }
    work
}

/// The run of `plan` from its passes' summed PE-level `counts`: as they are in SCALE-Sim's
/// timing, or timed by `schedule` (fast or stepped) over the memory path in the faithful one.
fn finish(
    config: &TpuConfig,
    ops: Operands,
    plan: FoldPlan,
    passes: Vec<Pass>,
    counts: Counts,
    schedule: fn(&[FoldWork], &Pipeline) -> Schedule,
) -> LayerRun {
    if config.timing == Timing::ScaleSim {
        return LayerRun { plan, passes, counts: with_scalesim_memory(config, ops, counts), schedule: None };
    }
    let work = work(config, plan.gemm, &passes);
    let schedule = schedule(&work, &pipeline(config));
    LayerRun { plan, passes, counts: timed(counts, config, &work, &schedule), schedule: Some(schedule) }
}

/// Fills the timing fields of `counts` from a faithful `schedule` of `work`.
fn timed(mut counts: Counts, config: &TpuConfig, work: &[FoldWork], schedule: &Schedule) -> Counts {
    counts.cycles = schedule.cycles;
    counts.stream_cycles = schedule.stream_cycles;
    counts.load_cycles =
        if config.dataflow == Dataflow::OutputStationary { 0 } else { counts.folds * config.rows as u64 };
    counts.weight_stall_cycles = schedule.stalls.weights;
    counts.input_stall_cycles = schedule.stalls.inputs;
    counts.output_stall_cycles = schedule.stalls.outputs;
    counts.dram_read_bytes = work.iter().map(|w| w.weight_bytes + w.input_bytes).sum();
    counts.dram_write_bytes = work.iter().map(|w| w.output_bytes).sum();
    if config.dataflow == Dataflow::OutputStationary {
        // SCALE-Sim's extra `rows + cols` writes per OS fold are an artefact of its traces.
        counts.ofmap_writes -= counts.folds * (config.rows + config.cols) as u64;
    }
    counts
}

/// In the SCALE-Sim timing with SCALE-Sim's memories (a `.cfg`), `counts` with its memory
/// model replayed over the layer's demand: its stalls (charged to inputs, weights or outputs),
/// total cycles with and without the prefetch, and DRAM traffic (one-byte words). Otherwise
/// `counts` as they are.
fn with_scalesim_memory(config: &TpuConfig, ops: Operands, mut counts: Counts) -> Counts {
    let Some(memory) = config.scalesim_memory else { return counts };
    let demand = Demand::new(ops, config.dataflow, config.rows, config.cols);
    let m = scalesim_memory::replay(&demand, &memory);
    counts.cycles = m.last_cycle as u64 + 1;
    counts.cycles_incl_prefetch = m.span_incl_prefetch as u64 + 1;
    counts.input_stall_cycles = m.ifmap_stalls;
    counts.weight_stall_cycles = m.filter_stalls;
    counts.output_stall_cycles = m.ofmap_stalls;
    counts.ifmap_dram_reads = m.ifmap_dram_reads;
    counts.filter_dram_reads = m.filter_dram_reads;
    counts.ofmap_dram_writes = m.ofmap_dram_writes;
    counts.dram_read_bytes = m.ifmap_dram_reads + m.filter_dram_reads;
    counts.dram_write_bytes = m.ofmap_dram_writes;
    counts
}

/// A topology layer on `config` in the fast mode: [`fast`] on its GEMM, except that SCALE-Sim's
/// memory model sees a convolution's own input addresses (windows that overlap share them).
pub fn fast_layer(config: &TpuConfig, layer: LayerKind) -> LayerRun {
    let (gemm, ops) = layer_operands(layer);
    fast_with(config, gemm, ops)
}

/// A topology layer on `config`, stepped: [`stepped`] on its GEMM (`lhs` is the im2col input),
/// with a convolution's own addresses in SCALE-Sim's memory model as in [`fast_layer`].
pub fn stepped_layer<A: Accumulator>(
    config: &TpuConfig,
    layer: LayerKind,
    lhs: &[f32],
    rhs: &[f32],
) -> (Vec<A>, LayerRun) {
    let (gemm, ops) = layer_operands(layer);
    stepped_with(config, gemm, ops, lhs, rhs)
}

/// A layer's GEMM and SCALE-Sim operand addresses.
fn layer_operands(layer: LayerKind) -> (Gemm, Operands) {
    match layer {
        LayerKind::Gemm(g) => (g, Operands::gemm(g)),
        LayerKind::Conv(c) => (c.as_gemm(), Operands::conv(c)),
    }
}

/// `gemm` on `config` in the fast mode.
pub fn fast(config: &TpuConfig, gemm: Gemm) -> LayerRun {
    fast_with(config, gemm, Operands::gemm(gemm))
}

fn fast_with(config: &TpuConfig, gemm: Gemm, ops: Operands) -> LayerRun {
    let plan = FoldPlan::new(gemm, config.dataflow, config.rows, config.cols);
    let passes = passes(config, gemm);
    let mut counts = Counts::default();
    for pass in &passes {
        counts += analytic::counts(&pass.plan);
    }
    finish(config, ops, plan, passes, counts, memory::fast::schedule)
}

/// `lhs [m, k] x rhs [k, n]` on `config` with every PE and the memory path stepped cycle by
/// cycle: the product and the same [`LayerRun`] as [`fast`] computes.
pub fn stepped<A: Accumulator>(config: &TpuConfig, gemm: Gemm, lhs: &[f32], rhs: &[f32]) -> (Vec<A>, LayerRun) {
    stepped_with(config, gemm, Operands::gemm(gemm), lhs, rhs)
}

fn stepped_with<A: Accumulator>(
    config: &TpuConfig,
    gemm: Gemm,
    ops: Operands,
    lhs: &[f32],
    rhs: &[f32],
) -> (Vec<A>, LayerRun) {
    let plan = FoldPlan::new(gemm, config.dataflow, config.rows, config.cols);
    let passes = passes(config, gemm);
    let (m, n, k) = (gemm.m, gemm.n, gemm.k);
    let mut out = vec![A::default(); m * n];
    let mut counts = Counts::default();
    for pass in &passes {
        let part = pass.plan.gemm;
        let (values, part_counts) = match config.dataflow {
            Dataflow::WeightStationary => {
                stepped::run::<A>(&pass.plan, &lhs[pass.start * k..(pass.start + part.m) * k], rhs)
            }
            Dataflow::InputStationary => {
                let columns: Vec<f32> = (0..k)
                    .flat_map(|row| rhs[row * n + pass.start..row * n + pass.start + part.n].iter().copied())
                    .collect();
                stepped::run::<A>(&pass.plan, lhs, &columns)
            }
            Dataflow::OutputStationary => stepped::run::<A>(&pass.plan, lhs, rhs),
        };
        for row in 0..part.m {
            for col in 0..part.n {
                // Passes split the output's rows in WS (and OS has one pass), its columns in IS.
                let (r, c) = if config.dataflow == Dataflow::InputStationary {
                    (row, pass.start + col)
                } else {
                    (pass.start + row, col)
                };
                out[r * n + c] = values[row * part.n + col];
            }
        }
        counts += part_counts;
    }
    (out, finish(config, ops, plan, passes, counts, memory::stepped::schedule))
}
