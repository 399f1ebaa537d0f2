//! Domain adaptation with unlabelled target-domain text: DANN's domain classifier behind a
//! gradient reversal (Ganin et al. 2016), the CORAL loss (Sun & Saenko 2016), and continued
//! language-model pretraining on the target text (ULMFiT's second stage).

use std::path::Path;

use autograd::Var;
use nlp::encoder::{PretrainConfig, pack_inputs, pretrain};
use nlp::lm::train::{Schedule, TrainConfig};
use nlp::lm::{LmNetwork, NeuralLm, TokenStream, Vocabulary};
use nn_layers::layers::Linear;
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::{Module, Param, join};
use tensor_core::{Tensor, TensorRng};

use crate::body::{Body, words_of};
use crate::{Result, TransferError};

/// CORAL: `‖C_s − C_t‖²_F / (4 d²)` for the feature covariances `C` of a source batch `source`
/// `[n_s, d]` and a target batch `target` `[n_t, d]` (each row one example; at least two rows
/// each).
pub fn coral_loss(source: &Var, target: &Var) -> Result<Var> {
    let (s, t) = (source.dims(), target.dims());
    if s.len() != 2 || t.len() != 2 || s[1] != t[1] || s[0] < 2 || t[0] < 2 {
        return Err(TransferError::Invalid(format!(
            "CORAL compares two batches [n, d] of the same width with n ≥ 2 each, got {s:?} and {t:?}"
        )));
    }
    let d = s[1] as f64;
    let diff = covariance(source)?.sub(&covariance(target)?)?;
    Ok(diff.square()?.sum_all()?.scale(1.0 / (4.0 * d * d))?)
}

/// The unbiased covariance `[d, d]` of the rows of `x` `[n, d]`.
fn covariance(x: &Var) -> Result<Var> {
    let n = x.dims()[0] as f64;
    let centred = x.sub(&x.mean(&[0], true)?)?;
    Ok(centred.transpose(0, 1)?.matmul(&centred)?.scale(1.0 / (n - 1.0))?)
}

/// DANN's domain classifier: `features → gradient reversal (λ) → Linear → ReLU → Linear → 2`
/// (source 0, target 1). Parameters `domain.0.*` and `domain.1.*`.
pub struct DomainClassifier {
    hidden: Linear,
    out: Linear,
}

impl DomainClassifier {
    /// A classifier of `inputs`-wide features with a hidden layer of `width`.
    pub fn new(
        inputs: usize,
        width: usize,
        rng: &mut TensorRng,
        device: &std::sync::Arc<dyn tensor_core::Device>,
    ) -> Result<Self> {
        Ok(DomainClassifier {
            hidden: Linear::new(inputs, width, rng, device)?,
            out: Linear::new(width, 2, rng, device)?,
        })
    }

    /// The domain loss of source features `[n_s, F]` and target features `[n_t, F]`, whose
    /// gradient reaches the features reversed and scaled by `lambda`.
    pub fn loss(&self, source: &Var, target: &Var, lambda: f64) -> Result<Var> {
        let features = Var::cat(&[source, target], 0)?.reverse_gradient(lambda)?;
        let logits = self.out.forward(&self.hidden.forward(&features)?.relu()?)?;
        let (ns, nt) = (source.dims()[0], target.dims()[0]);
        let labels: Vec<i64> = std::iter::repeat_n(0, ns).chain(std::iter::repeat_n(1, nt)).collect();
        let labels = Tensor::from_vec(labels, [ns + nt], source.value().device())?;
        Ok(cross_entropy(&logits, &labels, CrossEntropy::default())?)
    }

    /// Ganin et al.'s schedule of λ over training progress `p` in [0, 1]:
    /// `2 / (1 + exp(−10 p)) − 1`, from 0 (the classifier learns first) towards 1.
    pub fn lambda(progress: f64) -> f64 {
        2.0 / (1.0 + (-10.0 * progress).exp()) - 1.0
    }
}

impl Module for DomainClassifier {
    /// Domain logits of features (no reversal).
    fn forward(&self, input: &Var) -> tensor_core::Result<Var> {
        self.out.forward(&self.hidden.forward(input)?.relu()?)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.hidden.visit_params(&join(prefix, "domain.0"), visit);
        self.out.visit_params(&join(prefix, "domain.1"), visit);
    }
}

/// How long continued pretraining runs.
#[derive(Clone, Copy, Debug)]
pub struct ContinueConfig {
    /// Optimizer steps (BERT) or at most this many steps (language models).
    pub steps: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Seed of batches, masks and dropout.
    pub seed: u64,
}

/// Continues pretraining `body` on unlabelled target-domain `texts` with its own objective
/// (masked LM for BERT, next-token prediction for the language models), in place; `scratch`
/// is a folder for the language-model trainer's files. Word vectors cannot continue (they
/// have no objective here): a typed error.
pub fn continue_pretraining(body: &Body, texts: &[String], config: ContinueConfig, scratch: &Path) -> Result<()> {
    let sentences: Vec<Vec<String>> = texts.iter().map(|t| words_of(t)).filter(|w| !w.is_empty()).collect();
    if sentences.len() < 4 {
        return Err(TransferError::Invalid(format!(
            "continued pretraining needs target text: {} sentences",
            sentences.len()
        )));
    }
    if let Some((bert, vocab)) = body.bert() {
        let ids: Vec<Vec<u32>> = sentences.iter().map(|s| vocab.ids(s)).collect();
        let inputs = pack_inputs(&ids, vocab, bert.config().positions, config.seed)?;
        let held = inputs.len().div_ceil(10).max(1);
        let (held_out, train) = inputs.split_at(held.min(inputs.len() - 1));
        let pretrain_config = PretrainConfig {
            steps: config.steps,
            lr: config.lr,
            warmup: config.steps / 10,
            eval_every: config.steps,
            seed: config.seed,
            ..PretrainConfig::default()
        };
        pretrain(bert, vocab, train, held_out, &pretrain_config, None, &mut |_| {})?;
        return Ok(());
    }
    if let Some(lm) = body.gpt() {
        return continue_lm(lm, &sentences, config, scratch);
    }
    if let Some(lm) = body.rnn() {
        return continue_lm(lm, &sentences, config, scratch);
    }
    Err(TransferError::WrongKind {
        path: body.source().to_path_buf(),
        found: body.kind().name().into(),
        expected: "continued pretraining needs a language model or a BERT-style encoder folder".into(),
    })
}

fn continue_lm<M: LmNetwork>(
    lm: &NeuralLm<M>,
    sentences: &[Vec<String>],
    config: ContinueConfig,
    scratch: &Path,
) -> Result<()> {
    let vocab = lm.vocab();
    let ids: Vec<Vec<u32>> =
        sentences.iter().map(|s| vocab.encode(&s.join(" ")).iter().map(|t| t.id).collect()).collect();
    let stream = TokenStream::from_sentences(&ids, vocab.end_id());
    let (train, valid) = stream.split(0.9);
    let mut train_config = match lm.model().context() {
        Some(_) => TrainConfig::gpt_recipe(config.steps, config.steps),
        None => {
            TrainConfig { epochs: 1, ..TrainConfig::adamw_cosine(0.01, config.lr, config.steps / 10, config.lr / 10.0) }
        }
    };
    train_config.schedule =
        Schedule::WarmupCosine { base: config.lr, warmup: config.steps / 10, min: config.lr / 10.0 };
    train_config.max_steps = Some(config.steps);
    train_config.seed = config.seed;
    train_config.progress = false;
    if let Some(context) = lm.model().context() {
        train_config.window = train_config.window.min(context);
    }
    nlp::lm::train::train(lm, &train, &valid, &train_config, scratch, false, &mut |_| {})?;
    Ok(())
}
