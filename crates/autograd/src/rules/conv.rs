//! Convolution as one op: the device's `conv2d` and its two gradients (im2col and matrix
//! products by default, native where a backend has them), plus a bias. The backward computes
//! only what is needed: data needs no input gradient, a frozen filter no weight gradient.

use tensor_core::{ConvSpec, ReduceOp, Result, TensorError, Window1d, Window2d};

use crate::Var;

impl Var {
    /// 2-D cross-correlation (PyTorch's `conv2d`) of `self` = `[N, C, H, W]` with `weight` =
    /// `[O, C/groups, kh, kw]` and an optional `bias` = `[O]`, giving `[N, O, OH, OW]`.
    pub fn conv2d(&self, weight: &Var, bias: Option<&Var>, window: &Window2d, groups: usize) -> Result<Var> {
        let (x, w) = (self.value(), weight.value());
        let spec = ConvSpec::new(*window, groups);
        let y = x.try_conv2d(&w, bias.map(Var::value).as_ref(), &spec)?;
        let (need_x, need_w, has_bias) = (self.requires_grad(), weight.requires_grad(), bias.is_some());
        let input = [x.dims()[2], x.dims()[3]];
        let inputs: Vec<&Var> = [self, weight].into_iter().chain(bias).collect();
        Ok(Var::from_op(y, &inputs, move |grad| {
            // Both gradients read the output gradient whole; a broadcast one (from a sum) is
            // laid out once, not once per product.
            let grad = &grad.try_contiguous()?;
            let gx = need_x.then(|| grad.try_conv2d_input_grad(&w, &spec, input)).transpose()?;
            let gw = need_w.then(|| x.try_conv2d_weight_grad(grad, &spec)).transpose()?;
            let mut grads = vec![gx, gw];
            if has_bias {
                grads.push(Some(grad.try_reduce(ReduceOp::Sum, &[0, 2, 3], false)?));
            }
            Ok(grads)
        }))
    }
}

impl Var {
    /// 1-D cross-correlation (PyTorch's `conv1d`) of `self` = `[N, C, L]` with `weight` =
    /// `[O, C/groups, k]`: a 2-D convolution over a height of one.
    pub fn conv1d(&self, weight: &Var, bias: Option<&Var>, window: &Window1d, groups: usize) -> Result<Var> {
        let w = weight.value();
        if w.rank() != 3 {
            return Err(TensorError::ShapeMismatch {
                op: "conv1d",
                lhs: self.shape(),
                rhs: w.shape().clone(),
                detail: " (weight must be [O, C/groups, k])".into(),
            });
        }
        let x4 = self.unsqueeze(2)?;
        let w4 = weight.unsqueeze(2)?;
        x4.conv2d(&w4, bias, &window.as_2d(), groups)?.squeeze(2)
    }
}
