//! A wrapper that hides a backend's native composites, so the defaults can be tested on it.

use std::sync::Arc;

use super::Device;
use crate::{ArgReduceOp, BinaryOp, DType, HostBuffer, ReduceOp, Result, Storage, UnaryOp, View};

/// Forwards only the primitives to `inner`; every composite runs its default body. Running the
/// conformance suite on `PrimitivesOnly(cpu)` proves the defaults that a new backend inherits.
#[derive(Debug)]
pub struct PrimitivesOnly(pub Arc<dyn Device>);

impl Device for PrimitivesOnly {
    fn name(&self) -> String {
        format!("{} (primitives only)", self.0.name())
    }

    fn supports(&self, dtype: DType) -> bool {
        self.0.supports(dtype)
    }
    fn upload(&self, data: HostBuffer) -> Result<Storage> {
        self.0.upload(data)
    }
    fn download(&self, x: View<'_>) -> Result<HostBuffer> {
        self.0.download(x)
    }
    fn sync(&self) -> Result<()> {
        self.0.sync()
    }
    fn unary(&self, op: UnaryOp, x: View<'_>) -> Result<Storage> {
        self.0.unary(op, x)
    }
    fn binary(&self, op: BinaryOp, lhs: View<'_>, rhs: View<'_>) -> Result<Storage> {
        self.0.binary(op, lhs, rhs)
    }
    fn where_select(&self, cond: View<'_>, on_true: View<'_>, on_false: View<'_>) -> Result<Storage> {
        self.0.where_select(cond, on_true, on_false)
    }
    fn cast(&self, x: View<'_>, dtype: DType) -> Result<Storage> {
        self.0.cast(x, dtype)
    }
    fn assign(&self, dst: View<'_>, src: View<'_>) -> Result<()> {
        self.0.assign(dst, src)
    }
    fn reduce(&self, op: ReduceOp, x: View<'_>, axes: &[usize]) -> Result<Storage> {
        self.0.reduce(op, x, axes)
    }
    fn arg_reduce(&self, op: ArgReduceOp, x: View<'_>, axis: usize) -> Result<Storage> {
        self.0.arg_reduce(op, x, axis)
    }
    fn matmul(&self, lhs: View<'_>, rhs: View<'_>) -> Result<Storage> {
        self.0.matmul(lhs, rhs)
    }
    fn gather(&self, x: View<'_>, axis: usize, index: View<'_>) -> Result<Storage> {
        self.0.gather(x, axis, index)
    }
    fn scatter_add(&self, dst: View<'_>, axis: usize, index: View<'_>, src: View<'_>) -> Result<Storage> {
        self.0.scatter_add(dst, axis, index, src)
    }
}
