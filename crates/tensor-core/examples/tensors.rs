//! Tensors on the CPU backend: create, view without copying, broadcast, multiply, reduce, and
//! read the typed error of a shape mismatch.
//!
//! Run with `cargo run -p tensor-core --example tensors`.

use tensor_core::{DType, Tensor, TensorRng};

fn main() -> tensor_core::Result<()> {
    let device = backend_cpu::CpuDevice::shared();

    // A 2x3 matrix from host data, and its transpose: a view with swapped strides, no copy.
    let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3], &device)?;
    let at = a.t();
    println!("a {} -> a.t() {} (contiguous: {})", a.shape(), at.shape(), at.is_contiguous());
    println!("a.t() = {:?}", at.to_vec::<f32>()?);

    // Broadcasting: a row [3] is added to every row of [2, 3] (stride 0, no copy of the row).
    let bias = Tensor::from_vec(vec![10.0f32, 20.0, 30.0], [3], &device)?;
    let shifted = a.try_add(&bias)?;
    println!("a + [10, 20, 30] = {:?}", shifted.to_vec::<f32>()?);
    assert_eq!(shifted.to_vec::<f32>()?, vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);

    // Matmul reads the transposed view directly: a · aᵀ is the 2x2 Gram matrix.
    let gram = a.try_matmul(&at)?;
    println!("a · aᵀ = {:?}", gram.to_vec::<f32>()?);
    assert_eq!(gram.to_vec::<f32>()?, vec![14.0, 32.0, 32.0, 77.0]);

    // Reductions over axes, with or without keeping them; argmax gives i64 indices.
    let col_sums = a.sum(&[0], false);
    let row_means = a.try_mean(&[-1], true)?;
    let best = a.argmax(-1, false);
    println!("column sums {:?}", col_sums.to_vec::<f32>()?);
    println!("row means {} {:?}", row_means.shape(), row_means.to_vec::<f32>()?);
    println!("argmax per row {:?}", best.to_vec::<i64>()?);
    assert_eq!(best.to_vec::<i64>()?, vec![2, 2]);

    // Softmax is stable for any magnitude: rows of 1000s still sum to 1.
    let big = a.affine(1000.0, 0.0);
    let probs = big.try_softmax(-1)?;
    let sums = probs.sum(&[-1], false).to_vec::<f32>()?;
    println!("softmax of 1000·a sums per row to {sums:?}");
    assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-6));

    // Seeded random tensors are drawn on the host, so a seed gives the same numbers anywhere.
    let mut rng = TensorRng::new(7);
    let x = rng.normal([1000, 64], 0.0, 1.0, DType::F32, &device)?;
    let mean = x.mean_all().to_scalar()?;
    println!("mean of 64,000 standard normals: {mean:.4}");
    assert!(mean.abs() < 0.05);

    // A shape mismatch is a typed error that says what was wrong, not a panic.
    let error = a.try_matmul(&a).expect_err("[2, 3] x [2, 3] has mismatched inner dimensions");
    println!("a · a fails as it should: {error}");
    assert!(error.to_string().contains("3 != 2"));
    Ok(())
}
