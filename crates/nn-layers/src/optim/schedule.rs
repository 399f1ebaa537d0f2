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

/// The inverse-square-root schedule of "Attention is all you need": a linear warm-up to
/// `peak` over `warmup` steps, then `peak · √(warmup / step)` (1-based steps). Vaswani et al.
/// set `peak = (width · warmup)^-½` ([`InverseSqrt::vaswani`]).
#[derive(Clone, Copy, Debug)]
pub struct InverseSqrt {
    /// The rate at the end of warm-up, the highest.
    pub peak: f64,
    /// Warm-up length (at least 1 is used).
    pub warmup: usize,
}

impl InverseSqrt {
    /// Vaswani et al.'s rates for a model `width` wide: `width^-½ · min(s^-½, s · warmup^-1.5)`
    /// at 1-based step `s`.
    pub fn vaswani(width: usize, warmup: usize) -> InverseSqrt {
        InverseSqrt { peak: ((width * warmup.max(1)) as f64).powf(-0.5), warmup }
    }
}

impl LrSchedule for InverseSqrt {
    fn lr(&self, step: usize) -> f64 {
        let (s, w) = ((step + 1) as f64, self.warmup.max(1) as f64);
        self.peak * (s / w).min((w / s).sqrt())
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

    #[test]
    fn inverse_square_root_follows_vaswani() {
        let s = InverseSqrt::vaswani(512, 4000);
        let formula = |step: f64| 512f64.powf(-0.5) * step.powf(-0.5).min(step * 4000f64.powf(-1.5));
        for step in [0usize, 1, 999, 3998, 3999, 4000, 15_999, 99_999] {
            assert!((s.lr(step) - formula((step + 1) as f64)).abs() < 1e-15, "step {step}");
        }
        assert!((s.lr(3999) - s.peak).abs() < 1e-15 && s.lr(3998) < s.peak && s.lr(4000) < s.peak);
        assert!((s.lr(15_999) - s.peak / 2.0).abs() < 1e-15, "four times the warm-up: half the peak");
    }
}
