//! SCALE-Sim topology files: one layer per line, in GEMM form (`Layer, M, N, K,`) or convolution
//! form (`Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num
//! Filter, Strides,`), so the same inputs drive Tessera and SCALE-Sim.

use std::path::Path;

use crate::{ConvLayer, Gemm, TpuError};

/// A named layer of a topology.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// The layer's name.
    pub name: String,
    /// What it computes.
    pub kind: LayerKind,
}

/// A layer's computation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LayerKind {
    /// A matrix product.
    Gemm(Gemm),
    /// A convolution (run as its im2col GEMM).
    Conv(ConvLayer),
}

impl Layer {
    /// The GEMM the array runs for this layer.
    pub fn gemm(&self) -> Gemm {
        match self.kind {
            LayerKind::Gemm(g) => g,
            LayerKind::Conv(c) => c.as_gemm(),
        }
    }
}

/// The largest value of one field of a topology (a dimension, a channel count, a stride):
/// about a million, beyond any real layer, so that a layer's GEMM sizes stay exact.
pub const MAX_FIELD: usize = 1 << 20;

/// Reads a topology file; the header line decides the form (GEMM when it has 4 columns).
pub fn read_topology(path: &Path) -> Result<Vec<Layer>, TpuError> {
    let text = std::fs::read_to_string(path).map_err(|e| TpuError::io(path, e))?;
    parse_topology(&text, path)
}

/// Parses topology text; `path` names it in errors.
pub fn parse_topology(text: &str, path: &Path) -> Result<Vec<Layer>, TpuError> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or_else(|| TpuError::parse(path, 1, "empty topology"))?;
    let fields = |line: &str| -> Vec<String> {
        line.split(',').map(|f| f.trim().to_string()).filter(|f| !f.is_empty()).collect()
    };
    let gemm_form = fields(header).len() == 4;
    let mut layers = Vec::new();
    for (index, line) in lines {
        let f = fields(line);
        let want = if gemm_form { 4 } else { 8 };
        if f.len() < want {
            return Err(TpuError::parse(path, index + 1, format!("expected {want} fields, found {}", f.len())));
        }
        let number = |i: usize| -> Result<usize, TpuError> {
            match f[i].parse::<usize>() {
                Ok(n) if (1..=MAX_FIELD).contains(&n) => Ok(n),
                _ => Err(TpuError::parse(
                    path,
                    index + 1,
                    format!("field {} ({:?}) is not an integer in 1..={MAX_FIELD}", i + 1, f[i]),
                )),
            }
        };
        let kind = if gemm_form {
            LayerKind::Gemm(Gemm { m: number(1)?, n: number(2)?, k: number(3)? })
        } else {
            let conv = ConvLayer {
                height: number(1)?,
                width: number(2)?,
                filter_height: number(3)?,
                filter_width: number(4)?,
                channels: number(5)?,
                filters: number(6)?,
                stride: number(7)?,
            };
            if conv.filter_height > conv.height || conv.filter_width > conv.width {
                return Err(TpuError::parse(path, index + 1, "the filter is larger than the input"));
            }
            LayerKind::Conv(conv)
        };
        layers.push(Layer { name: f[0].clone(), kind });
    }
    Ok(layers)
}
