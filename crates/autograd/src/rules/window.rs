//! Convolution windows and pooling.

use tensor_core::{Result, Window1d, Window2d};

use crate::Var;

impl Var {
    /// im2col of `[N, C, H, W]`; the gradient is col2im.
    pub fn unfold(&self, window: &Window2d) -> Result<Var> {
        let x = self.value();
        let size = [x.dims()[2], x.dims()[3]];
        let y = x.try_unfold(window)?;
        let window = *window;
        Ok(Var::from_op(y, &[self], move |grad| Ok(vec![Some(grad.try_fold(&window, size)?)])))
    }

    /// col2im into `[N, C, H, W]`; the gradient is im2col.
    pub fn fold(&self, window: &Window2d, output: [usize; 2]) -> Result<Var> {
        let y = self.value().try_fold(window, output)?;
        let window = *window;
        Ok(Var::from_op(y, &[self], move |grad| Ok(vec![Some(grad.try_unfold(&window)?)])))
    }

    /// Max pooling; the gradient goes to each window's maximum.
    pub fn max_pool2d(&self, window: &Window2d) -> Result<Var> {
        let x = self.value();
        let (y, indices) = x.try_max_pool2d(window)?;
        Ok(Var::from_op(y, &[self], move |grad| {
            let (n, c, h, w) = (x.dims()[0], x.dims()[1], x.dims()[2], x.dims()[3]);
            let positions = indices.numel() / (n * c).max(1);
            let index = indices.try_reshape([n, c, positions])?;
            let plane = x.try_zeros_like()?.try_reshape([n, c, h * w])?;
            let routed = plane.try_scatter_add(2, &index, &grad.try_reshape([n, c, positions])?)?;
            Ok(vec![Some(routed.try_reshape([n, c, h, w])?)])
        }))
    }

    /// Average pooling (padding counts as zeros); the gradient spreads evenly over each window.
    pub fn avg_pool2d(&self, window: &Window2d) -> Result<Var> {
        let x = self.value();
        let y = x.try_avg_pool2d(window)?;
        let window = *window;
        Ok(Var::from_op(y, &[self], move |grad| {
            let (n, c) = (x.dims()[0], x.dims()[1]);
            let positions = grad.numel() / (n * c).max(1);
            let taps = window.taps();
            let spread = grad
                .try_reshape([n, c, 1, positions])?
                .try_broadcast_to([n, c, taps, positions])?
                .try_reshape([n, c * taps, positions])?
                .try_unary(tensor_core::UnaryOp::Affine { mul: 1.0 / taps as f64, add: 0.0 })?;
            Ok(vec![Some(spread.try_fold(&window, [x.dims()[2], x.dims()[3]])?)])
        }))
    }

    /// 1-D max pooling of `[N, C, L]`.
    pub fn max_pool1d(&self, window: &Window1d) -> Result<Var> {
        self.unsqueeze(2)?.max_pool2d(&window.as_2d())?.squeeze(2)
    }

    /// 1-D average pooling of `[N, C, L]` (padding counts as zeros).
    pub fn avg_pool1d(&self, window: &Window1d) -> Result<Var> {
        self.unsqueeze(2)?.avg_pool2d(&window.as_2d())?.squeeze(2)
    }
}
