//! The conformance suite: every op of the [`Device`] contract checked against an independent
//! f64 reference ([`reference::Ref`], whose formulas in [`formulas`] are written from the
//! mathematical definitions and pinned to known values, never taken from the `ops.rs` that
//! backends run) on random inputs (never zeros), over shapes with size-1 and size-0 axes,
//! broadcasting, non-contiguous views (transposed, narrowed, flipped, broadcast) and large
//! magnitudes for the softmax family.
//!
//! Each backend crate runs it from its own tests:
//!
//! ```text
//! let report = tensor_core::conformance::run(&device, DType::F32);
//! println!("{report}");
//! report.assert_passed();
//! ```

mod attention;
mod cells;
mod conv;
mod elementwise;
pub mod formulas;
mod linalg;
mod loss;
mod reduce;
pub mod reference;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{Composite, DType, Device, HostBuffer, Layout, Result, Tensor};
use reference::Ref;

/// How an op ran on the backend under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Implementation {
    /// A primitive: always the backend's own code.
    Primitive,
    /// A composite the backend overrides natively.
    Native,
    /// A composite running its default body (built from primitives).
    Default,
    /// Composed in the tensor layer from device ops (no device method of its own).
    TensorLayer,
}

/// The outcome for one op.
#[derive(Clone, Debug)]
pub struct OpReport {
    /// Op name, e.g. `unary:exp`.
    pub op: String,
    /// How it ran.
    pub implementation: Implementation,
    /// Cases checked.
    pub cases: usize,
    /// One line per failed case.
    pub failures: Vec<String>,
}

/// The outcome of a whole run.
#[derive(Clone, Debug)]
pub struct Report {
    /// Device name.
    pub device: String,
    /// Float dtype the run used.
    pub dtype: DType,
    /// The products' relative tolerance, when the run relaxed it ([`Options::product_rtol`]).
    pub product_rtol: Option<f64>,
    /// Per-op outcomes, sorted by name.
    pub ops: Vec<OpReport>,
}

impl Report {
    /// Number of failed cases.
    pub fn failures(&self) -> usize {
        self.ops.iter().map(|o| o.failures.len()).sum()
    }

    /// Composites run natively and the number of composites checked.
    pub fn native_composites(&self) -> (usize, usize) {
        let composites =
            self.ops.iter().filter(|o| matches!(o.implementation, Implementation::Native | Implementation::Default));
        let (native, total) =
            composites.fold((0, 0), |(n, t), o| (n + (o.implementation == Implementation::Native) as usize, t + 1));
        (native, total)
    }

    /// Panics with every failure when any case failed.
    #[track_caller]
    pub fn assert_passed(&self) {
        if self.failures() > 0 {
            let lines: Vec<String> =
                self.ops.iter().flat_map(|o| o.failures.iter().map(move |f| format!("{}: {f}", o.op))).collect();
            panic!(
                "conformance failed on {} ({}): {} cases\n{}",
                self.device,
                self.dtype,
                lines.len(),
                lines.join("\n")
            );
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cases: usize = self.ops.iter().map(|o| o.cases).sum();
        let (native, composites) = self.native_composites();
        let products = self.product_rtol.map_or_else(String::new, |r| format!("; products within rtol {r:e}"));
        writeln!(
            f,
            "conformance on {} ({}): {} ops, {cases} cases, {} failed; composites native {native}/{composites}{products}",
            self.device,
            self.dtype,
            self.ops.len(),
            self.failures()
        )?;
        for op in &self.ops {
            let status = if op.failures.is_empty() { "ok" } else { "FAILED" };
            writeln!(f, "  {:<22} {:<12} {:>4} cases  {status}", op.op, format!("{:?}", op.implementation), op.cases)?;
        }
        Ok(())
    }
}

/// Runs every check on `device`, with float inputs of `dtype` (f32 or f64).
pub fn run(device: &Arc<dyn Device>, dtype: DType) -> Report {
    run_with(device, dtype, Options::default())
}

/// How strictly a run compares.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Options {
    /// For devices whose products round their operands (a bf16 or int8 matrix unit): the
    /// relative tolerance of matmul and convolution results, against the sum of the absolute
    /// terms behind each output. Every other op keeps the dtype's tolerance.
    pub product_rtol: Option<f64>,
}

/// [`run`] with `options`.
pub fn run_with(device: &Arc<dyn Device>, dtype: DType, options: Options) -> Report {
    let mut suite = Suite::new(device.clone(), dtype);
    suite.product_rtol = options.product_rtol;
    elementwise::run(&mut suite);
    reduce::run(&mut suite);
    linalg::run(&mut suite);
    conv::run(&mut suite);
    cells::run(&mut suite);
    loss::run(&mut suite);
    attention::run(&mut suite);
    Report {
        device: device.name(),
        dtype,
        product_rtol: options.product_rtol,
        ops: suite.results.into_values().collect(),
    }
}

/// How a test input is laid out in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum View {
    Contiguous,
    /// The last two axes of a larger buffer, transposed.
    Transposed,
    /// A window of the first axis of a larger buffer.
    Narrowed,
    /// The last axis reversed (negative stride).
    Flipped,
    /// The first axis broadcast from size 1 (stride 0).
    Broadcast,
}

impl View {
    pub(crate) const ALL: [View; 5] =
        [View::Contiguous, View::Transposed, View::Narrowed, View::Flipped, View::Broadcast];

    fn applies(self, dims: &[usize]) -> bool {
        match self {
            View::Contiguous => true,
            View::Transposed => dims.len() >= 2,
            View::Narrowed | View::Flipped | View::Broadcast => !dims.is_empty(),
        }
    }
}

/// Value ranges of random inputs. No range contains zero.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Domain {
    /// ±[0.25, 2].
    Any,
    /// [0.25, 2].
    Positive,
    /// ±[100, 1000], for the softmax family.
    Large,
    /// {-1, -0.5, 0.5, 1}: comparisons and ties happen.
    Discrete,
}

pub(crate) struct Suite {
    pub(crate) device: Arc<dyn Device>,
    pub(crate) dtype: DType,
    rng: ChaCha8Rng,
    native: Vec<Composite>,
    results: BTreeMap<String, OpReport>,
    product_rtol: Option<f64>,
}

impl Suite {
    fn new(device: Arc<dyn Device>, dtype: DType) -> Self {
        let native = device.native_composites();
        Suite {
            device,
            dtype,
            rng: ChaCha8Rng::seed_from_u64(0x7e55e7a),
            native,
            results: BTreeMap::new(),
            product_rtol: None,
        }
    }

    fn value(&mut self, domain: Domain) -> f64 {
        let sign = if self.rng.random::<bool>() { 1.0 } else { -1.0 };
        match domain {
            Domain::Any => sign * self.rng.random_range(0.25..2.0),
            Domain::Positive => self.rng.random_range(0.25..2.0),
            Domain::Large => sign * self.rng.random_range(100.0..1000.0),
            Domain::Discrete => sign * [0.5, 1.0][self.rng.random_range(0..2)],
        }
    }

    /// Rounds host values to what `dtype` stores.
    pub(crate) fn round(dtype: DType, values: &mut [f64]) {
        for v in values {
            *v = match dtype {
                DType::F32 => *v as f32 as f64,
                DType::F64 => *v,
                DType::I64 => *v as i64 as f64,
            };
        }
    }

    /// A random input of `dims` laid out as `view`, and its reference.
    pub(crate) fn input(&mut self, dims: &[usize], view: View, domain: Domain) -> (Tensor, Ref) {
        self.input_typed(dims, view, domain, self.dtype)
    }

    pub(crate) fn input_typed(&mut self, dims: &[usize], view: View, domain: Domain, dtype: DType) -> (Tensor, Ref) {
        let rank = dims.len();
        let mut base = dims.to_vec();
        match view {
            View::Transposed => base.swap(rank - 2, rank - 1),
            View::Narrowed => base[0] += 3,
            View::Broadcast => base[0] = 1,
            View::Contiguous | View::Flipped => {}
        }
        let base_layout = Layout::contiguous(base.clone());
        let layout = match view {
            View::Contiguous => base_layout,
            View::Transposed => base_layout.transpose(rank - 2, rank - 1).expect("rank >= 2"),
            View::Narrowed => base_layout.narrow(0, 2, dims[0]).expect("inside"),
            View::Flipped => base_layout.flip(rank - 1).expect("rank >= 1"),
            View::Broadcast => base_layout.broadcast_to(&dims.into()).expect("broadcastable"),
        };
        let mut host: Vec<f64> = (0..base.iter().product::<usize>()).map(|_| self.value(domain)).collect();
        if dtype == DType::I64 {
            host.iter_mut().for_each(|v| *v = (*v * 4.0).round());
        }
        Self::round(dtype, &mut host);
        let storage = self.device.upload(HostBuffer::from_f64(dtype, &host)).expect("upload");
        let tensor = Tensor::from_storage(storage, layout.clone(), self.device.clone()).expect("layout fits");
        (tensor, Ref::view(&host, &layout))
    }

    /// A random i64 index tensor with entries in `0..high`.
    pub(crate) fn index(&mut self, dims: &[usize], high: usize) -> (Tensor, Ref) {
        let values: Vec<f64> =
            (0..dims.iter().product::<usize>()).map(|_| self.rng.random_range(0..high) as f64).collect();
        let tensor =
            Tensor::from_buffer(HostBuffer::from_f64(DType::I64, &values), dims, &self.device).expect("upload");
        (tensor, Ref { dims: dims.to_vec(), data: values })
    }

    fn entry(&mut self, op: &str, composite: Option<Composite>) -> &mut OpReport {
        let implementation = match composite {
            None => Implementation::Primitive,
            Some(c) if self.native.contains(&c) => Implementation::Native,
            Some(_) => Implementation::Default,
        };
        self.entry_as(op, implementation)
    }

    fn entry_as(&mut self, op: &str, implementation: Implementation) -> &mut OpReport {
        self.results.entry(op.to_string()).or_insert_with(|| OpReport {
            op: op.to_string(),
            implementation,
            cases: 0,
            failures: Vec::new(),
        })
    }

    /// Records one case of `op`: `outcome` is `Err(reason)` when it failed.
    pub(crate) fn record(
        &mut self,
        op: &str,
        composite: Option<Composite>,
        case: String,
        outcome: std::result::Result<(), String>,
    ) {
        let entry = self.entry(op, composite);
        entry.cases += 1;
        if let Err(reason) = outcome {
            entry.failures.push(format!("{case}: {reason}"));
        }
    }

    /// Records a case of an op composed in the tensor layer.
    pub(crate) fn record_tensor_layer(&mut self, op: &str, case: String, outcome: std::result::Result<(), String>) {
        self.entry_as(op, Implementation::TensorLayer);
        self.record(op, None, case, outcome);
    }

    /// Tolerances (relative, absolute) for results of the given dtype.
    pub(crate) fn tolerance(dtype: DType) -> (f64, f64) {
        match dtype {
            DType::F32 => (3e-5, 1e-6),
            DType::F64 => (1e-12, 1e-13),
            DType::I64 => (0.0, 0.0),
        }
    }

    /// Compares a device result with the reference. `magnitude`, when given, is the sum of the
    /// absolute terms behind each output (the scale of accumulated rounding).
    pub(crate) fn compare(
        got: Result<Tensor>,
        want: &Ref,
        magnitude: Option<&[f64]>,
    ) -> std::result::Result<(), String> {
        Self::compare_within(got, want, magnitude, 0.0)
    }

    /// [`Suite::compare`] for a matmul or convolution result, within the run's product
    /// tolerance when it has one.
    pub(crate) fn compare_product(
        &self,
        got: Result<Tensor>,
        want: &Ref,
        magnitude: &[f64],
    ) -> std::result::Result<(), String> {
        Self::compare_within(got, want, Some(magnitude), self.product_rtol.unwrap_or(0.0))
    }

    fn compare_within(
        got: Result<Tensor>,
        want: &Ref,
        magnitude: Option<&[f64]>,
        min_rtol: f64,
    ) -> std::result::Result<(), String> {
        let got = got.map_err(|e| format!("error: {e}"))?;
        if got.dims() != want.dims.as_slice() {
            return Err(format!("shape {} but expected {:?}", got.shape(), want.dims));
        }
        let values = got.to_f64_vec().map_err(|e| format!("download: {e}"))?;
        let (rtol, atol) = Self::tolerance(got.dtype());
        let rtol = rtol.max(min_rtol);
        for (i, (&g, &w)) in values.iter().zip(&want.data).enumerate() {
            let scale = w.abs() + magnitude.map_or(0.0, |m| m[i]);
            let same = (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= atol + rtol * scale;
            if !same {
                return Err(format!("element {i} is {g}, expected {w}"));
            }
        }
        Ok(())
    }
}
