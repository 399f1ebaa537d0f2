//! Elementwise ops: unary, binary, where, cast, copy and assign.

use ndarray::{ArrayD, IxDyn, Zip};
use rayon::prelude::*;
use tensor_core::{BinaryOp, DType, Float, HostBuffer, Layout, Result, Storage, TensorError, UnaryOp, View};

use crate::storage::{contiguous, cpu, gather_view, view, wrap};

/// Below this many elements, work stays on the calling thread.
pub(crate) const PARALLEL_MIN: usize = 1 << 15;

/// Elements per parallel task: large enough that a task is mostly vectorised work.
const CHUNK: usize = 1 << 13;

/// Whether `len` elements are worth splitting across the current pool's threads.
pub(crate) fn parallel(len: usize) -> bool {
    len >= PARALLEL_MIN && rayon::current_num_threads() > 1
}

/// `f` applied to every selected element, in row-major order.
pub(crate) fn map<T: Copy + Send + Sync, U: Copy + Default + Send + Sync>(
    data: &[T],
    layout: &Layout,
    f: impl Fn(T) -> U + Sync + Send,
) -> Vec<U> {
    let input = contiguous(data, layout);
    if !parallel(input.len()) {
        return input.iter().map(|&x| f(x)).collect();
    }
    let mut out = vec![U::default(); input.len()];
    out.par_chunks_mut(CHUNK).zip(input.par_chunks(CHUNK)).for_each(|(o, i)| {
        o.iter_mut().zip(i).for_each(|(o, &x)| *o = f(x));
    });
    out
}

/// `f` applied to pairs of selected elements (both layouts have the same shape).
pub(crate) fn zip_map<T: Copy + Send + Sync + Default, U: Copy + Send + Sync + Default>(
    a: &[T],
    la: &Layout,
    b: &[U],
    lb: &Layout,
    f: impl Fn(T, U) -> T + Sync + Send,
) -> Vec<T> {
    if la.is_contiguous() && lb.is_contiguous() {
        let (a, b) = (contiguous(a, la), contiguous(b, lb));
        if !parallel(a.len()) {
            return a.iter().zip(b.iter()).map(|(&x, &y)| f(x, y)).collect();
        }
        let mut out = vec![T::default(); a.len()];
        out.par_chunks_mut(CHUNK).zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK))).for_each(|(o, (a, b))| {
            o.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (&x, &y))| *o = f(x, y));
        });
        return out;
    }
    let mut out = ArrayD::<T>::default(IxDyn(la.dims()));
    let zip = Zip::from(&mut out).and(view(a, la)).and(view(b, lb));
    if parallel(la.numel()) {
        zip.par_for_each(|o, &x, &y| *o = f(x, y));
    } else {
        zip.for_each(|o, &x, &y| *o = f(x, y));
    }
    out.into_raw_vec_and_offset().0
}

/// `op` over the view, with one monomorphic loop per variant: inside each arm the variant is a
/// constant, so `apply` folds to straight-line code the compiler can vectorise.
fn unary_float<F: Float + Default>(op: UnaryOp, data: &[F], layout: &Layout) -> Vec<F> {
    use UnaryOp::*;
    macro_rules! arms {
        ($($variant:pat => $constant:expr),* $(,)?) => {
            match op { $($variant => map(data, layout, move |x| $constant.apply(x)),)* }
        };
    }
    arms! {
        Neg => Neg, Exp => Exp, Log => Log, Sqrt => Sqrt, Abs => Abs, Recip => Recip, Square => Square,
        Sigmoid => Sigmoid, Tanh => Tanh, Relu => Relu, Gelu => Gelu, GeluTanh => GeluTanh, Sin => Sin,
        Cos => Cos, Erf => Erf, Sign => Sign, Softplus => Softplus, LeakyRelu(s) => LeakyRelu(s),
        Affine { mul, add } => Affine { mul, add }, Powf(p) => Powf(p), Clamp { min, max } => Clamp { min, max },
    }
}

/// `op` over two views, one monomorphic loop per variant (see [`unary_float`]).
fn binary_float<F: Float + Default>(op: BinaryOp, a: &[F], la: &Layout, b: &[F], lb: &Layout) -> Vec<F> {
    use BinaryOp::*;
    macro_rules! arms {
        ($($variant:ident),*) => {
            match op { $($variant => zip_map(a, la, b, lb, |x, y| $variant.apply(x, y)),)* }
        };
    }
    arms!(Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge)
}

/// f32 `exp`, `sigmoid`, `tanh`, `erf` and the GELUs through [`crate::fast_math`] (vectorised,
/// AVX-512 where the CPU has it); others as usual.
fn unary_f32(op: UnaryOp, data: &[f32], layout: &Layout) -> Vec<f32> {
    let Some(fast) = crate::fast_math::FastUnary::of(op) else {
        return unary_float(op, data, layout);
    };
    let input = contiguous(data, layout);
    let mut out = vec![0.0f32; input.len()];
    if parallel(input.len()) {
        out.par_chunks_mut(CHUNK).zip(input.par_chunks(CHUNK)).for_each(|(o, i)| fast.apply(i, o));
    } else {
        fast.apply(&input, &mut out);
    }
    out
}

pub(crate) fn unary(op: UnaryOp, x: View<'_>) -> Result<Storage> {
    let (x, layout) = (x.storage(), x.layout());
    let buffer = cpu(x).read();
    Ok(wrap(match &*buffer {
        HostBuffer::F32(v) => HostBuffer::F32(unary_f32(op, v, layout)),
        HostBuffer::F64(v) => HostBuffer::F64(unary_float(op, v, layout)),
        HostBuffer::I64(v) => {
            op.check_dtype(DType::I64)?;
            HostBuffer::I64(map(v, layout, |x| op.apply_i64(x).unwrap_or(0)))
        }
    }))
}

pub(crate) fn binary(op: BinaryOp, lhs: View<'_>, rhs: View<'_>) -> Result<Storage> {
    let (lhs, ll, rhs, rl) = (lhs.storage(), lhs.layout(), rhs.storage(), rhs.layout());
    let (a, b) = (cpu(lhs).read(), cpu(rhs).read());
    Ok(wrap(match (&*a, &*b) {
        (HostBuffer::F32(a), HostBuffer::F32(b)) => HostBuffer::F32(binary_float(op, a, ll, b, rl)),
        (HostBuffer::F64(a), HostBuffer::F64(b)) => HostBuffer::F64(binary_float(op, a, ll, b, rl)),
        (HostBuffer::I64(a), HostBuffer::I64(b)) => {
            op.check_dtype(DType::I64)?;
            HostBuffer::I64(zip_map(a, ll, b, rl, |x, y| op.apply_i64(x, y).unwrap_or(0)))
        }
        (a, b) => {
            return Err(TensorError::DTypeMismatch { op: "binary", lhs: a.dtype(), rhs: b.dtype() });
        }
    }))
}

/// `true` where the selected condition elements are non-zero.
fn mask(cond: &HostBuffer, layout: &Layout) -> Vec<bool> {
    match cond {
        HostBuffer::F32(v) => map(v, layout, |x| x != 0.0),
        HostBuffer::F64(v) => map(v, layout, |x| x != 0.0),
        HostBuffer::I64(v) => map(v, layout, |x| x != 0),
    }
}

fn select<T: Copy + Send + Sync + Default>(mask: &[bool], t: &[T], tl: &Layout, f: &[T], fl: &Layout) -> Vec<T> {
    let on_true = contiguous(t, tl);
    let on_false = contiguous(f, fl);
    mask.iter().zip(on_true.iter().zip(on_false.iter())).map(|(&m, (&a, &b))| if m { a } else { b }).collect()
}

pub(crate) fn where_select(cond: View<'_>, on_true: View<'_>, on_false: View<'_>) -> Result<Storage> {
    let (c, cl) = (cond.storage(), cond.layout());
    let (t, tl, f, fl) = (on_true.storage(), on_true.layout(), on_false.storage(), on_false.layout());
    let mask = mask(&cpu(c).read(), cl);
    let (a, b) = (cpu(t).read(), cpu(f).read());
    Ok(wrap(match (&*a, &*b) {
        (HostBuffer::F32(a), HostBuffer::F32(b)) => HostBuffer::F32(select(&mask, a, tl, b, fl)),
        (HostBuffer::F64(a), HostBuffer::F64(b)) => HostBuffer::F64(select(&mask, a, tl, b, fl)),
        (HostBuffer::I64(a), HostBuffer::I64(b)) => HostBuffer::I64(select(&mask, a, tl, b, fl)),
        (a, b) => {
            return Err(TensorError::DTypeMismatch { op: "where", lhs: a.dtype(), rhs: b.dtype() });
        }
    }))
}

/// The selected elements of `buffer` in row-major order, converted to `dtype`.
pub(crate) fn cast_buffer(buffer: &HostBuffer, layout: &Layout, dtype: DType) -> HostBuffer {
    match (buffer, dtype) {
        (HostBuffer::F32(v), DType::F32) => HostBuffer::F32(gather_view(v, layout)),
        (HostBuffer::F64(v), DType::F64) => HostBuffer::F64(gather_view(v, layout)),
        (HostBuffer::I64(v), DType::I64) => HostBuffer::I64(gather_view(v, layout)),
        (HostBuffer::F32(v), DType::F64) => HostBuffer::F64(map(v, layout, |x| x as f64)),
        (HostBuffer::F32(v), DType::I64) => HostBuffer::I64(map(v, layout, |x| x as i64)),
        (HostBuffer::F64(v), DType::F32) => HostBuffer::F32(map(v, layout, |x| x as f32)),
        (HostBuffer::F64(v), DType::I64) => HostBuffer::I64(map(v, layout, |x| x as i64)),
        (HostBuffer::I64(v), DType::F32) => HostBuffer::F32(map(v, layout, |x| x as f32)),
        (HostBuffer::I64(v), DType::F64) => HostBuffer::F64(map(v, layout, |x| x as f64)),
    }
}

pub(crate) fn cast(x: View<'_>, dtype: DType) -> Result<Storage> {
    Ok(wrap(cast_buffer(&cpu(x.storage()).read(), x.layout(), dtype)))
}

fn write_into<T: Copy>(dst: &mut [T], dl: &Layout, src: &[T]) {
    if dl.is_contiguous() {
        dst[dl.offset()..dl.offset() + src.len()].copy_from_slice(src);
    } else {
        for (off, &value) in dl.offsets().zip(src) {
            dst[off] = value;
        }
    }
}

pub(crate) fn assign(dst: View<'_>, src: View<'_>) -> Result<()> {
    let (dst, dl, src, sl) = (dst.storage(), dst.layout(), src.storage(), src.layout());
    // Read the source first: it may share the destination's buffer.
    let values = cast_buffer(&cpu(src).read(), sl, src.dtype());
    let mut target = cpu(dst).write();
    match (&mut *target, &values) {
        (HostBuffer::F32(d), HostBuffer::F32(s)) => write_into(d, dl, s),
        (HostBuffer::F64(d), HostBuffer::F64(s)) => write_into(d, dl, s),
        (HostBuffer::I64(d), HostBuffer::I64(s)) => write_into(d, dl, s),
        (d, s) => {
            return Err(TensorError::DTypeMismatch { op: "assign", lhs: d.dtype(), rhs: s.dtype() });
        }
    }
    Ok(())
}

/// `dst[view] += alpha · src` for contiguous `src` values in the view's order.
fn add_scaled_into<F: Float>(dst: &mut [F], dl: &Layout, alpha: F, src: &[F]) {
    if dl.is_contiguous() {
        let target = &mut dst[dl.offset()..dl.offset() + src.len()];
        if parallel(src.len()) {
            target.par_chunks_mut(CHUNK).zip(src.par_chunks(CHUNK)).for_each(|(d, s)| {
                d.iter_mut().zip(s).for_each(|(d, &s)| *d = *d + alpha * s);
            });
        } else {
            target.iter_mut().zip(src).for_each(|(d, &s)| *d = *d + alpha * s);
        }
    } else {
        for (off, &s) in dl.offsets().zip(src) {
            dst[off] = dst[off] + alpha * s;
        }
    }
}

fn add_scaled_buffers(
    target: &mut HostBuffer,
    dl: &Layout,
    alpha: f64,
    values: &HostBuffer,
    sl: &Layout,
) -> Result<()> {
    match (target, values) {
        (HostBuffer::F32(d), HostBuffer::F32(s)) => add_scaled_into(d, dl, alpha as f32, &contiguous(s, sl)),
        (HostBuffer::F64(d), HostBuffer::F64(s)) => add_scaled_into(d, dl, alpha, &contiguous(s, sl)),
        (d, s) => return Err(TensorError::DTypeMismatch { op: "add_scaled", lhs: d.dtype(), rhs: s.dtype() }),
    }
    Ok(())
}

pub(crate) fn add_scaled(dst: View<'_>, alpha: f64, src: View<'_>) -> Result<()> {
    let (dst, dl, src, sl) = (dst.storage(), dst.layout(), src.storage(), src.layout());
    if !dst.same_buffer(src) {
        let source = cpu(src).read();
        // Never wait for the destination while holding the source: fall back to a copy instead.
        if let Some(mut target) = cpu(dst).try_write() {
            return add_scaled_buffers(&mut target, dl, alpha, &source, sl);
        }
    }
    let values = cast_buffer(&cpu(src).read(), sl, src.dtype());
    let contiguous_layout = Layout::contiguous(sl.shape().clone());
    add_scaled_buffers(&mut cpu(dst).write(), dl, alpha, &values, &contiguous_layout)
}

/// Joins contiguous copies of the parts: for each index of the axes before `axis`, one run of
/// each part in turn.
fn concat_runs<T: Copy>(parts: &[(&[T], &Layout)], axis: usize) -> Vec<T> {
    let outer: usize = parts[0].1.dims()[..axis].iter().product();
    let pieces: Vec<_> = parts.iter().map(|(data, layout)| contiguous(data, layout)).collect();
    let total = pieces.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(total);
    if outer == 0 {
        return out;
    }
    for o in 0..outer {
        for piece in &pieces {
            let run = piece.len() / outer;
            out.extend_from_slice(&piece[o * run..(o + 1) * run]);
        }
    }
    out
}

/// The parts' buffers as slices of one element type, or a dtype mismatch.
fn typed<'a, T>(
    buffers: &'a [std::sync::RwLockReadGuard<'_, HostBuffer>],
    parts: &[View<'a>],
    pick: impl Fn(&HostBuffer) -> Option<&[T]>,
) -> Result<Vec<(&'a [T], &'a Layout)>> {
    buffers
        .iter()
        .zip(parts)
        .map(|(buffer, part)| {
            pick(buffer).map(|slice| (slice, part.layout())).ok_or(TensorError::DTypeMismatch {
                op: "concat",
                lhs: buffers[0].dtype(),
                rhs: buffer.dtype(),
            })
        })
        .collect()
}

pub(crate) fn concat(parts: &[View<'_>], axis: usize) -> Result<Storage> {
    let buffers: Vec<_> = parts.iter().map(|part| cpu(part.storage()).read()).collect();
    Ok(wrap(match &*buffers[0] {
        HostBuffer::F32(_) => HostBuffer::F32(concat_runs(
            &typed(&buffers, parts, |b| if let HostBuffer::F32(v) = b { Some(v.as_slice()) } else { None })?,
            axis,
        )),
        HostBuffer::F64(_) => HostBuffer::F64(concat_runs(
            &typed(&buffers, parts, |b| if let HostBuffer::F64(v) = b { Some(v.as_slice()) } else { None })?,
            axis,
        )),
        HostBuffer::I64(_) => HostBuffer::I64(concat_runs(
            &typed(&buffers, parts, |b| if let HostBuffer::I64(v) = b { Some(v.as_slice()) } else { None })?,
            axis,
        )),
    }))
}
