//! Lookup table of vectors, indexed by integer ids.

use std::sync::Arc;

use autograd::Var;
use tensor_core::{DType, Device, Result, Tensor, TensorRng};

use crate::{Module, Param, module::join};

/// `weight[ids]`: `[vocab, dim]` rows for i64 ids of any shape (PyTorch's `nn.Embedding`).
#[derive(Debug)]
pub struct Embedding {
    /// The table, `[num_embeddings, dim]`.
    pub weight: Param,
}

impl Embedding {
    /// A table initialised N(0, 1), as PyTorch does.
    pub fn new(num: usize, dim: usize, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Self> {
        Ok(Embedding { weight: Param::new(rng.normal([num, dim], 0.0, 1.0, DType::F32, device)?) })
    }

    /// Rows for `ids` (i64).
    pub fn lookup(&self, ids: &Tensor) -> Result<Var> {
        self.weight.var().embedding(ids)
    }
}

impl Module for Embedding {
    /// `input` holds the ids (an i64 constant).
    fn forward(&self, input: &Var) -> Result<Var> {
        self.lookup(&input.value())
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        visit(&join(prefix, "weight"), &self.weight);
    }
}
