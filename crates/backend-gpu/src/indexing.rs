//! Gather and scatter-add, and their 1-D-index forms (index-select, index-add). Scatter-add uses
//! no atomics (WGSL has no float atomics): each output element walks the index entries that can
//! land on it and sums the matching sources in index order, which is deterministic.

use tensor_core::{DType, HostBuffer, Layout, ReduceOp, Result, Storage, TensorError};

use crate::GpuDevice;
use crate::context::groups_for;
use crate::shader::{ViewInfo, binding, element_kernel, stride_word, word};
use crate::storage::{buffer_of, check_dtype};

/// `layout` with the stride of `axis` set to zero: the offset of coordinate 0 along it.
fn without_axis(layout: &Layout, axis: usize) -> Layout {
    let mut strides = layout.strides().to_vec();
    strides[axis] = 0;
    Layout::from_parts(layout.dims(), strides, layout.offset()).expect("dropping a stride keeps the layout valid")
}

fn axis_stride(layout: &Layout, axis: usize) -> i32 {
    stride_word(layout.dims()[axis], layout.strides()[axis])
}

const GATHER: &str = "let idx = i32(index[view_index(i, 0u)]);\n\
                      out[i] = src[u32(i32(view_index(i, 1u)) + idx * info[2])];";

const SCATTER_ADD: &str = r#"
let rank = info_u(1u);
let axis = info_u(5u);
let index_dims = 6u + rank + 3u * (rank + 1u);
var inside = true;
var coord = 0u;
var rest = i;
for (var d = rank; d > 0u; d--) {
    let dim = info_u(5u + d);
    let c = rest % dim;
    rest /= dim;
    if d - 1u == axis { coord = c; } else if c >= info_u(index_dims + d - 1u) { inside = false; }
}
var acc = dst[view_index(i, 0u)];
if inside {
    let index_base = i32(view_index(i, 1u));
    let src_base = i32(view_index(i, 2u));
    for (var j = 0u; j < info_u(4u); j++) {
        if index[u32(index_base + i32(j) * info[2])] == i64(coord) {
            acc += src[u32(src_base + i32(j) * info[3])];
        }
    }
}
out[i] = acc;
"#;

impl GpuDevice {
    /// Fails with [`TensorError::IndexOutOfRange`] unless every entry of the index view lies in
    /// `0..size`. Indices uploaded from the host carry their range; others are checked with a
    /// min/max reduction on the device and a 16-byte read-back.
    pub(crate) fn check_index(
        &self,
        op: &'static str,
        index: &Storage,
        layout: &Layout,
        axis: usize,
        size: usize,
    ) -> Result<()> {
        if layout.numel() == 0 {
            return Ok(());
        }
        let (low, high) = match buffer_of(index).bounds() {
            Some((low, high)) if low >= 0 && (high as u64) < size as u64 => return Ok(()),
            _ => {
                let all: Vec<usize> = (0..layout.rank()).collect();
                let low = self.reduce_op(ReduceOp::Min, index, layout, &all)?;
                let high = self.reduce_op(ReduceOp::Max, index, layout, &all)?;
                let read = |s: &Storage| -> Result<i64> {
                    match self.download_op(s, &Layout::contiguous([1]))? {
                        HostBuffer::I64(v) => Ok(v[0]),
                        _ => unreachable!("a reduction of i64 is i64"),
                    }
                };
                (read(&low)?, read(&high)?)
            }
        };
        let bad = if low < 0 { low } else { high };
        if low < 0 || high as u64 >= size as u64 {
            return Err(TensorError::IndexOutOfRange { op, index: bad, axis, size });
        }
        Ok(())
    }

    pub(crate) fn gather_op(
        &self,
        x: &Storage,
        layout: &Layout,
        axis: usize,
        index: &Storage,
        index_layout: &Layout,
    ) -> Result<Storage> {
        let dtype = x.dtype();
        check_dtype("gather", dtype)?;
        self.check_index("gather", index, index_layout, axis, layout.dims()[axis])?;
        let pipeline = self.gpu.pipeline(&format!("gather:{dtype}"), || {
            element_kernel(
                &[
                    binding(1, "out", dtype, true),
                    binding(2, "index", DType::I64, false),
                    binding(3, "src", dtype, false),
                ],
                GATHER,
            )
        });
        let numel = index_layout.numel();
        let info = ViewInfo::new(index_layout.dims(), &[])
            .with_word(2, axis_stride(layout, axis))
            .view(index_layout)
            .view(&without_axis(layout, axis));
        let out = self.alloc(dtype, numel)?;
        let buffers = [&buffer_of(&out).buffer, &buffer_of(index).buffer, &buffer_of(x).buffer];
        self.gpu.dispatch(&pipeline, info.words(), &buffers, groups_for(numel));
        Ok(out)
    }

    pub(crate) fn scatter_add_op(
        &self,
        dst: (&Storage, &Layout),
        axis: usize,
        index: (&Storage, &Layout),
        src: (&Storage, &Layout),
    ) -> Result<Storage> {
        let dtype = dst.0.dtype();
        check_dtype("scatter_add", dtype)?;
        self.check_index("scatter_add", index.0, index.1, axis, dst.1.dims()[axis])?;
        let pipeline = self.gpu.pipeline(&format!("scatter_add:{dtype}"), || {
            element_kernel(
                &[
                    binding(1, "out", dtype, true),
                    binding(2, "dst", dtype, false),
                    binding(3, "index", DType::I64, false),
                    binding(4, "src", dtype, false),
                ],
                SCATTER_ADD,
            )
        });
        let dims = dst.1.dims();
        let numel = dst.1.numel();
        let mut info = ViewInfo::new(dims, &[])
            .with_word(2, axis_stride(index.1, axis))
            .with_word(3, axis_stride(src.1, axis))
            .with_word(4, word(index.1.dims()[axis]))
            .with_word(5, word(axis))
            .view(dst.1)
            .view(&without_axis(index.1, axis))
            .view(&without_axis(src.1, axis));
        info = info.extend(index.1.dims().iter().map(|&d| word(d)));
        let out = self.alloc(dtype, numel)?;
        let buffers =
            [&buffer_of(&out).buffer, &buffer_of(dst.0).buffer, &buffer_of(index.0).buffer, &buffer_of(src.0).buffer];
        self.gpu.dispatch(&pipeline, info.words(), &buffers, groups_for(numel));
        Ok(out)
    }

    /// The 1-D `index` along `axis` as a view of the shape `dims` (stride 0 elsewhere).
    pub(crate) fn spread_index(index_layout: &Layout, dims: &[usize], axis: usize) -> Layout {
        let mut strides = vec![0isize; dims.len()];
        strides[axis] = index_layout.strides()[0];
        Layout::from_parts(dims, strides, index_layout.offset()).expect("a broadcast index view")
    }

    pub(crate) fn index_select_op(
        &self,
        x: &Storage,
        layout: &Layout,
        axis: usize,
        index: &Storage,
        index_layout: &Layout,
    ) -> Result<Storage> {
        let mut dims = layout.dims().to_vec();
        dims[axis] = index_layout.numel();
        self.gather_op(x, layout, axis, index, &Self::spread_index(index_layout, &dims, axis))
    }

    pub(crate) fn index_add_op(
        &self,
        dst: (&Storage, &Layout),
        axis: usize,
        index: (&Storage, &Layout),
        src: (&Storage, &Layout),
    ) -> Result<Storage> {
        let spread = Self::spread_index(index.1, src.1.dims(), axis);
        self.scatter_add_op(dst, axis, (index.0, &spread), src)
    }
}
