//! Matrix products.

use tensor_core::{Result, Tensor, locks};

use super::panelled::Panelled;
use super::sum_to;
use crate::Var;

impl Var {
    /// Batched matrix product with broadcast batch axes.
    pub fn matmul(&self, rhs: &Var) -> Result<Var> {
        let (a, b) = (self.value(), rhs.value());
        let y = a.try_matmul(&b)?;
        let (need_a, need_b) = (self.requires_grad(), rhs.requires_grad());
        Ok(Var::from_op(y, &[self, rhs], move |grad| {
            // dA = G Bᵀ, dB = Aᵀ G; the transposes are views. Only the products needed run.
            let ga = need_a.then(|| sum_to(&grad.try_matmul(&b.try_transpose(-2, -1)?)?, a.shape())).transpose()?;
            let gb = need_b.then(|| sum_to(&a.try_transpose(-2, -1)?.try_matmul(grad)?, b.shape())).transpose()?;
            Ok(vec![ga, gb])
        }))
    }
}

impl Var {
    /// A fully connected layer in one op: `self · weightᵀ + bias`, with `weight` as
    /// `[out, in]` (PyTorch's layout). Its backward writes the weight gradient directly in
    /// that layout (`gᵀ · x`), so no transposed copy is made.
    pub fn linear(&self, weight: &Var, bias: Option<&Var>) -> Result<Var> {
        let (x, w) = (self.value(), weight.value());
        let mut y = x.try_matmul(&w.try_transpose(-2, -1)?)?;
        if let Some(b) = bias {
            y = y.try_add(&b.value())?;
        }
        let has_bias = bias.is_some();
        let (need_x, need_w) = (self.requires_grad(), weight.requires_grad());
        let inputs: Vec<&Var> = [self, weight].into_iter().chain(bias).collect();
        Ok(Var::from_op(y, &inputs, move |grad| {
            // The input gradient is skipped when the input is data (a constant).
            let gx = need_x.then(|| grad.try_matmul(&w)).transpose()?;
            // Flatten leading axes so the weight gradient is one [out, in] product.
            let rows = grad.numel() / grad.dims()[grad.rank() - 1].max(1);
            let g2 = grad.try_reshape([rows, w.dims()[0]])?;
            let x2 = x.try_reshape([rows, w.dims()[1]])?;
            let gw = need_w.then(|| g2.try_transpose(0, 1)?.try_matmul(&x2)).transpose()?;
            let mut grads = vec![gx, gw];
            if has_bias {
                grads.push(Some(g2.try_reduce(tensor_core::ReduceOp::Sum, &[0], false)?));
            }
            Ok(grads)
        }))
    }
}

/// A weight applied at every step of a sequence (a recurrent layer's `W_hh`). Each step's
/// product reads `Wᵀ` laid out once; the backward stashes every step's output gradient and
/// input instead of forming a `[out, in]` gradient per step, and forms the weight's gradient
/// once, as one product over all steps (`Σ_t g_tᵀ x_t = Gᵀ X`), when the graph reaches the
/// weight (after every step, by topological order).
pub struct SharedWeight {
    proxy: Var,
    /// `W` for the input gradients (`g · W`), laid out for thin products.
    weight: Panelled,
    /// `Wᵀ` for the steps' products (`x · Wᵀ`), laid out for thin products.
    weight_t: Panelled,
    stash: Stash,
}

/// (output gradient, input) of every step that ran its backward.
type Stash = std::sync::Arc<std::sync::Mutex<Vec<(Tensor, Tensor)>>>;

impl SharedWeight {
    /// Prepares `weight` (`[out, in]`) for use at many steps.
    pub fn new(weight: &Var) -> Result<Self> {
        let value = weight.value();
        let weight_t = Panelled::new(&value.try_transpose(0, 1)?)?;
        let stash: Stash = Default::default();
        let taken = stash.clone();
        let proxy = Var::from_op(value.clone(), &[weight], move |_| {
            let steps = std::mem::take(&mut *locks::lock(&taken));
            if steps.is_empty() {
                return Ok(vec![None]);
            }
            let grads: Vec<&Tensor> = steps.iter().map(|(g, _)| g).collect();
            let inputs: Vec<&Tensor> = steps.iter().map(|(_, x)| x).collect();
            let (g, x) = (Tensor::try_cat(&grads, 0)?, Tensor::try_cat(&inputs, 0)?);
            Ok(vec![Some(g.try_transpose(0, 1)?.try_matmul(&x)?)])
        });
        Ok(SharedWeight { proxy, weight: Panelled::new(&value)?, weight_t, stash })
    }

    /// `x · Wᵀ + bias` for one step, `x` = `[N, in]`.
    pub fn apply(&self, x: &Var, bias: Option<&Var>) -> Result<Var> {
        let xv = x.value();
        let mut y = self.weight_t.product(&xv)?;
        if let Some(b) = bias {
            y = y.try_add(&b.value())?;
        }
        let (w, stash) = (self.weight.clone(), self.stash.clone());
        let weight = self.proxy.value();
        let (dtype, device, shape) = (weight.dtype(), weight.device().clone(), weight.shape().clone());
        let (need_x, need_w, has_bias) = (x.requires_grad(), self.proxy.requires_grad(), bias.is_some());
        let inputs: Vec<&Var> = [x, &self.proxy].into_iter().chain(bias).collect();
        Ok(Var::from_op(y, &inputs, move |grad| {
            let gx = need_x.then(|| w.product(grad)).transpose()?;
            // The weight's gradient is formed by the proxy; the first step to get here hands it
            // a stand-in (a broadcast zero, no memory) so the engine runs the proxy's backward.
            let gw = if need_w {
                let mut steps = locks::lock(&stash);
                let first = steps.is_empty();
                steps.push((grad.clone(), xv));
                first.then(|| Tensor::zeros([1, 1], dtype, &device)?.try_broadcast_to(shape.clone())).transpose()?
            } else {
                None
            };
            let mut grads = vec![gx, gw];
            if has_bias {
                grads.push(Some(grad.try_reduce(tensor_core::ReduceOp::Sum, &[0], false)?));
            }
            Ok(grads)
        }))
    }
}
