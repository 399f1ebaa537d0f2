//! LoRA (Hu et al. 2021): a frozen weight `W` is read as `W + (α/r)·B·A`, with `A` `[r, in]`
//! drawn small and `B` `[out, r]` zero, so training starts from the pretrained function and
//! changes only `r·(in + out)` numbers per weight. Adapters attach to any weight matrix by
//! name (a `Linear`'s `[out, in]` or a `Projection`'s `[in, out]`: `B·A` takes the weight's
//! own shape), are saved alone, and merge into the weights for inference.

use std::path::Path;
use std::sync::Arc;

use autograd::Var;
use nn_layers::checkpoint::{load_tensors, save_tensors};
use nn_layers::{Module, Param, WeightDelta, glob_match};
use tensor_core::{DType, Tensor, TensorRng};

use crate::{Result, TransferError};

/// Settings of [`Lora::attach`].
#[derive(Clone, Debug, PartialEq)]
pub struct LoraConfig {
    /// Rank `r` of each adapter.
    pub rank: usize,
    /// Scale numerator: the change is `(alpha / rank)·B·A`.
    pub alpha: f64,
    /// Patterns of the weights to adapt (`*` matches any run), e.g. `*attention.self.query.weight`.
    pub targets: Vec<String>,
    /// Seed of `A`'s initial values.
    pub seed: u64,
}

/// One adapter: `scale · B·A`.
#[derive(Debug)]
pub struct LoraAdapter {
    /// `[rank, cols]`, drawn N(0, 1/rank).
    pub a: Param,
    /// `[rows, rank]`, zero.
    pub b: Param,
    /// `alpha / rank`.
    pub scale: f64,
}

impl WeightDelta for LoraAdapter {
    fn delta(&self) -> tensor_core::Result<Var> {
        self.b.var().matmul(&self.a.var())?.scale(self.scale)
    }
}

/// The adapters attached to a model: each with the name and the parameter of the weight it
/// adapts. The model's own parameters are frozen by [`Lora::attach`].
pub struct Lora {
    adapters: Vec<(String, Param, Arc<LoraAdapter>)>,
    config: LoraConfig,
}

impl Lora {
    /// Freezes every parameter of `model` and attaches an adapter to each weight matrix (a
    /// rank-2 parameter) whose name matches one of `config.targets`. A pattern that matches
    /// no weight matrix is an error listing some that exist.
    pub fn attach(model: &dyn Module, config: &LoraConfig) -> Result<Lora> {
        if config.rank == 0 || config.targets.is_empty() {
            return Err(TransferError::Invalid("LoRA needs a rank of at least 1 and at least one target".into()));
        }
        let mut matrices: Vec<(String, Param)> = Vec::new();
        model.visit_params("", &mut |name, p| {
            p.set_frozen(true);
            if p.value().rank() == 2 {
                matrices.push((name.to_string(), p.clone()));
            }
        });
        for pattern in &config.targets {
            if !matrices.iter().any(|(name, _)| glob_match(pattern, name)) {
                let examples: Vec<String> = matrices.iter().take(4).map(|(n, _)| format!("`{n}`")).collect();
                return Err(TransferError::NoMatch {
                    pattern: pattern.clone(),
                    what: "weight matrix",
                    examples: examples.join(", "),
                });
            }
        }
        let mut rng = TensorRng::new(config.seed);
        let mut adapters = Vec::new();
        for (name, weight) in matrices {
            if !config.targets.iter().any(|pattern| glob_match(pattern, &name)) {
                continue;
            }
            let value = weight.value();
            let (rows, cols) = (value.dims()[0], value.dims()[1]);
            let device = value.device().clone();
            let a = rng.normal([config.rank, cols], 0.0, 1.0 / (config.rank as f64).sqrt(), DType::F32, &device)?;
            let adapter = Arc::new(LoraAdapter {
                a: Param::new(a),
                b: Param::new(Tensor::zeros([rows, config.rank], DType::F32, &device)?),
                scale: config.alpha / config.rank as f64,
            });
            weight.set_delta(Some(adapter.clone()))?;
            adapters.push((name, weight, adapter));
        }
        Ok(Lora { adapters, config: config.clone() })
    }

    /// The adapters' parameters, named `<weight>.lora_A` and `<weight>.lora_B`: what the
    /// optimizer trains.
    pub fn parameters(&self) -> Vec<(String, Param)> {
        let mut out = Vec::new();
        for (name, _, adapter) in &self.adapters {
            out.push((format!("{name}.lora_A"), adapter.a.clone()));
            out.push((format!("{name}.lora_B"), adapter.b.clone()));
        }
        out
    }

    /// Names of the adapted weights.
    pub fn targets(&self) -> Vec<&str> {
        self.adapters.iter().map(|(n, ..)| n.as_str()).collect()
    }

    /// Number of trainable numbers.
    pub fn num_weights(&self) -> usize {
        self.parameters().iter().map(|(_, p)| p.value().numel()).sum()
    }

    /// Writes the adapters alone (safetensors: the `A`s and `B`s, and `lora.alpha`).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tensors: Vec<(String, Tensor)> = self.parameters().into_iter().map(|(n, p)| (n, p.value())).collect();
        let device = self.adapters.first().map(|(_, w, _)| w.value().device().clone());
        if let Some(device) = device {
            tensors.push(("lora.alpha".into(), Tensor::from_vec(vec![self.config.alpha as f32], [1], &device)?));
        }
        save_tensors(path, &tensors)?;
        Ok(())
    }

    /// Reads adapters written by [`Lora::save`] into these (same targets and rank); a missing
    /// or misshapen tensor is an error naming it.
    pub fn load(&self, path: &Path) -> Result<()> {
        let device = match self.adapters.first() {
            Some((_, w, _)) => w.value().device().clone(),
            None => return Ok(()),
        };
        let tensors = load_tensors(path, &device)?;
        for (name, param) in self.parameters() {
            let found = tensors
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| TransferError::Invalid(format!("{}: no adapter tensor `{name}`", path.display())))?;
            param
                .set_value(found.1.clone())
                .map_err(|e| TransferError::Invalid(format!("{}: adapter tensor `{name}`: {e}", path.display())))?;
        }
        Ok(())
    }

    /// Adds each adapter's change into its weight and detaches it, so the model computes the
    /// same function with no adapter: inference at the base model's cost.
    pub fn merge(self) -> Result<()> {
        for (_, weight, adapter) in self.adapters {
            let delta = autograd::no_grad(|| adapter.delta())?.value();
            weight.set_value(weight.value().try_add(&delta)?)?;
            weight.set_delta(None)?;
        }
        Ok(())
    }

    /// Detaches every adapter without merging (the base model again).
    pub fn detach(self) -> Result<()> {
        for (_, weight, _) in self.adapters {
            weight.set_delta(None)?;
        }
        Ok(())
    }
}
