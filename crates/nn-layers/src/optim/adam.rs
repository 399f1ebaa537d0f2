//! Adam and AdamW (decoupled weight decay), PyTorch's formulation.

use std::collections::{HashMap, HashSet};

use autograd::no_grad;
use tensor_core::{Result, Tensor, UnaryOp};

use super::{Optimizer, axpby, with_grads};
use crate::Param;

/// Settings of [`Adam`].
#[derive(Clone, Copy, Debug)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first and second moment estimates.
    pub betas: (f64, f64),
    /// Added to the denominator.
    pub eps: f64,
    /// Weight decay: added to the gradient (Adam) or applied to the weights (AdamW).
    pub weight_decay: f64,
    /// Decoupled weight decay (AdamW).
    pub decoupled: bool,
}

impl AdamConfig {
    /// Adam with PyTorch's defaults and learning rate `lr`.
    pub fn adam(lr: f64) -> Self {
        AdamConfig { lr, betas: (0.9, 0.999), eps: 1e-8, weight_decay: 0.0, decoupled: false }
    }

    /// AdamW with PyTorch's defaults (weight decay 0.01) and learning rate `lr`.
    pub fn adamw(lr: f64) -> Self {
        AdamConfig { weight_decay: 0.01, decoupled: true, ..Self::adam(lr) }
    }
}

/// Adam / AdamW.
pub struct Adam {
    params: Vec<(String, Param)>,
    config: AdamConfig,
    moments: HashMap<String, (Tensor, Tensor)>,
    steps: HashMap<String, u64>,
    no_decay: HashSet<String>,
}

impl Adam {
    /// An optimizer over named parameters.
    pub fn new(params: Vec<(String, Param)>, config: AdamConfig) -> Self {
        Adam { params, config, moments: HashMap::new(), steps: HashMap::new(), no_decay: HashSet::new() }
    }

    /// Exempts the parameters for which `exempt(name, param)` holds from weight decay (e.g.
    /// biases and layer-norm scales, as GPT recipes do: decay only matrices).
    pub fn without_decay(mut self, exempt: impl Fn(&str, &Param) -> bool) -> Self {
        self.no_decay = self.params.iter().filter(|(n, p)| exempt(n, p)).map(|(n, _)| n.clone()).collect();
        self
    }
}

impl Optimizer for Adam {
    fn step(&mut self) -> Result<()> {
        let c = self.config;
        let (b1, b2) = c.betas;
        no_grad(|| {
            for (name, param, grad) in with_grads(&self.params) {
                let p = param.value();
                let decay = if self.no_decay.contains(name) { 0.0 } else { c.weight_decay };
                if c.decoupled && decay != 0.0 {
                    p.try_add_scaled_(-c.lr * decay, &p.clone())?;
                }
                let g = if !c.decoupled && decay != 0.0 { axpby(1.0, &grad, decay, &p)? } else { grad };
                let (m, v) = match self.moments.remove(name) {
                    Some(moments) => moments,
                    None => (g.try_zeros_like()?, g.try_zeros_like()?),
                };
                let (m, v) = (axpby(b1, &m, 1.0 - b1, &g)?, axpby(b2, &v, 1.0 - b2, &g.try_square()?)?);
                let t = self.steps.entry(name.clone()).or_insert(0);
                *t += 1;
                let (c1, c2) = (1.0 - b1.powi(*t as i32), 1.0 - b2.powi(*t as i32));
                let denom = v
                    .try_unary(UnaryOp::Affine { mul: 1.0 / c2, add: 0.0 })?
                    .try_sqrt()?
                    .try_unary(UnaryOp::Affine { mul: 1.0, add: c.eps })?;
                // In place: no new buffer for the weights.
                p.try_add_scaled_(-c.lr / c1, &m.try_div(&denom)?)?;
                self.moments.insert(name.clone(), (m, v));
            }
            Ok(())
        })
    }

    fn zero_grad(&self) {
        self.params.iter().for_each(|(_, p)| p.zero_grad());
    }

    fn lr(&self) -> f64 {
        self.config.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    fn state(&self) -> Result<Vec<(String, Tensor)>> {
        let mut state = Vec::new();
        for (name, (m, v)) in &self.moments {
            state.push((format!("{name}.exp_avg"), m.clone()));
            state.push((format!("{name}.exp_avg_sq"), v.clone()));
            let step = self.steps.get(name).copied().unwrap_or(0) as f64;
            state.push((format!("{name}.step"), Tensor::full(step, [1], m.dtype(), m.device())?));
        }
        state.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(state)
    }

    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let find = |key: String| state.iter().find(|(k, _)| *k == key).map(|(_, t)| t.clone());
        for (name, _) in &self.params {
            if let (Some(m), Some(v)) = (find(format!("{name}.exp_avg")), find(format!("{name}.exp_avg_sq"))) {
                self.moments.insert(name.clone(), (m, v));
                let step = find(format!("{name}.step")).map(|t| t.to_scalar()).transpose()?.unwrap_or(0.0);
                self.steps.insert(name.clone(), step as u64);
            }
        }
        Ok(())
    }
}
