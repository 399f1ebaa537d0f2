//! Transfer learning: a network pretrained on unlabelled text (a BERT-style encoder, a GPT, a
//! recurrent LM, or word2vec vectors) put to work on a labelled task.
//!
//! - [`Body`]: a pretrained model folder (or vector file) read as token states and sentence
//!   vectors; [`TaskModel`]: a body with a head for sequence classification, regression,
//!   token tagging or sentence-pair classification ([`TaskKind`]).
//! - Feature extraction: freeze the body by name pattern ([`set_frozen`]); [`finetune`] then
//!   computes its features once and trains the head on the cache.
//! - Fine-tuning: [`finetune`] with discriminative rates per layer group ([`GroupedAdam`],
//!   [`layer_groups`]), gradual unfreezing, [`SlantedTriangular`] or [`WarmupLinear`]
//!   schedules, weight decay, early stopping on a dev split and the best epoch restored.
//! - [`Lora`]: low-rank adapters on any weight matrix by name, saved alone, mergeable.
//! - Domain adaptation: [`DomainClassifier`] behind autograd's gradient reversal (DANN),
//!   [`coral_loss`], and [`continue_pretraining`] on target-domain text.
//! - [`run`]: one mode end to end, as `tessera transfer` runs it.
//! - Subword heads on a BERT body: [`BertTagger`] (token classification, each word's label on
//!   its first piece, long sentences cut into [`word_windows`]) and [`BertSpanReader`] (start
//!   and end scores over `[CLS] question [SEP] context [SEP]`, long contexts cut into
//!   overlapping [`span_windows`], answers mapped back to characters), trained by [`fit`].
//!
//! ```
//! use autograd::Var;
//! use tensor_core::{Tensor, TensorRng};
//!
//! // CORAL is zero for batches with the same covariance, and its gradient reaches both.
//! let device = backend_cpu::CpuDevice::shared();
//! let mut rng = TensorRng::new(0);
//! let a = Var::parameter(rng.normal([8, 3], 0.0, 1.0, tensor_core::DType::F32, &device)?);
//! let shifted = a.affine(1.0, 5.0)?;
//! let same = transfer::coral_loss(&a, &shifted)?.value().to_scalar()?;
//! assert!(same.abs() < 1e-6);
//! let b = Var::constant(rng.normal([8, 3], 0.0, 3.0, tensor_core::DType::F32, &device)?);
//! let loss = transfer::coral_loss(&a, &b)?;
//! assert!(loss.value().to_scalar()? > 0.0);
//! loss.backward()?;
//! assert!(a.grad().is_some());
//! # Ok::<(), transfer::TransferError>(())
//! ```

#![warn(missing_docs)]
// Outside input reaches this crate's readers: no `unwrap()`/`expect()` outside tests, except
// where an `#[allow]` gives the reason it cannot fail (issue #28).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod adapt;
mod bert_fit;
mod bert_span;
mod bert_tagger;
mod body;
pub mod data;
mod error;
mod finetune;
mod lora;
mod optim;
mod pipeline;
mod predict;
mod task;
mod words;

pub use adapt::{ContinueConfig, DomainClassifier, continue_pretraining, coral_loss};
pub use bert_fit::{FitConfig, FitReport, fit, fit_with};
pub use bert_span::{BertSpanReader, SpanAnswer, SpanConfig, SpanWindow, best_span, span_windows};
pub use bert_tagger::{BertTagger, WordWindow, word_windows};
pub use body::{Body, BodyKind, States, words_of};
pub use error::{Result, TransferError};
pub use finetune::{Adaptation, EpochRecord, FinetuneConfig, FinetuneReport, ScheduleKind, finetune};
pub use lora::{Lora, LoraAdapter, LoraConfig};
pub use optim::{GroupedAdam, SlantedTriangular, WarmupLinear, layer_groups, set_frozen};
pub use pipeline::{Mode, RunConfig, RunOutcome, Trained, default_lora_targets, run, train_task};
pub use predict::Prediction;
pub use task::{Example, Target, TaskKind, TaskModel, class_labels, classes_of, score_outputs};
pub use words::{ConvSpec, PAD_ID, UNK_ID, WordBody};
