//! Tensor shapes and NumPy broadcasting.

use std::fmt;

use crate::{Result, TensorError};

/// The extent of each axis of a tensor, outermost first. A rank-0 shape is a scalar.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Shape(Vec<usize>);

impl Shape {
    /// A shape from its dimensions.
    pub fn new(dims: impl Into<Vec<usize>>) -> Self {
        Shape(dims.into())
    }

    /// The scalar shape `[]`.
    pub fn scalar() -> Self {
        Shape(Vec::new())
    }

    /// The dimensions, outermost first.
    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// Number of elements (1 for a scalar, 0 when any axis is empty).
    pub fn numel(&self) -> usize {
        self.0.iter().product()
    }

    /// Row-major (C-contiguous) strides for this shape, in elements.
    pub fn contiguous_strides(&self) -> Vec<isize> {
        let mut strides = vec![0isize; self.rank()];
        let mut acc = 1isize;
        for (stride, &dim) in strides.iter_mut().zip(&self.0).rev() {
            *stride = acc;
            acc *= dim.max(1) as isize;
        }
        strides
    }

    /// Resolves a possibly negative axis (`-1` is the last) to an index in `0..rank`.
    pub fn axis(&self, op: &'static str, axis: isize) -> Result<usize> {
        let rank = self.rank() as isize;
        let resolved = if axis < 0 { axis + rank } else { axis };
        if (0..rank).contains(&resolved) {
            Ok(resolved as usize)
        } else {
            Err(TensorError::AxisOutOfRange { op, axis, rank: self.rank(), shape: self.clone() })
        }
    }

    /// The shape two operands broadcast to under NumPy rules: align trailing axes; each pair
    /// must be equal or contain a 1.
    pub fn broadcast(op: &'static str, lhs: &Shape, rhs: &Shape) -> Result<Shape> {
        let rank = lhs.rank().max(rhs.rank());
        let mut dims = vec![0usize; rank];
        for (i, dim) in dims.iter_mut().enumerate() {
            let l = lhs.dim_from_end(rank - 1 - i);
            let r = rhs.dim_from_end(rank - 1 - i);
            *dim = match (l, r) {
                (a, b) if a == b => a,
                (1, b) => b,
                (a, 1) => a,
                _ => {
                    return Err(TensorError::ShapeMismatch {
                        op,
                        lhs: lhs.clone(),
                        rhs: rhs.clone(),
                        detail: format!(" (cannot broadcast: axis {i} has {l} vs {r})"),
                    });
                }
            };
        }
        Ok(Shape(dims))
    }

    /// The `k`-th dimension counted from the end (`0` is the last), 1 beyond the rank.
    fn dim_from_end(&self, k: usize) -> usize {
        if k < self.rank() { self.0[self.rank() - 1 - k] } else { 1 }
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

impl From<Vec<usize>> for Shape {
    fn from(dims: Vec<usize>) -> Self {
        Shape(dims)
    }
}

impl From<&[usize]> for Shape {
    fn from(dims: &[usize]) -> Self {
        Shape(dims.to_vec())
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(dims: [usize; N]) -> Self {
        Shape(dims.to_vec())
    }
}

impl From<&Shape> for Shape {
    fn from(shape: &Shape) -> Self {
        shape.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy() {
        let b = Shape::broadcast("t", &[8, 1, 6, 1].into(), &[7, 1, 5].into()).unwrap();
        assert_eq!(b.dims(), &[8, 7, 6, 5]);
        let b = Shape::broadcast("t", &Shape::scalar(), &[3, 0].into()).unwrap();
        assert_eq!(b.dims(), &[3, 0]);
        let err = Shape::broadcast("add", &[2, 3].into(), &[4].into()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "add: shapes do not match: lhs [2, 3] vs rhs [4] (cannot broadcast: axis 1 has 3 vs 4)"
        );
    }

    #[test]
    fn strides_and_axes() {
        assert_eq!(Shape::new([2, 3, 4]).contiguous_strides(), vec![12, 4, 1]);
        assert_eq!(Shape::new([2, 0, 4]).contiguous_strides(), vec![4, 4, 1]);
        let s = Shape::new([2, 3]);
        assert_eq!(s.axis("t", -1).unwrap(), 1);
        assert!(s.axis("t", 2).is_err());
        assert!(s.axis("t", -3).is_err());
    }
}
