//! The user-facing tensor API on backend-cpu: errors, panics, seeds, views sharing storage.

use backend_cpu::CpuDevice;
use tensor_core::{DType, Tensor, TensorError, TensorRng, Window2d};

#[test]
fn wrong_length_data_is_an_error_not_a_panic() {
    let device = CpuDevice::shared();
    let err = Tensor::from_vec(vec![1.0f32; 7], [2, 4], &device).unwrap_err();
    assert_eq!(err.to_string(), "from_vec: data has 7 elements but shape [2, 4] needs 8");
    assert!(matches!(err, TensorError::DataLength { expected: 8, got: 7, .. }));
}

#[test]
#[should_panic(
    expected = "matmul: shapes do not match: lhs [32, 784] vs rhs [256, 10] (inner dimensions differ: 784 != 256)"
)]
fn matmul_mismatch_panics_naming_both_shapes() {
    let device = CpuDevice::shared();
    let a = Tensor::zeros([32, 784], DType::F32, &device).unwrap();
    let b = Tensor::zeros([256, 10], DType::F32, &device).unwrap();
    let _ = a.matmul(&b);
}

#[test]
fn try_forms_recover() {
    let device = CpuDevice::shared();
    let a = Tensor::zeros([2, 3], DType::F32, &device).unwrap();
    let b = Tensor::zeros([2, 3], DType::F64, &device).unwrap();
    assert!(matches!(a.try_add(&b), Err(TensorError::DTypeMismatch { op: "add", .. })));
    assert!(matches!(a.try_sum_axis_out_of_range(), Err(TensorError::AxisOutOfRange { axis: 2, .. })));
    assert!(matches!(a.to_vec::<f64>(), Err(TensorError::DTypeMismatch { .. })));
    assert!(a.try_reshape([4, 2]).is_err());
    assert!(a.try_unfold(&Window2d::new([2, 2])).is_err());
}

trait SumAxis {
    fn try_sum_axis_out_of_range(&self) -> tensor_core::Result<Tensor>;
}

impl SumAxis for Tensor {
    fn try_sum_axis_out_of_range(&self) -> tensor_core::Result<Tensor> {
        self.try_reduce(tensor_core::ReduceOp::Sum, &[2], false)
    }
}

#[test]
fn seeds_fix_the_numbers() {
    let device = CpuDevice::shared();
    let draw =
        |seed| TensorRng::new(seed).normal([1000], 0.0, 1.0, DType::F64, &device).unwrap().to_vec::<f64>().unwrap();
    assert_eq!(draw(3), draw(3));
    assert_ne!(draw(3), draw(4));
    let values = draw(3);
    let mean = values.iter().sum::<f64>() / 1000.0;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 1000.0;
    assert!(mean.abs() < 0.1 && (var - 1.0).abs() < 0.15, "mean {mean} var {var}");
    let coin = TensorRng::new(1).bernoulli([10_000], 0.3, DType::F32, &device).unwrap();
    let rate = coin.sum_all().to_scalar().unwrap() / 10_000.0;
    assert!((rate - 0.3).abs() < 0.02, "bernoulli rate {rate}");
    let labels = TensorRng::new(1).integers([500], 10, &device).unwrap().to_vec::<i64>().unwrap();
    assert!(labels.iter().all(|&l| (0..10).contains(&l)) && labels.contains(&9));
}

#[test]
fn views_share_storage_and_assign_writes_through() {
    let device = CpuDevice::shared();
    let x = Tensor::arange(6, DType::F32, &device).unwrap().reshape([2, 3]);
    let column = x.narrow(1, 2, 1);
    column.assign(&Tensor::scalar(-1.0, DType::F32, &device).unwrap());
    assert_eq!(x.to_vec::<f32>().unwrap(), vec![0.0, 1.0, -1.0, 3.0, 4.0, -1.0]);
    let t = x.t();
    assert!(!t.is_contiguous());
    assert!(t.storage().same_buffer(x.storage()));
    assert_eq!(t.to_vec::<f32>().unwrap(), vec![0.0, 3.0, 1.0, 4.0, -1.0, -1.0]);
}

#[test]
fn accuracy_counts_argmax_hits() {
    let device = CpuDevice::shared();
    let logits = Tensor::from_vec(vec![0.1f32, 0.9, 0.8, 0.2, 0.3, 0.7], [3, 2], &device).unwrap();
    let labels = Tensor::from_vec(vec![1i64, 0, 0], [3], &device).unwrap();
    assert!((logits.try_accuracy(&labels).unwrap() - 2.0 / 3.0).abs() < 1e-12);
}

#[test]
fn lstm_cell_names_the_shapes_it_expected() {
    let device = CpuDevice::shared();
    let c = Tensor::zeros([20, 256], DType::F32, &device).unwrap();
    let gates = Tensor::zeros([20, 1000], DType::F32, &device).unwrap();
    let err = gates.try_lstm_cell(&c).unwrap_err();
    assert_eq!(
        err.to_string(),
        "lstm_cell: shapes do not match: lhs [20, 256] vs rhs [20, 1000] (expected a tensor of shape [20, 1024])"
    );
    let gates = Tensor::zeros([20, 1024], DType::F32, &device).unwrap();
    let state = gates.try_lstm_cell(&c).unwrap();
    assert_eq!(state.dims(), &[20, 512]);
    let wrong_grad = Tensor::zeros([20, 256], DType::F32, &device).unwrap();
    assert!(matches!(
        gates.try_lstm_cell_backward(&c, &state, &wrong_grad),
        Err(TensorError::ShapeMismatch { op: "lstm_cell_backward", .. })
    ));
    assert_eq!(gates.try_lstm_cell_backward(&c, &state, &state).unwrap().dims(), &[20, 1280]);
    let f64_state = Tensor::zeros([20, 256], DType::F64, &device).unwrap();
    assert!(matches!(gates.try_lstm_cell(&f64_state), Err(TensorError::DTypeMismatch { .. })));
}

/// A layout that reaches past its buffer cannot be handed to a device: the contract's one
/// argument type, `View`, refuses it at construction, and so does `Tensor::from_storage`.
#[test]
fn hostile_layouts_are_errors_before_any_device_reads() {
    use tensor_core::{HostBuffer, Layout, Tensor};
    let device = backend_cpu::CpuDevice::shared();
    let storage = device.upload(HostBuffer::F32(vec![1.0, 2.0, 3.0, 4.0])).unwrap();
    let hostile = [
        Layout::from_parts([64, 64], vec![64, 1], 0).unwrap(),
        Layout::from_parts([2, 2], vec![2, 1], 1).unwrap(),
        Layout::from_parts([3], vec![2], 0).unwrap(),
    ];
    for layout in &hostile {
        let error = storage.view(layout).unwrap_err().to_string();
        assert!(error.contains("of a buffer of 4"), "{layout:?}: {error}");
        assert!(Tensor::from_storage(storage.clone(), layout.clone(), device.clone()).is_err());
    }
    // The same storage through fitting layouts multiplies as usual.
    let square = Layout::contiguous([2, 2]);
    let view = storage.view(&square).unwrap();
    let product = device.matmul(view, view).unwrap();
    let out = device.download(product.view(&square).unwrap()).unwrap();
    assert_eq!(out.to_f64_vec(), vec![7.0, 10.0, 15.0, 22.0]);
}
