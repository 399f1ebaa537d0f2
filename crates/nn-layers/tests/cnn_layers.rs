//! Convolution, pooling and batch-norm layers: PyTorch checkpoints load and reproduce their
//! outputs, batch norm's train/eval behaviour and running statistics, and gradient checks of
//! every layer.

use std::path::PathBuf;
use std::sync::Arc;

use autograd::{GradcheckOptions, Var, gradcheck};
use backend_cpu::CpuDevice;
use nn_layers::checkpoint::{self, load_tensors};
use nn_layers::layers::{
    Activation, BatchNorm, Conv1d, Conv2d, ConvConfig, Flatten, GlobalPool, Linear, Pool, Sequential,
};
use nn_layers::{Module, ModuleExt};
use tensor_core::{DType, Device, Tensor, TensorRng, Window1d, Window2d};

fn dev() -> Arc<dyn Device> {
    CpuDevice::shared()
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn stored(path: &std::path::Path, name: &str) -> Tensor {
    load_tensors(path, &dev()).unwrap().into_iter().find(|(n, _)| n == name).unwrap().1
}

fn assert_close(got: &Tensor, want: &Tensor, tol: f32) {
    assert_eq!(got.dims(), want.dims());
    for (g, w) in got.to_vec::<f32>().unwrap().iter().zip(want.to_vec::<f32>().unwrap()) {
        assert!((g - w).abs() <= tol, "{g} vs {w}");
    }
}

/// The model of `make_torch_cnn.py`, randomly initialised.
fn torch_cnn(rng: &mut TensorRng) -> Sequential {
    let d = dev();
    let grouped = ConvConfig { groups: 2, ..ConvConfig::default() };
    Sequential::new()
        .push(Conv2d::new(3, 4, Window2d::new([3, 3]).stride([2, 2]).padding([1, 1]), rng, &d).unwrap())
        .push(BatchNorm::new_2d(4, &d).unwrap())
        .push(Activation::Relu)
        .push(
            Conv2d::with_config(4, 4, Window2d::new([3, 3]).padding([2, 2]).dilation([2, 2]), grouped, rng, &d)
                .unwrap(),
        )
        .push(Pool::max2d(2))
        .push(Flatten)
        .push(Linear::new(16, 3, rng, &d).unwrap())
}

#[test]
fn a_pytorch_cnn_state_dict_loads_and_gives_its_outputs() {
    let path = fixture("torch_cnn.safetensors");
    let model = torch_cnn(&mut TensorRng::new(1));
    let report = checkpoint::load(&path, &model, None).unwrap();
    assert!(report.missing.is_empty(), "{report:?}");
    assert_eq!(report.unexpected, vec!["expected".to_string(), "input".to_string()]);
    let names: Vec<String> = model.buffers().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["1.running_mean", "1.running_var", "1.num_batches_tracked"]);
    assert_eq!(model.buffers()[2].1.value().to_vec::<i64>().unwrap(), vec![7]);
    model.eval();
    let out = model.forward(&Var::constant(stored(&path, "input"))).unwrap().value();
    assert_close(&out, &stored(&path, "expected"), 1e-5);

    // Saved and reloaded (buffers included) into a fresh model, it gives the same outputs.
    let dir = std::env::temp_dir().join(format!("tessera-cnn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy_path = dir.join("cnn.safetensors");
    checkpoint::save(&copy_path, &model, None).unwrap();
    let copy = torch_cnn(&mut TensorRng::new(2));
    assert!(checkpoint::load(&copy_path, &copy, None).unwrap().missing.is_empty());
    copy.eval();
    assert_close(&copy.forward(&Var::constant(stored(&path, "input"))).unwrap().value(), &out, 0.0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_pytorch_conv1d_loads_and_gives_its_outputs() {
    let path = fixture("torch_conv1d.safetensors");
    let layer =
        Conv1d::new(3, 4, Window1d::new(3).stride(2).padding(1).dilation(2), &mut TensorRng::new(3), &dev()).unwrap();
    let report = checkpoint::load(&path, &layer, None).unwrap();
    assert!(report.missing.is_empty(), "{report:?}");
    let out = layer.forward(&Var::constant(stored(&path, "input"))).unwrap().value();
    assert_close(&out, &stored(&path, "expected"), 1e-5);
}

#[test]
fn batch_norm_normalises_in_training_and_uses_running_statistics_in_eval() {
    let d = dev();
    let bn = BatchNorm::new_2d(3, &d).unwrap();
    let mut rng = TensorRng::new(4);
    let x = rng.normal([8, 3, 4, 5], 2.0, 3.0, DType::F32, &d).unwrap();
    let y = bn.forward(&Var::constant(x.clone())).unwrap().value();
    let mean = y.mean(&[0, 2, 3], false).to_vec::<f32>().unwrap();
    let var = y.square().mean(&[0, 2, 3], false).to_vec::<f32>().unwrap();
    for c in 0..3 {
        assert!(mean[c].abs() < 1e-5, "channel {c} mean {}", mean[c]);
        assert!((var[c] - 1.0).abs() < 1e-3, "channel {c} variance {}", var[c]);
    }
    // running = 0.9·initial + 0.1·batch (variance unbiased: n/(n-1) with n = 160).
    let batch_mean = x.mean(&[0, 2, 3], false).to_vec::<f32>().unwrap();
    let centred = x.sub(&x.mean(&[0, 2, 3], true));
    let batch_var = centred.square().mean(&[0, 2, 3], false).to_vec::<f32>().unwrap();
    let running_mean = bn.running_mean.value().to_vec::<f32>().unwrap();
    let running_var = bn.running_var.value().to_vec::<f32>().unwrap();
    for c in 0..3 {
        assert!((running_mean[c] - 0.1 * batch_mean[c]).abs() < 1e-5);
        assert!((running_var[c] - (0.9 + 0.1 * batch_var[c] * 160.0 / 159.0)).abs() < 1e-4);
    }
    assert_eq!(bn.num_batches_tracked.value().to_vec::<i64>().unwrap(), vec![1]);
    // Eval: (x - running_mean) / sqrt(running_var + eps), and the statistics stay put.
    bn.eval();
    let y = bn.forward(&Var::constant(x.clone())).unwrap().value().to_vec::<f32>().unwrap();
    let xs = x.to_vec::<f32>().unwrap();
    for (i, (yv, xv)) in y.iter().zip(&xs).enumerate() {
        let c = (i / 20) % 3;
        let want = (xv - running_mean[c]) / (running_var[c] + 1e-5).sqrt();
        assert!((yv - want).abs() < 1e-4, "{yv} vs {want}");
    }
    assert_eq!(bn.num_batches_tracked.value().to_vec::<i64>().unwrap(), vec![1]);
    assert!(bn.forward(&Var::constant(Tensor::zeros([2, 4, 3, 3], DType::F32, &d).unwrap())).is_err(), "channels");
}

fn check_layer(name: &str, layer: &dyn Module, dims: &[usize]) {
    let input = TensorRng::new(5).normal(dims, 0.0, 1.0, DType::F64, &dev()).unwrap();
    if let Err(e) = gradcheck(|v| layer.forward(&v[0]), &[input], GradcheckOptions::default()) {
        panic!("{name}: {e}");
    }
}

#[test]
fn every_cnn_layer_passes_a_gradient_check() {
    let d = dev();
    let mut rng = TensorRng::new(6);
    let f64s = ConvConfig { dtype: DType::F64, ..ConvConfig::default() };
    let depthwise = ConvConfig { groups: 3, ..f64s };
    let conv =
        Conv2d::with_config(3, 4, Window2d::new([3, 2]).stride([2, 1]).padding([1, 1]), f64s, &mut rng, &d).unwrap();
    check_layer("Conv2d", &conv, &[2, 3, 5, 6]);
    let dw = Conv2d::with_config(3, 6, Window2d::new([3, 3]).dilation([2, 2]).padding([2, 2]), depthwise, &mut rng, &d)
        .unwrap();
    check_layer("Conv2d depthwise dilated", &dw, &[2, 3, 5, 4]);
    let conv1 = Conv1d::with_config(3, 5, Window1d::new(3).padding(1).stride(2), f64s, &mut rng, &d).unwrap();
    check_layer("Conv1d", &conv1, &[2, 3, 9]);
    check_layer("MaxPool2d", &Pool::max2d(2), &[2, 2, 5, 4]);
    check_layer("AvgPool2d", &Pool::avg2d(2), &[2, 2, 5, 4]);
    check_layer("MaxPool1d", &Pool::Max1d(Window1d::new(3).stride(2)), &[2, 2, 7]);
    check_layer("AvgPool1d", &Pool::Avg1d(Window1d::new(2).padding(1)), &[2, 2, 7]);
    check_layer("GlobalPool::Avg", &GlobalPool::Avg, &[2, 3, 4, 5]);
    check_layer("GlobalPool::Max", &GlobalPool::Max, &[2, 3, 7]);
    check_layer("Flatten", &Flatten, &[2, 3, 2, 2]);
    check_layer("BatchNorm2d", &BatchNorm::new_2d(3, &d).unwrap().with_dtype(DType::F64).unwrap(), &[4, 3, 2, 3]);
    check_layer("BatchNorm1d", &BatchNorm::new_1d(3, &d).unwrap().with_dtype(DType::F64).unwrap(), &[5, 3]);
}
