//! The timeline in closed form: one recurrence per fold, each start the latest of the events it
//! waits for.

use super::{FoldTimes, FoldWork, Pipeline, Schedule, Stalls, Stationary, attribute};

/// Schedules `work` on `pipeline`. Every start is the latest of what it waits for:
///
/// - weight DMA of fold `f`: the channel is free and the FIFO has a slot (fold `f - fifo` left it);
/// - input DMA: the channel is free and a staging slot is (fold `f - 2` left it);
/// - shift of a stationary tile: its data is on chip, the shifter is free, the PEs' spare buffer
///   is free (fold `f - 1` switched to the other one and fold `f - 2`'s operands have left);
/// - stream: the previous fold's vectors have entered, the streamed and stationary operands are
///   ready, and (for a group's first fold) the accumulator half of group `g - 2` has drained;
/// - a group's outputs leave once its last fold has drained and the previous group's have left.
pub fn schedule(work: &[FoldWork], pipeline: &Pipeline) -> Schedule {
    let mut folds: Vec<FoldTimes> = Vec::with_capacity(work.len());
    let mut outputs: Vec<(u64, u64)> = Vec::new();
    let mut stalls = Stalls::default();
    let mut streamed = 0;
    for (f, w) in work.iter().enumerate() {
        let back = |n: usize| f.checked_sub(n).map(|i| &folds[i]);
        let previous = back(1).copied().unwrap_or_default();
        let mut t = FoldTimes::default();
        let fifo_free = back(pipeline.fifo_tiles).map_or(0, |old| pipeline.fifo_release(old));
        let fetch_start = previous.fetch.1.max(fifo_free);
        t.fetch = (fetch_start, fetch_start + pipeline.weight_memory.cycles(w.weight_bytes));
        let staging_free = back(2).map_or(0, |old| pipeline.input_release(old));
        let input_start = previous.input.1.max(staging_free);
        t.input = (input_start, input_start + pipeline.host.cycles(w.input_bytes));
        if pipeline.stationary != Stationary::Outputs {
            let spare_buffer_free = previous.stream.0.max(back(2).map_or(0, |old| old.drained));
            let shift_start = pipeline.shift_source_ready(&t).max(previous.shift.1).max(spare_buffer_free);
            t.shift = (shift_start, shift_start + pipeline.shift_cycles);
        }
        let opens_group = f == 0 || work[f - 1].group != w.group;
        let accumulators_free = if opens_group && w.group >= 2 { outputs[w.group - 2].1 } else { 0 };
        let (weights_ready, inputs_ready) = pipeline.stream_ready(&t);
        let idle_from = previous.stream.1;
        let start = idle_from.max(weights_ready).max(inputs_ready).max(accumulators_free);
        t.stream = (start, start + w.temporal);
        t.drained = t.stream.1 + w.drain;
        t.stalls = attribute(idle_from, start, weights_ready, inputs_ready);
        stalls += t.stalls;
        streamed += w.temporal;
        let closes_group = work.get(f + 1).is_none_or(|next| next.group != w.group);
        if closes_group {
            let out_start = t.drained.max(outputs.last().map_or(0, |o| o.1));
            outputs.push((out_start, out_start + pipeline.host.cycles(w.output_bytes)));
        }
        folds.push(t);
    }
    let (Some(last), Some(out)) = (folds.last(), outputs.last()) else { return Schedule::default() };
    // Groups leave in order, each after its last fold drained, so the last group's departure
    // ends the layer; what it waits for beyond the array's drain is an output stall.
    let drained = folds.iter().map(|t| t.drained).max().unwrap_or(0);
    let cycles = out.1;
    stalls.outputs += cycles - drained;
    Schedule { stream_cycles: streamed + (drained - last.stream.1), stalls, cycles, folds, outputs }
}
