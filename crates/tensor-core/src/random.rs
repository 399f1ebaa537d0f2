//! Seeded random tensors. Numbers are drawn on the host with ChaCha8 and uploaded, so the same
//! seed gives the same tensor on every backend and platform.

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::{DType, Device, HostBuffer, Result, Shape, Tensor};

/// A seeded random source for tensors.
#[derive(Clone, Debug)]
pub struct TensorRng(ChaCha8Rng);

impl TensorRng {
    /// A generator whose stream is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        TensorRng(ChaCha8Rng::seed_from_u64(seed))
    }

    fn tensor(
        &mut self,
        shape: Shape,
        dtype: DType,
        device: &Arc<dyn Device>,
        mut draw: impl FnMut(&mut ChaCha8Rng) -> f64,
    ) -> Result<Tensor> {
        let values: Vec<f64> = (0..shape.numel()).map(|_| draw(&mut self.0)).collect();
        Tensor::from_buffer(HostBuffer::from_f64(dtype, &values), shape, device)
    }

    /// Uniform samples in `[low, high)`.
    pub fn uniform(
        &mut self,
        shape: impl Into<Shape>,
        low: f64,
        high: f64,
        dtype: DType,
        device: &Arc<dyn Device>,
    ) -> Result<Tensor> {
        self.tensor(shape.into(), dtype, device, |r| low + (high - low) * r.random::<f64>())
    }

    /// Normal samples with the given mean and standard deviation.
    pub fn normal(
        &mut self,
        shape: impl Into<Shape>,
        mean: f64,
        std: f64,
        dtype: DType,
        device: &Arc<dyn Device>,
    ) -> Result<Tensor> {
        self.tensor(shape.into(), dtype, device, |r| {
            let z: f64 = StandardNormal.sample(r);
            mean + std * z
        })
    }

    /// 1 with probability `p`, else 0.
    pub fn bernoulli(
        &mut self,
        shape: impl Into<Shape>,
        p: f64,
        dtype: DType,
        device: &Arc<dyn Device>,
    ) -> Result<Tensor> {
        self.tensor(shape.into(), dtype, device, |r| if r.random::<f64>() < p { 1.0 } else { 0.0 })
    }

    /// Uniform integers in `[0, high)` as an i64 tensor (labels, token ids).
    pub fn integers(&mut self, shape: impl Into<Shape>, high: u64, device: &Arc<dyn Device>) -> Result<Tensor> {
        let shape = shape.into();
        let values: Vec<i64> = (0..shape.numel()).map(|_| self.0.random_range(0..high.max(1)) as i64).collect();
        Tensor::from_vec(values, shape, device)
    }

    /// A uniform f64 in `[0, 1)`, for host-side decisions (shuffles, dropout seeds).
    pub fn next_f64(&mut self) -> f64 {
        self.0.random()
    }

    /// A uniform u64, e.g. to seed another generator.
    pub fn next_u64(&mut self) -> u64 {
        self.0.random()
    }
}
