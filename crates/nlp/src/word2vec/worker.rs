//! A training thread: takes jobs from the reader, subsamples each sentence, slides the dynamic
//! window over it and makes the skip-gram or CBOW predictions, updating the shared matrices in
//! place.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;

use super::atomic_f32::{add, add_row_to};
use super::fit::{Input, Saturation, Targets, fit};
use super::rows::{HotRows, OutputRows};
use super::sampler::Lcg;
use super::train::{Job, Model};

/// The most negative samples one prediction draws at a time.
pub(super) const MAX_NEGATIVE: usize = 64;

/// With several workers, each keeps a private copy of this many hierarchical-softmax rows (the
/// inner nodes nearest the root, which every prediction visits) ...
const HOT_TREE_NODES: usize = 63;

/// ... and of the negative-sampling rows of this many of the most frequent words.
const HOT_WORDS: usize = 64;

/// A worker publishes its private rows after this many predictions (see [`super::rows`]): about
/// 64 words of skip-gram, which makes one prediction per context word, and 384 of CBOW, which
/// makes one per word. Counting words instead, CBOW published six times as often for the same
/// number of updates, and publishing was a tenth of its two-thread time.
const PUBLISH_EVERY_PREDICTIONS: usize = 384;

/// Labels of a negative-sampling prediction's targets: the word first (1), then its noise
/// words (0).
const NEGATIVE_LABELS: [f32; MAX_NEGATIVE + 1] = {
    let mut labels = [0.0; MAX_NEGATIVE + 1];
    labels[0] = 1.0;
    labels
};

/// One worker's scratch space.
struct Scratch {
    draws: Draws,
    kept: Vec<u32>,
    /// CBOW's mean of the context vectors.
    hidden: Vec<f32>,
    error: Vec<f32>,
}

/// A trainer's random numbers, with the noise words of its next negative-sampling prediction
/// drawn one prediction early, so that their rows (random rows of the output matrix, rarely in
/// cache) load while the current one trains.
struct Draws {
    rng: Lcg,
    noise: [u32; MAX_NEGATIVE],
    /// Noise words per prediction.
    count: usize,
}

impl Draws {
    /// A generator started from `seed`, with the first prediction's noise words drawn.
    fn new(model: &Model, seed: u64) -> Draws {
        let count = model.config.negative.min(MAX_NEGATIVE);
        let mut draws = Draws { rng: Lcg::new(seed), noise: [0; MAX_NEGATIVE], count };
        draws.draw_noise(model);
        draws
    }

    #[inline(always)]
    fn draw_noise(&mut self, model: &Model) {
        let rng = &mut self.rng;
        self.noise[..self.count].iter_mut().for_each(|word| *word = model.noise.sample(rng));
    }

    /// The current prediction's noise words; draws the next prediction's and starts loading
    /// their rows.
    #[inline(always)]
    fn take_noise(&mut self, model: &Model, ns_output: OutputRows) -> [u32; MAX_NEGATIVE] {
        let current = self.noise;
        self.draw_noise(model);
        for &word in &self.noise[..self.count] {
            model.prefetch.row(ns_output.row(word as usize));
        }
        current
    }
}

/// A worker's view of the output matrices: the shared ones, less the rows it keeps a private
/// copy of when there are other workers.
struct Outputs {
    hs: Option<HotRows>,
    ns: Option<HotRows>,
    predictions_since_publish: usize,
}

impl Outputs {
    fn new(model: &Model) -> Outputs {
        let private = |rows: std::ops::Range<usize>| (model.config.threads > 1 && !rows.is_empty()).then_some(rows);
        let inner_nodes = model.hs_output.rows().saturating_sub(1);
        let hs = private(inner_nodes.saturating_sub(HOT_TREE_NODES)..inner_nodes);
        let ns = private(0..model.ns_output.rows().min(HOT_WORDS));
        Outputs {
            hs: hs.map(|rows| HotRows::new(model.hs_output, rows)),
            ns: ns.map(|rows| HotRows::new(model.ns_output, rows)),
            predictions_since_publish: 0,
        }
    }

    /// The hierarchical-softmax and negative-sampling rows to train.
    fn views<'a>(&'a mut self, model: &Model<'a>) -> [OutputRows<'a>; 2] {
        [OutputRows::new(model.hs_output, self.hs.as_mut()), OutputRows::new(model.ns_output, self.ns.as_mut())]
    }

    /// Counts a word's `predictions`, publishing the private rows every
    /// [`PUBLISH_EVERY_PREDICTIONS`].
    #[inline(always)]
    fn word_done(&mut self, model: &Model, predictions: usize) {
        self.predictions_since_publish += predictions;
        if self.predictions_since_publish >= PUBLISH_EVERY_PREDICTIONS {
            self.publish(model);
        }
    }

    fn publish(&mut self, model: &Model) {
        self.predictions_since_publish = 0;
        if let Some(hs) = &mut self.hs {
            hs.publish(model.hs_output);
        }
        if let Some(ns) = &mut self.ns {
            ns.publish(model.ns_output);
        }
    }
}

/// One training thread's state: its random numbers, scratch vectors and private rows.
pub(super) struct Trainer {
    scratch: Scratch,
    outputs: Outputs,
}

impl Trainer {
    /// A trainer whose random numbers start from `seed`.
    pub(super) fn new(model: &Model, seed: u64) -> Trainer {
        let dim = model.config.size;
        let draws = Draws::new(model, seed);
        let scratch = Scratch { draws, kept: Vec::new(), hidden: vec![0.0; dim], error: vec![0.0; dim] };
        Trainer { scratch, outputs: Outputs::new(model) }
    }

    /// Trains on one job.
    pub(super) fn train(&mut self, model: &Model, job: &Job) {
        train_job(model, job, &mut self.scratch, &mut self.outputs);
    }

    /// Adds what is left in the private rows into the shared matrices.
    pub(super) fn finish(mut self, model: &Model) {
        self.outputs.publish(model);
    }
}

/// A worker thread: trains on jobs until the channel closes.
pub(super) fn work(model: &Model, jobs: &Mutex<Receiver<Job>>, seed: u64) {
    let mut trainer = Trainer::new(model, seed);
    loop {
        let job = match jobs.lock().map(|receiver| receiver.recv()) {
            Ok(Ok(job)) => job,
            _ => break,
        };
        trainer.train(model, &job);
    }
    trainer.finish(model);
}

fn train_job(model: &Model, job: &Job, scratch: &mut Scratch, outputs: &mut Outputs) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { train_job_avx512(model, job, scratch, outputs) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { train_job_avx2(model, job, scratch, outputs) };
        }
    }
    train_job_generic(model, job, scratch, outputs)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn train_job_avx512(model: &Model, job: &Job, scratch: &mut Scratch, outputs: &mut Outputs) {
    train_job_generic(model, job, scratch, outputs)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn train_job_avx2(model: &Model, job: &Job, scratch: &mut Scratch, outputs: &mut Outputs) {
    train_job_generic(model, job, scratch, outputs)
}

#[inline(always)]
fn train_job_generic(model: &Model, job: &Job, scratch: &mut Scratch, outputs: &mut Outputs) {
    let window = model.config.window as u32;
    let mut start = 0;
    let mut effective = 0u64;
    for &end in &job.sentence_ends {
        scratch.kept.clear();
        for &word in &job.words[start..end] {
            if scratch.draws.rng.next_u32() <= model.keep[word as usize] {
                scratch.kept.push(word);
            }
        }
        start = end;
        effective += scratch.kept.len() as u64;
        for pos in 0..scratch.kept.len() {
            let reduced = (window - scratch.draws.rng.below(window)) as usize;
            let first = pos.saturating_sub(reduced);
            let last = (pos + reduced).min(scratch.kept.len() - 1);
            let word = scratch.kept[pos] as usize;
            let views = outputs.views(model);
            prefetch_next_position(model, views, &scratch.kept, pos + 1);
            if model.config.cbow {
                train_cbow(model, views, scratch, (word, pos), first..=last, job.alpha);
            } else {
                for c in (first..=last).filter(|&c| c != pos) {
                    let context = scratch.kept[c] as usize;
                    scratch.error.fill(0.0);
                    let input = model.input.row(context);
                    predict(
                        model,
                        views,
                        Input::Shared(input),
                        word,
                        job.alpha,
                        &mut scratch.error,
                        &mut scratch.draws,
                    );
                    add(input, &scratch.error);
                }
            }
            outputs.word_done(model, if model.config.cbow { 1 } else { last - first });
        }
    }
    model.effective_words.fetch_add(effective, Ordering::Relaxed);
}

/// CBOW: the mean of the context vectors predicts the word; every context vector then moves by
/// the accumulated error (the C tool's update).
#[inline(always)]
fn train_cbow(
    model: &Model,
    views: [OutputRows; 2],
    scratch: &mut Scratch,
    (word, pos): (usize, usize),
    window: std::ops::RangeInclusive<usize>,
    alpha: f32,
) {
    scratch.hidden.fill(0.0);
    let mut contexts = 0;
    for c in window.clone().filter(|&c| c != pos) {
        add_row_to(model.input.row(scratch.kept[c] as usize), &mut scratch.hidden);
        contexts += 1;
    }
    if contexts == 0 {
        return;
    }
    let scale = 1.0 / contexts as f32;
    scratch.hidden.iter_mut().for_each(|h| *h *= scale);
    scratch.error.fill(0.0);
    predict(model, views, Input::Own(&scratch.hidden), word, alpha, &mut scratch.error, &mut scratch.draws);
    for c in window.clone().filter(|&c| c != pos) {
        add(model.input.row(scratch.kept[c] as usize), &scratch.error);
    }
}

/// Starts loading the rows the prediction at `next` needs that the current one does not: its
/// word's output rows, and the input row of the word entering the window.
#[inline(always)]
fn prefetch_next_position(model: &Model, [hs_output, ns_output]: [OutputRows; 2], kept: &[u32], next: usize) {
    let Some(&word) = kept.get(next) else { return };
    if model.config.hs {
        let path = model.paths[word as usize]..model.paths[word as usize + 1];
        for &point in &model.points[path] {
            model.prefetch.row(hs_output.row(point as usize));
        }
    }
    if model.config.negative > 0 {
        model.prefetch.row(ns_output.row(word as usize));
    }
    if let Some(&entering) = kept.get(next + model.config.window) {
        model.prefetch.row(model.input.row(entering as usize));
    }
}

/// One prediction of `word` from `input`: updates the output weights and accumulates the
/// input's gradient step into `error`.
#[inline(always)]
fn predict(
    model: &Model,
    [hs_output, ns_output]: [OutputRows; 2],
    input: Input<'_>,
    word: usize,
    alpha: f32,
    error: &mut [f32],
    draws: &mut Draws,
) {
    if model.config.hs {
        let path = model.paths[word]..model.paths[word + 1];
        let (labels, points) = (&model.labels[path.clone()], &model.points[path]);
        let targets = Targets { output: hs_output, rows: points, labels, saturation: Saturation::Skip };
        fit(input, targets, alpha, &model.sigmoid, error);
    }
    if model.config.negative == 0 {
        return;
    }
    let mut targets = [0u32; MAX_NEGATIVE + 1];
    targets[0] = word as u32;
    let mut count = 1;
    let noise = draws.take_noise(model, ns_output);
    for &noise in &noise[..draws.count] {
        if noise as usize != word {
            targets[count] = noise;
            count += 1;
        }
    }
    let (rows, labels) = (&targets[..count], &NEGATIVE_LABELS[..count]);
    fit(
        input,
        Targets { output: ns_output, rows, labels, saturation: Saturation::Clamp },
        alpha,
        &model.sigmoid,
        error,
    );
}
