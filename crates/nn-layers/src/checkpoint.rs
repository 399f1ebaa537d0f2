//! Checkpoints in safetensors, with PyTorch's names and layouts, written atomically.
//!
//! Model parameters and buffers keep their names (`0.weight`, `1.running_mean`); optimizer
//! buffers, when saved, are stored under `optimizer.<param>.<buffer>`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, TensorView};
use tensor_core::{DType, HostBuffer, Shape, Tensor};

use crate::optim::Optimizer;
use crate::{Buffer, Module, ModuleExt, NnError, Param, Result};

/// Prefix of optimizer buffers inside a checkpoint.
pub const OPTIMIZER_PREFIX: &str = "optimizer.";

/// What a load found besides the tensors it applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Model parameters the checkpoint lacks (left as they were).
    pub missing: Vec<String>,
    /// Checkpoint tensors the model has no parameter for.
    pub unexpected: Vec<String>,
}

fn to_bytes(tensor: &Tensor) -> Result<(Dtype, Vec<u8>)> {
    Ok(match tensor.to_buffer()? {
        HostBuffer::F32(v) => (Dtype::F32, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        HostBuffer::F64(v) => (Dtype::F64, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        HostBuffer::I64(v) => (Dtype::I64, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
    })
}

/// Writes named tensors to `path` atomically: a temporary file in the same folder, then a rename,
/// so an interrupted save never leaves a half-written checkpoint.
pub fn save_tensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let encoded: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, t)| to_bytes(t).map(|(dtype, bytes)| (name.clone(), dtype, t.dims().to_vec(), bytes)))
        .collect::<Result<_>>()?;
    let views: Vec<(String, TensorView<'_>)> = encoded
        .iter()
        .map(|(name, dtype, dims, bytes)| {
            TensorView::new(*dtype, dims.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| NnError::format(path, e.to_string()))
        })
        .collect::<Result<_>>()?;
    let data = safetensors::serialize(views, None).map_err(|e| NnError::format(path, e.to_string()))?;
    write_atomically(path, |out| out.write_all(&data))
}

/// Writes a file atomically: `write` fills a temporary file in the same folder (buffered), which
/// then replaces `path` by a rename. An error or a crash midway leaves `path` as it was, and the
/// temporary file is removed on error.
pub fn write_atomically(path: &Path, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp{}", std::process::id()));
    let tmp: PathBuf = path.with_file_name(name);
    let written = std::fs::File::create(&tmp).and_then(|file| {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
        write(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(NnError::io(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| NnError::io(path, e))
}

/// Reads every tensor of a safetensors file onto `device`.
pub fn load_tensors(path: &Path, device: &std::sync::Arc<dyn tensor_core::Device>) -> Result<Vec<(String, Tensor)>> {
    let data = std::fs::read(path).map_err(|e| NnError::io(path, e))?;
    let file = safetensors::SafeTensors::deserialize(&data)
        .map_err(|e| NnError::format(path, format!("not a safetensors file: {e}")))?;
    let mut out = Vec::new();
    for (name, view) in file.tensors() {
        let bytes = view.data();
        let buffer = match view.dtype() {
            Dtype::F32 => HostBuffer::F32(bytes.as_chunks::<4>().0.iter().map(|c| f32::from_le_bytes(*c)).collect()),
            Dtype::F64 => HostBuffer::F64(bytes.as_chunks::<8>().0.iter().map(|c| f64::from_le_bytes(*c)).collect()),
            Dtype::I64 => HostBuffer::I64(bytes.as_chunks::<8>().0.iter().map(|c| i64::from_le_bytes(*c)).collect()),
            other => {
                return Err(NnError::format(
                    path,
                    format!("tensor `{name}` has dtype {other:?}; Tessera reads F32, F64 and I64"),
                ));
            }
        };
        out.push((name.clone(), Tensor::from_buffer(buffer, view.shape().to_vec(), device)?));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Checks, before a model is built from the sizes in the config file `config`, that the weights
/// file `weights` can hold the `least_values` values those sizes need at the least. Every value
/// a checkpoint holds takes at least 4 bytes (f32, f64, i64), so a smaller file cannot load into
/// the model, and building the model first would allocate what the file cannot justify (a
/// config asking for a vocabulary of a billion). The error names `config`.
pub fn check_weights_hold(config: &Path, weights: &Path, least_values: u128) -> Result<()> {
    let bytes = std::fs::metadata(weights).map_err(|e| NnError::io(weights, e))?.len();
    if least_values.saturating_mul(4) > u128::from(bytes) {
        return Err(NnError::format(
            config,
            format!(
                "the sizes it gives need at least {least_values} weights, more than {} ({bytes} bytes) can hold",
                weights.display()
            ),
        ));
    }
    Ok(())
}

/// The product of `factors`, saturating (for [`check_weights_hold`]'s bounds).
pub fn saturating_product(factors: &[u64]) -> u128 {
    factors.iter().fold(1u128, |a, &b| a.saturating_mul(u128::from(b)))
}

/// Saves a model's parameters, and the optimizer's buffers when given.
pub fn save(path: &Path, model: &dyn Module, optimizer: Option<&dyn Optimizer>) -> Result<()> {
    let mut tensors: Vec<(String, Tensor)> = model.parameters().into_iter().map(|(n, p)| (n, p.value())).collect();
    tensors.extend(model.buffers().into_iter().map(|(n, b)| (n, b.value())));
    if let Some(opt) = optimizer {
        tensors.extend(opt.state()?.into_iter().map(|(n, t)| (format!("{OPTIMIZER_PREFIX}{n}"), t)));
    }
    save_tensors(path, &tensors)
}

/// Loads parameters into `model` (and buffers into `optimizer`). Tensors are converted to the
/// parameter's dtype; a shape mismatch is an error and changes nothing.
pub fn load(path: &Path, model: &dyn Module, optimizer: Option<&mut dyn Optimizer>) -> Result<LoadReport> {
    let params = model.parameters();
    let device = match params.first() {
        Some((_, p)) => p.value().device().clone(),
        None => return Ok(LoadReport::default()),
    };
    let mut stored: HashMap<String, Tensor> = load_tensors(path, &device)?.into_iter().collect();
    let mut report = LoadReport::default();
    // Every tensor is checked before any is applied, so a bad checkpoint changes nothing.
    let mut updates: Vec<(Target, Tensor)> = Vec::new();
    let targets = params
        .iter()
        .map(|(n, p)| (n.clone(), Target::Param(p.clone())))
        .chain(model.buffers().into_iter().map(|(n, b)| (n, Target::Buffer(b))));
    for (name, target) in targets {
        match stored.remove(&name) {
            None => report.missing.push(name),
            Some(t) => {
                let expected = target.value();
                if t.shape() != expected.shape() {
                    return Err(NnError::ShapeMismatch {
                        path: path.to_path_buf(),
                        key: name,
                        expected: expected.shape().clone(),
                        found: Shape::from(t.dims()),
                    });
                }
                let value = cast(t, expected.dtype())?;
                updates.push((target, value));
            }
        }
    }
    for (target, value) in updates {
        match target {
            Target::Param(p) => p.set_value(value)?,
            Target::Buffer(b) => b.set_value(value)?,
        }
    }
    let optimizer_state: Vec<(String, Tensor)> = stored
        .iter()
        .filter_map(|(k, t)| k.strip_prefix(OPTIMIZER_PREFIX).map(|n| (n.to_string(), t.clone())))
        .collect();
    if let Some(opt) = optimizer {
        opt.load_state(&optimizer_state)?;
    }
    report.unexpected = stored.into_keys().filter(|k| !k.starts_with(OPTIMIZER_PREFIX)).collect();
    report.unexpected.sort();
    Ok(report)
}

/// A model tensor a checkpoint entry loads into.
enum Target {
    Param(Param),
    Buffer(Buffer),
}

impl Target {
    fn value(&self) -> Tensor {
        match self {
            Target::Param(p) => p.value(),
            Target::Buffer(b) => b.value(),
        }
    }
}

fn cast(t: Tensor, dtype: DType) -> Result<Tensor> {
    Ok(if t.dtype() == dtype { t } else { t.try_cast(dtype)? })
}
