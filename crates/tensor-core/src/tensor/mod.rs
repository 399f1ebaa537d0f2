//! The user-facing `Tensor`: a view (layout) onto a storage buffer owned by a device.
//!
//! Every operation comes in two forms: `try_op` returns a [`Result`] for callers that can
//! recover, `op` panics with the same message (shape mismatches are programming errors).

mod attention;
mod cells;
mod conv;
mod elementwise;
mod indexing;
mod linalg;
mod loss;
mod nn;
mod reduce;
mod views;

pub use attention::AttentionOutput;

use std::fmt;
use std::sync::Arc;

use crate::{DType, Device, Element, HostBuffer, Layout, Result, Shape, Storage, TensorError, View};

/// Generates the panicking form of a `try_` method.
macro_rules! infallible {
    ($(#[$doc:meta])* $name:ident => $try_name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty) => {
        $(#[$doc])*
        #[track_caller]
        pub fn $name(&self, $($arg: $ty),*) -> $ret {
            self.$try_name($($arg),*).unwrap_or_else(|e| panic!("{e}"))
        }
    };
}
pub(crate) use infallible;

/// An n-dimensional array on a device. Cloning is cheap and shares the storage.
#[derive(Clone)]
pub struct Tensor {
    storage: Storage,
    layout: Layout,
    device: Arc<dyn Device>,
}

impl Tensor {
    /// Wraps a storage and a layout that fits inside it.
    pub fn from_storage(storage: Storage, layout: Layout, device: Arc<dyn Device>) -> Result<Tensor> {
        let span = layout.storage_span();
        if span.end > storage.len() {
            return Err(TensorError::invalid(
                "from_storage",
                format!("layout reaches element {} of a buffer of {}", span.end, storage.len()),
            ));
        }
        Ok(Tensor { storage, layout, device })
    }

    /// A tensor over a fresh contiguous storage (the output of a device op).
    pub(crate) fn fresh(storage: Storage, shape: impl Into<Shape>, device: &Arc<dyn Device>) -> Tensor {
        let layout = Layout::contiguous(shape);
        debug_assert_eq!(layout.numel(), storage.len(), "device returned a buffer of the wrong size");
        Tensor { storage, layout, device: device.clone() }
    }

    /// A view of the same storage with another layout.
    pub(crate) fn with_layout(&self, layout: Layout) -> Tensor {
        Tensor { storage: self.storage.clone(), layout, device: self.device.clone() }
    }

    /// Uploads host data of any element type; errors when its length does not fit `shape`.
    pub fn from_vec<T: Element>(data: Vec<T>, shape: impl Into<Shape>, device: &Arc<dyn Device>) -> Result<Tensor> {
        Self::from_buffer(T::into_buffer(data), shape, device)
    }

    /// Uploads a host buffer; errors when its length does not fit `shape`.
    pub fn from_buffer(data: HostBuffer, shape: impl Into<Shape>, device: &Arc<dyn Device>) -> Result<Tensor> {
        let shape = shape.into();
        if data.len() != shape.numel() {
            return Err(TensorError::DataLength { op: "from_vec", expected: shape.numel(), got: data.len(), shape });
        }
        Ok(Self::fresh(device.upload(data)?, shape, device))
    }

    /// A tensor of `value` (converted to `dtype`).
    pub fn full(value: f64, shape: impl Into<Shape>, dtype: DType, device: &Arc<dyn Device>) -> Result<Tensor> {
        let shape = shape.into();
        Ok(Self::fresh(device.full(dtype, shape.numel(), value)?, shape, device))
    }

    /// A tensor of zeros.
    pub fn zeros(shape: impl Into<Shape>, dtype: DType, device: &Arc<dyn Device>) -> Result<Tensor> {
        Self::full(0.0, shape, dtype, device)
    }

    /// A tensor of ones.
    pub fn ones(shape: impl Into<Shape>, dtype: DType, device: &Arc<dyn Device>) -> Result<Tensor> {
        Self::full(1.0, shape, dtype, device)
    }

    /// A rank-0 tensor.
    pub fn scalar(value: f64, dtype: DType, device: &Arc<dyn Device>) -> Result<Tensor> {
        Self::full(value, Shape::scalar(), dtype, device)
    }

    /// `0, 1, …, n-1` as a 1-D tensor.
    pub fn arange(n: usize, dtype: DType, device: &Arc<dyn Device>) -> Result<Tensor> {
        let values: Vec<f64> = (0..n).map(|i| i as f64).collect();
        Self::from_buffer(HostBuffer::from_f64(dtype, &values), [n], device)
    }

    /// A tensor of zeros with this tensor's shape, dtype and device.
    pub fn try_zeros_like(&self) -> Result<Tensor> {
        Self::zeros(self.shape().clone(), self.dtype(), &self.device)
    }

    infallible!(
        /// A tensor of zeros with this tensor's shape, dtype and device.
        zeros_like => try_zeros_like() -> Tensor
    );

    /// The logical shape.
    pub fn shape(&self) -> &Shape {
        self.layout.shape()
    }

    /// The logical dimensions.
    pub fn dims(&self) -> &[usize] {
        self.layout.dims()
    }

    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.layout.rank()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.layout.numel()
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.storage.dtype()
    }

    /// The device holding the storage.
    pub fn device(&self) -> &Arc<dyn Device> {
        &self.device
    }

    /// The view's layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The backend storage handle.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The storage and layout as the [`View`] that [`Device`] methods take. A tensor's layout
    /// always fits its storage (checked when it was made, kept by every view operation).
    pub fn view(&self) -> View<'_> {
        View::trusted(&self.storage, &self.layout)
    }

    /// Whether the view is row-major without gaps.
    pub fn is_contiguous(&self) -> bool {
        self.layout.is_contiguous()
    }

    /// Whether two tensors live on the same device (the same instance, or instances with the
    /// same [`Device::identity`]).
    pub fn same_device(&self, other: &Tensor) -> bool {
        Arc::as_ptr(&self.device) as *const () == Arc::as_ptr(&other.device) as *const ()
            || self.device.identity() == other.device.identity()
    }

    pub(crate) fn check_same_device(&self, op: &'static str, other: &Tensor) -> Result<()> {
        if self.same_device(other) {
            Ok(())
        } else {
            Err(TensorError::DeviceMismatch { op, lhs: self.device.name(), rhs: other.device.name() })
        }
    }

    pub(crate) fn check_same_dtype(&self, op: &'static str, other: &Tensor) -> Result<()> {
        if self.dtype() == other.dtype() {
            Ok(())
        } else {
            Err(TensorError::DTypeMismatch { op, lhs: self.dtype(), rhs: other.dtype() })
        }
    }

    pub(crate) fn check_dtype(&self, op: &'static str, dtype: DType) -> Result<()> {
        if self.dtype() == dtype {
            Ok(())
        } else {
            Err(TensorError::DTypeMismatch { op, lhs: self.dtype(), rhs: dtype })
        }
    }

    /// Reads the elements back in row-major order as a host buffer (waits for the device).
    pub fn to_buffer(&self) -> Result<HostBuffer> {
        self.device.download(self.view())
    }

    /// Reads the elements back as `T`, which must be the tensor's dtype.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        self.check_dtype("to_vec", T::DTYPE)?;
        Ok(T::from_buffer(self.to_buffer()?).expect("device returned the tensor's dtype"))
    }

    /// Reads the elements back converted to f64.
    pub fn to_f64_vec(&self) -> Result<Vec<f64>> {
        Ok(self.to_buffer()?.to_f64_vec())
    }

    /// The single element of a one-element tensor, as f64.
    pub fn to_scalar(&self) -> Result<f64> {
        if self.numel() != 1 {
            return Err(TensorError::invalid(
                "to_scalar",
                format!("tensor of shape {} is not one element", self.shape()),
            ));
        }
        Ok(self.to_f64_vec()?[0])
    }

    /// Waits for all pending work on this tensor's device.
    pub fn sync(&self) -> Result<()> {
        self.device.sync()
    }

    /// A contiguous tensor with the same elements (itself when already contiguous).
    pub fn try_contiguous(&self) -> Result<Tensor> {
        if self.is_contiguous() && self.layout.offset() == 0 && self.storage.len() == self.numel() {
            return Ok(self.clone());
        }
        Ok(Self::fresh(self.device.copy(self.view())?, self.shape().clone(), &self.device))
    }

    infallible!(
        /// A contiguous tensor with the same elements (itself when already contiguous).
        contiguous => try_contiguous() -> Tensor
    );

    /// Copies the tensor to another device.
    pub fn try_to_device(&self, device: &Arc<dyn Device>) -> Result<Tensor> {
        Self::from_buffer(self.to_buffer()?, self.shape().clone(), device)
    }

    infallible!(
        /// Copies the tensor to another device.
        to_device => try_to_device(device: &Arc<dyn Device>) -> Tensor
    );
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor({}, {}, {})", self.shape(), self.dtype(), self.device.name())
    }
}
