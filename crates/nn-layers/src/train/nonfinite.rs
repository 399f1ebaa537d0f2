//! Numerical faults, named: after each backward pass the loss and every gradient are checked,
//! and the first that holds a NaN or an infinity is reported with the step and the parameter,
//! instead of surfacing epochs later as a NaN loss.

use tensor_core::Tensor;

use crate::{NnError, Param, Result};

/// What training does when a step's loss or a gradient is not finite.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NonFinitePolicy {
    /// Stop with [`NnError::NonFinite`] naming the step and the parameter (the default).
    #[default]
    Stop,
    /// Skip the step (no optimizer update) and count it.
    Skip,
}

/// Whether every value of `t` is finite, checked on its device (one sum: a NaN or an infinity
/// anywhere makes it non-finite).
pub fn all_finite(t: &Tensor) -> Result<bool> {
    if !t.dtype().is_float() {
        return Ok(true);
    }
    let axes: Vec<isize> = (0..t.rank() as isize).collect();
    Ok(t.try_reduce(tensor_core::ReduceOp::Sum, &axes, false)?.to_scalar()?.is_finite())
}

/// The first non-finite quantity of a step: `the loss` or `the gradient of `name``; `None` when
/// all are finite. Parameters without a gradient (frozen, unused) are skipped.
pub fn first_nonfinite(loss: &Tensor, params: &[(String, Param)]) -> Result<Option<String>> {
    if !all_finite(loss)? {
        return Ok(Some(format!("the loss ({})", loss_text(loss))));
    }
    for (name, param) in params {
        if let Some(grad) = param.grad()
            && !all_finite(&grad)?
        {
            return Ok(Some(format!("the gradient of `{name}`")));
        }
    }
    Ok(None)
}

fn loss_text(loss: &Tensor) -> String {
    loss.to_scalar().map_or_else(|_| "not finite".into(), |v| v.to_string())
}

/// Checks a step (1-based `step`) under `policy`: `Ok(false)` to go on with the update,
/// `Ok(true)` to skip it ([`NonFinitePolicy::Skip`]), the error under [`NonFinitePolicy::Stop`].
pub fn check_step(step: usize, loss: &Tensor, params: &[(String, Param)], policy: NonFinitePolicy) -> Result<bool> {
    match (first_nonfinite(loss, params)?, policy) {
        (None, _) => Ok(false),
        (Some(_), NonFinitePolicy::Skip) => Ok(true),
        (Some(what), NonFinitePolicy::Stop) => Err(NnError::NonFinite { step, what }),
    }
}
