//! Run-time choice of the widest vector build: loops written once, compiled for the baseline
//! x86-64 target and again with AVX-512 enabled, the latter chosen when the CPU has it.

use tensor_core::Float;

/// Whether this CPU runs the AVX-512 builds.
pub(crate) fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A float whose `e^x` vectorises: f32 through [`crate::fast_math::exp`] (libm's is called one
/// element at a time), f64 through the standard library.
pub(crate) trait FastExp: Float {
    /// e^x.
    fn fast_exp(self) -> Self;
}

impl FastExp for f32 {
    #[inline(always)]
    fn fast_exp(self) -> Self {
        crate::fast_math::exp(self)
    }
}

impl FastExp for f64 {
    #[inline(always)]
    fn fast_exp(self) -> Self {
        self.exp()
    }
}

/// Declares `$name<F: $bound>` running `$body` on the arguments, compiled once for the
/// baseline target and once for AVX-512 (chosen at run time).
macro_rules! multiversioned {
    ($(#[$doc:meta])* $name:ident, $wide:ident, <$float:ident: $bound:path>, ($($arg:ident: $ty:ty),*), $body:block) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        fn $wide<$float: $bound>($($arg: $ty),*) $body

        $(#[$doc])*
        fn $name<$float: $bound>($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            if $crate::simd::has_avx512() {
                // SAFETY: the CPU has AVX-512F (checked just above).
                unsafe { $wide($($arg),*) };
                return;
            }
            $body
        }
    };
}
pub(crate) use multiversioned;
