//! Gather, scatter-add and the row-wise fast paths of index-select and index-add.

use std::ops::AddAssign;

use tensor_core::{HostBuffer, Layout, Result, Storage, TensorError, View};

use crate::storage::{contiguous, cpu, gather_view, wrap};

/// Visits every coordinate of `dims` in row-major order.
fn for_each_coord(dims: &[usize], mut visit: impl FnMut(&[usize]) -> Result<()>) -> Result<()> {
    if dims.contains(&0) {
        return Ok(());
    }
    let mut coord = vec![0usize; dims.len()];
    loop {
        visit(&coord)?;
        let mut axis = dims.len();
        loop {
            if axis == 0 {
                return Ok(());
            }
            axis -= 1;
            coord[axis] += 1;
            if coord[axis] < dims[axis] {
                break;
            }
            coord[axis] = 0;
        }
    }
}

/// Reads an index value and checks it against the axis size.
fn checked(op: &'static str, raw: i64, axis: usize, size: usize) -> Result<usize> {
    if raw >= 0 && (raw as usize) < size {
        Ok(raw as usize)
    } else {
        Err(TensorError::IndexOutOfRange { op, index: raw, axis, size })
    }
}

/// Storage offset of `coord` with its `axis` entry replaced by `at`.
fn offset_with(layout: &Layout, coord: &[usize], axis: usize, at: usize) -> usize {
    let mut off = layout.offset() as isize;
    for (d, (&c, &s)) in coord.iter().zip(layout.strides()).enumerate() {
        off += if d == axis { at as isize } else { c as isize } * s;
    }
    off as usize
}

fn index_values(index: &Storage) -> std::sync::RwLockReadGuard<'_, HostBuffer> {
    cpu(index).read()
}

fn as_i64(buffer: &HostBuffer) -> &[i64] {
    match buffer {
        HostBuffer::I64(v) => v,
        other => panic!("index tensors are i64, got {}", other.dtype()),
    }
}

fn gather_t<T: Copy>(x: &[T], xl: &Layout, axis: usize, idx: &[i64], il: &Layout) -> Result<Vec<T>> {
    let size = xl.dims()[axis];
    let mut out = Vec::with_capacity(il.numel());
    for_each_coord(il.dims(), |coord| {
        let at = checked("gather", idx[il.offset_of(coord)], axis, size)?;
        out.push(x[offset_with(xl, coord, axis, at)]);
        Ok(())
    })?;
    Ok(out)
}

pub(crate) fn gather(x: View<'_>, axis: usize, index: View<'_>) -> Result<Storage> {
    let (x, xl, index, il) = (x.storage(), x.layout(), index.storage(), index.layout());
    let guard = index_values(index);
    let idx = as_i64(&guard);
    let buffer = cpu(x).read();
    Ok(wrap(match &*buffer {
        HostBuffer::F32(v) => HostBuffer::F32(gather_t(v, xl, axis, idx, il)?),
        HostBuffer::F64(v) => HostBuffer::F64(gather_t(v, xl, axis, idx, il)?),
        HostBuffer::I64(v) => HostBuffer::I64(gather_t(v, xl, axis, idx, il)?),
    }))
}

fn scatter_add_t<T: Copy + AddAssign>(
    dst: &[T],
    dl: &Layout,
    axis: usize,
    idx: &[i64],
    il: &Layout,
    src: &[T],
    sl: &Layout,
) -> Result<Vec<T>> {
    let mut out = gather_view(dst, dl);
    let out_layout = Layout::contiguous(dl.shape().clone());
    let size = dl.dims()[axis];
    for_each_coord(il.dims(), |coord| {
        let at = checked("scatter_add", idx[il.offset_of(coord)], axis, size)?;
        out[offset_with(&out_layout, coord, axis, at)] += src[sl.offset_of(coord)];
        Ok(())
    })?;
    Ok(out)
}

pub(crate) fn scatter_add(dst: View<'_>, axis: usize, index: View<'_>, src: View<'_>) -> Result<Storage> {
    let (dst, dl, index, il, src, sl) =
        (dst.storage(), dst.layout(), index.storage(), index.layout(), src.storage(), src.layout());
    let guard = index_values(index);
    let idx = as_i64(&guard);
    let (d, s) = (cpu(dst).read(), cpu(src).read());
    Ok(wrap(match (&*d, &*s) {
        (HostBuffer::F32(d), HostBuffer::F32(s)) => HostBuffer::F32(scatter_add_t(d, dl, axis, idx, il, s, sl)?),
        (HostBuffer::F64(d), HostBuffer::F64(s)) => HostBuffer::F64(scatter_add_t(d, dl, axis, idx, il, s, sl)?),
        (HostBuffer::I64(d), HostBuffer::I64(s)) => HostBuffer::I64(scatter_add_t(d, dl, axis, idx, il, s, sl)?),
        (d, s) => {
            return Err(TensorError::DTypeMismatch { op: "scatter_add", lhs: d.dtype(), rhs: s.dtype() });
        }
    }))
}

/// Row-wise `index_select` along axis 0 of a contiguous table: one slice copy per index.
fn select_rows<T: Copy>(x: &[T], xl: &Layout, idx: &[i64]) -> Result<Vec<T>> {
    let rows = xl.dims()[0];
    let width = xl.numel().checked_div(rows).unwrap_or(0);
    let table = contiguous(x, xl);
    let mut out = Vec::with_capacity(idx.len() * width);
    for &raw in idx {
        let row = checked("index_select", raw, 0, rows)?;
        out.extend_from_slice(&table[row * width..(row + 1) * width]);
    }
    Ok(out)
}

/// `index_select` along axis 0 natively; `None` when the shape needs the general path.
pub(crate) fn index_select_rows(x: View<'_>, axis: usize, index: View<'_>) -> Option<Result<Storage>> {
    let (x, xl, index, il) = (x.storage(), x.layout(), index.storage(), index.layout());
    if axis != 0 {
        return None;
    }
    let guard = index_values(index);
    let idx = contiguous(as_i64(&guard), il);
    let buffer = cpu(x).read();
    Some((|| {
        Ok(wrap(match &*buffer {
            HostBuffer::F32(v) => HostBuffer::F32(select_rows(v, xl, &idx)?),
            HostBuffer::F64(v) => HostBuffer::F64(select_rows(v, xl, &idx)?),
            HostBuffer::I64(v) => HostBuffer::I64(select_rows(v, xl, &idx)?),
        }))
    })())
}

fn add_rows<T: Copy + AddAssign>(dst: &[T], dl: &Layout, idx: &[i64], src: &[T], sl: &Layout) -> Result<Vec<T>> {
    let mut out = gather_view(dst, dl);
    let rows = dl.dims()[0];
    let width = dl.numel().checked_div(rows).unwrap_or(0);
    let src = contiguous(src, sl);
    for (k, &raw) in idx.iter().enumerate() {
        let row = checked("index_add", raw, 0, rows)?;
        for (o, &s) in out[row * width..(row + 1) * width].iter_mut().zip(&src[k * width..(k + 1) * width]) {
            *o += s;
        }
    }
    Ok(out)
}

/// `index_add` along axis 0 natively; `None` when the shape needs the general path.
pub(crate) fn index_add_rows(dst: View<'_>, axis: usize, index: View<'_>, src: View<'_>) -> Option<Result<Storage>> {
    let (dst, dl, index, il, src, sl) =
        (dst.storage(), dst.layout(), index.storage(), index.layout(), src.storage(), src.layout());
    if axis != 0 {
        return None;
    }
    let guard = index_values(index);
    let idx = contiguous(as_i64(&guard), il);
    let (d, s) = (cpu(dst).read(), cpu(src).read());
    Some((|| {
        Ok(wrap(match (&*d, &*s) {
            (HostBuffer::F32(d), HostBuffer::F32(s)) => HostBuffer::F32(add_rows(d, dl, &idx, s, sl)?),
            (HostBuffer::F64(d), HostBuffer::F64(s)) => HostBuffer::F64(add_rows(d, dl, &idx, s, sl)?),
            (HostBuffer::I64(d), HostBuffer::I64(s)) => HostBuffer::I64(add_rows(d, dl, &idx, s, sl)?),
            (d, s) => {
                return Err(TensorError::DTypeMismatch { op: "index_add", lhs: d.dtype(), rhs: s.dtype() });
            }
        }))
    })())
}
