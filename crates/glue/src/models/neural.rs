//! The neural baselines' shared loop (mini-batches, Adam, gradient clipping, the epoch chosen
//! on dev) and the TextCNN and BiLSTM models. Tagging with the BiLSTM goes through `nlp`'s
//! tagger.

use std::collections::HashMap;
use std::sync::Arc;

use autograd::{Var, clip_grad_norm, no_grad};
use nlp::corpus::TaggedDocument;
use nlp::tag::{Tagger, TaggerConfig, TaggingData, TaggingVocab, train_tagger_epoch};
use nlp::tokenize::WordTokenizer;
use nlp::vocab::{Vocab, VocabConfig};
use nn_layers::ModuleExt;
use nn_layers::data::permutation;
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::optim::{Adam, AdamConfig, Optimizer};
use serde_json::json;
use tensor_core::{Device, Tensor, TensorRng};

use super::nets::{Batch, BiLstmNet, Encoded, Net, TextCnnNet};
use super::{Context, Fitted, Model, Outputs, class_of, score_of};
use crate::data::{Example, Target, TaskData};
use crate::error::Result;
use crate::run::task_score;
use crate::spec::TaskKind;

/// Settings of [`train_net`].
#[derive(Clone, Copy, Debug)]
pub struct LoopConfig {
    /// Passes over the training split.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
}

/// Train/dev/test inputs, encoded.
pub struct EncodedTask {
    /// Training inputs.
    pub train: Vec<Encoded>,
    /// Dev inputs.
    pub dev: Vec<Encoded>,
    /// Test inputs.
    pub test: Vec<Encoded>,
}

fn predict(net: &dyn Net, items: &[Encoded], regression: bool, device: &Arc<dyn Device>) -> Result<Outputs> {
    net.eval();
    // Length-sorted batches waste less on padding; results go back to input order.
    let len = |e: &Encoded| match e {
        Encoded::Tokens(s) => s.len(),
        Encoded::Pair(a, b) => a.len().max(b.len()),
        Encoded::Dense(_) => 0,
    };
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| len(&items[i]));
    let (mut classes, mut scores) = (vec![0usize; items.len()], vec![0f64; items.len()]);
    no_grad(|| -> Result<()> {
        for chunk in order.chunks(128) {
            let batch = Batch::of(&chunk.iter().map(|&i| &items[i]).collect::<Vec<_>>(), net.min_len(), device)?;
            let out = net.run(&batch)?.value();
            if regression {
                for (&i, v) in chunk.iter().zip(out.to_vec::<f32>()?) {
                    scores[i] = f64::from(v);
                }
            } else {
                let ids = out.try_arg_reduce(tensor_core::ArgReduceOp::ArgMax, -1, false)?.to_vec::<i64>()?;
                for (&i, c) in chunk.iter().zip(ids) {
                    classes[i] = c as usize;
                }
            }
        }
        Ok(())
    })?;
    Ok(if regression { Outputs::Scores(scores) } else { Outputs::Classes(classes) })
}

/// Trains `net` on `task` (cross-entropy, or squared error for scores) and returns the dev and
/// test predictions of the epoch with the best dev score, that epoch, and the examples seen.
pub fn train_net(
    net: &dyn Net,
    task: &TaskData,
    inputs: &EncodedTask,
    config: LoopConfig,
    ctx: &Context,
) -> Result<(Outputs, Outputs, usize, usize)> {
    let device = &ctx.device;
    let regression = task.spec.kind == TaskKind::Regression;
    let params = net.parameters();
    let leaves: Vec<Var> = params.iter().map(|(_, p)| p.leaf().clone()).collect();
    let mut adam = Adam::new(params, AdamConfig::adam(config.lr));
    let mut best: Option<(f64, Outputs, Outputs, usize)> = None;
    let mut seen = 0;
    for epoch in 1..=config.epochs {
        net.train();
        let order = permutation(inputs.train.len(), ctx.seed.wrapping_mul(1000) + epoch as u64);
        for chunk in order.chunks(config.batch_size) {
            let items: Vec<&Encoded> = chunk.iter().map(|&i| &inputs.train[i]).collect();
            let batch = Batch::of(&items, net.min_len(), device)?;
            adam.zero_grad();
            let out = net.run(&batch)?;
            let loss = if regression {
                let y: Vec<f32> = chunk.iter().map(|&i| score_of(&task.train[i]) as f32).collect();
                out.sub(&Var::constant(Tensor::from_vec(y, [chunk.len(), 1], device)?))?.square()?.mean_all()?
            } else {
                let y: Vec<i64> = chunk.iter().map(|&i| class_of(&task.train[i]) as i64).collect();
                cross_entropy(&out, &Tensor::from_vec(y, [chunk.len()], device)?, CrossEntropy::default())?
            };
            loss.backward()?;
            clip_grad_norm(&leaves, 5.0)?;
            adam.step()?;
            seen += chunk.len();
        }
        let dev = predict(net, &inputs.dev, regression, device)?;
        let score = task_score(task, &task.dev, &dev);
        if best.as_ref().is_none_or(|b| score > b.0) {
            let test = predict(net, &inputs.test, regression, device)?;
            best = Some((score, dev, test, epoch));
        }
    }
    let (_, dev, test, epoch) = best.ok_or_else(|| crate::GlueError::Invalid("no epochs to train".into()))?;
    Ok((dev, test, epoch, seen))
}

/// Longest token sequence a neural model reads (documents are cut there).
pub const MAX_TOKENS: usize = 400;

/// Word ids of the three splits under a vocabulary of the training split; a pair is two
/// sequences, or one joined by `[SEP]` when `join_pairs`.
pub fn encode_tokens(task: &TaskData, join_pairs: bool) -> (EncodedTask, Vocab) {
    let tokenizer = WordTokenizer::default();
    let tok = |s: &str| {
        let mut t = tokenizer.tokenize(s);
        t.truncate(MAX_TOKENS);
        t
    };
    let train_tokens = task.train.iter().flat_map(|e| {
        let mut t = tok(&e.text);
        t.extend(e.second.as_deref().map(tok).unwrap_or_default());
        t
    });
    let words: Vec<String> = train_tokens.collect();
    let config =
        VocabConfig { specials: vec!["<pad>".into(), "<unk>".into(), "[SEP]".into()], ..VocabConfig::default() };
    let vocab = Vocab::build(words.iter().map(String::as_str), &config);
    let encode = |e: &Example| -> Encoded {
        let a = vocab.encode(&tok(&e.text));
        match &e.second {
            Some(second) if join_pairs => {
                let mut ids = a;
                ids.push(2);
                ids.extend(vocab.encode(&tok(second)));
                Encoded::Tokens(ids)
            }
            Some(second) => Encoded::Pair(a, vocab.encode(&tok(second))),
            None => Encoded::Tokens(a),
        }
    };
    let split = |s: &[Example]| s.iter().map(encode).collect();
    (EncodedTask { train: split(&task.train), dev: split(&task.dev), test: split(&task.test) }, vocab)
}

fn outputs(task: &TaskData) -> usize {
    if task.spec.kind == TaskKind::Regression { 1 } else { task.classes.len() }
}

/// Kim's TextCNN (CNN-rand): 3/4/5-wide filters, 100 each, dropout 0.5; a pair is read as one
/// sequence joined by `[SEP]`.
pub struct TextCnnModel;

impl Model for TextCnnModel {
    fn name(&self) -> &'static str {
        "textcnn"
    }

    fn supports(&self, kind: TaskKind) -> bool {
        kind != TaskKind::Tagging
    }

    fn fit(&self, task: &TaskData, ctx: &Context) -> Result<Fitted> {
        let (inputs, vocab) = encode_tokens(task, true);
        let net = TextCnnNet::new(vocab.len(), outputs(task), &mut TensorRng::new(ctx.seed), &ctx.device)?;
        let config = LoopConfig { epochs: if ctx.quick { 1 } else { 4 }, batch_size: 50, lr: 1e-3 };
        let (dev, test, epoch, seen) = train_net(&net, task, &inputs, config, ctx)?;
        Ok(Fitted {
            dev,
            test,
            config: json!({ "vocab": vocab.len(), "embedding": 100, "widths": [3, 4, 5], "filters": 100,
                "epochs": config.epochs, "best_epoch": epoch, "batch_size": config.batch_size, "lr": config.lr,
                "max_tokens": MAX_TOKENS }),
            examples_seen: seen,
        })
    }
}

/// A BiLSTM encoder with mean pooling (pairs: InferSent's `[u, v, u·v, u − v]`) and an MLP
/// head; for tagging, `nlp`'s BiLSTM tagger (word and suffix embeddings).
pub struct BiLstmModel;

impl BiLstmModel {
    fn fit_tagger(task: &TaskData, ctx: &Context) -> Result<Fitted> {
        let docs = |split: &[Example]| -> Vec<TaggedDocument> {
            split
                .iter()
                .map(|e| {
                    let tags = match &e.target {
                        Target::Tags(t) => t.iter().map(|&t| task.classes[t].clone()).collect(),
                        _ => Vec::new(),
                    };
                    TaggedDocument {
                        id: e.group.clone(),
                        genre: String::new(),
                        sentences: vec![e.tokens.iter().cloned().zip(tags).collect()],
                    }
                })
                .collect()
        };
        let (train, dev, test) = (docs(&task.train), docs(&task.dev), docs(&task.test));
        let all: Vec<TaggedDocument> = train.iter().chain(&dev).chain(&test).cloned().collect();
        let vocab = TaggingVocab::build(&train, &all);
        let to_class: HashMap<usize, usize> = (0..vocab.tags.len())
            .filter_map(|i| Some((i, task.classes.iter().position(|c| Some(c.as_str()) == vocab.tags.word(i))?)))
            .collect();
        let (train_d, dev_d, test_d) = (
            TaggingData::encode(&train, &vocab),
            TaggingData::encode(&dev, &vocab),
            TaggingData::encode(&test, &vocab),
        );
        let config = TaggerConfig::for_vocab(&vocab, 128, true);
        let tagger = Tagger::new(&config, &mut TensorRng::new(ctx.seed), &ctx.device)?;
        let mut adam = Adam::new(tagger.parameters(), AdamConfig::adam(3e-3));
        let epochs = if ctx.quick { 1 } else { 2 };
        let mut best: Option<(f64, Outputs, Outputs, usize)> = None;
        for epoch in 1..=epochs {
            train_tagger_epoch(&tagger, &mut adam, &train_d, 32, ctx.seed + epoch as u64, &ctx.device, false)?;
            let dev_out = tag_all(&tagger, &dev_d, &to_class, &ctx.device)?;
            let score = task_score(task, &task.dev, &dev_out);
            if best.as_ref().is_none_or(|b| score > b.0) {
                best = Some((score, dev_out, tag_all(&tagger, &test_d, &to_class, &ctx.device)?, epoch));
            }
        }
        let (_, dev, test, epoch) = best.ok_or_else(|| crate::GlueError::Invalid("no epochs to train".into()))?;
        Ok(Fitted {
            dev,
            test,
            config: json!({ "tagger": "nlp::tag::Tagger", "hidden": 128, "epochs": epochs, "best_epoch": epoch }),
            examples_seen: task.train.len() * epochs,
        })
    }
}

/// The tagger's predictions for every sentence of `data`, in order, as task tag ids.
fn tag_all(
    tagger: &Tagger,
    data: &TaggingData,
    to_class: &HashMap<usize, usize>,
    device: &Arc<dyn Device>,
) -> Result<Outputs> {
    tagger.eval();
    let mut out = vec![Vec::new(); data.len()];
    no_grad(|| -> Result<()> {
        for indices in data.length_batches(256, None) {
            let batch = data.batch(&indices, device)?;
            let logits = tagger.logits(&batch)?.value();
            let t = logits.dims()[1];
            let ids = logits.try_arg_reduce(tensor_core::ArgReduceOp::ArgMax, -1, false)?.to_vec::<i64>()?;
            for (row, &i) in indices.iter().enumerate() {
                out[i] = (0..batch.lengths[row])
                    .map(|k| *to_class.get(&(ids[row * t + k] as usize)).unwrap_or(&0))
                    .collect();
            }
        }
        Ok(())
    })?;
    Ok(Outputs::Tags(out))
}

impl Model for BiLstmModel {
    fn name(&self) -> &'static str {
        "bilstm"
    }

    fn supports(&self, _kind: TaskKind) -> bool {
        true
    }

    fn fit(&self, task: &TaskData, ctx: &Context) -> Result<Fitted> {
        if task.spec.kind == TaskKind::Tagging {
            return Self::fit_tagger(task, ctx);
        }
        let (inputs, vocab) = encode_tokens(task, false);
        let pair = task.spec.kind == TaskKind::Pair;
        let (dim, hidden) = (100, 128);
        let net = BiLstmNet::new(
            vocab.len(),
            outputs(task),
            pair,
            (dim, hidden),
            &mut TensorRng::new(ctx.seed),
            &ctx.device,
        )?;
        let config = LoopConfig { epochs: if ctx.quick { 1 } else { 3 }, batch_size: 32, lr: 2e-3 };
        let (dev, test, epoch, seen) = train_net(&net, task, &inputs, config, ctx)?;
        Ok(Fitted {
            dev,
            test,
            config: json!({ "vocab": vocab.len(), "embedding": dim, "hidden": hidden, "pair_encoder": pair,
                "epochs": config.epochs, "best_epoch": epoch, "batch_size": config.batch_size, "lr": config.lr,
                "max_tokens": MAX_TOKENS }),
            examples_seen: seen,
        })
    }
}
