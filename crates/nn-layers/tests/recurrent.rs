//! Recurrent layers: PyTorch checkpoints load and give PyTorch's outputs (packed variable
//! lengths and initial states included), a hand-checked step, layouts, and gradient checks of
//! every cell, both directions, two layers, with padding.

use std::path::PathBuf;
use std::sync::Arc;

use autograd::{GradcheckOptions, Var, gradcheck};
use backend_cpu::CpuDevice;
use nn_layers::checkpoint::{self, load_tensors};
use nn_layers::layers::{CellKind, Recurrent, RecurrentConfig, RecurrentState};
use nn_layers::{Module, Param};
use tensor_core::{DType, Device, Tensor, TensorRng};

fn dev() -> Arc<dyn Device> {
    CpuDevice::shared()
}

/// A recurrent stack whose parameters are named under `prefix` (as a field of a PyTorch model).
struct Named(&'static str, Recurrent);

impl Module for Named {
    fn forward(&self, input: &Var) -> tensor_core::Result<Var> {
        self.1.forward(input)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        self.1.visit_params(&nn_layers::join(prefix, self.0), visit);
    }
}

fn assert_close(got: &Tensor, want: &Tensor, what: &str) {
    assert_eq!(got.dims(), want.dims(), "{what}");
    for (g, w) in got.to_vec::<f32>().unwrap().iter().zip(want.to_vec::<f32>().unwrap()) {
        assert!((g - w).abs() < 1e-5, "{what}: {g} vs {w}");
    }
}

#[test]
fn pytorch_lstm_gru_and_rnn_checkpoints_reproduce_their_outputs() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_rnn.safetensors");
    let stored = load_tensors(&path, &dev()).unwrap();
    let get = |name: &str| stored.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{name}")).1.clone();
    let input = Var::constant(get("input"));
    let mut rng = TensorRng::new(1);
    let config = |layers, bidirectional| RecurrentConfig { layers, bidirectional, ..RecurrentConfig::new(4, 3) };

    let lstm = Named("lstm", Recurrent::lstm(config(2, true), &mut rng, &dev()).unwrap());
    assert!(checkpoint::load(&path, &lstm, None).unwrap().missing.is_empty());
    let lengths: Vec<usize> = get("lengths").to_vec::<i64>().unwrap().iter().map(|&l| l as usize).collect();
    let init = RecurrentState { h: Var::constant(get("lstm.h0")), c: Some(Var::constant(get("lstm.c0"))) };
    let (out, state) = lstm.1.forward_with(&input, Some(&lengths), Some(&init)).unwrap();
    assert_close(&out.value(), &get("lstm.output"), "lstm output");
    assert_close(&state.h.value(), &get("lstm.h_n"), "lstm h_n");
    assert_close(&state.c.unwrap().value(), &get("lstm.c_n"), "lstm c_n");

    let gru = Named("gru", Recurrent::gru(config(1, true), &mut rng, &dev()).unwrap());
    assert!(checkpoint::load(&path, &gru, None).unwrap().missing.is_empty());
    let (out, state) = gru.1.forward_with(&input, None, None).unwrap();
    assert_close(&out.value(), &get("gru.output"), "gru output");
    assert_close(&state.h.value(), &get("gru.h_n"), "gru h_n");

    let rnn = Named("rnn", Recurrent::rnn(config(2, false), &mut rng, &dev()).unwrap());
    assert!(checkpoint::load(&path, &rnn, None).unwrap().missing.is_empty());
    let (out, state) = rnn.1.forward_with(&input, None, None).unwrap();
    assert_close(&out.value(), &get("rnn.output"), "rnn output");
    assert_close(&state.h.value(), &get("rnn.h_n"), "rnn h_n");
}

#[test]
fn a_hand_checked_rnn_step_and_shared_weights() {
    // One input feature, one hidden unit: h1 = tanh(0.5·x1 + 0.1 + 0.8·h0 - 0.2), h0 = 0.
    let rnn = Recurrent::rnn(RecurrentConfig::new(1, 1), &mut TensorRng::new(0), &dev()).unwrap();
    let values = [0.5f32, 0.8, 0.1, -0.2];
    for ((_, p), v) in nn_layers::ModuleExt::parameters(&rnn).iter().zip(values) {
        p.set_value(Tensor::from_vec(vec![v], p.value().dims().to_vec(), &dev()).unwrap()).unwrap();
    }
    let x = Tensor::from_vec(vec![1.0f32, 2.0], [2, 1, 1], &dev()).unwrap();
    let out = rnn.forward(&Var::constant(x)).unwrap().value().to_vec::<f32>().unwrap();
    let h1 = (0.5f32 * 1.0 + 0.1 - 0.2).tanh();
    let h2 = (0.5f32 * 2.0 + 0.1 + 0.8 * h1 - 0.2).tanh(); // the same weights at step 2
    assert!((out[0] - h1).abs() < 1e-6 && (out[1] - h2).abs() < 1e-6, "{out:?} vs [{h1}, {h2}]");
}

#[test]
fn batch_first_matches_time_first_and_bad_input_is_an_error() {
    let mut rng = TensorRng::new(2);
    let x = rng.normal([4, 3, 5], 0.0, 1.0, DType::F32, &dev()).unwrap();
    let time_first = Recurrent::gru(RecurrentConfig::new(5, 6), &mut TensorRng::new(3), &dev()).unwrap();
    let batch_first = Recurrent::gru(
        RecurrentConfig { batch_first: true, ..RecurrentConfig::new(5, 6) },
        &mut TensorRng::new(3),
        &dev(),
    )
    .unwrap();
    let a = time_first.forward(&Var::constant(x.clone())).unwrap().value();
    let b = batch_first.forward(&Var::constant(x.transpose(0, 1))).unwrap().value();
    assert_close(&a.transpose(0, 1).contiguous(), &b.contiguous(), "layouts");
    let err = time_first.forward_with(&Var::constant(x.clone()), Some(&[4, 9, 1]), None).unwrap_err().to_string();
    assert!(err.contains("lengths"), "{err}");
    assert!(time_first.forward(&Var::constant(rng.normal([4, 3, 2], 0.0, 1.0, DType::F32, &dev()).unwrap())).is_err());
}

#[test]
fn every_cell_passes_a_gradient_check_in_both_directions_over_two_layers() {
    for kind in [CellKind::RnnTanh, CellKind::RnnRelu, CellKind::Gru, CellKind::Lstm] {
        let config =
            RecurrentConfig { layers: 2, bidirectional: true, dtype: DType::F64, ..RecurrentConfig::new(3, 2) };
        let layer = Recurrent::new(kind, config, &mut TensorRng::new(4), &dev()).unwrap();
        let x = TensorRng::new(5).normal([4, 2, 3], 0.0, 1.0, DType::F64, &dev()).unwrap();
        let h0 = TensorRng::new(6).normal([4, 2, 2], 0.0, 0.5, DType::F64, &dev()).unwrap();
        let mut inputs = vec![x, h0.clone()];
        if kind == CellKind::Lstm {
            inputs.push(h0);
        }
        let weights: Vec<Var> =
            nn_layers::ModuleExt::parameters(&layer).iter().map(|(_, p)| p.leaf().clone()).collect();
        let result = gradcheck(
            |v| {
                let state = RecurrentState { h: v[1].clone(), c: v.get(2).cloned() };
                let (out, last) = layer.forward_with(&v[0], Some(&[4, 2]), Some(&state))?;
                // Every output and final state enters the loss, with distinct weights.
                let w = Var::constant(TensorRng::new(7).normal(out.dims(), 0.0, 1.0, DType::F64, &dev())?);
                out.mul(&w)?.sum_all()?.add(&last.h.square()?.sum_all()?)
            },
            &inputs,
            GradcheckOptions::default(),
        );
        if let Err(e) = result {
            panic!("{kind:?}: {e}");
        }
        // The weights get gradients too, and they are finite.
        let (out, _) = layer.forward_with(&Var::constant(inputs[0].clone()), Some(&[4, 2]), None).unwrap();
        out.sum_all().unwrap().backward().unwrap();
        for w in &weights {
            let g = w.grad().expect("every weight is used").to_vec::<f64>().unwrap();
            assert!(g.iter().all(|v| v.is_finite()));
        }
    }
}
