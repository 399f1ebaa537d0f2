//! The simulated TPU as a [`Device`]: matrix products run on the systolic array (the fast mode's
//! counts and its bit-identical product, operands rounded to the array's input type), every other
//! op on the vector unit; each op is charged cycles in a ledger that [`TpuDevice::ledger`]
//! reports. Composites use the contract's defaults, so a convolution is unfold + array matmuls.
//!
//! Vector-unit cost model: `lanes = cols` elements per cycle, one pass over the data per op
//! (`ceil(elements / lanes)` cycles); a reduction adds `log2(lanes)` cycles for its tree.

mod ledger;
mod storage;
mod vector;

use std::sync::{Arc, Mutex};

use tensor_core::{
    ArgReduceOp, BinaryOp, DType, Device, HostBuffer, Layout, ReduceOp, Result, Storage, TensorError, UnaryOp, View,
    locks,
};

pub use ledger::{Ledger, OpCost};
pub use storage::TpuStorage;

use crate::numeric::{quantize_int8, round_bf16};
use crate::{Counts, FoldPlan, Gemm, InputType, TpuConfig, analytic, simulate};
use storage::{Data, buffer, read};

/// The simulated TPU device.
#[derive(Debug)]
pub struct TpuDevice {
    config: TpuConfig,
    ledger: Mutex<Ledger>,
}

impl TpuDevice {
    /// A device with `config`'s array, dataflow, input type and clock.
    pub fn new(config: TpuConfig) -> Self {
        TpuDevice { config, ledger: Mutex::new(Ledger::default()) }
    }

    /// The `tpu-v1` geometry with f32 operands: products match the CPU to f32 rounding, so
    /// models train as they do there while every cycle is counted.
    #[allow(clippy::expect_used, reason = "an invariant, not input: a preset")]
    pub fn exact() -> Arc<TpuDevice> {
        let mut config = TpuConfig::preset("tpu-v1").expect("a preset");
        config.input = InputType::F32;
        config.name = "tpu-v1 (f32 operands)".into();
        Arc::new(TpuDevice::new(config))
    }

    /// The chip simulated.
    pub fn config(&self) -> &TpuConfig {
        &self.config
    }

    /// A copy of the cycle ledger so far.
    pub fn ledger(&self) -> Ledger {
        locks::lock(&self.ledger).clone()
    }

    /// Clears the ledger.
    pub fn reset_ledger(&self) {
        *locks::lock(&self.ledger) = Ledger::default();
    }

    fn charge_vector(&self, op: &str, elements: usize, tree: bool) {
        let lanes = self.config.cols.max(1);
        let mut cycles = elements.div_ceil(lanes) as u64;
        if tree {
            cycles += lanes.next_power_of_two().trailing_zeros() as u64;
        }
        locks::lock(&self.ledger).charge(op, cycles, None);
    }

    fn stored(&self, op: &str, data: Data, tree: bool) -> Storage {
        self.charge_vector(op, data.len(), tree);
        TpuStorage::storage(data)
    }

    /// `lhs [m, k] x rhs [k, n]` on the array, in the configured input type.
    fn array_product(&self, plan: &FoldPlan, lhs: &[f32], rhs: &[f32]) -> Vec<f32> {
        match self.config.input {
            InputType::F32 => analytic::product::<f32>(plan, lhs, rhs),
            InputType::Bf16 => {
                let round = |v: &[f32]| v.iter().map(|&x| round_bf16(x)).collect::<Vec<_>>();
                analytic::product::<f32>(plan, &round(lhs), &round(rhs))
            }
            InputType::Int8 => {
                let (a, b) = (quantize_int8(lhs), quantize_int8(rhs));
                let scale = a.scale * b.scale;
                analytic::product::<i32>(plan, &a.codes, &b.codes).into_iter().map(|v| v as f32 * scale).collect()
            }
        }
    }
}

fn f32s(data: Data) -> Vec<f32> {
    match data {
        Data::F32(v) => v,
        Data::I64(_) => unreachable!("the tensor layer checks float operands"),
    }
}

fn i64s(data: Data) -> Vec<i64> {
    match data {
        Data::I64(v) => v,
        Data::F32(_) => unreachable!("index tensors are i64"),
    }
}

/// `layout` with `dims`, the stride of `axis` zeroed: the storage offset of each position's
/// coordinate 0 along `axis`.
#[allow(clippy::expect_used, reason = "an invariant, not input: a view inside the operand")]
fn axis_base(dims: &[usize], layout: &Layout, axis: usize) -> Layout {
    let mut strides = layout.strides().to_vec();
    strides[axis] = 0;
    Layout::from_parts(dims, strides, layout.offset()).expect("a view inside the operand")
}

fn check_index(op: &'static str, index: &[i64], axis: usize, size: usize) -> Result<()> {
    match index.iter().find(|&&i| i < 0 || i as u64 >= size as u64) {
        Some(&bad) => Err(TensorError::IndexOutOfRange { op, index: bad, axis, size }),
        None => Ok(()),
    }
}

impl Device for TpuDevice {
    fn name(&self) -> String {
        format!("tpu-sim ({})", self.config.name)
    }

    fn supports(&self, dtype: DType) -> bool {
        dtype != DType::F64
    }

    fn upload(&self, data: HostBuffer) -> Result<Storage> {
        TpuStorage::from_host(data)
    }

    fn download(&self, x: View<'_>) -> Result<HostBuffer> {
        Ok(read(x).into_host())
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn unary(&self, op: UnaryOp, x: View<'_>) -> Result<Storage> {
        Ok(self.stored("unary", vector::unary(op, read(x)), false))
    }

    fn binary(&self, op: BinaryOp, lhs: View<'_>, rhs: View<'_>) -> Result<Storage> {
        Ok(self.stored("binary", vector::binary(op, read(lhs), read(rhs)), false))
    }

    fn where_select(&self, cond: View<'_>, on_true: View<'_>, on_false: View<'_>) -> Result<Storage> {
        let picked = vector::select(&read(cond), read(on_true), read(on_false));
        Ok(self.stored("where", picked, false))
    }

    fn cast(&self, x: View<'_>, dtype: DType) -> Result<Storage> {
        Ok(self.stored("cast", vector::cast(read(x), dtype)?, false))
    }

    fn assign(&self, dst: View<'_>, src: View<'_>) -> Result<()> {
        // Read first: the views may share the buffer.
        let values = read(src);
        self.charge_vector("assign", values.len(), false);
        let offsets = dst.layout().offsets();
        match (&mut *locks::write(&buffer(dst.storage()).data), values) {
            (Data::F32(d), Data::F32(v)) => offsets.zip(v).for_each(|(o, x)| d[o] = x),
            (Data::I64(d), Data::I64(v)) => offsets.zip(v).for_each(|(o, x)| d[o] = x),
            (d, v) => return Err(TensorError::DTypeMismatch { op: "assign", lhs: d.dtype(), rhs: v.dtype() }),
        }
        Ok(())
    }

    fn reduce(&self, op: ReduceOp, x: View<'_>, axes: &[usize]) -> Result<Storage> {
        let layout = x.layout();
        let mut order: Vec<usize> = (0..layout.rank()).filter(|a| !axes.contains(a)).collect();
        let rows = order.iter().map(|&a| layout.dims()[a]).product();
        order.extend_from_slice(axes);
        let count = axes.iter().map(|&a| layout.dims()[a]).product();
        let data = read(x.with_layout(&layout.permute(&order)?)?);
        self.charge_vector("reduce", data.len(), true);
        Ok(TpuStorage::storage(vector::reduce(op, data, rows, count)))
    }

    fn arg_reduce(&self, op: ArgReduceOp, x: View<'_>, axis: usize) -> Result<Storage> {
        let layout = x.layout();
        let mut order: Vec<usize> = (0..layout.rank()).filter(|&a| a != axis).collect();
        order.push(axis);
        let count = layout.dims()[axis];
        let data = read(x.with_layout(&layout.permute(&order)?)?);
        self.charge_vector("arg_reduce", data.len(), true);
        Ok(TpuStorage::storage(vector::arg_reduce(op, data, layout.numel() / count, count)))
    }

    fn matmul(&self, lhs: View<'_>, rhs: View<'_>) -> Result<Storage> {
        let (lhs_layout, rhs_layout) = (lhs.layout(), rhs.layout());
        let rank = lhs_layout.rank();
        let (m, k, n) = (lhs_layout.dims()[rank - 2], lhs_layout.dims()[rank - 1], rhs_layout.dims()[rank - 1]);
        let batches: usize = lhs_layout.dims()[..rank - 2].iter().product();
        let (a, b) = (f32s(read(lhs)), f32s(read(rhs)));
        let plan = FoldPlan::new(Gemm { m, n, k }, self.config.dataflow, self.config.rows, self.config.cols);
        let mut out = Vec::with_capacity(batches * m * n);
        let mut counts = Counts::default();
        let one = simulate::fast(&self.config, plan.gemm).counts;
        for batch in 0..batches {
            out.extend(self.array_product(
                &plan,
                &a[batch * m * k..(batch + 1) * m * k],
                &b[batch * k * n..(batch + 1) * k * n],
            ));
            counts += one;
        }
        locks::lock(&self.ledger).charge("matmul", counts.cycles, Some(counts));
        Ok(TpuStorage::storage(Data::F32(out)))
    }

    fn gather(&self, x: View<'_>, axis: usize, index: View<'_>) -> Result<Storage> {
        let layout = x.layout();
        let idx = i64s(read(index));
        check_index("gather", &idx, axis, layout.dims()[axis])?;
        let stride = layout.strides()[axis];
        let bases = axis_base(index.dims(), layout, axis);
        let at = |(base, &i): (usize, &i64)| (base as isize + i as isize * stride) as usize;
        let data = match &*locks::read(&buffer(x.storage()).data) {
            Data::F32(v) => Data::F32(bases.offsets().zip(&idx).map(|p| v[at(p)]).collect()),
            Data::I64(v) => Data::I64(bases.offsets().zip(&idx).map(|p| v[at(p)]).collect()),
        };
        Ok(self.stored("gather", data, false))
    }

    fn scatter_add(&self, dst: View<'_>, axis: usize, index: View<'_>, src: View<'_>) -> Result<Storage> {
        let idx = i64s(read(index));
        check_index("scatter_add", &idx, axis, dst.dims()[axis])?;
        let whole = Layout::contiguous(dst.dims());
        let stride = whole.strides()[axis];
        let targets: Vec<usize> = axis_base(index.dims(), &whole, axis)
            .offsets()
            .zip(&idx)
            .map(|(base, &i)| (base as isize + i as isize * stride) as usize)
            .collect();
        let data = match (read(dst), read(src)) {
            (Data::F32(mut out), Data::F32(v)) => {
                targets.iter().zip(v).for_each(|(&t, x)| out[t] += x);
                Data::F32(out)
            }
            (Data::I64(mut out), Data::I64(v)) => {
                targets.iter().zip(v).for_each(|(&t, x)| out[t] = out[t].wrapping_add(x));
                Data::I64(out)
            }
            (d, v) => return Err(TensorError::DTypeMismatch { op: "scatter_add", lhs: d.dtype(), rhs: v.dtype() }),
        };
        Ok(self.stored("scatter_add", data, false))
    }
}
