//! Freezing by name, layer groups with discriminative learning rates (ULMFiT), and the
//! schedules of transfer: slanted triangular (ULMFiT) and warm-up with linear decay (BERT).

use nn_layers::optim::{Adam, AdamConfig, LrSchedule, Optimizer};
use nn_layers::{Module, Param, glob_match};
use tensor_core::Tensor;

use crate::{Result, TransferError};

/// Freezes (or, with `frozen = false`, unfreezes) every parameter of `model` whose name
/// matches `pattern` (`*` matches any run); a pattern that matches nothing is an error listing
/// a few names it could have matched. Returns how many matched.
pub fn set_frozen(model: &dyn Module, pattern: &str, frozen: bool) -> Result<usize> {
    let mut names = Vec::new();
    let mut count = 0;
    model.visit_params("", &mut |name, p| {
        if glob_match(pattern, name) {
            p.set_frozen(frozen);
            count += 1;
        } else if names.len() < 4 {
            names.push(format!("`{name}`"));
        }
    });
    if count == 0 {
        return Err(TransferError::NoMatch { pattern: pattern.into(), what: "parameter", examples: names.join(", ") });
    }
    Ok(count)
}

/// Where a parameter sits, from its name: the embeddings at the bottom, numbered layers
/// (`layer.3.`, `h.3.`, `_l3`) above them, then whatever sits on the last layer (a pooler, a
/// final norm, convolutions), and the task head on top.
fn depth(name: &str) -> (u8, usize) {
    if name.starts_with("head.") {
        return (3, 0);
    }
    for marker in ["layer.", "h."] {
        if let Some(at) = name.find(marker) {
            let rest = &name[at + marker.len()..];
            if let Some(n) = rest.split('.').next().and_then(|s| s.parse::<usize>().ok()) {
                return (1, n);
            }
        }
    }
    if name.starts_with("domain.") {
        return (3, 0);
    }
    if let Some(at) = name.rfind("_l")
        && let Ok(n) = name[at + 2..].parse::<usize>()
    {
        return (1, n);
    }
    let bottom = ["embeddings", "wte", "wpe", "encoder.weight", "embedding.", "decoder.", "cls."];
    if bottom.iter().any(|b| name.contains(b)) { (0, 0) } else { (2, 0) }
}

/// Named parameters in layer groups from the bottom (embeddings) to the top (the head), each
/// group in the order given; a LoRA adapter (`<weight>.lora_A`) sits in its weight's group.
pub fn layer_groups(params: Vec<(String, Param)>) -> Vec<Vec<(String, Param)>> {
    let keyed: Vec<((u8, usize), String, Param)> = params.into_iter().map(|(n, p)| (depth(&n), n, p)).collect();
    let mut keys: Vec<(u8, usize)> = keyed.iter().map(|(k, ..)| *k).collect();
    keys.sort();
    keys.dedup();
    keys.iter()
        .map(|key| keyed.iter().filter(|(k, ..)| k == key).map(|(_, n, p)| (n.clone(), p.clone())).collect())
        .collect()
}

/// Adam (or AdamW) with one learning rate per parameter group: group `g` of `n` runs at
/// `lr · decay^(n - 1 - g)`, so the top group (the head) gets the base rate and each group
/// below it `decay` times less (ULMFiT's discriminative fine-tuning uses `decay = 1/2.6`).
pub struct GroupedAdam {
    groups: Vec<(Adam, f64)>,
    lr: f64,
}

impl GroupedAdam {
    /// One optimizer per group of `groups` (bottom first).
    pub fn new(groups: Vec<Vec<(String, Param)>>, config: AdamConfig, decay: f64) -> GroupedAdam {
        let n = groups.len();
        let groups = groups
            .into_iter()
            .enumerate()
            .map(|(g, params)| {
                let factor = decay.powi((n - 1 - g) as i32);
                let adam = Adam::new(params, AdamConfig { lr: config.lr * factor, ..config })
                    .without_decay(|_, p: &Param| p.value().rank() < 2);
                (adam, factor)
            })
            .collect();
        GroupedAdam { groups, lr: config.lr }
    }

    /// The rate each group's optimizer runs at now, bottom first.
    pub fn group_lrs(&self) -> Vec<f64> {
        self.groups.iter().map(|(adam, _)| adam.lr()).collect()
    }
}

impl Optimizer for GroupedAdam {
    fn step(&mut self) -> tensor_core::Result<()> {
        self.groups.iter_mut().try_for_each(|(adam, _)| adam.step())
    }

    fn zero_grad(&self) {
        self.groups.iter().for_each(|(adam, _)| adam.zero_grad());
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    /// Sets the base rate; every group follows at its own factor.
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
        self.groups.iter_mut().for_each(|(adam, factor)| adam.set_lr(lr * *factor));
    }

    fn state(&self) -> tensor_core::Result<Vec<(String, Tensor)>> {
        let mut all = Vec::new();
        for (adam, _) in &self.groups {
            all.extend(adam.state()?);
        }
        Ok(all)
    }

    fn load_state(&mut self, state: &[(String, Tensor)]) -> tensor_core::Result<()> {
        self.groups.iter_mut().try_for_each(|(adam, _)| adam.load_state(state))
    }
}

/// ULMFiT's slanted triangular rate: a linear rise over the first `cut_frac` of `total`
/// steps to `max`, then a linear fall to `max / ratio`.
#[derive(Clone, Copy, Debug)]
pub struct SlantedTriangular {
    /// Peak rate.
    pub max: f64,
    /// Steps in all.
    pub total: usize,
    /// Fraction of the steps spent rising (0.1 in the paper).
    pub cut_frac: f64,
    /// How much smaller the lowest rate is than the peak (32 in the paper).
    pub ratio: f64,
}

impl LrSchedule for SlantedTriangular {
    fn lr(&self, step: usize) -> f64 {
        let cut = ((self.total as f64 * self.cut_frac).floor() as usize).max(1);
        let p = if step < cut {
            step as f64 / cut as f64
        } else {
            1.0 - (step - cut) as f64 / (cut as f64 * (1.0 / self.cut_frac - 1.0)).max(1.0)
        };
        self.max * (1.0 + p.max(0.0) * (self.ratio - 1.0)) / self.ratio
    }
}

/// BERT's schedule: a linear rise from 0 over `warmup` steps to `max`, then a linear fall to 0
/// at `total`.
#[derive(Clone, Copy, Debug)]
pub struct WarmupLinear {
    /// Peak rate.
    pub max: f64,
    /// Warm-up steps.
    pub warmup: usize,
    /// Steps in all.
    pub total: usize,
}

impl LrSchedule for WarmupLinear {
    fn lr(&self, step: usize) -> f64 {
        if step < self.warmup {
            self.max * (step + 1) as f64 / self.warmup as f64
        } else {
            let left = self.total.saturating_sub(step) as f64 / (self.total - self.warmup).max(1) as f64;
            self.max * left.clamp(0.0, 1.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_rise_and_fall() {
        let s = SlantedTriangular { max: 0.01, total: 100, cut_frac: 0.1, ratio: 32.0 };
        assert!((s.lr(0) - 0.01 / 32.0).abs() < 1e-12, "starts at max/ratio");
        assert!((s.lr(10) - 0.01).abs() < 1e-12, "peaks at the cut");
        assert!(s.lr(5) > s.lr(0) && s.lr(5) < s.lr(10));
        assert!((s.lr(100) - 0.01 / 32.0).abs() < 1e-12, "ends at max/ratio");
        assert!(s.lr(55) < s.lr(20) && s.lr(55) > s.lr(99));
        let w = WarmupLinear { max: 1.0, warmup: 10, total: 110 };
        assert!((w.lr(0) - 0.1).abs() < 1e-12 && (w.lr(9) - 1.0).abs() < 1e-12);
        assert!((w.lr(60) - 0.5).abs() < 1e-12 && w.lr(110) == 0.0);
    }

    #[test]
    fn depths_order_layers() {
        assert_eq!(depth("bert.embeddings.word_embeddings.weight"), (0, 0));
        assert_eq!(depth("bert.encoder.layer.1.attention.self.query.weight"), (1, 1));
        assert_eq!(depth("transformer.h.0.attn.c_attn.weight"), (1, 0));
        assert_eq!(depth("rnn.weight_ih_l1"), (1, 1));
        assert_eq!(depth("bert.pooler.dense.weight"), (2, 0));
        assert_eq!(depth("head.weight"), (3, 0));
        assert_eq!(depth("encoder.weight"), (0, 0));
    }
}
