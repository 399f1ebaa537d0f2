//! Elementwise ops: unary functions, broadcasting binary ops, selection and casts.

use super::{Tensor, infallible};
use crate::{BinaryOp, DType, Result, Shape, UnaryOp};

macro_rules! unary_methods {
    ($($(#[$doc:meta])* $name:ident $try_name:ident => $op:expr;)*) => {$(
        $(#[$doc])*
        pub fn $try_name(&self) -> Result<Tensor> {
            self.try_unary($op)
        }
        infallible!($(#[$doc])* $name => $try_name() -> Tensor);
    )*};
}

macro_rules! binary_methods {
    ($($(#[$doc:meta])* $name:ident $try_name:ident => $op:expr;)*) => {$(
        $(#[$doc])*
        pub fn $try_name(&self, rhs: &Tensor) -> Result<Tensor> {
            self.try_binary($op, rhs)
        }
        infallible!($(#[$doc])* $name => $try_name(rhs: &Tensor) -> Tensor);
    )*};
}

impl Tensor {
    /// Applies any [`UnaryOp`] elementwise.
    pub fn try_unary(&self, op: UnaryOp) -> Result<Tensor> {
        op.check_dtype(self.dtype())?;
        let out = self.device().unary(op, self.view())?;
        Ok(Tensor::fresh(out, self.shape().clone(), self.device()))
    }

    infallible!(
        /// Applies any [`UnaryOp`] elementwise.
        unary => try_unary(op: UnaryOp) -> Tensor
    );

    unary_methods! {
        /// -x.
        neg try_neg => UnaryOp::Neg;
        /// e^x.
        exp try_exp => UnaryOp::Exp;
        /// ln x.
        log try_log => UnaryOp::Log;
        /// sqrt x.
        sqrt try_sqrt => UnaryOp::Sqrt;
        /// |x|.
        abs try_abs => UnaryOp::Abs;
        /// 1 / x.
        recip try_recip => UnaryOp::Recip;
        /// x².
        square try_square => UnaryOp::Square;
        /// Logistic sigmoid.
        sigmoid try_sigmoid => UnaryOp::Sigmoid;
        /// tanh x.
        tanh try_tanh => UnaryOp::Tanh;
        /// max(x, 0).
        relu try_relu => UnaryOp::Relu;
        /// Exact (erf) GELU.
        gelu try_gelu => UnaryOp::Gelu;
        /// Tanh-approximated GELU.
        gelu_tanh try_gelu_tanh => UnaryOp::GeluTanh;
        /// sin x.
        sin try_sin => UnaryOp::Sin;
        /// cos x.
        cos try_cos => UnaryOp::Cos;
        /// erf x.
        erf try_erf => UnaryOp::Erf;
        /// Sign: -1, 0 or 1.
        sign try_sign => UnaryOp::Sign;
        /// ln(1 + e^x).
        softplus try_softplus => UnaryOp::Softplus;
    }

    /// x if x > 0 else `slope` · x.
    #[track_caller]
    pub fn leaky_relu(&self, slope: f64) -> Tensor {
        self.unary(UnaryOp::LeakyRelu(slope))
    }

    /// `mul · x + add` in one pass.
    #[track_caller]
    pub fn affine(&self, mul: f64, add: f64) -> Tensor {
        self.unary(UnaryOp::Affine { mul, add })
    }

    /// x · `factor`.
    #[track_caller]
    pub fn scale(&self, factor: f64) -> Tensor {
        self.affine(factor, 0.0)
    }

    /// x + `value`.
    #[track_caller]
    pub fn add_scalar(&self, value: f64) -> Tensor {
        self.affine(1.0, value)
    }

    /// x^`p` for a constant exponent.
    #[track_caller]
    pub fn powf(&self, p: f64) -> Tensor {
        self.unary(UnaryOp::Powf(p))
    }

    /// x clamped into `[min, max]`.
    #[track_caller]
    pub fn clamp(&self, min: f64, max: f64) -> Tensor {
        self.unary(UnaryOp::Clamp { min, max })
    }

    /// Broadcasts two operands to a common shape (views, no copies).
    pub fn try_broadcast_pair(&self, op: &'static str, rhs: &Tensor) -> Result<(Tensor, Tensor)> {
        self.check_same_device(op, rhs)?;
        let shape = Shape::broadcast(op, self.shape(), rhs.shape())?;
        Ok((self.try_broadcast_to(shape.clone())?, rhs.try_broadcast_to(shape)?))
    }

    /// Applies any [`BinaryOp`] elementwise with NumPy broadcasting.
    pub fn try_binary(&self, op: BinaryOp, rhs: &Tensor) -> Result<Tensor> {
        let name = binary_name(op);
        self.check_same_dtype(name, rhs)?;
        op.check_dtype(self.dtype())?;
        let (lhs, rhs) = self.try_broadcast_pair(name, rhs)?;
        let out = self.device().binary(op, lhs.view(), rhs.view())?;
        Ok(Tensor::fresh(out, lhs.shape().clone(), self.device()))
    }

    infallible!(
        /// Applies any [`BinaryOp`] elementwise with NumPy broadcasting.
        binary => try_binary(op: BinaryOp, rhs: &Tensor) -> Tensor
    );

    binary_methods! {
        /// a + b with broadcasting.
        add try_add => BinaryOp::Add;
        /// a - b with broadcasting.
        sub try_sub => BinaryOp::Sub;
        /// a · b with broadcasting.
        mul try_mul => BinaryOp::Mul;
        /// a / b with broadcasting.
        div try_div => BinaryOp::Div;
        /// a^b with broadcasting.
        pow try_pow => BinaryOp::Pow;
        /// Elementwise maximum with broadcasting.
        maximum try_maximum => BinaryOp::Maximum;
        /// Elementwise minimum with broadcasting.
        minimum try_minimum => BinaryOp::Minimum;
        /// 1 where a == b, else 0.
        eq try_eq => BinaryOp::Eq;
        /// 1 where a != b, else 0.
        ne try_ne => BinaryOp::Ne;
        /// 1 where a < b, else 0.
        lt try_lt => BinaryOp::Lt;
        /// 1 where a <= b, else 0.
        le try_le => BinaryOp::Le;
        /// 1 where a > b, else 0.
        gt try_gt => BinaryOp::Gt;
        /// 1 where a >= b, else 0.
        ge try_ge => BinaryOp::Ge;
    }

    /// `self != 0 ? on_true : on_false`, all three broadcast together.
    pub fn try_where_select(&self, on_true: &Tensor, on_false: &Tensor) -> Result<Tensor> {
        on_true.check_same_dtype("where", on_false)?;
        self.check_same_device("where", on_true)?;
        self.check_same_device("where", on_false)?;
        let shape =
            Shape::broadcast("where", &Shape::broadcast("where", self.shape(), on_true.shape())?, on_false.shape())?;
        let (c, t, f) = (
            self.try_broadcast_to(shape.clone())?,
            on_true.try_broadcast_to(shape.clone())?,
            on_false.try_broadcast_to(shape.clone())?,
        );
        let out = self.device().where_select(c.view(), t.view(), f.view())?;
        Ok(Tensor::fresh(out, shape, self.device()))
    }

    infallible!(
        /// `self != 0 ? on_true : on_false`, all three broadcast together.
        where_select => try_where_select(on_true: &Tensor, on_false: &Tensor) -> Tensor
    );

    /// Converts the elements to `dtype`.
    pub fn try_cast(&self, dtype: DType) -> Result<Tensor> {
        let out = self.device().cast(self.view(), dtype)?;
        Ok(Tensor::fresh(out, self.shape().clone(), self.device()))
    }

    infallible!(
        /// Converts the elements to `dtype`.
        cast => try_cast(dtype: DType) -> Tensor
    );
}

fn binary_name(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "add",
        BinaryOp::Sub => "sub",
        BinaryOp::Mul => "mul",
        BinaryOp::Div => "div",
        BinaryOp::Pow => "pow",
        BinaryOp::Maximum => "maximum",
        BinaryOp::Minimum => "minimum",
        BinaryOp::Eq => "eq",
        BinaryOp::Ne => "ne",
        BinaryOp::Lt => "lt",
        BinaryOp::Le => "le",
        BinaryOp::Gt => "gt",
        BinaryOp::Ge => "ge",
    }
}

macro_rules! operator {
    ($trait:ident, $method:ident) => {
        impl std::ops::$trait<&Tensor> for &Tensor {
            type Output = Tensor;
            #[track_caller]
            fn $method(self, rhs: &Tensor) -> Tensor {
                Tensor::$method(self, rhs)
            }
        }
    };
}

operator!(Add, add);
operator!(Sub, sub);
operator!(Mul, mul);
operator!(Div, div);

impl std::ops::Neg for &Tensor {
    type Output = Tensor;
    #[track_caller]
    fn neg(self) -> Tensor {
        Tensor::neg(self)
    }
}
