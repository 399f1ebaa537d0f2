//! A BERT-style bidirectional encoder (Devlin et al. 2019) and its masked-LM pretraining.
//!
//! - [`Bert`]: token, learned position and segment embeddings with a layer norm, then
//!   post-LayerNorm encoder layers whose attention sees every real token of the input (padded
//!   keys are masked out, so a ragged batch gives each row what it gives alone). Parameters
//!   carry Hugging Face's BERT names and layouts, so a `BertForPreTraining` /
//!   `BertForMaskedLM` safetensors file of the same sizes loads as it is.
//! - The API a downstream task builds on: [`Bert::encode`] (`[B, T, width]` states) and
//!   [`Bert::pooled`] / [`Bert::pool`] (`[B, width]`, [`Pooling::Cls`] through the pooler or
//!   [`Pooling::Mean`] over real tokens), over a [`BertBatch`] of [`EncodedInput`]s made by
//!   [`BertVocab::encode`] (`[CLS] a [SEP]`) or [`BertVocab::encode_pair`]
//!   (`[CLS] a [SEP] b [SEP]` with segment ids 0 and 1).
//! - Pretraining: [`pack_inputs`] turns sentences into inputs, [`mask_inputs`] hides 15% of
//!   the words (80% `[MASK]`, 10% random, 10% kept), [`pretrain`] trains with AdamW, warm-up
//!   and cosine decay and reports the held-out masked-token accuracy against
//!   [`majority_baseline`]; [`save_bert`] / [`load_bert`] write and read model folders.
//!
//! ```
//! use nlp::encoder::{Bert, BertBatch, BertConfig, BertVocab, Pooling};
//! use tensor_core::TensorRng;
//!
//! let device = backend_cpu::CpuDevice::shared();
//! let vocab = BertVocab::build(["the cat sat on the mat", "a dog sat too"], 1, None);
//! let bert = Bert::new(BertConfig::new(vocab.size(), 16, 2, 2, 8), &mut TensorRng::new(0), &device)?;
//! let inputs = [vocab.encode("the cat sat", 16)?, vocab.encode_pair("a dog", "sat on the mat", 16)?];
//! assert_eq!(inputs[1].segments, [0, 0, 0, 0, 1, 1, 1, 1, 1]);
//! let batch = BertBatch::from_inputs(&inputs, vocab.pad_id(), &device)?;
//! assert_eq!(bert.encode(&batch)?.dims(), [2, 9, 8]);
//! assert_eq!(bert.pool(&batch, Pooling::Cls)?.dims(), [2, 8]);
//! # Ok::<(), nlp::NlpError>(())
//! ```

mod batch;
mod config;
mod data;
mod folder;
mod layers;
mod masking;
mod model;
mod pretrain;
mod vocab;
pub mod wordpiece;
mod wordpiece_train;

pub use batch::{BertBatch, EncodedInput};
pub use config::BertConfig;
pub use data::pack_inputs;
pub use folder::{load_bert, save_bert};
pub use layers::{BertEmbeddings, BertLayer};
pub use masking::{MaskedBatch, Masking, mask_inputs};
pub use model::{Bert, Pooling};
pub use pretrain::{
    EvalReport, MaskedScore, PretrainConfig, PretrainOutcome, evaluate_masked, majority_baseline, masked_batches,
    pretrain,
};
pub use vocab::{BertVocab, CLS, MASK, PAD, SEP, SPECIALS, Tokenization, UNK};
pub use wordpiece::Piece;
pub use wordpiece_train::train_wordpiece;
