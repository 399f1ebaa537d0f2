//! Module plumbing: hierarchical names, freezing by pattern, train/eval mode, layer behaviour.

use autograd::Var;
use backend_cpu::CpuDevice;
use nn_layers::layers::{Activation, Dropout, Embedding, LayerNorm, Linear, Sequential};
use nn_layers::{Module, ModuleExt};
use tensor_core::{DType, Tensor, TensorRng};

#[test]
fn names_follow_pytorch_and_freezing_stops_gradients() {
    let dev = CpuDevice::shared();
    let mut rng = TensorRng::new(0);
    let model = Sequential::new()
        .push(Linear::new(3, 4, &mut rng, &dev).unwrap())
        .push(Activation::Tanh)
        .push(LayerNorm::new(4, 1e-5, &dev).unwrap())
        .push(Linear::new(4, 2, &mut rng, &dev).unwrap());
    let names: Vec<String> = model.parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias", "3.weight", "3.bias"]);
    assert_eq!(model.num_weights(), 12 + 4 + 4 + 4 + 8 + 2);
    assert_eq!(model.freeze("0.*"), 2);
    let x = Var::constant(rng.normal([5, 3], 0.0, 1.0, DType::F32, &dev).unwrap());
    model.forward(&x).unwrap().sum_all().unwrap().backward().unwrap();
    for (name, p) in model.parameters() {
        assert_eq!(p.grad().is_some(), !name.starts_with("0."), "{name}");
    }
    assert_eq!(model.unfreeze("*"), 6);
}

#[test]
fn dropout_only_in_training() {
    let dev = CpuDevice::shared();
    let model = Sequential::new().push(Dropout::new(0.5, 1).unwrap());
    let x = Var::constant(Tensor::ones([1000], DType::F32, &dev).unwrap());
    let y = model.forward(&x).unwrap().value().to_vec::<f32>().unwrap();
    let zeros = y.iter().filter(|&&v| v == 0.0).count();
    assert!((400..600).contains(&zeros) && y.iter().all(|&v| v == 0.0 || v == 2.0), "{zeros} zeros");
    model.eval();
    assert_eq!(model.forward(&x).unwrap().value().to_vec::<f32>().unwrap(), vec![1.0; 1000]);
    assert!(Dropout::new(1.0, 0).is_err());
}

#[test]
fn layer_norm_and_embedding() {
    let dev = CpuDevice::shared();
    let ln = LayerNorm::new(4, 1e-5, &dev).unwrap();
    let x = Var::constant(Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, -1.0, 0.0, 1.0, 10.0], [2, 4], &dev).unwrap());
    let y = ln.forward(&x).unwrap().value();
    let means = y.mean(&[-1], false).to_vec::<f32>().unwrap();
    let vars = y.square().mean(&[-1], false).to_vec::<f32>().unwrap();
    assert!(means.iter().all(|m| m.abs() < 1e-5) && vars.iter().all(|v| (v - 1.0).abs() < 1e-3), "{means:?} {vars:?}");
    let emb = Embedding::new(10, 3, &mut TensorRng::new(1), &dev).unwrap();
    let ids = Tensor::from_vec(vec![1i64, 9, 1, 0], [2, 2], &dev).unwrap();
    let out = emb.lookup(&ids).unwrap().value();
    assert_eq!(out.dims(), &[2, 2, 3]);
    let rows = out.to_vec::<f32>().unwrap();
    assert_eq!(rows[0..3], rows[6..9], "the same id gives the same row");
}
