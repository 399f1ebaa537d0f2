//! Averaged word2vec + MLP: CBOW vectors trained (with `nlp`'s word2vec) on the task's own
//! training text, each text the mean of its words' vectors (a pair: `[u, v, u·v, |u − v|]`),
//! and a two-layer MLP on top.

use nlp::tokenize::WordTokenizer;
use nlp::word2vec::{Embeddings, Word2Vec, Word2VecConfig};
use serde_json::json;
use tensor_core::TensorRng;

use super::nets::{Encoded, MlpNet};
use super::neural::{EncodedTask, LoopConfig, MAX_TOKENS, train_net};
use super::{Context, Fitted, Model};
use crate::data::{Example, TaskData};
use crate::error::Result;
use crate::spec::TaskKind;

/// The averaged-word2vec baseline.
pub struct Word2VecMlp;

fn mean_vector(tokens: &[String], vectors: &Embeddings) -> Vec<f32> {
    let mut sum = vec![0f32; vectors.dim()];
    let mut n = 0;
    for v in tokens.iter().filter_map(|t| vectors.vector(t)) {
        sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
        n += 1;
    }
    if n > 0 {
        sum.iter_mut().for_each(|s| *s /= n as f32);
    }
    sum
}

impl Model for Word2VecMlp {
    fn name(&self) -> &'static str {
        "word2vec-mlp"
    }

    fn supports(&self, kind: TaskKind) -> bool {
        kind != TaskKind::Tagging
    }

    fn fit(&self, task: &TaskData, ctx: &Context) -> Result<Fitted> {
        let tokenizer = WordTokenizer::default();
        let tok = |s: &str| {
            let mut t = tokenizer.tokenize(s);
            t.truncate(MAX_TOKENS * 10);
            t
        };
        let sentences: Vec<Vec<String>> =
            task.train.iter().flat_map(|e| std::iter::once(tok(&e.text)).chain(e.second.as_deref().map(tok))).collect();
        let config = Word2VecConfig {
            size: 100,
            min_count: 2,
            iter: if ctx.quick { 1 } else { 5 },
            seed: ctx.seed + 1,
            ..Word2VecConfig::default()
        };
        let (model, _) = Word2Vec::train(&sentences, &config, &mut |_| {})?;
        let vectors = Embeddings::from_model(model);
        let features = |e: &Example| -> Encoded {
            let u = mean_vector(&tok(&e.text), &vectors);
            match &e.second {
                Some(second) => {
                    let v = mean_vector(&tok(second), &vectors);
                    let mut f = u.clone();
                    f.extend_from_slice(&v);
                    f.extend(u.iter().zip(&v).map(|(a, b)| a * b));
                    f.extend(u.iter().zip(&v).map(|(a, b)| (a - b).abs()));
                    Encoded::Dense(f)
                }
                None => Encoded::Dense(u),
            }
        };
        let split = |s: &[Example]| s.iter().map(features).collect::<Vec<_>>();
        let inputs = EncodedTask { train: split(&task.train), dev: split(&task.dev), test: split(&task.test) };
        let width = if task.spec.kind == TaskKind::Pair { 4 * config.size } else { config.size };
        let outputs = if task.spec.kind == TaskKind::Regression { 1 } else { task.classes.len() };
        let net = MlpNet::new(width, 256, outputs, &mut TensorRng::new(ctx.seed), &ctx.device)?;
        let loop_config = LoopConfig { epochs: if ctx.quick { 2 } else { 15 }, batch_size: 64, lr: 2e-3 };
        let (dev, test, epoch, seen) = train_net(&net, task, &inputs, loop_config, ctx)?;
        Ok(Fitted {
            dev,
            test,
            config: json!({ "word2vec": { "size": config.size, "min_count": config.min_count, "iter": config.iter, "cbow": true },
                "vocab": vectors.len(), "hidden": 256, "epochs": loop_config.epochs, "best_epoch": epoch, "lr": loop_config.lr }),
            examples_seen: seen,
        })
    }
}
