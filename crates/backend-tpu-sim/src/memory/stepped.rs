//! The timeline stepped cycle by cycle: two DMA engines move their bytes each cycle, the weight
//! FIFO and input staging slots fill and free, the shifter loads stationary tiles row by row,
//! the array takes one vector a cycle, results drain out, and accumulator halves fill and
//! empty. Each cycle every idle unit starts the next thing it may; the ground truth for
//! [`super::fast::schedule`].

use super::{Bandwidth, FoldTimes, FoldWork, Pipeline, Schedule, Stalls, Stationary};

/// Not happened yet.
const NEVER: u64 = u64::MAX;

/// A DMA engine: moves `bytes_per_mega_cycle / 10⁶` bytes a cycle of its current transfer.
struct Dma {
    bandwidth: Bandwidth,
    /// The transfer under way: (its index, bytes moved · 10⁶, bytes needed · 10⁶).
    busy: Option<(usize, u128, u128)>,
    /// The next transfer to start.
    next: usize,
}

impl Dma {
    fn new(bandwidth: Bandwidth) -> Self {
        Dma { bandwidth, busy: None, next: 0 }
    }

    /// Starts transfer `next` of `bytes` at `cycle` if idle and `may_start`; an empty transfer
    /// finishes at once. Records the interval through `times`. Returns whether it started.
    fn try_start(&mut self, cycle: u64, bytes: u64, may_start: bool, times: &mut (u64, u64)) -> bool {
        if self.busy.is_some() || !may_start {
            return false;
        }
        *times = (cycle, if bytes == 0 { cycle } else { NEVER });
        if bytes > 0 {
            self.busy = Some((self.next, 0, bytes as u128 * 1_000_000));
        }
        self.next += 1;
        true
    }

    /// One cycle of work; the index of a transfer that finished.
    fn tick(&mut self) -> Option<usize> {
        let (index, moved, needed) = self.busy.as_mut()?;
        *moved += self.bandwidth.bytes_per_mega_cycle as u128;
        let index = *index;
        if *moved >= *needed {
            self.busy = None;
            return Some(index);
        }
        None
    }
}

/// Whether `time` has happened by `cycle`.
fn by(time: u64, cycle: u64) -> bool {
    time <= cycle
}

/// The last vector of fold `f` entered before `end`: its results drain for `drain` cycles.
fn finish_stream(times: &mut FoldTimes, draining: &mut Vec<(usize, u64)>, f: usize, drain: u64, end: u64) {
    times.stream.1 = end;
    if drain == 0 {
        times.drained = end;
    } else {
        draining.push((f, drain));
    }
}

/// Steps `work` on `pipeline` until the last outputs have left.
pub fn schedule(work: &[FoldWork], pipeline: &Pipeline) -> Schedule {
    let n = work.len();
    if n == 0 {
        return Schedule::default();
    }
    let unset = FoldTimes {
        fetch: (NEVER, NEVER),
        input: (NEVER, NEVER),
        shift: if pipeline.stationary == Stationary::Outputs { (0, 0) } else { (NEVER, NEVER) },
        stream: (NEVER, NEVER),
        drained: NEVER,
        stalls: Stalls::default(),
    };
    let mut t = vec![unset; n];
    let groups = work.last().map_or(0, |w| w.group + 1);
    let mut last_of_group = vec![0; groups];
    for (f, w) in work.iter().enumerate() {
        last_of_group[w.group] = f;
    }
    let mut outputs = vec![(NEVER, NEVER); groups];
    let (mut weight_dma, mut input_dma, mut output_dma) =
        (Dma::new(pipeline.weight_memory), Dma::new(pipeline.host), Dma::new(pipeline.host));
    let mut shifting: Option<(usize, u64)> = None;
    let mut next_shift = 0;
    let mut streaming: Option<(usize, u64)> = None;
    let mut next_stream = 0;
    let mut draining: Vec<(usize, u64)> = Vec::new();
    let (mut stalls, mut stream_cycles) = (Stalls::default(), 0);
    let mut cycle = 0u64;
    loop {
        // Every idle unit starts what it may; an empty transfer can enable another start.
        loop {
            let mut started = false;
            let f = weight_dma.next;
            if f < n {
                let slot_free =
                    f < pipeline.fifo_tiles || by(pipeline.fifo_release(&t[f - pipeline.fifo_tiles]), cycle);
                started |= weight_dma.try_start(cycle, work[f].weight_bytes, slot_free, &mut t[f].fetch);
            }
            let f = input_dma.next;
            if f < n {
                let slot_free = f < 2 || by(pipeline.input_release(&t[f - 2]), cycle);
                started |= input_dma.try_start(cycle, work[f].input_bytes, slot_free, &mut t[f].input);
            }
            let f = next_shift;
            if pipeline.stationary != Stationary::Outputs && shifting.is_none() && f < n {
                let spare_buffer_free =
                    (f == 0 || by(t[f - 1].stream.0, cycle)) && (f < 2 || by(t[f - 2].drained, cycle));
                if by(pipeline.shift_source_ready(&t[f]), cycle) && spare_buffer_free {
                    t[f].shift.0 = cycle;
                    shifting = Some((f, pipeline.shift_cycles));
                    next_shift += 1;
                    started = true;
                }
            }
            let f = next_stream;
            if streaming.is_none() && f < n {
                let (weights_ready, inputs_ready) = pipeline.stream_ready(&t[f]);
                let g = work[f].group;
                let opens_group = f == 0 || work[f - 1].group != g;
                let accumulators_free = !opens_group || g < 2 || by(outputs[g - 2].1, cycle);
                if by(weights_ready, cycle) && by(inputs_ready, cycle) && accumulators_free {
                    t[f].stream.0 = cycle;
                    next_stream += 1;
                    started = true;
                    if work[f].temporal == 0 {
                        finish_stream(&mut t[f], &mut draining, f, work[f].drain, cycle);
                    } else {
                        streaming = Some((f, work[f].temporal));
                    }
                }
            }
            let g = output_dma.next;
            if g < groups {
                let ready = by(t[last_of_group[g]].drained, cycle);
                started |= output_dma.try_start(cycle, work[last_of_group[g]].output_bytes, ready, &mut outputs[g]);
            }
            if !started {
                break;
            }
        }
        if output_dma.next == groups && output_dma.busy.is_none() {
            break;
        }
        // What this cycle is: streaming, draining the last results, or waiting.
        if streaming.is_some() {
            stream_cycles += 1;
        } else if next_stream < n {
            let f = next_stream;
            let (weights_ready, inputs_ready) = pipeline.stream_ready(&t[f]);
            let cause = if !by(weights_ready, cycle) {
                &mut t[f].stalls.weights
            } else if !by(inputs_ready, cycle) {
                &mut t[f].stalls.inputs
            } else {
                &mut t[f].stalls.outputs
            };
            *cause += 1;
        } else if !draining.is_empty() {
            stream_cycles += 1;
        } else {
            stalls.outputs += 1;
        }
        // Only a working unit changes what may start; with none, nothing ever would.
        let busy = weight_dma.busy.is_some()
            || input_dma.busy.is_some()
            || output_dma.busy.is_some()
            || shifting.is_some()
            || streaming.is_some()
            || !draining.is_empty();
        assert!(busy, "the memory timeline deadlocked at cycle {cycle}");
        // The cycle's work; what finishes is there from the next cycle on.
        let next = cycle + 1;
        if let Some(f) = weight_dma.tick() {
            t[f].fetch.1 = next;
        }
        if let Some(f) = input_dma.tick() {
            t[f].input.1 = next;
        }
        if let Some(g) = output_dma.tick() {
            outputs[g].1 = next;
        }
        draining.retain_mut(|(f, left)| {
            *left -= 1;
            if *left == 0 {
                t[*f].drained = next;
            }
            *left > 0
        });
        if let Some((f, left)) = shifting.as_mut() {
            *left -= 1;
            if *left == 0 {
                t[*f].shift.1 = next;
                shifting = None;
            }
        }
        if let Some((f, left)) = streaming.as_mut() {
            *left -= 1;
            if *left == 0 {
                let f = *f;
                finish_stream(&mut t[f], &mut draining, f, work[f].drain, next);
                streaming = None;
            }
        }
        cycle = next;
    }
    for times in &t {
        stalls += times.stalls;
    }
    Schedule { folds: t, cycles: outputs[groups - 1].1, outputs, stream_cycles, stalls }
}
