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
    ArgReduceOp, BinaryOp, DType, Device, HostBuffer, Layout, ReduceOp, Result, Storage, TensorError, UnaryOp,
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
        self.ledger.lock().expect("ledger lock").clone()
    }

    /// Clears the ledger.
    pub fn reset_ledger(&self) {
        *self.ledger.lock().expect("ledger lock") = Ledger::default();
    }

    fn charge_vector(&self, op: &str, elements: usize, tree: bool) {
        let lanes = self.config.cols.max(1);
        let mut cycles = elements.div_ceil(lanes) as u64;
        if tree {
            cycles += lanes.next_power_of_two().trailing_zeros() as u64;
        }
        self.ledger.lock().expect("ledger lock").charge(op, cycles, None);
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

    fn download(&self, x: &Storage, layout: &Layout) -> Result<HostBuffer> {
        Ok(read(x, layout).into_host())
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn unary(&self, op: UnaryOp, x: &Storage, layout: &Layout) -> Result<Storage> {
        Ok(self.stored("unary", vector::unary(op, read(x, layout)), false))
    }

    fn binary(
        &self,
        op: BinaryOp,
        lhs: &Storage,
        lhs_layout: &Layout,
        rhs: &Storage,
        rhs_layout: &Layout,
    ) -> Result<Storage> {
        Ok(self.stored("binary", vector::binary(op, read(lhs, lhs_layout), read(rhs, rhs_layout)), false))
    }

    fn where_select(
        &self,
        cond: &Storage,
        cond_layout: &Layout,
        on_true: &Storage,
        true_layout: &Layout,
        on_false: &Storage,
        false_layout: &Layout,
    ) -> Result<Storage> {
        let picked = vector::select(&read(cond, cond_layout), read(on_true, true_layout), read(on_false, false_layout));
        Ok(self.stored("where", picked, false))
    }

    fn cast(&self, x: &Storage, layout: &Layout, dtype: DType) -> Result<Storage> {
        Ok(self.stored("cast", vector::cast(read(x, layout), dtype)?, false))
    }

    fn assign(&self, dst: &Storage, dst_layout: &Layout, src: &Storage, src_layout: &Layout) -> Result<()> {
        // Read first: the views may share the buffer.
        let values = read(src, src_layout);
        self.charge_vector("assign", values.len(), false);
        let mut data = buffer(dst).data.write().expect("buffer lock");
        match (&mut *data, values) {
            (Data::F32(d), Data::F32(v)) => dst_layout.offsets().zip(v).for_each(|(o, x)| d[o] = x),
            (Data::I64(d), Data::I64(v)) => dst_layout.offsets().zip(v).for_each(|(o, x)| d[o] = x),
            _ => unreachable!("the tensor layer checks that dtypes match"),
        }
        Ok(())
    }

    fn reduce(&self, op: ReduceOp, x: &Storage, layout: &Layout, axes: &[usize]) -> Result<Storage> {
        let mut order: Vec<usize> = (0..layout.rank()).filter(|a| !axes.contains(a)).collect();
        let rows = order.iter().map(|&a| layout.dims()[a]).product();
        order.extend_from_slice(axes);
        let count = axes.iter().map(|&a| layout.dims()[a]).product();
        let data = read(x, &layout.permute(&order)?);
        self.charge_vector("reduce", data.len(), true);
        Ok(TpuStorage::storage(vector::reduce(op, data, rows, count)))
    }

    fn arg_reduce(&self, op: ArgReduceOp, x: &Storage, layout: &Layout, axis: usize) -> Result<Storage> {
        let mut order: Vec<usize> = (0..layout.rank()).filter(|&a| a != axis).collect();
        order.push(axis);
        let count = layout.dims()[axis];
        let data = read(x, &layout.permute(&order)?);
        self.charge_vector("arg_reduce", data.len(), true);
        Ok(TpuStorage::storage(vector::arg_reduce(op, data, layout.numel() / count, count)))
    }

    fn matmul(&self, lhs: &Storage, lhs_layout: &Layout, rhs: &Storage, rhs_layout: &Layout) -> Result<Storage> {
        let rank = lhs_layout.rank();
        let (m, k, n) = (lhs_layout.dims()[rank - 2], lhs_layout.dims()[rank - 1], rhs_layout.dims()[rank - 1]);
        let batches: usize = lhs_layout.dims()[..rank - 2].iter().product();
        let (a, b) = (f32s(read(lhs, lhs_layout)), f32s(read(rhs, rhs_layout)));
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
        self.ledger.lock().expect("ledger lock").charge("matmul", counts.cycles, Some(counts));
        Ok(TpuStorage::storage(Data::F32(out)))
    }

    fn gather(
        &self,
        x: &Storage,
        layout: &Layout,
        axis: usize,
        index: &Storage,
        index_layout: &Layout,
    ) -> Result<Storage> {
        let idx = i64s(read(index, index_layout));
        check_index("gather", &idx, axis, layout.dims()[axis])?;
        let stride = layout.strides()[axis];
        let bases = axis_base(index_layout.dims(), layout, axis);
        let at = |(base, &i): (usize, &i64)| (base as isize + i as isize * stride) as usize;
        let data = match &*buffer(x).data.read().expect("buffer lock") {
            Data::F32(v) => Data::F32(bases.offsets().zip(&idx).map(|p| v[at(p)]).collect()),
            Data::I64(v) => Data::I64(bases.offsets().zip(&idx).map(|p| v[at(p)]).collect()),
        };
        Ok(self.stored("gather", data, false))
    }

    fn scatter_add(
        &self,
        dst: &Storage,
        dst_layout: &Layout,
        axis: usize,
        index: &Storage,
        index_layout: &Layout,
        src: &Storage,
        src_layout: &Layout,
    ) -> Result<Storage> {
        let idx = i64s(read(index, index_layout));
        check_index("scatter_add", &idx, axis, dst_layout.dims()[axis])?;
        let whole = Layout::contiguous(dst_layout.dims());
        let stride = whole.strides()[axis];
        let targets: Vec<usize> = axis_base(index_layout.dims(), &whole, axis)
            .offsets()
            .zip(&idx)
            .map(|(base, &i)| (base as isize + i as isize * stride) as usize)
            .collect();
        let data = match (read(dst, dst_layout), read(src, src_layout)) {
            (Data::F32(mut out), Data::F32(v)) => {
                targets.iter().zip(v).for_each(|(&t, x)| out[t] += x);
                Data::F32(out)
            }
            (Data::I64(mut out), Data::I64(v)) => {
                targets.iter().zip(v).for_each(|(&t, x)| out[t] = out[t].wrapping_add(x));
                Data::I64(out)
            }
            _ => unreachable!("the tensor layer checks that dtypes match"),
        };
        Ok(self.stored("scatter_add", data, false))
    }
}
