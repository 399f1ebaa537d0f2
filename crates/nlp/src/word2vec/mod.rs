//! word2vec (Mikolov et al. 2013): word vectors learnt by predicting words from their
//! neighbours, trained the way the original tool gets its speed: sparse row updates on shared
//! matrices from several threads at once, never dense gradients.
//!
//! - [`Corpus`], [`TextFiles`], [`TextNormalizer`]: streamed text, never loaded whole.
//! - [`Word2Vec::train`] with [`Word2VecConfig`]: skip-gram or CBOW, negative sampling
//!   ([`NoiseSampler`]) and/or hierarchical softmax ([`HuffmanCodes`]), subsampling, dynamic
//!   windows, linear learning-rate decay, Hogwild threads, a deterministic one-thread mode.
//! - [`Embeddings`]: the word2vec text and binary formats (C tool and gensim conventions),
//!   nearest neighbours, analogies, and the standard evaluations.

mod atomic_f32;
mod corpus;
mod embeddings;
mod evaluate;
mod fit;
mod format;
mod huffman;
mod kernels;
mod normalize;
mod rows;
mod sampler;
mod train;
mod word_ids;
mod worker;

pub use corpus::{Corpus, MAX_DISTINCT_WORDS, TextFiles, build_vocab, build_vocab_capped};
pub use embeddings::Embeddings;
pub use evaluate::{AnalogyReport, AnalogySection, SimilarityReport, spearman};
pub use format::VectorFormat;
pub use huffman::HuffmanCodes;
pub use normalize::TextNormalizer;
pub use sampler::{Lcg, NoiseSampler, keep_probabilities};
pub use train::{TrainProgress, TrainStats, Word2Vec, Word2VecConfig};
