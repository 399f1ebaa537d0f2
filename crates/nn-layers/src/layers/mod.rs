//! Layers: each a [`crate::Module`] with PyTorch's parameter names and layouts.

mod activation;
mod attention;
mod batch_norm;
mod char_encoder;
mod conv;
mod crf;
mod decoder;
mod dropout;
mod embedding;
mod layer_norm;
mod linear;
mod pool;
mod projection;
mod recurrent;
mod sequential;
mod transformer;

pub use activation::Activation;
pub use attention::{
    AttentionConfig, AttentionMask, CrossAttention, KvCache, LayerKv, MemoryKv, MultiHeadAttention, Positions, Rotary,
    sinusoidal_table,
};
pub use batch_norm::BatchNorm;
pub use char_encoder::{CharCnn, CharCnnConfig};
pub use conv::{Conv, Conv1d, Conv2d, ConvConfig, ConvWindow};
pub use crf::{Crf, FORBIDDEN, TransitionMask};
pub use decoder::DecoderBlock;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use layer_norm::LayerNorm;
pub use linear::Linear;
pub use pool::{Flatten, GlobalPool, Pool};
pub use projection::Projection;
pub use recurrent::{CellKind, Recurrent, RecurrentConfig, RecurrentState};
pub use sequential::Sequential;
pub use transformer::{BlockConfig, Mlp, TransformerBlock};
