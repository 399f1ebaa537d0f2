//! Backend storage handles: an opaque, shared buffer owned by one device.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::{DType, Layout, Result, View};

/// What a backend's buffer type must provide. The memory is freed when the last [`Storage`]
/// handle to it drops.
pub trait BackendStorage: Any + Send + Sync + fmt::Debug {
    /// Element type of the buffer.
    fn dtype(&self) -> DType;
    /// Number of elements the buffer holds.
    fn len(&self) -> usize;
    /// Whether the buffer holds no elements.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A shared handle to a backend buffer. Cloning it shares the buffer.
#[derive(Clone, Debug)]
pub struct Storage(Arc<dyn BackendStorage>);

impl Storage {
    /// Wraps a backend buffer.
    pub fn new<S: BackendStorage>(storage: S) -> Self {
        Storage(Arc::new(storage))
    }

    /// Element type of the buffer.
    pub fn dtype(&self) -> DType {
        self.0.dtype()
    }

    /// Number of elements in the buffer (not in any view of it).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the buffer holds no elements.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The backend's own buffer type, if this storage is one.
    pub fn downcast_ref<S: BackendStorage>(&self) -> Option<&S> {
        let any: &dyn Any = &*self.0;
        any.downcast_ref::<S>()
    }

    /// The view `layout` of this buffer, checked to fit (see [`View::new`]).
    pub fn view<'a>(&'a self, layout: &'a Layout) -> Result<View<'a>> {
        View::new(self, layout)
    }

    /// Whether two handles share one buffer.
    pub fn same_buffer(&self, other: &Storage) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
