//! A right-hand matrix laid out for many thin products (a recurrent weight at every step).
//!
//! A wide row-major `[k, n]` matrix keeps its rows a page or more apart, so a product with few
//! left rows (batch 20 x hidden 256 x 1024 gates) walks `B` a row at a time across pages: the
//! hardware prefetcher stops at page boundaries and the rows alias in L1. Laid out once as
//! panels of `width` columns, `[n / width, k, width]` with each panel contiguous, the same
//! product is one batched product that streams every panel in order (and spreads the panels
//! over threads). On the CPU the recurrent products of the LSTM bench ran about 1.8x faster
//! this way. The width is the device's decision
//! ([`tensor_core::Device::thin_product_panel_width`]): backends without such a kernel keep `B`
//! as it is.

use tensor_core::{Result, Tensor};

/// `B` (`[k, n]`) as panels when the device asks for them and `n` is a multiple of the panel
/// width larger than one panel, or as it is.
#[derive(Clone)]
pub(crate) enum Panelled {
    /// `[n / width, k, width]`, contiguous.
    Panels { panels: Tensor, n: usize },
    /// `B` unchanged.
    Plain(Tensor),
}

impl Panelled {
    /// Lays `b` (`[k, n]`, any view) out as panels when that applies.
    pub(crate) fn new(b: &Tensor) -> Result<Panelled> {
        let (k, n) = (b.dims()[0], b.dims()[1]);
        let Some(width) = b.device().thin_product_panel_width().filter(|&w| w > 0 && n > w && n.is_multiple_of(w))
        else {
            return Ok(Panelled::Plain(b.clone()));
        };
        let panels =
            b.try_contiguous()?.try_reshape([k, n / width, width])?.try_permute(&[1, 0, 2])?.try_contiguous()?;
        Ok(Panelled::Panels { panels, n })
    }

    /// `x · B` for `x` = `[m, k]`: `[m, n]`.
    pub(crate) fn product(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Panelled::Plain(b) => x.try_matmul(b),
            Panelled::Panels { panels, n } => {
                let (count, m, k) = (panels.dims()[0], x.dims()[0], x.dims()[1]);
                let lhs = x.try_unsqueeze(0)?.try_broadcast_to([count, m, k])?;
                // [count, m, width] -> [m, count, width] -> [m, n]
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

    #[test]
    fn a_device_without_a_panel_width_keeps_the_matrix_plain() {
        let device: std::sync::Arc<dyn tensor_core::Device> =
            std::sync::Arc::new(tensor_core::PrimitivesOnly(backend_cpu::CpuDevice::shared()));
        assert_eq!(device.thin_product_panel_width(), None);
        let b = TensorRng::new(4).normal([256, 1024], 0.0, 1.0, DType::F32, &device).unwrap();
        assert!(matches!(Panelled::new(&b).unwrap(), Panelled::Plain(_)));
    }
}
