//! Dropout: zeroes activations at random while training, scaling the rest by 1/(1-p).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use autograd::Var;
use tensor_core::{Result, TensorError, TensorRng};

use crate::{Module, Param};

/// Inverted dropout with drop probability `p`; the identity in eval mode.
#[derive(Debug)]
pub struct Dropout {
    p: f64,
    training: AtomicBool,
    rng: Mutex<TensorRng>,
}

impl Dropout {
    /// Dropout with probability `p` in `[0, 1)`, its masks drawn from `seed`.
    pub fn new(p: f64, seed: u64) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(TensorError::invalid("dropout", format!("p must be in [0, 1), got {p}")));
        }
        Ok(Dropout { p, training: AtomicBool::new(true), rng: Mutex::new(TensorRng::new(seed)) })
    }

    /// Draws the following masks from `seed`, as if newly made: a training loop that reseeds
    /// before each step makes the masks a function of the step, so a resumed run draws the
    /// masks an uninterrupted one would.
    pub fn reseed(&self, seed: u64) {
        *tensor_core::locks::lock(&self.rng) = TensorRng::new(seed);
    }
}

impl Module for Dropout {
    fn forward(&self, input: &Var) -> Result<Var> {
        if !self.training.load(Ordering::Relaxed) || self.p == 0.0 {
            return Ok(input.clone());
        }
        let x = input.value();
        let keep = 1.0 - self.p;
        let mask = tensor_core::locks::lock(&self.rng).bernoulli(x.shape().clone(), keep, x.dtype(), x.device())?;
        input.mul(&Var::constant(mask.try_unary(tensor_core::UnaryOp::Affine { mul: 1.0 / keep, add: 0.0 })?))
    }

    fn visit_params(&self, _prefix: &str, _visit: &mut dyn FnMut(&str, &Param)) {}

    fn set_training(&self, training: bool) {
        self.training.store(training, Ordering::Relaxed);
    }

    fn reseed_dropout(&self, seed: u64) {
        self.reseed(seed);
    }
}
