//! Checkpoints: round trips, PyTorch interop, partial loads, shape errors, atomic writes and
//! optimizer state.

use std::path::PathBuf;

use autograd::Var;
use backend_cpu::CpuDevice;
use nn_layers::checkpoint::{self, load_tensors};
use nn_layers::layers::{Activation, Linear, Sequential};
use nn_layers::loss::{Reduction, mse};
use nn_layers::optim::{Adam, AdamConfig, Optimizer};
use nn_layers::{Module, ModuleExt, NnError};
use tensor_core::{Tensor, TensorRng};

fn mlp(seed: u64, hidden: usize) -> Sequential {
    let dev = CpuDevice::shared();
    let mut rng = TensorRng::new(seed);
    Sequential::new()
        .push(Linear::new(4, hidden, &mut rng, &dev).unwrap())
        .push(Activation::Relu)
        .push(Linear::new(hidden, 2, &mut rng, &dev).unwrap())
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn loads_a_pytorch_state_dict_and_reproduces_its_outputs() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_mlp.safetensors");
    let model = mlp(99, 3);
    let report = checkpoint::load(&path, &model, None).unwrap();
    assert!(report.missing.is_empty(), "{report:?}");
    assert_eq!(report.unexpected, vec!["expected".to_string(), "input".to_string()]);
    let stored = load_tensors(&path, &CpuDevice::shared()).unwrap();
    let get = |name: &str| stored.iter().find(|(n, _)| n == name).unwrap().1.clone();
    let out = model.forward(&Var::constant(get("input"))).unwrap().value().to_vec::<f32>().unwrap();
    let expected = get("expected").to_vec::<f32>().unwrap();
    for (o, e) in out.iter().zip(&expected) {
        assert!((o - e).abs() < 1e-6, "{out:?} vs {expected:?}");
    }
}

#[test]
fn round_trip_with_optimizer_state() {
    let dir = temp_dir("roundtrip");
    let path = dir.join("model.safetensors");
    let model = mlp(1, 8);
    let mut opt = Adam::new(model.parameters(), AdamConfig::adam(0.01));
    let x = Var::constant(
        TensorRng::new(2).uniform([6, 4], -1.0, 1.0, tensor_core::DType::F32, &CpuDevice::shared()).unwrap(),
    );
    let target = Var::constant(Tensor::zeros([6, 2], tensor_core::DType::F32, &CpuDevice::shared()).unwrap());
    for _ in 0..3 {
        opt.zero_grad();
        mse(&model.forward(&x).unwrap(), &target, Reduction::Mean).unwrap().backward().unwrap();
        opt.step().unwrap();
    }
    checkpoint::save(&path, &model, Some(&opt)).unwrap();
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file is left behind");

    let restored = mlp(2, 8);
    let mut restored_opt = Adam::new(restored.parameters(), AdamConfig::adam(0.01));
    let report = checkpoint::load(&path, &restored, Some(&mut restored_opt)).unwrap();
    assert!(report.missing.is_empty() && report.unexpected.is_empty(), "{report:?}");
    for ((n, a), (_, b)) in model.parameters().iter().zip(restored.parameters()) {
        assert_eq!(a.value().to_vec::<f32>().unwrap(), b.value().to_vec::<f32>().unwrap(), "{n}");
    }
    let state = |o: &dyn Optimizer| {
        o.state().unwrap().into_iter().map(|(n, t)| (n, t.to_vec::<f32>().unwrap())).collect::<Vec<_>>()
    };
    assert_eq!(state(&opt), state(&restored_opt));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn partial_loads_report_missing_and_shape_mismatches_are_errors() {
    let dir = temp_dir("partial");
    let path = dir.join("small.safetensors");
    let small = Sequential::new().push(Linear::new(4, 3, &mut TensorRng::new(1), &CpuDevice::shared()).unwrap());
    checkpoint::save(&path, &small, None).unwrap();

    let bigger = mlp(3, 3);
    let report = checkpoint::load(&path, &bigger, None).unwrap();
    assert_eq!(report.missing, vec!["2.weight".to_string(), "2.bias".to_string()]);

    let wrong = mlp(4, 5);
    let before = wrong.parameters()[0].1.value().to_vec::<f32>().unwrap();
    match checkpoint::load(&path, &wrong, None) {
        Err(NnError::ShapeMismatch { key, .. }) => assert_eq!(key, "0.weight"),
        other => panic!("expected a shape mismatch, got {other:?}"),
    }
    assert_eq!(wrong.parameters()[0].1.value().to_vec::<f32>().unwrap(), before, "a failed load changes nothing");

    std::fs::write(&path, b"not a checkpoint").unwrap();
    let err = checkpoint::load(&path, &wrong, None).unwrap_err();
    assert!(matches!(err, NnError::Format { .. }) && err.to_string().contains("small.safetensors"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
