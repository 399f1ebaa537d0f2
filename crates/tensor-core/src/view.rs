//! `View`: the one argument type of the [`crate::Device`] contract.
//!
//! A view is a borrowed storage together with the layout to read from it. It can only be built
//! through a check that every element the layout reaches lies inside the storage, so a backend
//! that reads or writes through raw pointers may rely on that without checking again: no safe
//! caller can hand a device a layout that points past its buffer.

use crate::{DType, Layout, Result, Shape, Storage, TensorError};

/// A storage and the layout of the elements to read from it, checked to fit.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    storage: &'a Storage,
    layout: &'a Layout,
}

impl<'a> View<'a> {
    /// The view `layout` of `storage`; an error when the layout reaches an element outside the
    /// storage (or its extent overflows the address space).
    pub fn new(storage: &'a Storage, layout: &'a Layout) -> Result<View<'a>> {
        match layout.checked_span().map(|span| span.end) {
            Some(end) if end <= storage.len() => Ok(View { storage, layout }),
            Some(end) => Err(TensorError::invalid(
                "view",
                format!("layout {:?} reaches element {end} of a buffer of {}", layout, storage.len()),
            )),
            None => Err(TensorError::invalid("view", format!("the extent of layout {layout:?} overflows"))),
        }
    }

    /// A view the caller knows to fit (a tensor's own storage and layout, whose fit was checked
    /// when the tensor was made and is kept by every view operation).
    pub(crate) fn trusted(storage: &'a Storage, layout: &'a Layout) -> View<'a> {
        debug_assert!(layout.checked_span().is_some_and(|span| span.end <= storage.len()), "a tensor's layout fits");
        View { storage, layout }
    }

    /// The same storage seen through another layout, checked to fit.
    pub fn with_layout<'b>(&self, layout: &'b Layout) -> Result<View<'b>>
    where
        'a: 'b,
    {
        View::new(self.storage, layout)
    }

    /// The storage handle.
    pub fn storage(&self) -> &'a Storage {
        self.storage
    }

    /// The layout of the elements read.
    pub fn layout(&self) -> &'a Layout {
        self.layout
    }

    /// The storage's element type.
    pub fn dtype(&self) -> DType {
        self.storage.dtype()
    }

    /// The logical shape.
    pub fn shape(&self) -> &'a Shape {
        self.layout.shape()
    }

    /// The logical dimensions.
    pub fn dims(&self) -> &'a [usize] {
        self.layout.dims()
    }

    /// The number of logical elements.
    pub fn numel(&self) -> usize {
        self.layout.numel()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BackendStorage, Storage};

    #[derive(Debug)]
    struct Buffer(usize);

    impl BackendStorage for Buffer {
        fn dtype(&self) -> DType {
            DType::F32
        }
        fn len(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn a_view_must_fit_its_storage() {
        let storage = Storage::new(Buffer(6));
        let fits = Layout::contiguous([2, 3]);
        assert!(View::new(&storage, &fits).is_ok());
        let transposed = fits.transpose(0, 1).unwrap();
        assert!(View::new(&storage, &transposed).is_ok());

        let too_long = Layout::contiguous([2, 4]);
        let error = View::new(&storage, &too_long).unwrap_err().to_string();
        assert!(error.contains("reaches element 8 of a buffer of 6"), "{error}");
        let offset_past = Layout::from_parts([2], vec![1], 5).unwrap();
        assert!(View::new(&storage, &offset_past).is_err());
        let empty = Layout::from_parts([0, 3], vec![1000, 1], 1000).unwrap();
        assert!(View::new(&storage, &empty).is_ok());
    }

    #[test]
    fn overflowing_or_negative_extents_are_refused() {
        let storage = Storage::new(Buffer(4));
        assert!(Layout::from_parts([usize::MAX / 2, 4], vec![isize::MAX / 2, 1], 0).is_err());
        assert!(Layout::from_parts([1 << 40, 1 << 40], vec![0, 0], 0).is_err());
        assert!(Layout::from_parts([3], vec![-2], 3).is_err());
        let wide = Layout::from_parts([1 << 20, 1 << 20], vec![1 << 20, 1], 0).unwrap();
        assert!(View::new(&storage, &wide).is_err());
    }
}
