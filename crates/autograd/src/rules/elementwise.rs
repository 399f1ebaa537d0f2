//! Unary and binary elementwise ops, selection and casts.

use std::f64::consts::{FRAC_1_SQRT_2, PI};

use tensor_core::{BinaryOp, DType, Result, Tensor, UnaryOp};

use super::{TensorExt, sum_to};
use crate::Var;

/// d op(x) / dx as a tensor, from the input `x` and output `y`; `None` where it is zero.
fn unary_derivative(op: UnaryOp, x: &Tensor, y: &Tensor) -> Result<Option<Tensor>> {
    use UnaryOp::*;
    let affine = |t: &Tensor, mul: f64, add: f64| t.try_unary(Affine { mul, add });
    let derivative = match op {
        Sign => return Ok(None),
        Neg => x.scalar_like(-1.0)?,
        Affine { mul, .. } => x.scalar_like(mul)?,
        Exp => y.clone(),
        Log => x.try_recip()?,
        Recip => y.try_square()?.try_neg()?,
        Sqrt => affine(&y.try_recip()?, 0.5, 0.0)?,
        Abs => x.try_sign()?,
        Square => affine(x, 2.0, 0.0)?,
        Sigmoid => y.try_mul(&affine(y, -1.0, 1.0)?)?,
        Tanh => affine(&y.try_square()?, -1.0, 1.0)?,
        Relu => x.try_gt(&x.scalar_like(0.0)?)?,
        LeakyRelu(slope) => affine(&x.try_gt(&x.scalar_like(0.0)?)?, 1.0 - slope, slope)?,
        Gelu => {
            // Φ(x) + x·φ(x)
            let cdf = affine(&affine(x, FRAC_1_SQRT_2, 0.0)?.try_erf()?, 0.5, 0.5)?;
            let pdf = affine(&affine(&x.try_square()?, -0.5, 0.0)?.try_exp()?, 1.0 / (2.0 * PI).sqrt(), 0.0)?;
            cdf.try_add(&x.try_mul(&pdf)?)?
        }
        GeluTanh => {
            // u = c(x + 0.044715x³): 0.5(1 + tanh u) + 0.5x(1 - tanh²u)·u'
            let c = (2.0 / PI).sqrt();
            let x2 = x.try_square()?;
            let t = x.try_mul(&affine(&x2, c * 0.044715, c)?)?.try_tanh()?;
            let du = affine(&x2, 3.0 * c * 0.044715, c)?;
            let sech2 = affine(&t.try_square()?, -1.0, 1.0)?;
            affine(&t, 0.5, 0.5)?.try_add(&affine(&x.try_mul(&sech2)?.try_mul(&du)?, 0.5, 0.0)?)?
        }
        Sin => x.try_cos()?,
        Cos => x.try_sin()?.try_neg()?,
        Erf => affine(&x.try_square()?.try_neg()?.try_exp()?, 2.0 / PI.sqrt(), 0.0)?,
        Softplus => x.try_sigmoid()?,
        Powf(p) => affine(&x.try_unary(Powf(p - 1.0))?, p, 0.0)?,
        Clamp { min, max } => x.try_ge(&x.scalar_like(min)?)?.try_mul(&x.try_le(&x.scalar_like(max)?)?)?,
    };
    Ok(Some(derivative))
}

impl Var {
    /// Applies any differentiable [`UnaryOp`].
    pub fn unary(&self, op: UnaryOp) -> Result<Var> {
        let x = self.value();
        let y = x.try_unary(op)?;
        let saved = y.clone();
        Ok(Var::from_op(y, &[self], move |grad| {
            let derivative = unary_derivative(op, &x, &saved)?;
            Ok(vec![derivative.map(|d| grad.try_mul(&d)).transpose()?])
        }))
    }

    /// -x.
    pub fn neg(&self) -> Result<Var> {
        self.unary(UnaryOp::Neg)
    }
    /// e^x.
    pub fn exp(&self) -> Result<Var> {
        self.unary(UnaryOp::Exp)
    }
    /// ln x.
    pub fn log(&self) -> Result<Var> {
        self.unary(UnaryOp::Log)
    }
    /// sqrt x.
    pub fn sqrt(&self) -> Result<Var> {
        self.unary(UnaryOp::Sqrt)
    }
    /// x².
    pub fn square(&self) -> Result<Var> {
        self.unary(UnaryOp::Square)
    }
    /// Logistic sigmoid.
    pub fn sigmoid(&self) -> Result<Var> {
        self.unary(UnaryOp::Sigmoid)
    }
    /// tanh x.
    pub fn tanh(&self) -> Result<Var> {
        self.unary(UnaryOp::Tanh)
    }
    /// max(x, 0).
    pub fn relu(&self) -> Result<Var> {
        self.unary(UnaryOp::Relu)
    }
    /// Exact GELU.
    pub fn gelu(&self) -> Result<Var> {
        self.unary(UnaryOp::Gelu)
    }
    /// `mul · x + add`.
    pub fn affine(&self, mul: f64, add: f64) -> Result<Var> {
        self.unary(UnaryOp::Affine { mul, add })
    }
    /// x · factor.
    pub fn scale(&self, factor: f64) -> Result<Var> {
        self.affine(factor, 0.0)
    }

    /// Applies any [`BinaryOp`] with broadcasting; comparisons give constants.
    pub fn binary(&self, op: BinaryOp, rhs: &Var) -> Result<Var> {
        let (a, b) = (self.value(), rhs.value());
        let y = a.try_binary(op, &b)?;
        let saved = y.clone();
        Ok(Var::from_op(y, &[self, rhs], move |grad| {
            let (ga, gb) = binary_grads(op, &a, &b, &saved, grad)?;
            Ok(vec![ga.map(|g| sum_to(&g, a.shape())).transpose()?, gb.map(|g| sum_to(&g, b.shape())).transpose()?])
        }))
    }

    /// a + b.
    pub fn add(&self, rhs: &Var) -> Result<Var> {
        self.binary(BinaryOp::Add, rhs)
    }
    /// a - b.
    pub fn sub(&self, rhs: &Var) -> Result<Var> {
        self.binary(BinaryOp::Sub, rhs)
    }
    /// a · b.
    pub fn mul(&self, rhs: &Var) -> Result<Var> {
        self.binary(BinaryOp::Mul, rhs)
    }
    /// a / b.
    pub fn div(&self, rhs: &Var) -> Result<Var> {
        self.binary(BinaryOp::Div, rhs)
    }

    /// `cond != 0 ? self : other`; no gradient flows into `cond`.
    pub fn where_select(&self, cond: &Tensor, other: &Var) -> Result<Var> {
        let (a, b) = (self.value(), other.value());
        let y = cond.try_where_select(&a, &b)?;
        let cond = cond.clone();
        Ok(Var::from_op(y, &[self, other], move |grad| {
            let zero = grad.scalar_like(0.0)?;
            let ga = cond.try_where_select(grad, &zero)?;
            let gb = cond.try_where_select(&zero, grad)?;
            Ok(vec![Some(sum_to(&ga, a.shape())?), Some(sum_to(&gb, b.shape())?)])
        }))
    }

    /// Converts between float dtypes; the gradient converts back.
    pub fn cast(&self, dtype: DType) -> Result<Var> {
        let from = self.value().dtype();
        let y = self.value().try_cast(dtype)?;
        Ok(Var::from_op(y, &[self], move |grad| Ok(vec![Some(grad.try_cast(from)?)])))
    }
}

fn binary_grads(
    op: BinaryOp,
    a: &Tensor,
    b: &Tensor,
    y: &Tensor,
    g: &Tensor,
) -> Result<(Option<Tensor>, Option<Tensor>)> {
    use BinaryOp::*;
    Ok(match op {
        Add => (Some(g.clone()), Some(g.clone())),
        Sub => (Some(g.clone()), Some(g.try_neg()?)),
        Mul => (Some(g.try_mul(b)?), Some(g.try_mul(a)?)),
        Div => (Some(g.try_div(b)?), Some(g.try_mul(y)?.try_div(b)?.try_neg()?)),
        Pow => {
            let ga = g.try_mul(b)?.try_mul(&a.try_pow(&b.try_sub(&b.scalar_like(1.0)?)?)?)?;
            let gb = g.try_mul(y)?.try_mul(&a.try_log()?)?;
            (Some(ga), Some(gb))
        }
        Maximum | Minimum => {
            let pick_a = if op == Maximum { a.try_ge(b)? } else { a.try_le(b)? };
            let zero = g.scalar_like(0.0)?;
            (Some(pick_a.try_where_select(g, &zero)?), Some(pick_a.try_where_select(&zero, g)?))
        }
        Eq | Ne | Lt | Le | Gt | Ge => (None, None),
    })
}
