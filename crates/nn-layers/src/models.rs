//! Ready-made architectures built from the layers: a LeNet-style CNN for small images.

use std::sync::Arc;

use tensor_core::{Device, Result, TensorError, TensorRng, Window2d};

use crate::layers::{Activation, Conv2d, Flatten, Linear, Pool, Sequential};

/// The shape of a LeNet-style classifier: two convolution + ReLU + 2x2 max-pool stages, then a
/// fully connected hidden layer and a linear head (logits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeNetConfig {
    /// Channels of the input images.
    pub in_channels: usize,
    /// Height and width of the input images.
    pub image: [usize; 2],
    /// Channels of the two convolutions.
    pub channels: [usize; 2],
    /// Square kernel size of both convolutions.
    pub kernel: usize,
    /// Zero padding of both convolutions.
    pub padding: usize,
    /// Units of the hidden fully connected layer.
    pub hidden: usize,
    /// Output classes.
    pub classes: usize,
}

impl LeNetConfig {
    /// The configuration for `image`-sized single-channel digits: 5x5 kernels without padding
    /// on 28x28 MNIST (28 -> 24 -> 12 -> 8 -> 4), 3x3 "same" kernels on smaller images such
    /// as the 8x8 digits (8 -> 4 -> 2).
    pub fn for_digits(image: [usize; 2], classes: usize) -> Self {
        let (kernel, padding) = if image[0].min(image[1]) >= 20 { (5, 0) } else { (3, 1) };
        LeNetConfig { in_channels: 1, image, channels: [16, 32], kernel, padding, hidden: 128, classes }
    }

    fn window(&self) -> Window2d {
        Window2d::new([self.kernel; 2]).padding([self.padding; 2])
    }

    /// Values per example after the second pooling (the fully connected layer's input).
    pub fn flat_features(&self) -> Result<usize> {
        let pool = Window2d::new([2, 2]).stride([2, 2]);
        let mut size = self.image;
        for _ in 0..2 {
            size = self.window().output_size("LeNet", size)?;
            size = pool.output_size("LeNet", size)?;
        }
        Ok(self.channels[1] * size[0] * size[1])
    }
}

/// A LeNet-style CNN, named like PyTorch's `nn.Sequential`: `0` conv, `3` conv, `7` hidden
/// linear, `9` output linear.
pub fn lenet(config: &LeNetConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Sequential> {
    if config.classes == 0 || config.hidden == 0 {
        return Err(TensorError::invalid("LeNet", "classes and hidden units must be positive"));
    }
    let flat = config.flat_features()?;
    Ok(Sequential::new()
        .push(Conv2d::new(config.in_channels, config.channels[0], config.window(), rng, device)?)
        .push(Activation::Relu)
        .push(Pool::max2d(2))
        .push(Conv2d::new(config.channels[0], config.channels[1], config.window(), rng, device)?)
        .push(Activation::Relu)
        .push(Pool::max2d(2))
        .push(Flatten)
        .push(Linear::new(flat, config.hidden, rng, device)?)
        .push(Activation::Relu)
        .push(Linear::new(config.hidden, config.classes, rng, device)?))
}
