//! Parameter-free reshaping and pooling layers: max and average pooling in 1-D and 2-D, global
//! pooling over every spatial axis, and flattening for a fully connected head.

use autograd::Var;
use tensor_core::{Result, TensorError, Window1d, Window2d};

use crate::{Module, Param};

/// Pooling over a sliding window (PyTorch's `MaxPool2d`, `AvgPool2d`, `MaxPool1d`, `AvgPool1d`;
/// average pooling counts padding as zeros).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pool {
    /// Max pooling of `[N, C, H, W]`.
    Max2d(Window2d),
    /// Average pooling of `[N, C, H, W]`.
    Avg2d(Window2d),
    /// Max pooling of `[N, C, L]`.
    Max1d(Window1d),
    /// Average pooling of `[N, C, L]`.
    Avg1d(Window1d),
}

impl Pool {
    /// PyTorch's `MaxPool2d(k)`: a k x k window with stride k.
    pub fn max2d(kernel: usize) -> Self {
        Pool::Max2d(Window2d::new([kernel, kernel]).stride([kernel, kernel]))
    }

    /// PyTorch's `AvgPool2d(k)`: a k x k window with stride k.
    pub fn avg2d(kernel: usize) -> Self {
        Pool::Avg2d(Window2d::new([kernel, kernel]).stride([kernel, kernel]))
    }
}

impl Module for Pool {
    fn forward(&self, input: &Var) -> Result<Var> {
        match self {
            Pool::Max2d(w) => input.max_pool2d(w),
            Pool::Avg2d(w) => input.avg_pool2d(w),
            Pool::Max1d(w) => input.max_pool1d(w),
            Pool::Avg1d(w) => input.avg_pool1d(w),
        }
    }

    fn visit_params(&self, _prefix: &str, _visit: &mut dyn FnMut(&str, &Param)) {}
}

/// Pooling over every axis after the channel axis: `[N, C, ...] -> [N, C]` (global average
/// pooling, as `AdaptiveAvgPool2d(1)` + flatten; max-over-time pooling in a text CNN).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GlobalPool {
    /// Mean over the spatial axes.
    Avg,
    /// Maximum over the spatial axes.
    Max,
}

impl Module for GlobalPool {
    fn forward(&self, input: &Var) -> Result<Var> {
        let rank = input.dims().len();
        if rank < 3 {
            return Err(TensorError::invalid("global pool", format!("expects [N, C, ...], got {}", input.shape())));
        }
        let axes: Vec<isize> = (2..rank as isize).collect();
        match self {
            GlobalPool::Avg => input.mean(&axes, false),
            GlobalPool::Max => input.max(&axes, false),
        }
    }

    fn visit_params(&self, _prefix: &str, _visit: &mut dyn FnMut(&str, &Param)) {}
}

/// Flattens every axis after the first: `[N, ...] -> [N, prod(...)]` (PyTorch's `nn.Flatten`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten;

impl Module for Flatten {
    fn forward(&self, input: &Var) -> Result<Var> {
        let dims = input.dims();
        let batch = dims.first().copied().unwrap_or(1);
        input.reshape([batch, dims.iter().skip(1).product()])
    }

    fn visit_params(&self, _prefix: &str, _visit: &mut dyn FnMut(&str, &Param)) {}
}
