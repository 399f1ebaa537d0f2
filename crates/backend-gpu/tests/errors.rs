//! The GPU backend fails with typed errors, never panics: buffers past the adapter's limits
//! (or past the kernels' 32-bit indices) and views with absurd strides on size-1 axes.

use backend_gpu::GpuDevice;
use tensor_core::{DType, Layout, Tensor, TensorError};

#[test]
fn buffers_past_the_limits_are_typed_errors() {
    let Some(device) = test_support::require("a GPU adapter", GpuDevice::shared()) else { return };
    // 2^31 elements: past the kernels' i32 indices, whatever the adapter allows.
    let error = Tensor::zeros([1usize << 31], DType::F32, &device).unwrap_err();
    assert!(matches!(error, TensorError::Device { .. }), "{error}");
    assert!(error.to_string().contains("exceeds the adapter's limit"), "{error}");
    // Within the indices but past the storage-binding limit of every adapter we run on.
    let error = Tensor::zeros([(1usize << 31) - 1], DType::I64, &device).unwrap_err();
    assert!(error.to_string().contains("bytes exceeds"), "{error}");
    // The device still works afterwards.
    let ok = Tensor::full(2.0, [3], DType::F32, &device).unwrap();
    assert_eq!(ok.to_vec::<f32>().unwrap(), vec![2.0; 3]);
}

#[test]
fn size_one_axes_may_carry_any_stride() {
    let Some(device) = test_support::require("a GPU adapter", GpuDevice::shared()) else { return };
    let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], [3], &device).unwrap();
    // A [1, 3] view whose size-1 axis has a stride far past i32: it reads the same elements.
    let layout = Layout::from_parts([1, 3], vec![1 << 40, 1], 0).unwrap();
    let view = Tensor::from_storage(x.storage().clone(), layout, device.clone()).unwrap();
    assert_eq!(view.neg().to_vec::<f32>().unwrap(), vec![-1.0, -2.0, -3.0]);
    let w = Tensor::ones([3, 2], DType::F32, &device).unwrap();
    assert_eq!(view.matmul(&w).to_vec::<f32>().unwrap(), vec![6.0, 6.0]);
}

#[test]
fn broadcast_views_past_the_indices_are_typed_errors() {
    let Some(device) = test_support::require("a GPU adapter", GpuDevice::shared()) else { return };
    let one = Tensor::full(1.0, [1], DType::F32, &device).unwrap();
    // One element seen as 2^31 (stride 0): the view fits its buffer, the kernels' indices not.
    let huge = one.broadcast_to([1usize << 31]);
    let error = huge.try_neg().unwrap_err();
    assert!(error.to_string().contains("2^31 elements per view"), "{error}");
}
