//! Training: the calling thread streams the corpus into jobs of about 10,000 word ids, each
//! stamped with its learning rate (linear decay over all epochs), and `threads - 1` helper
//! threads train on them, updating the shared weight matrices without locks (Hogwild!, as the C
//! tool and gensim do). The reading thread trains too, on each job the helpers have no room for,
//! so `threads` is the number of busy cores: reading is done in the time it takes, not on a core
//! of its own, and with one thread the whole run is sequential (and reproducible).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{TrySendError, sync_channel};
use std::time::Instant;

use super::corpus::{Corpus, build_vocab};
use super::huffman::HuffmanCodes;
use super::kernels::{Prefetch, SigmoidTable};
use super::rows::HogwildRows;
use super::sampler::{Lcg, NoiseSampler, keep_probabilities};
use super::word_ids::WordIds;
use super::worker::{MAX_NEGATIVE, Trainer, work};
use crate::vocab::Vocab;
use crate::{NlpError, Result};

/// Words per job, and the longest sentence trained as one (longer ones are cut), as gensim.
const JOB_WORDS: usize = 10_000;

/// Training settings; names and defaults follow the C tool (`-size 100 -window 5 -sample 1e-3
/// -hs 0 -negative 5 -min-count 5 -iter 5 -cbow 1`, alpha 0.05 for CBOW and 0.025 for skip-gram).
#[derive(Clone, Debug, PartialEq)]
pub struct Word2VecConfig {
    /// Vector dimension.
    pub size: usize,
    /// Maximum distance between a word and its context words (shrunk at random per word).
    pub window: usize,
    /// Subsampling threshold for frequent words (0 disables).
    pub sample: f64,
    /// Hierarchical softmax.
    pub hs: bool,
    /// Negative samples per prediction (0 disables).
    pub negative: usize,
    /// Words seen fewer times are dropped.
    pub min_count: u64,
    /// Keep at most this many words (the most frequent).
    pub max_vocab: Option<usize>,
    /// Passes over the corpus.
    pub iter: usize,
    /// Starting learning rate; `None` picks the C tool's default for the architecture.
    pub alpha: Option<f32>,
    /// Worker threads.
    pub threads: usize,
    /// CBOW (predict a word from the mean of its context) instead of skip-gram.
    pub cbow: bool,
    /// Seed of initialisation, window shrinking, subsampling and negative draws. With one
    /// thread, equal seeds give identical vectors.
    pub seed: u64,
}

impl Default for Word2VecConfig {
    fn default() -> Self {
        Word2VecConfig {
            size: 100,
            window: 5,
            sample: 1e-3,
            hs: false,
            negative: 5,
            min_count: 5,
            max_vocab: None,
            iter: 5,
            alpha: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cbow: true,
            seed: 1,
        }
    }
}

impl Word2VecConfig {
    /// The starting learning rate in effect.
    pub fn start_alpha(&self) -> f32 {
        self.alpha.unwrap_or(if self.cbow { 0.05 } else { 0.025 })
    }

    fn check(&self) -> Result<()> {
        let bad = |msg: &str| Err(NlpError::Invalid(format!("word2vec: {msg}")));
        if self.size == 0 || self.window == 0 || self.iter == 0 || self.threads == 0 {
            return bad("size, window, iter and threads must be positive");
        }
        if !self.hs && self.negative == 0 {
            return bad("choose hierarchical softmax (hs), negative sampling (negative > 0), or both");
        }
        if self.negative > MAX_NEGATIVE {
            return bad(&format!("at most {MAX_NEGATIVE} negative samples"));
        }
        if self.start_alpha().is_nan() || self.start_alpha() <= 0.0 {
            return bad("alpha must be positive");
        }
        Ok(())
    }
}

/// Where training is, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainProgress {
    /// In-vocabulary words handed to workers so far, over all epochs.
    pub words_done: u64,
    /// In-vocabulary words of all epochs.
    pub words_total: u64,
    /// The learning rate of the latest job.
    pub alpha: f32,
}

/// What a training run did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainStats {
    /// Tokens read over all epochs, out-of-vocabulary ones included (gensim's "raw words").
    pub raw_words: u64,
    /// Words trained on after subsampling.
    pub effective_words: u64,
    /// Wall-clock seconds of the epochs (vocabulary building excluded).
    pub seconds: f64,
}

impl TrainStats {
    /// Raw words per second.
    pub fn words_per_second(&self) -> f64 {
        self.raw_words as f64 / self.seconds
    }
}

/// A trained model: the vocabulary, the word (input) vectors and the output weights.
#[derive(Clone, Debug)]
pub struct Word2Vec {
    /// Words and counts, most frequent first.
    pub vocab: Vocab,
    /// The settings it was trained with.
    pub config: Word2VecConfig,
    /// Word vectors, `vocab.len() x size`, row-major.
    pub vectors: Vec<f32>,
}

/// A job: word ids, where each sentence ends, the learning rate.
pub(super) struct Job {
    pub words: Vec<u32>,
    pub sentence_ends: Vec<usize>,
    pub alpha: f32,
}

impl Job {
    fn empty() -> Job {
        Job { words: Vec::with_capacity(JOB_WORDS), sentence_ends: Vec::new(), alpha: 0.0 }
    }
}

/// Everything the workers share.
pub(super) struct Model<'a> {
    pub config: &'a Word2VecConfig,
    pub input: HogwildRows<'a>,
    pub hs_output: HogwildRows<'a>,
    pub ns_output: HogwildRows<'a>,
    /// Every word's Huffman code as labels (1 − bit) and its inner nodes, concatenated; word
    /// w's are at `paths[w]..paths[w + 1]`.
    pub labels: Vec<f32>,
    pub points: Vec<u32>,
    pub paths: Vec<usize>,
    pub noise: NoiseSampler,
    pub keep: Vec<u32>,
    pub sigmoid: SigmoidTable,
    pub prefetch: Prefetch,
    pub effective_words: AtomicU64,
}

impl Word2Vec {
    /// Builds the vocabulary from `corpus`, then trains; `progress` is called after each job.
    pub fn train(
        corpus: &dyn Corpus,
        config: &Word2VecConfig,
        progress: &mut dyn FnMut(TrainProgress),
    ) -> Result<(Word2Vec, TrainStats)> {
        config.check()?;
        let vocab = build_vocab(corpus, config.min_count, config.max_vocab)?;
        Word2Vec::train_with_vocab(corpus, vocab, config, progress)
    }

    /// Trains over a given vocabulary (words outside it are skipped).
    pub fn train_with_vocab(
        corpus: &dyn Corpus,
        vocab: Vocab,
        config: &Word2VecConfig,
        progress: &mut dyn FnMut(TrainProgress),
    ) -> Result<(Word2Vec, TrainStats)> {
        config.check()?;
        if vocab.is_empty() {
            return Err(NlpError::Invalid(format!("word2vec: no word occurs {} times or more", config.min_count)));
        }
        let (v, dim) = (vocab.len(), config.size);
        let counts: Vec<u64> = (0..v).map(|i| vocab.count(i)).collect();
        let mut init = Lcg::new(config.seed);
        let mut vectors = weight_matrix(v * dim);
        // Uniform in [-1/size, 1/size), gensim's range (the C tool's is half as wide): on the bench
        // corpus it gave 0.1-0.3 points more analogy accuracy for every seed tried, in both
        // negative-sampling modes.
        vectors.iter_mut().for_each(|x| *x = (init.next_u32() as f32 / 2_147_483_648.0 - 1.0) / dim as f32);
        let mut hs_weights = weight_matrix(if config.hs { v * dim } else { 0 });
        let mut ns_weights = weight_matrix(if config.negative > 0 { v * dim } else { 0 });
        let huffman = if config.hs { HuffmanCodes::build(&counts) } else { HuffmanCodes::default() };
        let model = Model {
            config,
            input: HogwildRows::new(&mut vectors, dim),
            hs_output: HogwildRows::new(&mut hs_weights, dim),
            ns_output: HogwildRows::new(&mut ns_weights, dim),
            labels: huffman.codes.concat().into_iter().map(|bit| 1.0 - bit as f32).collect(),
            points: huffman.points.concat(),
            paths: std::iter::once(0)
                .chain(huffman.codes.iter().scan(0, |end, code| {
                    *end += code.len();
                    Some(*end)
                }))
                .collect(),
            noise: NoiseSampler::new(&counts, 0.75),
            keep: keep_probabilities(&counts, config.sample),
            sigmoid: SigmoidTable::new(),
            prefetch: Prefetch::detect(),
            effective_words: AtomicU64::new(0),
        };
        let started = Instant::now();
        let raw_words = run_epochs(corpus, &vocab, &model, progress)?;
        let stats = TrainStats {
            raw_words,
            effective_words: model.effective_words.load(Ordering::Relaxed),
            seconds: started.elapsed().as_secs_f64(),
        };
        drop(model);
        Ok((Word2Vec { vocab, config: config.clone(), vectors }, stats))
    }
}

/// A zeroed matrix of `len` values, its memory marked for transparent huge pages before first
/// use: training reads rows at random, and with 4 KiB pages nearly every row costs a TLB miss
/// (numpy, under gensim, does the same for its large arrays).
fn weight_matrix(len: usize) -> Vec<f32> {
    let mut matrix = vec![0f32; len];
    os_memory::advise_huge_pages_of(&mut matrix);
    matrix
}

/// Streams every epoch into jobs for the workers; returns the raw words read.
fn run_epochs(
    corpus: &dyn Corpus,
    vocab: &Vocab,
    model: &Model,
    progress: &mut dyn FnMut(TrainProgress),
) -> Result<u64> {
    let config = model.config;
    let words_total = vocab.total_count() * config.iter as u64;
    let start_alpha = config.start_alpha();
    let min_alpha = start_alpha * 1e-4;
    let ids = WordIds::new(vocab);
    let seed = |trainer: usize| config.seed.wrapping_add(trainer as u64 * 0x9E37_79B9);
    let helpers = config.threads - 1;
    let (sender, receiver) = sync_channel::<Job>(2 * helpers);
    let receiver = &Mutex::new(receiver);
    std::thread::scope(|scope| {
        // Owned by this closure, so that an early return (a corpus error) drops it and the
        // helpers, seeing the channel closed, stop instead of waiting forever.
        let sender = (helpers > 0).then_some(sender);
        for helper in 1..=helpers {
            scope.spawn(move || work(model, receiver, seed(helper)));
        }
        // This thread reads the corpus and trains too: on the jobs the helpers have no room
        // for, and on all of them when it is the only thread.
        let mut trainer = Trainer::new(model, seed(0));
        let mut raw_words = 0u64;
        let mut words_done = 0u64;
        let mut job = Job::empty();
        let mut send = |job: &mut Job, words_done: &mut u64| -> Result<()> {
            let alpha = (start_alpha - (start_alpha - min_alpha) * (*words_done as f32 / words_total.max(1) as f32))
                .max(min_alpha);
            *words_done += job.words.len() as u64;
            let mut full = std::mem::replace(job, Job::empty());
            full.alpha = alpha;
            progress(TrainProgress { words_done: *words_done, words_total, alpha });
            let Some(sender) = sender.as_ref() else {
                trainer.train(model, &full);
                return Ok(());
            };
            match sender.try_send(full) {
                Ok(()) => {}
                Err(TrySendError::Full(full)) => trainer.train(model, &full),
                Err(TrySendError::Disconnected(_)) => {
                    return Err(NlpError::Invalid("word2vec: a training thread stopped".into()));
                }
            }
            Ok(())
        };
        for _ in 0..config.iter {
            corpus.stream(&mut |token| {
                match token {
                    Some(word) => {
                        raw_words += 1;
                        if let Some(id) = ids.get(word) {
                            job.words.push(id);
                            if job.words.len() - job.sentence_ends.last().copied().unwrap_or(0) == JOB_WORDS {
                                job.sentence_ends.push(job.words.len());
                            }
                        }
                    }
                    None if job.sentence_ends.last().copied().unwrap_or(0) != job.words.len() => {
                        job.sentence_ends.push(job.words.len())
                    }
                    None => {}
                }
                if job.words.len() >= JOB_WORDS && job.sentence_ends.last() == Some(&job.words.len()) {
                    send(&mut job, &mut words_done)?;
                }
                Ok(())
            })?;
            if job.sentence_ends.last().copied().unwrap_or(0) != job.words.len() {
                job.sentence_ends.push(job.words.len());
            }
        }
        if !job.words.is_empty() {
            send(&mut job, &mut words_done)?;
        }
        trainer.finish(model);
        drop(sender);
        Ok(raw_words)
    })
}
