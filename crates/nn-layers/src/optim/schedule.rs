//! Learning-rate schedules: the rate to use at each step.

/// A learning rate as a function of the step (0-based).
pub trait LrSchedule {
    /// The rate at `step`.
    fn lr(&self, step: usize) -> f64;
}

/// The same rate at every step.
#[derive(Clone, Copy, Debug)]
pub struct Constant(pub f64);

impl LrSchedule for Constant {
    fn lr(&self, _step: usize) -> f64 {
        self.0
    }
}

/// `base · gamma^(step / every)` (PyTorch's `StepLR`).
#[derive(Clone, Copy, Debug)]
pub struct StepDecay {
    /// Initial rate.
    pub base: f64,
    /// Steps between decays.
    pub every: usize,
    /// Factor per decay.
    pub gamma: f64,
}

impl LrSchedule for StepDecay {
    fn lr(&self, step: usize) -> f64 {
        self.base * self.gamma.powi((step / self.every.max(1)) as i32)
    }
}

/// Cosine annealing from `base` to `min` over `total` steps, then `min`.
#[derive(Clone, Copy, Debug)]
pub struct Cosine {
    /// Initial rate.
    pub base: f64,
    /// Final rate.
    pub min: f64,
    /// Length of the annealing.
    pub total: usize,
}

impl LrSchedule for Cosine {
    fn lr(&self, step: usize) -> f64 {
        let t = (step.min(self.total) as f64) / self.total.max(1) as f64;
        self.min + 0.5 * (self.base - self.min) * (1.0 + (std::f64::consts::PI * t).cos())
    }
}

/// Linear warm-up from 0 over `steps`, then `inner`.
#[derive(Clone, Copy, Debug)]
pub struct Warmup<S> {
    /// The schedule after warm-up (its step count starts at 0 after warm-up).
    pub inner: S,
    /// Warm-up length.
    pub steps: usize,
}

impl<S: LrSchedule> LrSchedule for Warmup<S> {
    fn lr(&self, step: usize) -> f64 {
        if step < self.steps {
            self.inner.lr(0) * (step + 1) as f64 / self.steps as f64
        } else {
            self.inner.lr(step - self.steps)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        let s = StepDecay { base: 1.0, every: 10, gamma: 0.5 };
        assert_eq!((s.lr(0), s.lr(9), s.lr(10), s.lr(25)), (1.0, 1.0, 0.5, 0.25));
        let c = Cosine { base: 1.0, min: 0.0, total: 100 };
        assert!((c.lr(0) - 1.0).abs() < 1e-12 && (c.lr(50) - 0.5).abs() < 1e-12 && c.lr(100).abs() < 1e-12);
        let w = Warmup { inner: Constant(0.1), steps: 4 };
        assert!((w.lr(0) - 0.025).abs() < 1e-12 && (w.lr(3) - 0.1).abs() < 1e-12 && w.lr(10) == 0.1);
    }
}
