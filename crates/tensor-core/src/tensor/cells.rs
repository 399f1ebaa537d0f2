//! Fused recurrent cells: one device op per LSTM step forward and one backward.

use super::Tensor;
use crate::{Result, Shape, TensorError};

impl Tensor {
    /// Checks that `other` is a float tensor on this tensor's device and dtype whose shape is
    /// `cell` with the last axis `width` (`[.., width]`).
    fn check_cell_part(&self, op: &'static str, other: &Tensor, cell: &Shape, width: usize) -> Result<()> {
        self.check_same_device(op, other)?;
        self.check_same_dtype(op, other)?;
        let mut dims = cell.dims().to_vec();
        *dims.last_mut().expect("a cell state has a last axis") = width;
        if other.dims() != dims.as_slice() {
            return Err(TensorError::ShapeMismatch {
                op,
                lhs: cell.clone(),
                rhs: other.shape().clone(),
                detail: format!(" (expected a tensor of shape {})", Shape::from(dims)),
            });
        }
        Ok(())
    }

    /// Checks an LSTM step's `gates` (`self`, `[.., 4H]`) against its cell state `c` (`[.., H]`).
    fn check_lstm_inputs(&self, op: &'static str, c: &Tensor) -> Result<()> {
        if c.rank() == 0 || !c.dtype().is_float() {
            return Err(TensorError::invalid(op, format!("the cell state must be a float [.., H], got {}", c.shape())));
        }
        let hidden = c.dims()[c.rank() - 1];
        c.check_cell_part(op, self, c.shape(), 4 * hidden)
    }

    /// One LSTM step on pre-activations `self` = `[.., 4H]` (blocks `i, f, g, o`, PyTorch's
    /// order) and the previous cell state `c` = `[.., H]`: returns `[.., 2H]`, the new hidden
    /// state `h' = σ(o) ⊙ tanh(c')` then the new cell state `c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)`.
    pub fn try_lstm_cell(&self, c: &Tensor) -> Result<Tensor> {
        self.check_lstm_inputs("lstm_cell", c)?;
        let out = self.device().lstm_cell(self.view(), c.view())?;
        let mut dims = c.dims().to_vec();
        *dims.last_mut().expect("checked rank") *= 2;
        Ok(Tensor::fresh(out, dims, self.device()))
    }

    /// The backward of [`Tensor::try_lstm_cell`]: from the step's `gates` (`self`) and `c`, its
    /// output `state` = `[.., 2H]` and the gradient `grad` of that output, returns `[.., 5H]`:
    /// the gradient of the gates then that of `c`.
    pub fn try_lstm_cell_backward(&self, c: &Tensor, state: &Tensor, grad: &Tensor) -> Result<Tensor> {
        let op = "lstm_cell_backward";
        self.check_lstm_inputs(op, c)?;
        let hidden = c.dims()[c.rank() - 1];
        c.check_cell_part(op, state, c.shape(), 2 * hidden)?;
        c.check_cell_part(op, grad, c.shape(), 2 * hidden)?;
        let out = self.device().lstm_cell_backward(self.view(), c.view(), state.view(), grad.view())?;
        let mut dims = c.dims().to_vec();
        *dims.last_mut().expect("checked rank") *= 5;
        Ok(Tensor::fresh(out, dims, self.device()))
    }
}
