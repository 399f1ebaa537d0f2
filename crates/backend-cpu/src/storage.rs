//! CPU buffers and the bridge from Tessera layouts to ndarray views.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use ndarray::{ArrayViewD, Axis, IxDyn, ShapeBuilder};
use tensor_core::{BackendStorage, DType, HostBuffer, Layout, Storage, locks};

/// A CPU buffer: a host vector behind a lock (only [`tensor_core::Device::assign`] writes into
/// an existing buffer).
#[derive(Debug)]
pub struct CpuStorage {
    buffer: RwLock<HostBuffer>,
    dtype: DType,
    len: usize,
}

impl CpuStorage {
    /// Wraps a host buffer.
    pub fn new(buffer: HostBuffer) -> Self {
        CpuStorage { dtype: buffer.dtype(), len: buffer.len(), buffer: RwLock::new(buffer) }
    }

    /// Shared access to the elements.
    pub fn read(&self) -> RwLockReadGuard<'_, HostBuffer> {
        locks::read(&self.buffer)
    }

    /// Exclusive access to the elements.
    pub fn write(&self) -> RwLockWriteGuard<'_, HostBuffer> {
        locks::write(&self.buffer)
    }

    /// Exclusive access if nobody else holds the buffer right now.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, HostBuffer>> {
        locks::try_write(&self.buffer)
    }
}

impl BackendStorage for CpuStorage {
    fn dtype(&self) -> DType {
        self.dtype
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// The CPU buffer behind a storage handle. Storages of other devices are a programming error
/// that the tensor layer's device checks prevent.
pub(crate) fn cpu(storage: &Storage) -> &CpuStorage {
    storage.downcast_ref::<CpuStorage>().expect("backend-cpu was handed a storage of another device")
}

/// The error for an op that needs floats but was given another dtype.
pub(crate) fn floats_only(op: &'static str, buffer: &HostBuffer) -> tensor_core::TensorError {
    tensor_core::TensorError::UnsupportedDType { op, dtype: buffer.dtype(), reason: "needs floats" }
}

/// Wraps a freshly computed buffer as a storage handle.
pub(crate) fn wrap(buffer: HostBuffer) -> Storage {
    Storage::new(CpuStorage::new(buffer))
}

/// Asserts that `layout` addresses only elements of a buffer of `len`: the guard in front of
/// every raw-pointer read or write (a `View` fits its storage by construction, so this fails
/// only on a bug inside the backend).
pub(crate) fn assert_fits(layout: &Layout, len: usize) {
    let span = layout.storage_span();
    assert!(span.end <= len, "layout reaches element {} of a buffer of {len}", span.end);
}

/// An ndarray view of the elements `layout` selects from `data` (negative strides included).
pub(crate) fn view<'a, T>(data: &'a [T], layout: &Layout) -> ArrayViewD<'a, T> {
    assert_fits(layout, data.len());
    let span = layout.storage_span();
    let strides: Vec<usize> = layout.strides().iter().map(|s| s.unsigned_abs()).collect();
    let base = if layout.numel() == 0 { data.as_ptr() } else { data[span.start..].as_ptr() };
    // SAFETY: every element reachable from `base` with these non-negative strides lies inside
    // `data[span]` (checked above), and the view borrows `data` for its lifetime.
    let mut v = unsafe { ArrayViewD::from_shape_ptr(IxDyn(layout.dims()).strides(IxDyn(&strides)), base) };
    for (axis, &stride) in layout.strides().iter().enumerate() {
        if stride < 0 {
            v.invert_axis(Axis(axis));
        }
    }
    v
}

/// Side of the square tiles in which transposed views are copied (cache-friendly on both sides).
const TILE: usize = 32;

/// The selected elements in row-major order, as a new vector.
pub(crate) fn gather_view<T: Copy>(data: &[T], layout: &Layout) -> Vec<T> {
    if layout.numel() == 0 {
        return Vec::new();
    }
    if layout.is_contiguous() {
        let start = layout.offset();
        return data[start..start + layout.numel()].to_vec();
    }
    let (dims, strides) = (layout.dims(), layout.strides());
    if strides.iter().all(|&s| s == 0) {
        // One value broadcast everywhere (the gradient of a sum).
        return vec![data[layout.offset()]; layout.numel()];
    }
    let rank = dims.len();
    let mut out = Vec::with_capacity(layout.numel());
    // Odometer over all but the last two axes; the last two are copied as a matrix, in tiles
    // when the view is transposed (unit stride on the second-last axis).
    let (rows, cols) = if rank >= 2 { (dims[rank - 2], dims[rank - 1]) } else { (1, dims[0]) };
    let (row_stride, col_stride) = if rank >= 2 { (strides[rank - 2], strides[rank - 1]) } else { (0, strides[0]) };
    let outer = &dims[..rank.saturating_sub(2)];
    let mut index = vec![0usize; outer.len()];
    let mut base = layout.offset() as isize;
    loop {
        if row_stride.abs() == 1 && cols > 1 && rows > 1 {
            let start = out.len();
            out.resize(start + rows * cols, data[base as usize]);
            for r0 in (0..rows).step_by(TILE) {
                for c0 in (0..cols).step_by(TILE) {
                    for c in c0..(c0 + TILE).min(cols) {
                        let col_base = base + c as isize * col_stride;
                        for r in r0..(r0 + TILE).min(rows) {
                            out[start + r * cols + c] = data[(col_base + r as isize * row_stride) as usize];
                        }
                    }
                }
            }
        } else if col_stride == 0 {
            // A broadcast row (a gradient of ones from a sum, a bias): one value repeated.
            for r in 0..rows {
                let value = data[(base + r as isize * row_stride) as usize];
                out.resize(out.len() + cols, value);
            }
        } else if col_stride == 1 {
            // Rows of a narrowed view: each is one contiguous run.
            for r in 0..rows {
                let row_base = (base + r as isize * row_stride) as usize;
                out.extend_from_slice(&data[row_base..row_base + cols]);
            }
        } else {
            for r in 0..rows {
                let row_base = base + r as isize * row_stride;
                out.extend((0..cols).map(|c| data[(row_base + c as isize * col_stride) as usize]));
            }
        }
        // Advance the odometer over the outer axes.
        let mut axis = outer.len();
        loop {
            if axis == 0 {
                return out;
            }
            axis -= 1;
            index[axis] += 1;
            base += strides[axis];
            if index[axis] < outer[axis] {
                break;
            }
            base -= strides[axis] * outer[axis] as isize;
            index[axis] = 0;
        }
    }
}

/// The selected elements as a contiguous slice, borrowed when possible.
pub(crate) fn contiguous<'a, T: Copy>(data: &'a [T], layout: &Layout) -> std::borrow::Cow<'a, [T]> {
    if layout.numel() == 0 {
        return std::borrow::Cow::Borrowed(&[]);
    }
    if layout.is_contiguous() {
        let start = layout.offset();
        std::borrow::Cow::Borrowed(&data[start..start + layout.numel()])
    } else {
        std::borrow::Cow::Owned(gather_view(data, layout))
    }
}
