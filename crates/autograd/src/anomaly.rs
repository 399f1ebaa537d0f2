//! Anomaly detection (PyTorch's `detect_anomaly`): while [`detect_anomaly`] runs, every op's
//! output and every gradient a backward rule produces is checked, and the first that holds a NaN
//! or an infinity is recorded with the op (the rule's source place, which names the op family
//! and line) and its input shapes. Slow (a device sum and a download per op): for re-running the
//! one step that went wrong, not for training.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::Location;

use tensor_core::{ReduceOp, Result, Tensor};

/// The first op that produced a non-finite value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    /// Where the op's rule records it (`crates/autograd/src/rules/linalg.rs:31`).
    pub op: String,
    /// `forward` (its output) or `backward` (a gradient its rule produced).
    pub phase: &'static str,
    /// The shapes of the op's inputs.
    pub input_shapes: Vec<Vec<usize>>,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shapes: Vec<String> = self.input_shapes.iter().map(|s| format!("{s:?}")).collect();
        write!(
            f,
            "the {} pass of the op at {} (inputs {}) first produced a NaN or inf",
            self.phase,
            self.op,
            shapes.join(", ")
        )
    }
}

thread_local! {
    static ENABLED: Cell<bool> = const { Cell::new(false) };
    static FOUND: RefCell<Option<Anomaly>> = const { RefCell::new(None) };
}

/// Runs `f` with every op checked; returns its result and the first anomaly, if any.
pub fn detect_anomaly<T>(f: impl FnOnce() -> T) -> (T, Option<Anomaly>) {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            ENABLED.with(|e| e.set(self.0));
        }
    }
    FOUND.with(|found| found.borrow_mut().take());
    let restore = Restore(ENABLED.with(|e| e.replace(true)));
    let out = f();
    drop(restore);
    (out, FOUND.with(|found| found.borrow_mut().take()))
}

/// Whether anomaly detection is on (on this thread).
pub(crate) fn enabled() -> bool {
    ENABLED.with(Cell::get)
}

fn finite(t: &Tensor) -> Result<bool> {
    if !t.dtype().is_float() {
        return Ok(true);
    }
    let axes: Vec<isize> = (0..t.rank() as isize).collect();
    Ok(t.try_reduce(ReduceOp::Sum, &axes, false)?.to_scalar()?.is_finite())
}

/// Records `values` of the op at `op` as the anomaly if one is not finite and none was found
/// yet. Errors of the check itself are ignored: it only observes.
pub(crate) fn check(op: &'static Location<'static>, phase: &'static str, inputs: &[Vec<usize>], values: &[&Tensor]) {
    if FOUND.with(|found| found.borrow().is_some()) {
        return;
    }
    if values.iter().any(|v| matches!(finite(v), Ok(false))) {
        let anomaly = Anomaly { op: format!("{}:{}", op.file(), op.line()), phase, input_shapes: inputs.to_vec() };
        FOUND.with(|found| *found.borrow_mut() = Some(anomaly));
    }
}
