//! Stochastic gradient descent, PyTorch's formulation.

use std::collections::HashMap;

use autograd::no_grad;
use tensor_core::{Result, Tensor};

use super::{Optimizer, axpby, with_grads};
use crate::Param;

/// Settings of [`Sgd`].
#[derive(Clone, Copy, Debug)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor μ (0 for plain SGD).
    pub momentum: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
}

impl SgdConfig {
    /// Plain SGD with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        SgdConfig { lr, momentum: 0.0, nesterov: false, weight_decay: 0.0 }
    }
}

/// `v ← μv + g; p ← p - lr·(g + μv if nesterov else v)`, with `g` including weight decay.
pub struct Sgd {
    params: Vec<(String, Param)>,
    config: SgdConfig,
    velocity: HashMap<String, Tensor>,
}

impl Sgd {
    /// An optimizer over named parameters.
    pub fn new(params: Vec<(String, Param)>, config: SgdConfig) -> Self {
        Sgd { params, config, velocity: HashMap::new() }
    }
}

impl Optimizer for Sgd {
    fn step(&mut self) -> Result<()> {
        let c = self.config;
        no_grad(|| {
            for (name, param, grad) in with_grads(&self.params) {
                let p = param.value();
                let g = if c.weight_decay != 0.0 { axpby(1.0, &grad, c.weight_decay, &p)? } else { grad };
                let direction = if c.momentum != 0.0 {
                    let v = match self.velocity.remove(name) {
                        Some(v) => axpby(c.momentum, &v, 1.0, &g)?,
                        None => g.clone(),
                    };
                    let d = if c.nesterov { axpby(1.0, &g, c.momentum, &v)? } else { v.clone() };
                    self.velocity.insert(name.clone(), v);
                    d
                } else {
                    g
                };
                // In place: no new buffer for the weights.
                p.try_add_scaled_(-c.lr, &direction)?;
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
        let mut state: Vec<_> =
            self.velocity.iter().map(|(n, v)| (format!("{n}.momentum_buffer"), v.clone())).collect();
        state.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(state)
    }

    fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        for (key, value) in state {
            if let Some(name) = key.strip_suffix(".momentum_buffer") {
                self.velocity.insert(name.to_string(), value.clone());
            }
        }
        Ok(())
    }
}
