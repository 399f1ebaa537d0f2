//! Activation functions as modules.

use autograd::Var;
use tensor_core::{Result, UnaryOp};

use crate::{Module, Param};

/// A parameter-free nonlinearity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// max(x, 0).
    Relu,
    /// x if x > 0 else slope·x.
    LeakyRelu(f64),
    /// Logistic sigmoid (binary output head).
    Sigmoid,
    /// tanh.
    Tanh,
    /// Exact GELU.
    Gelu,
    /// GELU's tanh approximation (GPT-2's `gelu_new`).
    GeluTanh,
    /// Softmax over the last axis (multi-class output head).
    Softmax,
    /// The identity (linear output head, regression).
    Identity,
}

impl Module for Activation {
    fn forward(&self, input: &Var) -> Result<Var> {
        match *self {
            Activation::Relu => input.relu(),
            Activation::LeakyRelu(slope) => input.unary(UnaryOp::LeakyRelu(slope)),
            Activation::Sigmoid => input.sigmoid(),
            Activation::Tanh => input.tanh(),
            Activation::Gelu => input.gelu(),
            Activation::GeluTanh => input.unary(UnaryOp::GeluTanh),
            Activation::Softmax => input.softmax(-1),
            Activation::Identity => Ok(input.clone()),
        }
    }

    fn visit_params(&self, _prefix: &str, _visit: &mut dyn FnMut(&str, &Param)) {}
}
