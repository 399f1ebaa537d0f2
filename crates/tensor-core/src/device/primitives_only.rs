//! A wrapper that hides a backend's native composites, so the defaults can be tested on it.

use std::sync::Arc;

use super::Device;
use crate::{ArgReduceOp, BinaryOp, DType, HostBuffer, Layout, ReduceOp, Result, Storage, UnaryOp};

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
    fn download(&self, x: &Storage, layout: &Layout) -> Result<HostBuffer> {
        self.0.download(x, layout)
    }
    fn sync(&self) -> Result<()> {
        self.0.sync()
    }
    fn unary(&self, op: UnaryOp, x: &Storage, layout: &Layout) -> Result<Storage> {
        self.0.unary(op, x, layout)
    }
    fn binary(&self, op: BinaryOp, lhs: &Storage, ll: &Layout, rhs: &Storage, rl: &Layout) -> Result<Storage> {
        self.0.binary(op, lhs, ll, rhs, rl)
    }
    fn where_select(
        &self,
        c: &Storage,
        cl: &Layout,
        t: &Storage,
        tl: &Layout,
        f: &Storage,
        fl: &Layout,
    ) -> Result<Storage> {
        self.0.where_select(c, cl, t, tl, f, fl)
    }
    fn cast(&self, x: &Storage, layout: &Layout, dtype: DType) -> Result<Storage> {
        self.0.cast(x, layout, dtype)
    }
    fn assign(&self, dst: &Storage, dl: &Layout, src: &Storage, sl: &Layout) -> Result<()> {
        self.0.assign(dst, dl, src, sl)
    }
    fn reduce(&self, op: ReduceOp, x: &Storage, layout: &Layout, axes: &[usize]) -> Result<Storage> {
        self.0.reduce(op, x, layout, axes)
    }
    fn arg_reduce(&self, op: ArgReduceOp, x: &Storage, layout: &Layout, axis: usize) -> Result<Storage> {
        self.0.arg_reduce(op, x, layout, axis)
    }
    fn matmul(&self, lhs: &Storage, ll: &Layout, rhs: &Storage, rl: &Layout) -> Result<Storage> {
        self.0.matmul(lhs, ll, rhs, rl)
    }
    fn gather(&self, x: &Storage, layout: &Layout, axis: usize, index: &Storage, il: &Layout) -> Result<Storage> {
        self.0.gather(x, layout, axis, index, il)
    }
    fn scatter_add(
        &self,
        dst: &Storage,
        dl: &Layout,
        axis: usize,
        index: &Storage,
        il: &Layout,
        src: &Storage,
        sl: &Layout,
    ) -> Result<Storage> {
        self.0.scatter_add(dst, dl, axis, index, il, src, sl)
    }
}
