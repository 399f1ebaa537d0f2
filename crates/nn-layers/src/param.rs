//! Trainable parameters that can be frozen.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use autograd::Var;
use tensor_core::{Result, Tensor};

/// A trainable change added to a weight wherever the weight is used (a LoRA adapter's
/// `scale · B·A`): attached with [`Param::set_delta`], it reaches every layer that reads the
/// weight through [`Param::var`], so no layer needs to know about adapters.
pub trait WeightDelta: Send + Sync + fmt::Debug {
    /// The change, a var of the weight's shape whose gradient trains the adapter.
    fn delta(&self) -> Result<Var>;
}

type DeltaSlot = Arc<RwLock<Option<Arc<dyn WeightDelta>>>>;

/// A named model weight. Cloning shares it. A frozen parameter enters the graph as a constant
/// (no gradient is computed for it) and optimizers leave it untouched.
#[derive(Clone, Debug)]
pub struct Param {
    var: Var,
    frozen: Arc<AtomicBool>,
    delta: DeltaSlot,
}

impl Param {
    /// A trainable parameter with an initial value.
    pub fn new(value: Tensor) -> Self {
        Param { var: Var::parameter(value), frozen: Arc::new(AtomicBool::new(false)), delta: DeltaSlot::default() }
    }

    /// The var to use in a forward pass: the parameter, or a constant when frozen; plus the
    /// attached [`WeightDelta`], if any.
    ///
    /// # Panics
    /// If the attached delta fails to compute (its shape is checked when it is attached, so
    /// only a device failure can cause this).
    pub fn var(&self) -> Var {
        let base = if self.is_frozen() { Var::constant(self.var.value()) } else { self.var.clone() };
        match self.delta() {
            None => base,
            Some(delta) => delta
                .delta()
                .and_then(|d| base.add(&d))
                .unwrap_or_else(|e| panic!("the weight delta attached to a parameter failed: {e}")),
        }
    }

    /// Attaches a trainable change to the weight (or removes it with `None`). Its value must
    /// have the weight's shape and dtype.
    pub fn set_delta(&self, delta: Option<Arc<dyn WeightDelta>>) -> Result<()> {
        if let Some(d) = &delta {
            let value = d.delta()?.value();
            let own = self.value();
            if value.shape() != own.shape() || value.dtype() != own.dtype() {
                return Err(tensor_core::TensorError::shape_mismatch("set_delta", own.shape(), value.shape()));
            }
        }
        *tensor_core::locks::write(&self.delta) = delta;
        Ok(())
    }

    /// The attached change, if any.
    pub fn delta(&self) -> Option<Arc<dyn WeightDelta>> {
        tensor_core::locks::read(&self.delta).clone()
    }

    /// The current value.
    pub fn value(&self) -> Tensor {
        self.var.value()
    }

    /// Replaces the value (same shape).
    pub fn set_value(&self, value: Tensor) -> Result<()> {
        self.var.set_value(value)
    }

    /// The accumulated gradient.
    pub fn grad(&self) -> Option<Tensor> {
        self.var.grad()
    }

    /// Clears the gradient.
    pub fn zero_grad(&self) {
        self.var.zero_grad()
    }

    /// The underlying leaf var (for clipping and gradient access).
    pub fn leaf(&self) -> &Var {
        &self.var
    }

    /// Whether the parameter is frozen.
    pub fn is_frozen(&self) -> bool {
        self.frozen.load(Ordering::Relaxed)
    }

    /// Freezes or unfreezes the parameter.
    pub fn set_frozen(&self, frozen: bool) {
        self.frozen.store(frozen, Ordering::Relaxed);
        if frozen {
            self.var.zero_grad();
        }
    }
}

/// A named model state that is not trained by gradients (BatchNorm's running statistics), saved
/// and loaded with the parameters, as PyTorch's registered buffers. Cloning shares it.
#[derive(Clone, Debug)]
pub struct Buffer {
    value: Arc<std::sync::RwLock<Tensor>>,
}

impl Buffer {
    /// A buffer holding `value`.
    pub fn new(value: Tensor) -> Self {
        Buffer { value: Arc::new(std::sync::RwLock::new(value)) }
    }

    /// The current value.
    pub fn value(&self) -> Tensor {
        tensor_core::locks::read(&self.value).clone()
    }

    /// Replaces the value; the shape must stay the same.
    pub fn set_value(&self, value: Tensor) -> Result<()> {
        let mut slot = tensor_core::locks::write(&self.value);
        if slot.shape() != value.shape() {
            return Err(tensor_core::TensorError::shape_mismatch("buffer set_value", slot.shape(), value.shape()));
        }
        *slot = value;
        Ok(())
    }
}
