//! Sliding-window ops for convolution and pooling on `[N, C, H, W]` tensors.

use super::{Tensor, infallible};
use crate::{Result, TensorError, Window2d};

impl Tensor {
    fn check_nchw(&self, op: &'static str, window: &Window2d) -> Result<[usize; 2]> {
        if self.rank() != 4 {
            return Err(TensorError::invalid(op, format!("expects [N, C, H, W], got {}", self.shape())));
        }
        if !self.dtype().is_float() {
            return Err(TensorError::UnsupportedDType { op, dtype: self.dtype(), reason: "needs floats" });
        }
        window.output_size(op, [self.dims()[2], self.dims()[3]])
    }

    /// im2col: `[N, C, H, W] -> [N, C·kh·kw, OH·OW]`, zero padding (PyTorch's `F.unfold`).
    pub fn try_unfold(&self, window: &Window2d) -> Result<Tensor> {
        let out = self.check_nchw("unfold", window)?;
        let cols = self.device().unfold(self.view(), window, 0.0)?;
        let (n, c) = (self.dims()[0], self.dims()[1]);
        Ok(Tensor::fresh(cols, [n, c * window.taps(), out[0] * out[1]], self.device()))
    }

    infallible!(
        /// im2col: `[N, C, H, W] -> [N, C·kh·kw, OH·OW]`, zero padding.
        unfold => try_unfold(window: &Window2d) -> Tensor
    );

    /// col2im, the adjoint of `unfold`: `[N, C·kh·kw, L] -> [N, C, H, W]` with `output = [H, W]`,
    /// summing overlapping taps (PyTorch's `F.fold`).
    pub fn try_fold(&self, window: &Window2d, output: [usize; 2]) -> Result<Tensor> {
        let positions = window.output_size("fold", output)?;
        let taps = window.taps();
        let valid =
            self.rank() == 3 && self.dims()[1].is_multiple_of(taps) && self.dims()[2] == positions[0] * positions[1];
        if !valid {
            return Err(TensorError::invalid(
                "fold",
                format!(
                    "expects [N, C·{taps}, {}] for output {output:?}, got {}",
                    positions[0] * positions[1],
                    self.shape()
                ),
            ));
        }
        let image = self.device().fold(self.view(), window, output)?;
        Ok(Tensor::fresh(image, [self.dims()[0], self.dims()[1] / taps, output[0], output[1]], self.device()))
    }

    infallible!(
        /// col2im, the adjoint of `unfold`: `[N, C·kh·kw, L] -> [N, C, H, W]`.
        fold => try_fold(window: &Window2d, output: [usize; 2]) -> Tensor
    );

    /// Max pooling; returns the pooled values and the i64 position `y·W + x` of each maximum
    /// within its input plane (for the backward).
    pub fn try_max_pool2d(&self, window: &Window2d) -> Result<(Tensor, Tensor)> {
        let out = self.check_nchw("max_pool2d", window)?;
        let (values, indices) = self.device().max_pool2d(self.view(), window)?;
        let dims = [self.dims()[0], self.dims()[1], out[0], out[1]];
        Ok((Tensor::fresh(values, dims, self.device()), Tensor::fresh(indices, dims, self.device())))
    }

    infallible!(
        /// Max pooling; returns the values and the position of each maximum in its plane.
        max_pool2d => try_max_pool2d(window: &Window2d) -> (Tensor, Tensor)
    );

    /// Average pooling; padding counts as zeros (`count_include_pad=True`).
    pub fn try_avg_pool2d(&self, window: &Window2d) -> Result<Tensor> {
        let out = self.check_nchw("avg_pool2d", window)?;
        let values = self.device().avg_pool2d(self.view(), window)?;
        Ok(Tensor::fresh(values, [self.dims()[0], self.dims()[1], out[0], out[1]], self.device()))
    }

    infallible!(
        /// Average pooling; padding counts as zeros.
        avg_pool2d => try_avg_pool2d(window: &Window2d) -> Tensor
    );
}
