//! The vector unit: every op that is not a matrix product, on row-major element data, with the
//! semantics defined once in `tensor_core::ops`.

use tensor_core::{ArgReduceOp, BinaryOp, DType, ReduceOp, Result, UnaryOp};

use super::storage::{Data, unsupported};

#[allow(clippy::expect_used, reason = "an invariant, not input: the tensor layer checks integer ops")]
pub(crate) fn unary(op: UnaryOp, x: Data) -> Data {
    match x {
        Data::F32(v) => Data::F32(v.into_iter().map(|x| op.apply(x)).collect()),
        Data::I64(v) => {
            Data::I64(v.into_iter().map(|x| op.apply_i64(x).expect("the tensor layer checks integer ops")).collect())
        }
    }
}

#[allow(clippy::expect_used, reason = "an invariant, not input: the tensor layer checks integer ops")]
pub(crate) fn binary(op: BinaryOp, a: Data, b: Data) -> Data {
    match (a, b) {
        (Data::F32(a), Data::F32(b)) => Data::F32(a.iter().zip(&b).map(|(&a, &b)| op.apply(a, b)).collect()),
        (Data::I64(a), Data::I64(b)) => Data::I64(
            a.iter().zip(&b).map(|(&a, &b)| op.apply_i64(a, b).expect("the tensor layer checks integer ops")).collect(),
        ),
        _ => unreachable!("the tensor layer checks that dtypes match"),
    }
}

pub(crate) fn select(cond: &Data, on_true: Data, on_false: Data) -> Data {
    let pick = |i: usize| cond.get_f64(i) != 0.0;
    match (on_true, on_false) {
        (Data::F32(t), Data::F32(f)) => Data::F32((0..t.len()).map(|i| if pick(i) { t[i] } else { f[i] }).collect()),
        (Data::I64(t), Data::I64(f)) => Data::I64((0..t.len()).map(|i| if pick(i) { t[i] } else { f[i] }).collect()),
        _ => unreachable!("the tensor layer checks that dtypes match"),
    }
}

/// Floats to integers truncate toward zero and saturate; NaN becomes 0 (Rust's `as`).
pub(crate) fn cast(x: Data, to: DType) -> Result<Data> {
    Ok(match (x, to) {
        (x @ Data::F32(_), DType::F32) | (x @ Data::I64(_), DType::I64) => x,
        (Data::F32(v), DType::I64) => Data::I64(v.into_iter().map(|x| x as i64).collect()),
        (Data::I64(v), DType::F32) => Data::F32(v.into_iter().map(|x| x as f32).collect()),
        (_, DType::F64) => return Err(unsupported("cast")),
    })
}

/// Reduces consecutive runs of `count` elements.
pub(crate) fn reduce(op: ReduceOp, x: Data, rows: usize, count: usize) -> Data {
    match x {
        Data::F32(v) => Data::F32(
            (0..rows)
                .map(|r| v[r * count..(r + 1) * count].iter().fold(op.identity::<f32>(), |a, &x| op.combine(a, x)))
                .collect(),
        ),
        Data::I64(v) => Data::I64(
            (0..rows)
                .map(|r| v[r * count..(r + 1) * count].iter().fold(op.identity_i64(), |a, &x| op.combine_i64(a, x)))
                .collect(),
        ),
    }
}

/// The position of the extreme element of each run of `count` (ties: the first).
pub(crate) fn arg_reduce(op: ArgReduceOp, x: Data, rows: usize, count: usize) -> Data {
    let best = |better: &dyn Fn(usize, usize) -> bool, r: usize| {
        (1..count).fold(0, |best, i| if better(r * count + i, r * count + best) { i } else { best }) as i64
    };
    Data::I64(match x {
        Data::F32(v) => (0..rows).map(|r| best(&|i, j| op.better(v[i], v[j]), r)).collect(),
        Data::I64(v) => (0..rows).map(|r| best(&|i, j| op.better_i64(v[i], v[j]), r)).collect(),
    })
}
