//! One call loads a model folder into something that predicts on raw input, as Hugging Face's
//! `pipeline` does: image files to the most probable classes, sentences to their class, or
//! sentences to one tag per word.
//!
//! ```no_run
//! # fn main() -> Result<(), tessera::UseError> {
//! let device = backend_cpu::CpuDevice::shared();
//! let pipeline = tessera::Pipeline::load(std::path::Path::new("cnn"), &device)?;
//! for prediction in pipeline.predict(&["digit.png"], 3)? {
//!     println!("{prediction}");
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use autograd::{Var, no_grad};
use nlp::classify::TextCnn;
use nlp::tokenize::WordTokenizer;
use nlp::vocab::{Vocab, VocabConfig};
use nn_layers::layers::{Activation, Linear, Sequential};
use nn_layers::models::lenet;
use nn_layers::{Module, ModuleExt};
use tensor_core::{Device, Tensor, TensorRng};

use crate::folder::{self, Architecture, FolderConfig, InputFormat};
use crate::images::ImageInput;
use crate::use_error::{Result, UseError};

/// Inputs per forward pass.
pub const BATCH: usize = 64;

/// An MLP `sizes[0] -> sizes[1] -> ReLU -> ... -> classes`, named like PyTorch's
/// `nn.Sequential` (`0.weight`, `2.weight`, ...).
pub fn mlp(sizes: &[usize], rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Sequential> {
    let mut model = Sequential::new();
    for (i, pair) in sizes.windows(2).enumerate() {
        if i > 0 {
            model = model.push(Activation::Relu);
        }
        model = model.push(Linear::new(pair[0], pair[1], rng, device)?);
    }
    Ok(model)
}

/// The TextCNN's logits for each id sequence, each padded only to the widest kernel: sentences
/// are batched with others of the same length, so a prediction never depends on what else is
/// in the batch (padding is a token the convolutions see, so extra padding could change it).
pub fn textcnn_logits(model: &TextCnn, sequences: &[Vec<usize>], device: &Arc<dyn Device>) -> Result<Vec<Vec<f32>>> {
    let length = |i: usize| sequences[i].len().max(model.min_len());
    let mut order: Vec<usize> = (0..sequences.len()).collect();
    order.sort_by_key(|&i| length(i));
    let mut out = vec![Vec::new(); sequences.len()];
    model.eval();
    for group in order.chunk_by(|&a, &b| length(a) == length(b)) {
        for chunk in group.chunks(BATCH) {
            let longest = length(chunk[0]);
            let mut flat = vec![0i64; chunk.len() * longest];
            for (row, &i) in chunk.iter().enumerate() {
                for (slot, &id) in flat[row * longest..].iter_mut().zip(&sequences[i]) {
                    *slot = id as i64;
                }
            }
            let x = Tensor::from_vec(flat, [chunk.len(), longest], device)?;
            let logits = no_grad(|| model.forward(&Var::constant(x)))?.value().to_vec::<f32>()?;
            let classes = logits.len() / chunk.len();
            for (row, &i) in chunk.iter().enumerate() {
                out[i] = logits[row * classes..][..classes].to_vec();
            }
        }
    }
    Ok(out)
}

/// What a pipeline predicted for one input.
#[derive(Clone, Debug, PartialEq)]
pub enum Prediction {
    /// The most probable classes, most probable first, with their probabilities.
    Classes(Vec<(String, f32)>),
    /// One tag per token: (token, tag).
    Tags(Vec<(String, String)>),
}

impl Prediction {
    /// The most probable class (the first tag for a tagging).
    pub fn top(&self) -> Option<&str> {
        match self {
            Prediction::Classes(c) => c.first().map(|(l, _)| l.as_str()),
            Prediction::Tags(t) => t.first().map(|(_, t)| t.as_str()),
        }
    }

    /// The prediction as a JSON object (`labels` with `probability`, or `tokens` with `tag`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Prediction::Classes(c) => serde_json::json!({
                "label": c.first().map(|(l, _)| l.as_str()),
                "top": c.iter().map(|(l, p)| serde_json::json!({"label": l, "probability": p})).collect::<Vec<_>>(),
            }),
            Prediction::Tags(t) => serde_json::json!({
                "tokens": t.iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>(),
                "tags": t.iter().map(|(_, g)| g.as_str()).collect::<Vec<_>>(),
            }),
        }
    }
}

impl fmt::Display for Prediction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Prediction::Classes(c) => {
                let parts: Vec<String> = c.iter().map(|(l, p)| format!("{l} {p:.4}")).collect();
                write!(f, "{}", parts.join(", "))
            }
            Prediction::Tags(t) => {
                let parts: Vec<String> = t.iter().map(|(w, g)| format!("{w}/{g}")).collect();
                write!(f, "{}", parts.join(" "))
            }
        }
    }
}

enum Network {
    /// MLP or LeNet over images.
    Image(Sequential, ImageInput),
    /// TextCNN over word ids.
    Text { model: Box<TextCnn>, vocab: Vocab, tokenizer: WordTokenizer },
    /// Part-of-speech tagger.
    Tagger(Box<crate::tagging::LoadedTagger>),
}

/// A model folder loaded onto a device, ready for raw input.
pub struct Pipeline {
    config: FolderConfig,
    network: Network,
    device: Arc<dyn Device>,
}

impl Pipeline {
    /// Loads the model folder `folder` onto `device`, checking its files against each other.
    pub fn load(folder: &Path, device: &Arc<dyn Device>) -> Result<Self> {
        let config = FolderConfig::read(folder)?;
        let mut rng = TensorRng::new(0);
        let network = match (&config.architecture, &config.input) {
            (Architecture::Mlp { sizes }, InputFormat::Image(input)) => {
                if sizes.first() != Some(&input.len()) {
                    return Err(UseError::folder(
                        folder.join(folder::CONFIG),
                        format!("the MLP reads {:?} values but the input format makes {}", sizes.first(), input.len()),
                    ));
                }
                Network::Image(mlp(sizes, &mut rng, device)?, input.clone())
            }
            (Architecture::LeNet(c), InputFormat::Image(input)) => {
                if c.in_channels != input.channels || c.image != [input.height, input.width] {
                    return Err(UseError::folder(
                        folder.join(folder::CONFIG),
                        "the CNN's input channels and image size differ from the input format",
                    ));
                }
                Network::Image(lenet(c, &mut rng, device)?, input.clone())
            }
            (Architecture::TextCnn(c), InputFormat::Words { lowercase }) => {
                let vocab = folder::load_vocab(folder, folder::VOCAB, &VocabConfig::default(), c.vocab)?;
                let tokenizer = WordTokenizer { lowercase: *lowercase, words_only: false };
                Network::Text { model: Box::new(TextCnn::new(c, &mut rng, device)?), vocab, tokenizer }
            }
            (Architecture::Tagger(c), InputFormat::Words { .. }) => {
                Network::Tagger(Box::new(crate::tagging::LoadedTagger::load(folder, c, &config.labels, device)?))
            }
            (arch, _) => {
                return Err(UseError::folder(
                    folder.join(folder::CONFIG),
                    format!("a {} network cannot read this input format", arch.name()),
                ));
            }
        };
        let module: &dyn Module = match &network {
            Network::Image(model, _) => model,
            Network::Text { model, .. } => model.as_ref(),
            Network::Tagger(t) => t.module(),
        };
        folder::load_weights(folder, module)?;
        module.eval();
        Ok(Pipeline { config, network, device: device.clone() })
    }

    /// The folder's config.
    pub fn config(&self) -> &FolderConfig {
        &self.config
    }

    /// Whether the inputs are image files (otherwise sentences).
    pub fn reads_images(&self) -> bool {
        matches!(self.network, Network::Image(..))
    }

    /// Predicts for each input: image paths for an image model, sentences otherwise; classes
    /// keep the `top_k` most probable.
    pub fn predict<S: AsRef<str>>(&self, inputs: &[S], top_k: usize) -> Result<Vec<Prediction>> {
        match &self.network {
            Network::Image(_, input) => {
                let mut out = Vec::with_capacity(inputs.len());
                for chunk in inputs.chunks(BATCH) {
                    let mut pixels = Vec::with_capacity(chunk.len() * input.len());
                    for path in chunk {
                        pixels.extend(input.load(Path::new(path.as_ref()))?);
                    }
                    out.extend(self.classify_pixels(pixels, top_k)?);
                }
                Ok(out)
            }
            Network::Text { .. } => {
                let texts: Vec<&str> = inputs.iter().map(AsRef::as_ref).collect();
                self.classify_texts(&texts, top_k)
            }
            Network::Tagger(tagger) => {
                let texts: Vec<&str> = inputs.iter().map(AsRef::as_ref).collect();
                Ok(tagger.tag(&texts, &self.device)?.into_iter().map(Prediction::Tags).collect())
            }
        }
    }

    /// Tags sentences already split into tokens (tagger folders): tokens as in training, e.g.
    /// a CoNLL file's words.
    pub fn tag_tokens(&self, sentences: &[Vec<String>]) -> Result<Vec<Prediction>> {
        let Network::Tagger(tagger) = &self.network else {
            return Err(UseError::folder("(pipeline)", "this model is not a tagger"));
        };
        Ok(tagger.tag_tokens(sentences, &self.device)?.into_iter().map(Prediction::Tags).collect())
    }

    /// Whether the model tags tokens (a tagger folder).
    pub fn is_tagger(&self) -> bool {
        matches!(self.network, Network::Tagger(_))
    }

    /// Classifies images already converted to the input format (`n * C * H * W` values).
    pub fn classify_pixels(&self, pixels: Vec<f32>, top_k: usize) -> Result<Vec<Prediction>> {
        let Network::Image(model, input) = &self.network else {
            return Err(UseError::folder("(pipeline)", "this model does not read images"));
        };
        let n = pixels.len() / input.len().max(1);
        let shape: Vec<usize> = match self.config.architecture {
            Architecture::LeNet(_) => vec![n, input.channels, input.height, input.width],
            _ => vec![n, input.len()],
        };
        let x = Tensor::from_vec(pixels, shape, &self.device)?;
        let logits = no_grad(|| model.forward(&Var::constant(x)))?.value();
        self.top_classes(&logits, top_k)
    }

    /// Classifies sentences (TextCNN folders).
    pub fn classify_texts(&self, texts: &[&str], top_k: usize) -> Result<Vec<Prediction>> {
        let Network::Text { model, vocab, tokenizer } = &self.network else {
            return Err(UseError::folder("(pipeline)", "this model does not classify sentences"));
        };
        let ids: Vec<Vec<usize>> = texts.iter().map(|t| vocab.encode(&tokenizer.tokenize(t))).collect();
        let logits = textcnn_logits(model, &ids, &self.device)?;
        let classes = self.config.labels.len();
        let flat: Vec<f32> = logits.into_iter().flatten().collect();
        let n = flat.len() / classes.max(1);
        self.top_classes(&Tensor::from_vec(flat, [n, classes], &self.device)?, top_k)
    }

    fn top_classes(&self, logits: &Tensor, top_k: usize) -> Result<Vec<Prediction>> {
        let classes = self.config.labels.len();
        let probabilities = logits.try_softmax(-1)?.to_vec::<f32>()?;
        let scores = logits.to_vec::<f32>()?;
        Ok(probabilities
            .chunks(classes)
            .zip(scores.chunks(classes))
            .map(|(row, score)| {
                let mut order: Vec<usize> = (0..classes).collect();
                // By logit, highest first, ties to the lower index: the first is argmax's pick.
                order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
                Prediction::Classes(
                    order.iter().take(top_k.max(1)).map(|&i| (self.config.labels[i].clone(), row[i])).collect(),
                )
            })
            .collect())
    }
}
