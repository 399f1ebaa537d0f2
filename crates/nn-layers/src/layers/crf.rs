//! A linear-chain conditional random field over per-token emission scores (Lafferty et al.
//! 2001; the output layer of Lample et al.'s BiLSTM-CRF).
//!
//! The score of a tag path `y` for emissions `e` (`[T, K]`) is
//! `start[y₀] + Σₜ e[t, yₜ] + Σₜ trans[yₜ₋₁, yₜ] + end[y_{T-1}]`; the loss is the negative
//! log-likelihood `log Z - score(gold)`, with `log Z` from the forward algorithm in log space.
//!
//! Backends: the loss is a composite of existing autograd ops (`narrow`, broadcast `add`,
//! `logsumexp`, `where_select`, `index_select`), so it runs and differentiates on every backend;
//! a fused forward-algorithm op is not worth it at CoNLL's 9 tags, where one step is a
//! `[N, 9, 9]` add and reduce. Viterbi decoding runs on the host over the downloaded emissions
//! (it needs no gradient and is a tiny `T·K²` loop).

use std::sync::Arc;

use autograd::Var;
use tensor_core::{DType, Device, Result, Tensor, TensorError, TensorRng};

use crate::{Module, Param, module::join};

/// The score added to a forbidden transition: large enough that no allowed path loses to a
/// forbidden one, finite so that `logsumexp` and its gradient stay finite.
pub const FORBIDDEN: f64 = -10_000.0;

/// Which transitions a [`Crf`] may take: `from → to` between tags, and which tags may start a
/// sentence. Every tag may end one.
#[derive(Clone, Debug, PartialEq)]
pub struct TransitionMask {
    tags: usize,
    allowed: Vec<bool>,
    start: Vec<bool>,
}

impl TransitionMask {
    /// Every transition allowed.
    pub fn all(tags: usize) -> Self {
        TransitionMask { tags, allowed: vec![true; tags * tags], start: vec![true; tags] }
    }

    /// The IOB2 constraints for tags named `O`, `B-TYPE` or `I-TYPE`: `I-X` may only follow
    /// `B-X` or `I-X`, and no sentence starts with `I-X`. Any other name is an error.
    pub fn iob2(names: &[&str]) -> Result<Self> {
        let mut parsed = Vec::with_capacity(names.len());
        for name in names {
            let kind = match name.split_once('-') {
                _ if *name == "O" => None,
                Some(("B", ty)) if !ty.is_empty() => Some((false, ty)),
                Some(("I", ty)) if !ty.is_empty() => Some((true, ty)),
                _ => {
                    return Err(TensorError::invalid(
                        "crf",
                        format!("tag {name:?} is not IOB2 (expected O, B-TYPE or I-TYPE)"),
                    ));
                }
            };
            parsed.push(kind);
        }
        let mut mask = TransitionMask::all(names.len());
        for (to, kind) in parsed.iter().enumerate() {
            if let Some((true, ty)) = kind {
                mask.start[to] = false;
                for (from, prev) in parsed.iter().enumerate() {
                    mask.allowed[from * names.len() + to] = matches!(prev, Some((_, p)) if p == ty);
                }
            }
        }
        Ok(mask)
    }

    /// Whether `from → to` is allowed.
    pub fn allows(&self, from: usize, to: usize) -> bool {
        self.allowed[from * self.tags + to]
    }

    /// Whether a sentence may start with `tag`.
    pub fn allows_start(&self, tag: usize) -> bool {
        self.start[tag]
    }

    fn penalties(flags: &[bool]) -> Vec<f64> {
        flags.iter().map(|&ok| if ok { 0.0 } else { FORBIDDEN }).collect()
    }
}

/// A linear-chain CRF with `K` tags. Parameters: `transitions` `[K, K]` (row: from, column:
/// to), `start` `[K]`, `end` `[K]`.
#[derive(Debug)]
pub struct Crf {
    /// Transition scores, `[K, K]`, `transitions[i, j]` for tag `i` followed by tag `j`.
    pub transitions: Param,
    /// Scores of the first tag, `[K]`.
    pub start: Param,
    /// Scores of the last tag, `[K]`.
    pub end: Param,
    mask: Option<TransitionMask>,
}

impl Crf {
    /// A CRF over `tags` tags with every score drawn from U(-0.1, 0.1), f32.
    pub fn new(tags: usize, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Self> {
        Self::with_dtype(tags, DType::F32, rng, device)
    }

    /// [`Crf::new`] with parameters of `dtype` (f64 for gradient checks).
    pub fn with_dtype(tags: usize, dtype: DType, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Self> {
        if tags == 0 {
            return Err(TensorError::invalid("crf", "needs at least one tag"));
        }
        Ok(Crf {
            transitions: Param::new(rng.uniform([tags, tags], -0.1, 0.1, dtype, device)?),
            start: Param::new(rng.uniform([tags], -0.1, 0.1, dtype, device)?),
            end: Param::new(rng.uniform([tags], -0.1, 0.1, dtype, device)?),
            mask: None,
        })
    }

    /// Forbids the transitions `mask` does not allow (in the loss and in decoding).
    pub fn with_mask(mut self, mask: TransitionMask) -> Result<Self> {
        if mask.tags != self.tags() {
            return Err(TensorError::invalid("crf", format!("mask for {} tags, CRF has {}", mask.tags, self.tags())));
        }
        self.mask = Some(mask);
        Ok(self)
    }

    /// The transition mask, if any.
    pub fn mask(&self) -> Option<&TransitionMask> {
        self.mask.as_ref()
    }

    /// Number of tags.
    pub fn tags(&self) -> usize {
        self.start.value().dims()[0]
    }

    /// Transition and start scores with the mask's penalties added, as graph nodes.
    fn scores(&self) -> Result<(Var, Var, Var)> {
        let (trans, start) = (self.transitions.var(), self.start.var());
        let Some(mask) = &self.mask else { return Ok((trans, start, self.end.var())) };
        let value = trans.value();
        let k = self.tags();
        let penalty = |flags: &[bool], dims: Vec<usize>| -> Result<Var> {
            Ok(Var::constant(host(TransitionMask::penalties(flags), dims, value.dtype(), value.device())?))
        };
        Ok((
            trans.add(&penalty(&mask.allowed, vec![k, k])?)?,
            start.add(&penalty(&mask.start, vec![k])?)?,
            self.end.var(),
        ))
    }

    fn check(&self, emissions: &[usize], lengths: &[usize]) -> Result<(usize, usize)> {
        let k = self.tags();
        if emissions.len() != 3 || emissions[2] != k {
            return Err(TensorError::invalid("crf", format!("emissions must be [N, T, {k}], got {emissions:?}")));
        }
        let (n, t) = (emissions[0], emissions[1]);
        if lengths.len() != n || lengths.iter().any(|&l| l == 0 || l > t) {
            return Err(TensorError::invalid(
                "crf",
                format!("need {n} lengths in 1..={t} for emissions {emissions:?}, got {lengths:?}"),
            ));
        }
        Ok((n, t))
    }

    /// `log Z` per sequence, `[N]`: the forward algorithm in log space over emissions
    /// `[N, T, K]` whose sequence `i` has `lengths[i]` real steps (the rest is padding).
    pub fn log_partition(&self, emissions: &Var, lengths: &[usize]) -> Result<Var> {
        let (n, steps) = self.check(&emissions.dims(), lengths)?;
        let k = self.tags();
        let (trans, start, end) = self.scores()?;
        let value = emissions.value();
        let step = |t: usize| -> Result<Var> { emissions.narrow(1, t, 1)?.reshape([n, k]) };
        let mut alpha = step(0)?.add(&start)?;
        for t in 1..steps {
            // next[b, j] = logsumexp_i(alpha[b, i] + trans[i, j]) + e[b, t, j]
            let next = alpha.unsqueeze(2)?.add(&trans)?.logsumexp(1, false)?.add(&step(t)?)?;
            alpha = if lengths.iter().all(|&l| l > t) {
                next
            } else {
                let live: Vec<f64> = lengths.iter().map(|&l| f64::from(u8::from(l > t))).collect();
                next.where_select(&host(live, vec![n, 1], value.dtype(), value.device())?, &alpha)?
            };
        }
        alpha.add(&end)?.logsumexp(1, false)
    }

    /// The summed score of the gold paths `tags` (`[N, T]` i64, padding ignored).
    pub fn path_score(&self, emissions: &Var, tags: &Tensor, lengths: &[usize]) -> Result<Var> {
        let (n, steps) = self.check(&emissions.dims(), lengths)?;
        let k = self.tags();
        if tags.dims() != [n, steps] {
            return Err(TensorError::invalid("crf", format!("tags must be [{n}, {steps}], got {:?}", tags.dims())));
        }
        let gold = tags.to_vec::<i64>()?;
        let real = |i: usize| lengths[i / steps] > i % steps;
        if let Some((i, g)) = gold.iter().enumerate().find(|&(i, &g)| real(i) && (g < 0 || g as usize >= k)) {
            return Err(TensorError::invalid("crf", format!("tag {g} at flat position {i} is outside 0..{k}")));
        }
        let (trans, start, end) = self.scores()?;
        let (mut emitted, mut moves, mut firsts, mut lasts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (b, &len) in lengths.iter().enumerate() {
            let path = &gold[b * steps..b * steps + len];
            firsts.push(path[0]);
            lasts.push(path[len - 1]);
            for (t, &y) in path.iter().enumerate() {
                emitted.push(((b * steps + t) * k) as i64 + y);
                if t > 0 {
                    moves.push(path[t - 1] * k as i64 + y);
                }
            }
        }
        let device = emissions.value().device().clone();
        let ids = |v: Vec<i64>| -> Result<Tensor> {
            let len = v.len();
            Tensor::from_vec(v, [len], &device)
        };
        let mut score = emissions.reshape([n * steps * k])?.index_select(0, &ids(emitted)?)?.sum_all()?;
        score = score.add(&start.index_select(0, &ids(firsts)?)?.sum_all()?)?;
        score = score.add(&end.index_select(0, &ids(lasts)?)?.sum_all()?)?;
        if !moves.is_empty() {
            score = score.add(&trans.reshape([k * k])?.index_select(0, &ids(moves)?)?.sum_all()?)?;
        }
        Ok(score)
    }

    /// Mean negative log-likelihood of the gold `tags` over the batch: `(Σ log Z - Σ score) / N`.
    pub fn loss(&self, emissions: &Var, tags: &Tensor, lengths: &[usize]) -> Result<Var> {
        let log_z = self.log_partition(emissions, lengths)?.sum_all()?;
        let score = self.path_score(emissions, tags, lengths)?;
        log_z.sub(&score)?.scale(1.0 / lengths.len() as f64)
    }

    /// The best path of each sequence (Viterbi), `lengths[i]` tags for sequence `i`, computed
    /// on the host from emissions `[N, T, K]`.
    pub fn decode(&self, emissions: &Tensor, lengths: &[usize]) -> Result<Vec<Vec<usize>>> {
        let (n, steps) = self.check(emissions.dims(), lengths)?;
        let k = self.tags();
        let e = emissions.to_f64_vec()?;
        let mut trans = self.transitions.value().to_f64_vec()?;
        let mut start = self.start.value().to_f64_vec()?;
        let end = self.end.value().to_f64_vec()?;
        if let Some(mask) = &self.mask {
            trans.iter_mut().zip(TransitionMask::penalties(&mask.allowed)).for_each(|(s, p)| *s += p);
            start.iter_mut().zip(TransitionMask::penalties(&mask.start)).for_each(|(s, p)| *s += p);
        }
        let mut paths = Vec::with_capacity(n);
        let mut back = vec![0usize; steps * k];
        for (b, &len) in lengths.iter().enumerate() {
            let row = |t: usize| &e[(b * steps + t) * k..(b * steps + t + 1) * k];
            let mut best: Vec<f64> = start.iter().zip(row(0)).map(|(s, x)| s + x).collect();
            for t in 1..len {
                let mut next = vec![f64::NEG_INFINITY; k];
                for (j, slot) in next.iter_mut().enumerate() {
                    let (arg, score) = (0..k)
                        .map(|i| (i, best[i] + trans[i * k + j]))
                        .fold((0, f64::NEG_INFINITY), |acc, c| if c.1 > acc.1 { c } else { acc });
                    *slot = score + row(t)[j];
                    back[t * k + j] = arg;
                }
                best = next;
            }
            let mut tag = (0..k).fold(0, |a, j| if best[j] + end[j] > best[a] + end[a] { j } else { a });
            let mut path = vec![0; len];
            for t in (0..len).rev() {
                path[t] = tag;
                if t > 0 {
                    tag = back[t * k + tag];
                }
            }
            paths.push(path);
        }
        Ok(paths)
    }
}

/// Host `values` as a tensor of `dtype` on `device`, uploaded in that dtype (f64 only where
/// asked for: a device without f64, like the simulated TPU, never sees one).
fn host(values: Vec<f64>, dims: Vec<usize>, dtype: DType, device: &Arc<dyn Device>) -> Result<Tensor> {
    match dtype {
        DType::F64 => Tensor::from_vec(values, dims, device),
        DType::F32 => Tensor::from_vec(values.into_iter().map(|v| v as f32).collect::<Vec<f32>>(), dims, device),
        other => {
            Tensor::from_vec(values.into_iter().map(|v| v as f32).collect::<Vec<f32>>(), dims, device)?.try_cast(other)
        }
    }
}

impl Module for Crf {
    /// Not a mapping of one input: the CRF scores paths ([`Crf::loss`]) and decodes them
    /// ([`Crf::decode`]); `forward` returns the emissions unchanged so a CRF can sit at the end of
    /// a stack whose argmax is a (non-structured) fallback.
    fn forward(&self, input: &Var) -> Result<Var> {
        Ok(input.clone())
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        visit(&join(prefix, "transitions"), &self.transitions);
        visit(&join(prefix, "start"), &self.start);
        visit(&join(prefix, "end"), &self.end);
    }
}
