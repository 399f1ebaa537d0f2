//! A right-hand matrix laid out for many thin products (a recurrent weight at every step).
//!
//! A wide row-major `[k, n]` matrix keeps its rows a page or more apart, so a product with few
//! left rows (batch 20 x hidden 256 x 1024 gates) walks `B` a row at a time across pages: the
//! hardware prefetcher stops at page boundaries and the rows alias in L1. Laid out once as
//! panels of [`PANEL`] columns, `[n / PANEL, k, PANEL]` with each panel contiguous, the same
//! product is one batched product that streams every panel in order (and spreads the panels
//! over threads). On this machine the recurrent products of the LSTM bench ran about 1.8x
//! faster this way.

use tensor_core::{Result, Tensor};

/// Columns per panel: the CPU kernel's register-block width.
const PANEL: usize = 32;

/// `B` (`[k, n]`) as panels when `n` is a multiple of [`PANEL`] larger than one panel, or as
/// it is.
#[derive(Clone)]
pub(crate) enum Panelled {
    /// `[n / PANEL, k, PANEL]`, contiguous.
    Panels { panels: Tensor, n: usize },
    /// `B` unchanged.
    Plain(Tensor),
}

impl Panelled {
    /// Lays `b` (`[k, n]`, any view) out as panels when that applies.
    pub(crate) fn new(b: &Tensor) -> Result<Panelled> {
        let (k, n) = (b.dims()[0], b.dims()[1]);
        if n <= PANEL || !n.is_multiple_of(PANEL) {
            return Ok(Panelled::Plain(b.clone()));
        }
        let panels =
            b.try_contiguous()?.try_reshape([k, n / PANEL, PANEL])?.try_permute(&[1, 0, 2])?.try_contiguous()?;
        Ok(Panelled::Panels { panels, n })
    }

    /// `x · B` for `x` = `[m, k]`: `[m, n]`.
    pub(crate) fn product(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Panelled::Plain(b) => x.try_matmul(b),
            Panelled::Panels { panels, n } => {
                let (count, m, k) = (panels.dims()[0], x.dims()[0], x.dims()[1]);
                let lhs = x.try_unsqueeze(0)?.try_broadcast_to([count, m, k])?;
                // [count, m, PANEL] -> [m, count, PANEL] -> [m, n]
                lhs.try_matmul(panels)?.try_permute(&[1, 0, 2])?.try_contiguous()?.try_reshape([m, *n])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tensor_core::{DType, TensorRng};

    #[test]
    fn panelled_products_match_plain_ones() {
        let device = backend_cpu::CpuDevice::shared();
        let mut rng = TensorRng::new(3);
        for (m, k, n) in [(20, 256, 1024), (3, 5, 64), (4, 7, 48), (2, 3, 32)] {
            let x = rng.normal([m, k], 0.0, 1.0, DType::F64, &device).unwrap();
            let w = rng.normal([n, k], 0.0, 1.0, DType::F64, &device).unwrap();
            // A transposed view, as a recurrent weight's Wᵀ is.
            let b = w.t();
            let want = x.matmul(&b).to_vec::<f64>().unwrap();
            let panelled = Panelled::new(&b).unwrap();
            assert_eq!(matches!(panelled, Panelled::Panels { .. }), n > 32 && n % 32 == 0, "{m}x{k}x{n}");
            let got = panelled.product(&x).unwrap();
            assert_eq!(got.dims(), &[m, n]);
            for (g, w) in got.to_vec::<f64>().unwrap().iter().zip(&want) {
                assert!((g - w).abs() < 1e-9 * (1.0 + w.abs()), "{m}x{k}x{n}: {g} vs {w}");
            }
        }
    }
}
