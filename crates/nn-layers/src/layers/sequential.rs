//! A chain of modules, named `0`, `1`, … as in PyTorch's `nn.Sequential`.

use autograd::Var;
use tensor_core::Result;

use crate::{Buffer, Module, Param, module::join};

/// Runs its modules in order.
#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Module>>,
}

impl Sequential {
    /// An empty chain.
    pub fn new() -> Self {
        Sequential::default()
    }

    /// Appends a module.
    pub fn push(mut self, layer: impl Module + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// Runs only the first `count` modules (e.g. a CNN's first convolution and its ReLU, to
    /// look at its feature maps).
    pub fn forward_prefix(&self, input: &Var, count: usize) -> Result<Var> {
        self.layers.iter().take(count).try_fold(input.clone(), |x, layer| layer.forward(&x))
    }

    /// Number of modules.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether the chain is empty.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl Module for Sequential {
    fn forward(&self, input: &Var) -> Result<Var> {
        self.layers.iter().try_fold(input.clone(), |x, layer| layer.forward(&x))
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_params(&join(prefix, &i.to_string()), visit);
        }
    }

    fn visit_buffers(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Buffer)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_buffers(&join(prefix, &i.to_string()), visit);
        }
    }

    fn set_training(&self, training: bool) {
        self.layers.iter().for_each(|l| l.set_training(training));
    }
}
