//! Gradient reversal (Ganin & Lempitsky 2015): the identity going forward, the gradient times
//! `-λ` going back. Placed between a feature extractor and a domain classifier, it lets one
//! backward pass train the classifier to tell the domains apart while it trains the features
//! to make them indistinguishable (DANN).

use tensor_core::{Result, UnaryOp};

use crate::Var;

impl Var {
    /// The same value; the gradient that flows back through it is multiplied by `-lambda`.
    /// `lambda = 0` blocks the gradient without cutting the graph (a warm-up of DANN's schedule).
    pub fn reverse_gradient(&self, lambda: f64) -> Result<Var> {
        let x = self.value();
        Ok(Var::from_op(x, &[self], move |grad| {
            Ok(vec![Some(grad.try_unary(UnaryOp::Affine { mul: -lambda, add: 0.0 })?)])
        }))
    }
}
