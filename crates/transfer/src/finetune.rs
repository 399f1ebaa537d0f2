//! The training loop of every transfer mode: the head alone on cached features when the body
//! is frozen, or the body too (whole or in part) with discriminative rates per layer group,
//! gradual unfreezing, a slanted-triangular or warm-up/linear schedule, weight decay, an
//! optional domain-adaptation term, early stopping on a dev split and the best epoch restored.

use std::time::Instant;

use autograd::{Var, clip_grad_norm, no_grad};
use nn_layers::data::permutation;
use nn_layers::optim::{AdamConfig, Constant, LrSchedule, Optimizer};
use nn_layers::{ModuleExt, Param};
use tensor_core::{Tensor, TensorRng};

use crate::adapt::{DomainClassifier, coral_loss};
use crate::optim::{GroupedAdam, SlantedTriangular, WarmupLinear, layer_groups};
use crate::task::{Example, TaskKind, TaskModel, score_outputs};
use crate::{Result, TransferError};

/// The learning-rate schedule over all steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScheduleKind {
    /// The same rate throughout.
    Constant,
    /// ULMFiT's slanted triangle (cut at 10%, ratio 32).
    SlantedTriangular,
    /// BERT's linear warm-up over the first 10% of steps, then linear decay to 0.
    WarmupLinear,
}

/// Settings of [`finetune`].
#[derive(Clone, Debug)]
pub struct FinetuneConfig {
    /// Passes over the training examples.
    pub epochs: usize,
    /// Examples per step.
    pub batch: usize,
    /// Peak learning rate of the top group (the head).
    pub lr: f64,
    /// Discriminative fine-tuning: each layer group below the head runs at `decay` times the
    /// rate of the group above (ULMFiT: 1/2.6); 1 gives every group the same rate.
    pub decay: f64,
    /// The schedule.
    pub schedule: ScheduleKind,
    /// AdamW's decoupled weight decay (matrices only).
    pub weight_decay: f64,
    /// Stop after this many epochs without a better dev score; `None`: run every epoch.
    pub patience: Option<usize>,
    /// ULMFiT's gradual unfreezing: the head alone in the first epoch, one more layer group
    /// from the top in each later one.
    pub gradual_unfreeze: bool,
    /// Dropout on the head's input.
    pub dropout: f64,
    /// Clip the gradient's global norm (0: off).
    pub clip: f64,
    /// Seed of the order of examples and of dropout.
    pub seed: u64,
}

impl Default for FinetuneConfig {
    /// 10 epochs of 32, AdamW 1e-3 with weight decay 0.01, no discriminative decay, warm-up
    /// and linear decay, patience 3, clipping at 1.
    fn default() -> Self {
        FinetuneConfig {
            epochs: 10,
            batch: 32,
            lr: 1e-3,
            decay: 1.0,
            schedule: ScheduleKind::WarmupLinear,
            weight_decay: 0.01,
            patience: Some(3),
            gradual_unfreeze: false,
            dropout: 0.1,
            clip: 1.0,
            seed: 0,
        }
    }
}

/// A domain-adaptation term added to the task loss, with unlabelled target-domain examples.
pub enum Adaptation<'a> {
    /// None: the task loss alone.
    None,
    /// DANN: a domain classifier behind a gradient reversal, λ rising as Ganin et al.'s
    /// schedule, its loss times `weight`.
    Dann {
        /// Target-domain examples (their targets are ignored).
        target: &'a [Example],
        /// The domain classifier (trained with the model).
        classifier: &'a DomainClassifier,
        /// Weight of the domain loss.
        weight: f64,
    },
    /// CORAL between source and target features of each step, times `weight`.
    Coral {
        /// Target-domain examples (their targets are ignored).
        target: &'a [Example],
        /// Weight of the CORAL loss.
        weight: f64,
    },
}

/// One epoch's numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Dev score (accuracy, or negative MSE for regression).
    pub dev: f64,
    /// Base rate at the epoch's last step.
    pub lr: f64,
    /// Seconds since training started.
    pub seconds: f64,
}

/// What [`finetune`] did.
#[derive(Clone, Debug)]
pub struct FinetuneReport {
    /// Every epoch run.
    pub history: Vec<EpochRecord>,
    /// The epoch whose weights were kept (1-based).
    pub best_epoch: usize,
    /// Its dev score.
    pub best_dev: f64,
    /// Whether the head trained on features computed once (the body frozen).
    pub cached: bool,
    /// Weights the optimizer could change.
    pub trainable: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// A batch's head input: features and, for tagging, labels.
type Batch = (Tensor, Option<Tensor>);

/// Trains `model` on `train`, choosing the epoch by `dev`; `extra` are trainable parameters
/// outside the model (LoRA adapters). When no parameter of the body is trainable and there is
/// no adaptation, the body's features are computed once and cached, and only the head trains.
pub fn finetune(
    model: &TaskModel,
    train: &[Example],
    dev: &[Example],
    config: &FinetuneConfig,
    extra: &[(String, Param)],
    adaptation: Adaptation<'_>,
) -> Result<FinetuneReport> {
    if train.is_empty() || config.batch == 0 || config.epochs == 0 {
        return Err(TransferError::Invalid("fine-tuning needs examples, a batch size and epochs".into()));
    }
    if model.task == TaskKind::Tag && !matches!(adaptation, Adaptation::None) {
        return Err(TransferError::Invalid("domain adaptation works on sentence tasks, not tagging".into()));
    }
    let start = Instant::now();
    let mut params: Vec<(String, Param)> = model.parameters();
    params.extend(extra.iter().cloned());
    if let Adaptation::Dann { classifier, .. } = &adaptation {
        params.extend(classifier.parameters());
    }
    let body_trainable = model.body.module().parameters().iter().any(|(_, p)| !p.is_frozen());
    let cached = !body_trainable && extra.is_empty() && matches!(adaptation, Adaptation::None);
    let trainable: usize = params.iter().filter(|(_, p)| !p.is_frozen()).map(|(_, p)| p.value().numel()).sum();
    let groups = layer_groups(params.clone());
    let initially: Vec<bool> = groups.iter().map(|g| g.iter().any(|(_, p)| !p.is_frozen())).collect();
    let adam = AdamConfig { weight_decay: config.weight_decay, ..AdamConfig::adamw(config.lr) };
    let mut optimizer = GroupedAdam::new(groups.clone(), adam, config.decay);

    let order = permutation(train.len(), config.seed);
    let chunks: Vec<Vec<usize>> = order.chunks(config.batch).map(<[usize]>::to_vec).collect();
    let pick = |indices: &[usize]| indices.iter().map(|&i| train[i].clone()).collect::<Vec<_>>();
    // Feature extraction: the frozen body's outputs, once, without dropout.
    let cache = |examples: &[Vec<Example>]| -> Result<Vec<Batch>> {
        model.eval();
        let out = no_grad(|| {
            examples.iter().map(|e| model.features(e, None).map(|(f, l)| (f.value(), l))).collect::<Result<Vec<_>>>()
        });
        model.train();
        out
    };
    let dev_chunks: Vec<Vec<Example>> = dev.chunks(config.batch.max(64)).map(<[Example]>::to_vec).collect();
    let (train_cache, dev_cache) = if cached {
        let batches: Vec<Vec<Example>> = chunks.iter().map(|c| pick(c)).collect();
        (cache(&batches)?, cache(&dev_chunks)?)
    } else {
        (Vec::new(), Vec::new())
    };
    // Cached features are standardised per dimension (with the training batches' statistics)
    // so one head rate suits every body; the scaling is folded into the head at the end.
    let scaling = if cached { Some(standardiser(&train_cache)?) } else { None };
    let standardise = |features: &Tensor| -> Result<Tensor> {
        Ok(match &scaling {
            Some((mean, std)) => features.try_sub(mean)?.try_div(std)?,
            None => features.clone(),
        })
    };
    let score_dev = || -> Result<f64> {
        if dev.is_empty() {
            return Ok(f64::NAN);
        }
        if !cached {
            return model.evaluate(dev, config.batch.max(64));
        }
        model.eval();
        let (mut total, mut count) = (0.0, 0);
        for ((features, labels), examples) in dev_cache.iter().zip(&dev_chunks) {
            let out = no_grad(|| model.head_forward(&Var::constant(standardise(features)?)))?.value();
            let (s, n) = score_outputs(model.task, &out, examples, labels.as_ref())?;
            total += s;
            count += n;
        }
        model.train();
        Ok(total / count.max(1) as f64)
    };

    let total_steps = config.epochs * chunks.len();
    let schedule: Box<dyn LrSchedule> = match config.schedule {
        ScheduleKind::Constant => Box::new(Constant(config.lr)),
        ScheduleKind::SlantedTriangular => {
            Box::new(SlantedTriangular { max: config.lr, total: total_steps, cut_frac: 0.1, ratio: 32.0 })
        }
        ScheduleKind::WarmupLinear => {
            Box::new(WarmupLinear { max: config.lr, warmup: total_steps.div_ceil(10), total: total_steps })
        }
    };
    let leaves: Vec<Var> = params.iter().map(|(_, p)| p.leaf().clone()).collect();
    let mut rng = TensorRng::new(config.seed ^ 0xD1B5_4A32_D192_ED03);
    let mut history = Vec::new();
    let mut best: Option<(usize, f64, Vec<Tensor>)> = None;
    let mut step = 0;
    let mut target_at = 0;
    model.train();
    for epoch in 0..config.epochs {
        if config.gradual_unfreeze {
            let open = epoch + 1;
            for (g, group) in groups.iter().enumerate() {
                let thawed = initially[g] && g + open >= groups.len();
                group.iter().for_each(|(_, p)| p.set_frozen(!thawed));
            }
        }
        let mut epoch_order: Vec<usize> = permutation(chunks.len(), config.seed.wrapping_add(epoch as u64 + 1));
        if chunks.len() == 1 {
            epoch_order = vec![0];
        }
        let (mut loss_sum, mut loss_count) = (0.0, 0);
        for &c in &epoch_order {
            let examples = pick(&chunks[c]);
            optimizer.zero_grad();
            let dropout = Some(rng.next_u64());
            let (features, labels) = if cached {
                let (f, l) = &train_cache[c];
                (Var::constant(standardise(f)?), l.clone())
            } else {
                model.features(&examples, dropout)?
            };
            let out = model.head_forward(&features)?;
            let mut loss = model.loss(&out, &examples, labels.as_ref())?;
            let progress = step as f64 / total_steps.max(1) as f64;
            let term = match &adaptation {
                Adaptation::None => None,
                Adaptation::Dann { target, weight, .. } | Adaptation::Coral { target, weight } => {
                    Some((*target, *weight))
                }
            };
            if let Some((target, weight)) = term.filter(|(t, _)| !t.is_empty()) {
                let batch: Vec<Example> =
                    (0..examples.len()).map(|i| target[(target_at + i) % target.len()].clone()).collect();
                target_at = (target_at + batch.len()) % target.len();
                let (target_features, _) = model.features(&batch, dropout.map(|s| s ^ 1))?;
                let extra = match &adaptation {
                    Adaptation::Dann { classifier, .. } => {
                        classifier.loss(&features, &target_features, DomainClassifier::lambda(progress))?
                    }
                    _ => coral_loss(&features, &target_features)?,
                };
                loss = loss.add(&extra.scale(weight)?)?;
            }
            loss.backward()?;
            if config.clip > 0.0 {
                clip_grad_norm(&leaves, config.clip)?;
            }
            optimizer.set_lr(schedule.lr(step));
            optimizer.step()?;
            loss_sum += loss.value().to_scalar()?;
            loss_count += 1;
            step += 1;
        }
        let dev_score = score_dev()?;
        history.push(EpochRecord {
            epoch: epoch + 1,
            train_loss: loss_sum / loss_count.max(1) as f64,
            dev: dev_score,
            lr: optimizer.lr(),
            seconds: start.elapsed().as_secs_f64(),
        });
        let improved = best.as_ref().is_none_or(|(_, score, _)| dev_score > *score || dev_score.is_nan());
        if improved {
            let snapshot = params
                .iter()
                .map(|(_, p)| p.value().try_cast(p.value().dtype()))
                .collect::<tensor_core::Result<Vec<_>>>()?;
            best = Some((epoch + 1, dev_score, snapshot));
        } else if let (Some(patience), Some((best_epoch, ..))) = (config.patience, &best)
            && epoch + 1 - best_epoch >= patience
        {
            break;
        }
    }
    let (best_epoch, best_dev, snapshot) = best.ok_or_else(|| TransferError::Invalid("no epoch ran".into()))?;
    for ((_, p), value) in params.iter().zip(snapshot) {
        p.set_value(value)?;
    }
    if let Some((mean, std)) = &scaling {
        // head(x') with x' = (x - m) / s is head'(x) with W' = W / s and b' = b - W'·m.
        let weight = model.head.weight.value().try_div(std)?;
        let shift = weight.try_mul(mean)?.try_reduce(tensor_core::ReduceOp::Sum, &[1], false)?;
        if let Some(bias) = &model.head.bias {
            bias.set_value(bias.value().try_sub(&shift)?)?;
        }
        model.head.weight.set_value(weight)?;
    }
    Ok(FinetuneReport { history, best_epoch, best_dev, cached, trainable, seconds: start.elapsed().as_secs_f64() })
}

/// Per-dimension mean and standard deviation (`[F]` each, the deviation at least 1e-4) of
/// cached feature batches `[n, F]`.
fn standardiser(batches: &[Batch]) -> Result<(Tensor, Tensor)> {
    let width = batches.first().map_or(0, |(f, _)| f.dims()[1]);
    let (mut sum, mut square, mut count) = (vec![0.0f64; width], vec![0.0f64; width], 0usize);
    for (features, _) in batches {
        let values = features.try_cast(tensor_core::DType::F32)?.to_vec::<f32>()?;
        for row in values.chunks(width.max(1)) {
            for (k, &x) in row.iter().enumerate() {
                sum[k] += x as f64;
                square[k] += (x as f64).powi(2);
            }
            count += 1;
        }
    }
    let n = count.max(1) as f64;
    let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
    let std: Vec<f32> =
        sum.iter().zip(&square).map(|(s, q)| ((q / n - (s / n).powi(2)).max(0.0).sqrt().max(1e-4)) as f32).collect();
    let device = batches.first().map(|(f, _)| f.device().clone());
    let device = device.ok_or_else(|| TransferError::Invalid("no cached features".into()))?;
    Ok((Tensor::from_vec(mean, [width], &device)?, Tensor::from_vec(std, [width], &device)?))
}
