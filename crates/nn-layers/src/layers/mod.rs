//! Layers: each a [`crate::Module`] with PyTorch's parameter names and layouts.

mod activation;
mod dropout;
mod embedding;
mod layer_norm;
mod linear;
mod sequential;

pub use activation::Activation;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use layer_norm::LayerNorm;
pub use linear::Linear;
pub use sequential::Sequential;
