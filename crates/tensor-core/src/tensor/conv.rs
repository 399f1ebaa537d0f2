//! Grouped 2-D convolution and its two gradients.

use super::{Tensor, infallible};
use crate::{ConvPlan, ConvSpec, Result, TensorError};

impl Tensor {
    /// Checks operands of a convolution op: same device and float dtype.
    fn check_conv_operands(&self, op: &'static str, other: &Tensor) -> Result<()> {
        self.check_same_device(op, other)?;
        self.check_same_dtype(op, other)?;
        if !self.dtype().is_float() {
            return Err(TensorError::UnsupportedDType { op, dtype: self.dtype(), reason: "needs floats" });
        }
        Ok(())
    }

    /// 2-D cross-correlation (PyTorch's `F.conv2d`): `self` = `[N, C, H, W]`, `weight` =
    /// `[O, C/groups, kh, kw]`, optional `bias` = `[O]`, result `[N, O, OH, OW]`.
    pub fn try_conv2d(&self, weight: &Tensor, bias: Option<&Tensor>, spec: &ConvSpec) -> Result<Tensor> {
        self.check_conv_operands("conv2d", weight)?;
        let plan = spec.plan("conv2d", self.shape(), weight.shape())?;
        if let Some(b) = bias {
            self.check_conv_operands("conv2d", b)?;
            if b.dims() != [plan.out_channels()] {
                return Err(TensorError::ShapeMismatch {
                    op: "conv2d",
                    lhs: weight.shape().clone(),
                    rhs: b.shape().clone(),
                    detail: " (bias must be [out_channels])".into(),
                });
            }
        }
        let bias = bias.map(Tensor::view);
        let out = self.device().conv2d(self.view(), weight.view(), bias, spec)?;
        Ok(Tensor::fresh(out, plan.output_shape(), self.device()))
    }

    infallible!(
        /// 2-D cross-correlation: `[N, C, H, W]` with `[O, C/groups, kh, kw]` (and a bias `[O]`)
        /// -> `[N, O, OH, OW]`.
        conv2d => try_conv2d(weight: &Tensor, bias: Option<&Tensor>, spec: &ConvSpec) -> Tensor
    );

    /// The input gradient of [`Tensor::try_conv2d`]: `self` is the output gradient
    /// `[N, O, OH, OW]`; the result is shaped like the input, `[N, C, input[0], input[1]]`.
    pub fn try_conv2d_input_grad(&self, weight: &Tensor, spec: &ConvSpec, input: [usize; 2]) -> Result<Tensor> {
        self.check_conv_operands("conv2d_input_grad", weight)?;
        let w = weight.dims();
        let channels = if w.len() == 4 { w[1] * spec.groups } else { 0 };
        let input_shape = [self.dims().first().copied().unwrap_or(0), channels, input[0], input[1]];
        let plan = self.check_grad_shape(
            "conv2d_input_grad",
            spec.plan("conv2d_input_grad", &input_shape.into(), weight.shape())?,
        )?;
        let out = self.device().conv2d_input_grad(self.view(), weight.view(), spec, &plan)?;
        Ok(Tensor::fresh(out, plan.input_shape(), self.device()))
    }

    infallible!(
        /// The input gradient of a convolution, from the output gradient.
        conv2d_input_grad => try_conv2d_input_grad(weight: &Tensor, spec: &ConvSpec, input: [usize; 2]) -> Tensor
    );

    /// The weight gradient of [`Tensor::try_conv2d`]: `self` is the input `[N, C, H, W]` and
    /// `grad` the output gradient `[N, O, OH, OW]`; the result is `[O, C/groups, kh, kw]`,
    /// summed over the batch.
    pub fn try_conv2d_weight_grad(&self, grad: &Tensor, spec: &ConvSpec) -> Result<Tensor> {
        self.check_conv_operands("conv2d_weight_grad", grad)?;
        let (x, g) = (self.dims(), grad.dims());
        if x.len() != 4 || g.len() != 4 {
            return Err(TensorError::ShapeMismatch {
                op: "conv2d_weight_grad",
                lhs: self.shape().clone(),
                rhs: grad.shape().clone(),
                detail: " (input must be [N, C, H, W] and gradient [N, O, OH, OW])".into(),
            });
        }
        let groups = spec.groups.max(1);
        let weight_shape = [g[1], x[1] / groups, spec.window.kernel[0], spec.window.kernel[1]];
        let plan = grad.check_grad_shape(
            "conv2d_weight_grad",
            spec.plan("conv2d_weight_grad", self.shape(), &weight_shape.into())?,
        )?;
        let out = self.device().conv2d_weight_grad(self.view(), grad.view(), spec, &plan)?;
        Ok(Tensor::fresh(out, plan.weight_shape(spec.window.kernel), self.device()))
    }

    infallible!(
        /// The weight gradient of a convolution, from its input and output gradient.
        conv2d_weight_grad => try_conv2d_weight_grad(grad: &Tensor, spec: &ConvSpec) -> Tensor
    );

    /// Checks that `self` has the output shape `plan` expects.
    fn check_grad_shape(&self, op: &'static str, plan: ConvPlan) -> Result<ConvPlan> {
        if self.shape() != &plan.output_shape() {
            return Err(TensorError::ShapeMismatch {
                op,
                lhs: self.shape().clone(),
                rhs: plan.output_shape(),
                detail: " (the output gradient must have the convolution's output shape)".into(),
            });
        }
        Ok(plan)
    }
}
