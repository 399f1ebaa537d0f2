//! `Var`: a tensor that takes part in differentiation.

use std::fmt;
use std::sync::{Arc, Mutex, RwLock};

use tensor_core::locks::{self, lock};
use tensor_core::{Result, Shape, Tensor, TensorError};

use crate::graph::{self, Node};

pub(crate) struct VarInner {
    value: RwLock<Tensor>,
    grad: Mutex<Option<Tensor>>,
    requires_grad: bool,
    node: Mutex<Option<Node>>,
    is_leaf: bool,
}

/// A tensor in the autodiff graph. Cloning shares it. Leaves are constants or parameters;
/// every op on vars returns a var that remembers how to send gradients back to its inputs.
#[derive(Clone)]
pub struct Var {
    pub(crate) inner: Arc<VarInner>,
}

impl Var {
    fn leaf(value: Tensor, requires_grad: bool) -> Var {
        Var {
            inner: Arc::new(VarInner {
                value: RwLock::new(value),
                grad: Mutex::new(None),
                requires_grad,
                node: Mutex::new(None),
                is_leaf: true,
            }),
        }
    }

    /// A leaf that needs no gradient (inputs, labels, frozen weights).
    pub fn constant(value: Tensor) -> Var {
        Var::leaf(value, false)
    }

    /// A leaf whose gradient `backward` computes (a trainable parameter).
    pub fn parameter(value: Tensor) -> Var {
        Var::leaf(value, true)
    }

    /// The result of an op: records `backward` when gradients are enabled and some input
    /// requires one; otherwise a constant (nothing is recorded).
    #[track_caller]
    pub(crate) fn from_op(
        value: Tensor,
        inputs: &[&Var],
        backward: impl FnOnce(&Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
    ) -> Var {
        let op = std::panic::Location::caller();
        if crate::anomaly::enabled() {
            let shapes: Vec<Vec<usize>> = inputs.iter().map(|v| v.value().dims().to_vec()).collect();
            crate::anomaly::check(op, "forward", &shapes, &[&value]);
        }
        let tracked = graph::is_grad_enabled() && inputs.iter().any(|v| v.requires_grad());
        if !tracked {
            return Var::constant(value);
        }
        Var::from_node(
            value,
            Node {
                inputs: inputs.iter().map(|&v| v.clone()).collect(),
                backward: Box::new(backward),
                slice_of: None,
                op,
            },
        )
    }

    /// Marks this op's result as the slice `start..` of `axis` of its single input, so the
    /// backward adds its gradient into that slice in place (see `Node::slice_of`).
    pub(crate) fn mark_slice_of(self, axis: usize, start: usize) -> Var {
        if let Some(node) = locks::lock(&self.inner.node).as_mut() {
            node.slice_of = Some((axis, start));
        }
        self
    }

    /// A var computed by a recorded node (see [`Var::from_op`]).
    pub(crate) fn from_node(value: Tensor, node: Node) -> Var {
        Var {
            inner: Arc::new(VarInner {
                value: RwLock::new(value),
                grad: Mutex::new(None),
                requires_grad: true,
                node: Mutex::new(Some(node)),
                is_leaf: false,
            }),
        }
    }

    /// The current value.
    pub fn value(&self) -> Tensor {
        locks::read(&self.inner.value).clone()
    }

    /// Replaces a leaf's value (optimizer updates, checkpoint loads). The shape must not change.
    pub fn set_value(&self, value: Tensor) -> Result<()> {
        if !self.is_leaf() {
            return Err(TensorError::invalid("set_value", "only leaves can be given a new value"));
        }
        let mut slot = locks::write(&self.inner.value);
        if slot.shape() != value.shape() {
            return Err(TensorError::shape_mismatch("set_value", slot.shape(), value.shape()));
        }
        *slot = value;
        Ok(())
    }

    /// Shape of the value.
    pub fn shape(&self) -> Shape {
        self.value().shape().clone()
    }

    /// Dimensions of the value.
    pub fn dims(&self) -> Vec<usize> {
        self.value().dims().to_vec()
    }

    /// Whether gradients flow into this var.
    pub fn requires_grad(&self) -> bool {
        self.inner.requires_grad
    }

    /// Whether this var was created directly (not by an op).
    pub fn is_leaf(&self) -> bool {
        self.inner.is_leaf
    }

    /// The accumulated gradient of a leaf, after `backward`.
    pub fn grad(&self) -> Option<Tensor> {
        lock(&self.inner.grad).clone()
    }

    /// Replaces the accumulated gradient (e.g. after clipping).
    pub fn set_grad(&self, grad: Option<Tensor>) {
        *lock(&self.inner.grad) = grad;
    }

    /// Clears the accumulated gradient.
    pub fn zero_grad(&self) {
        self.set_grad(None);
    }

    /// The same value, cut from the graph: no gradient flows through the result.
    pub fn detach(&self) -> Var {
        Var::constant(self.value())
    }

    /// Differentiates this var (usually a scalar loss) with respect to every leaf that requires
    /// a gradient, seeding with ones. Gradients add up over calls until `zero_grad`.
    pub fn backward(&self) -> Result<()> {
        let value = self.value();
        let seed = Tensor::ones(value.shape().clone(), value.dtype(), value.device())?;
        graph::backward(self, seed, None)
    }

    /// Like [`Var::backward`], calling `ready(leaf)` for each parameter leaf as soon as its
    /// gradient for this pass is final: after the last recorded op that uses it has sent its
    /// gradient back. The leaves of the last layers come first, while earlier layers are still
    /// being differentiated, which is what lets data-parallel training start averaging a bucket
    /// of gradients early (overlap). A leaf that no applied op reached is passed at the end. An
    /// error from `ready` stops the pass and is returned.
    pub fn backward_with_hook(&self, ready: &mut dyn FnMut(&Var) -> Result<()>) -> Result<()> {
        let value = self.value();
        let seed = Tensor::ones(value.shape().clone(), value.dtype(), value.device())?;
        graph::backward(self, seed, Some(ready))
    }

    /// An identity for this var, equal for clones of it and distinct from every other live var
    /// (the address of the shared state): a key for maps of parameters.
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.inner) as *const () as usize
    }

    /// Like [`Var::backward`] with an explicit gradient of this var.
    pub fn backward_with(&self, grad: Tensor) -> Result<()> {
        if grad.shape() != self.value().shape() {
            return Err(TensorError::shape_mismatch("backward_with", self.value().shape(), grad.shape()));
        }
        graph::backward(self, grad, None)
    }

    pub(crate) fn accumulate_grad(&self, grad: Tensor) -> Result<()> {
        let mut slot = lock(&self.inner.grad);
        let sum = match slot.take() {
            Some(existing) => existing.try_add(&grad)?,
            None => grad.try_contiguous()?,
        };
        *slot = Some(sum);
        Ok(())
    }

    pub(crate) fn node_inputs(&self) -> Option<Vec<Var>> {
        lock(&self.inner.node).as_ref().map(|n| n.inputs.clone())
    }

    pub(crate) fn take_node(&self) -> Option<Node> {
        lock(&self.inner.node).take()
    }
}

impl fmt::Debug for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match (self.is_leaf(), self.requires_grad()) {
            (true, true) => "parameter",
            (true, false) => "constant",
            _ => "op",
        };
        write!(f, "Var({kind}, {:?})", self.value())
    }
}
