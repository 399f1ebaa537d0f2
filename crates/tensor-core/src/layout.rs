//! Strided layouts: how a tensor's logical elements map onto its storage.
//!
//! A layout is a shape, one signed stride per axis and an offset, all in elements. Transpose,
//! permute, narrow, flip, broadcast and (when possible) reshape only produce a new layout over the
//! same storage; no element moves.

use crate::{Result, Shape, TensorError};

/// Shape, signed strides and offset of a view onto a storage buffer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Layout {
    shape: Shape,
    strides: Vec<isize>,
    offset: usize,
}

impl Layout {
    /// The row-major layout of a freshly allocated tensor.
    pub fn contiguous(shape: impl Into<Shape>) -> Self {
        let shape = shape.into();
        let strides = shape.contiguous_strides();
        Layout { shape, strides, offset: 0 }
    }

    /// A layout from its parts. Every reachable offset must be non-negative; the caller
    /// guarantees it stays inside the storage.
    pub fn from_parts(shape: impl Into<Shape>, strides: Vec<isize>, offset: usize) -> Result<Self> {
        let shape = shape.into();
        if strides.len() != shape.rank() {
            return Err(TensorError::invalid("layout", format!("{} strides for shape {shape}", strides.len())));
        }
        let layout = Layout { shape, strides, offset };
        match layout.checked_span() {
            Some(_) => Ok(layout),
            None => Err(TensorError::invalid(
                "layout",
                format!("{layout:?} reaches before the storage start or past the address space"),
            )),
        }
    }

    /// The storage indices this layout reaches, `start..end` (`0..0` when empty), computed
    /// without overflow: `None` when an index would be negative or `end` exceeds `isize::MAX`.
    /// [`Layout::from_parts`] refuses such layouts, so for a constructed layout this is `Some`.
    pub fn checked_span(&self) -> Option<std::ops::Range<usize>> {
        let mut count: usize = 1;
        for &dim in self.dims() {
            count = count.checked_mul(dim)?;
        }
        if count == 0 {
            return Some(0..0);
        }
        let (mut low, mut high) = (self.offset as i128, self.offset as i128);
        for (&dim, &stride) in self.dims().iter().zip(&self.strides) {
            let step = (dim as i128 - 1) * stride as i128;
            if step < 0 { low += step } else { high += step }
        }
        let end = usize::try_from(high + 1).ok().filter(|&end| isize::try_from(end).is_ok())?;
        Some(usize::try_from(low).ok()?..end)
    }

    /// The logical shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The logical dimensions.
    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }

    /// Stride of each axis, in elements (0 for broadcast axes, negative for flipped ones).
    pub fn strides(&self) -> &[isize] {
        &self.strides
    }

    /// Storage index of the first logical element.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.shape.rank()
    }

    /// Number of logical elements.
    pub fn numel(&self) -> usize {
        self.shape.numel()
    }

    /// Whether the elements sit in row-major order without gaps (size-1 axes may have any
    /// stride).
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1isize;
        for (&dim, &stride) in self.dims().iter().zip(&self.strides).rev() {
            if dim != 1 && stride != expected {
                return false;
            }
            expected *= dim as isize;
        }
        true
    }

    /// The range of storage indices this layout can reach, `start..end`; `0..0` for empty views.
    /// A layout whose extent overflows (only [`Layout::contiguous`] of an absurd shape can
    /// make one) reaches `0..usize::MAX`, so it fits no storage.
    pub fn storage_span(&self) -> std::ops::Range<usize> {
        self.checked_span().unwrap_or(0..usize::MAX)
    }

    /// Storage index of the element at `index` (one coordinate per axis).
    pub fn offset_of(&self, index: &[usize]) -> usize {
        debug_assert_eq!(index.len(), self.rank());
        let off: isize = index.iter().zip(&self.strides).map(|(&i, &s)| i as isize * s).sum();
        (self.offset as isize + off) as usize
    }

    /// Reorders the axes: axis `i` of the result is axis `axes[i]` of `self`.
    pub fn permute(&self, axes: &[usize]) -> Result<Layout> {
        let rank = self.rank();
        let mut seen = vec![false; rank];
        if axes.len() != rank || axes.iter().any(|&a| a >= rank || std::mem::replace(&mut seen[a], true)) {
            return Err(TensorError::invalid(
                "permute",
                format!("{axes:?} is not a permutation of the axes of shape {}", self.shape),
            ));
        }
        Ok(Layout {
            shape: axes.iter().map(|&a| self.dims()[a]).collect::<Vec<_>>().into(),
            strides: axes.iter().map(|&a| self.strides[a]).collect(),
            offset: self.offset,
        })
    }

    /// Swaps two axes.
    pub fn transpose(&self, a: usize, b: usize) -> Result<Layout> {
        let mut axes: Vec<usize> = (0..self.rank()).collect();
        if a >= axes.len() || b >= axes.len() {
            return Err(TensorError::invalid("transpose", format!("axes {a} and {b} for shape {}", self.shape)));
        }
        axes.swap(a, b);
        self.permute(&axes)
    }

    /// Keeps `len` elements of `axis` starting at `start`.
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Result<Layout> {
        let dim = *self
            .dims()
            .get(axis)
            .ok_or_else(|| TensorError::invalid("narrow", format!("axis {axis} for shape {}", self.shape)))?;
        if start + len > dim {
            return Err(TensorError::invalid(
                "narrow",
                format!("range {start}..{} exceeds axis {axis} of size {dim}", start + len),
            ));
        }
        let mut dims = self.dims().to_vec();
        dims[axis] = len;
        let offset =
            if len == 0 { self.offset } else { (self.offset as isize + start as isize * self.strides[axis]) as usize };
        Ok(Layout { shape: dims.into(), strides: self.strides.clone(), offset })
    }

    /// Reverses the order of the elements along `axis` (a negative stride).
    pub fn flip(&self, axis: usize) -> Result<Layout> {
        let dim = *self
            .dims()
            .get(axis)
            .ok_or_else(|| TensorError::invalid("flip", format!("axis {axis} for shape {}", self.shape)))?;
        let mut strides = self.strides.clone();
        let offset =
            if dim == 0 { self.offset } else { (self.offset as isize + (dim as isize - 1) * strides[axis]) as usize };
        strides[axis] = -strides[axis];
        Ok(Layout { shape: self.shape.clone(), strides, offset })
    }

    /// Expands to `shape` under NumPy rules: new leading axes and size-1 axes get stride 0.
    pub fn broadcast_to(&self, shape: &Shape) -> Result<Layout> {
        let rank = shape.rank();
        if rank < self.rank() {
            return Err(TensorError::shape_mismatch("broadcast_to", &self.shape, shape));
        }
        let lead = rank - self.rank();
        let mut strides = vec![0isize; rank];
        for i in 0..self.rank() {
            let (from, to) = (self.dims()[i], shape.dims()[lead + i]);
            strides[lead + i] = if from == to {
                self.strides[i]
            } else if from == 1 {
                0
            } else {
                return Err(TensorError::shape_mismatch("broadcast_to", &self.shape, shape));
            };
        }
        Ok(Layout { shape: shape.clone(), strides, offset: self.offset })
    }

    /// The same elements under a new shape, if that needs no copy (the layout is contiguous).
    pub fn reshape(&self, shape: &Shape) -> Option<Layout> {
        if shape.numel() != self.numel() || !self.is_contiguous() {
            return None;
        }
        Some(Layout { shape: shape.clone(), strides: shape.contiguous_strides(), offset: self.offset })
    }

    /// Inserts a size-1 axis at position `axis` (`0..=rank`).
    pub fn unsqueeze(&self, axis: usize) -> Result<Layout> {
        if axis > self.rank() {
            return Err(TensorError::invalid("unsqueeze", format!("axis {axis} for shape {}", self.shape)));
        }
        let mut dims = self.dims().to_vec();
        let mut strides = self.strides.clone();
        let stride = if axis < self.rank() { strides[axis] * dims[axis] as isize } else { 1 };
        dims.insert(axis, 1);
        strides.insert(axis, stride);
        Ok(Layout { shape: dims.into(), strides, offset: self.offset })
    }

    /// Removes axis `axis`, which must have size 1.
    pub fn squeeze(&self, axis: usize) -> Result<Layout> {
        if self.dims().get(axis) != Some(&1) {
            return Err(TensorError::invalid(
                "squeeze",
                format!("axis {axis} of shape {} is not of size 1", self.shape),
            ));
        }
        let mut dims = self.dims().to_vec();
        let mut strides = self.strides.clone();
        dims.remove(axis);
        strides.remove(axis);
        Ok(Layout { shape: dims.into(), strides, offset: self.offset })
    }

    /// Storage indices of the logical elements in row-major order.
    pub fn offsets(&self) -> OffsetIter<'_> {
        OffsetIter {
            layout: self,
            index: vec![0; self.rank()],
            next: (self.numel() > 0).then_some(self.offset as isize),
        }
    }
}

/// Iterator over the storage indices of a layout's elements in row-major order.
pub struct OffsetIter<'a> {
    layout: &'a Layout,
    index: Vec<usize>,
    next: Option<isize>,
}

impl Iterator for OffsetIter<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let current = self.next?;
        let dims = self.layout.dims();
        let strides = self.layout.strides();
        let mut off = current;
        let mut axis = dims.len();
        self.next = loop {
            if axis == 0 {
                break None;
            }
            axis -= 1;
            self.index[axis] += 1;
            off += strides[axis];
            if self.index[axis] < dims[axis] {
                break Some(off);
            }
            off -= strides[axis] * dims[axis] as isize;
            self.index[axis] = 0;
        };
        Some(current as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(l: &Layout) -> Vec<usize> {
        l.offsets().collect()
    }

    #[test]
    fn views_move_no_elements() {
        let l = Layout::contiguous([2, 3]);
        assert_eq!(offsets(&l), vec![0, 1, 2, 3, 4, 5]);
        let t = l.transpose(0, 1).unwrap();
        assert_eq!(offsets(&t), vec![0, 3, 1, 4, 2, 5]);
        assert!(!t.is_contiguous());
        let n = l.narrow(1, 1, 2).unwrap();
        assert_eq!(offsets(&n), vec![1, 2, 4, 5]);
        let f = l.flip(1).unwrap();
        assert_eq!(offsets(&f), vec![2, 1, 0, 5, 4, 3]);
        assert_eq!(f.storage_span(), 0..6);
        let b = Layout::contiguous([3, 1]).broadcast_to(&Shape::new([2, 3, 4])).unwrap();
        assert_eq!(b.strides(), &[0, 1, 0]);
        assert_eq!(offsets(&b)[..6], [0, 0, 0, 0, 1, 1]);
    }

    #[test]
    fn reshape_squeeze_unsqueeze() {
        let l = Layout::contiguous([2, 3]);
        assert_eq!(l.reshape(&Shape::new([3, 2])).unwrap().strides(), &[2, 1]);
        assert!(l.transpose(0, 1).unwrap().reshape(&Shape::new([6])).is_none());
        let u = l.unsqueeze(1).unwrap();
        assert_eq!(u.dims(), &[2, 1, 3]);
        assert!(u.is_contiguous());
        assert_eq!(u.squeeze(1).unwrap(), l);
        assert!(l.squeeze(0).is_err());
        assert_eq!(Layout::contiguous([2, 0]).offsets().count(), 0);
        assert_eq!(Layout::contiguous(Shape::scalar()).offsets().collect::<Vec<_>>(), vec![0]);
    }

    #[test]
    fn bad_views_are_errors() {
        let l = Layout::contiguous([2, 3]);
        assert!(l.permute(&[0, 0]).is_err());
        assert!(l.narrow(1, 2, 2).is_err());
        assert!(l.broadcast_to(&Shape::new([2, 4])).is_err());
        assert!(Layout::from_parts([2], vec![-1], 0).is_err());
    }
}
