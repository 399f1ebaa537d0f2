//! Cross-attention and the decoder block: gradients against finite differences, padded memory
//! invisible, beam-search row selection of the memory and of the key-value cache, and cached
//! decoding against the full pass.

mod param_gradients;

use std::sync::Arc;

use autograd::{GradcheckOptions, Var, gradcheck, no_grad};
use backend_cpu::CpuDevice;
use nn_layers::layers::{Activation, BlockConfig, CrossAttention, DecoderBlock, LayerKv, Rotary};
use nn_layers::{Module, ModuleExt};
use param_gradients::check_parameter_gradients;
use tensor_core::{DType, Device, Tensor, TensorRng};

const WIDTH: usize = 8;

fn config() -> BlockConfig {
    BlockConfig {
        width: WIDTH,
        heads: 2,
        causal: true,
        bias: true,
        dropout: 0.0,
        activation: Activation::Relu,
        layers: 2,
    }
}

fn input(batch: usize, steps: usize, dtype: DType, seed: u64, dev: &Arc<dyn Device>) -> Tensor {
    TensorRng::new(seed).normal([batch, steps, WIDTH], 0.0, 1.0, dtype, dev).unwrap()
}

fn to_f64(module: &dyn Module) {
    for (_, p) in module.parameters() {
        p.set_value(p.value().cast(DType::F64)).unwrap();
    }
}

fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "element {i}: {x} vs {y}");
    }
}

#[test]
fn cross_attention_gradients_match_finite_differences() {
    let dev = CpuDevice::shared();
    let cross = CrossAttention::new(WIDTH, 2, true, 0.02, &mut TensorRng::new(1), &dev).unwrap();
    to_f64(&cross);
    let (x, memory) = (input(2, 3, DType::F64, 2, &dev), input(2, 5, DType::F64, 3, &dev));
    let lengths = [5, 2];
    let options = GradcheckOptions { atol: 1e-6, rtol: 1e-4, ..GradcheckOptions::default() };
    // The queries' and the memory's gradients (the padded memory positions' are zero).
    gradcheck(|v| cross.forward_cross(&v[0], &v[1], &lengths), &[x.clone(), memory.clone()], options).unwrap();
    let f = || cross.forward_cross(&Var::constant(x.clone()), &Var::constant(memory.clone()), &lengths).unwrap();
    check_parameter_gradients(&cross, &f, &dev);
    let names: Vec<String> = cross.parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["q_proj.weight", "q_proj.bias", "kv_proj.weight", "kv_proj.bias", "c_proj.weight", "c_proj.bias"]
    );
}

#[test]
fn decoder_block_gradients_match_finite_differences() {
    let dev = CpuDevice::shared();
    let block = DecoderBlock::new(&config(), 12, None, &mut TensorRng::new(4), &dev).unwrap();
    to_f64(&block);
    let (x, memory) = (input(2, 3, DType::F64, 5, &dev), input(2, 4, DType::F64, 6, &dev));
    let options = GradcheckOptions { atol: 1e-6, rtol: 1e-4, ..GradcheckOptions::default() };
    let through = |x: &Var, memory: &Var| block.forward_with(x, &block.memory(memory, &[4, 3])?, None, None);
    gradcheck(|v| through(&v[0], &v[1]), &[x.clone(), memory.clone()], options).unwrap();
    let f = || through(&Var::constant(x.clone()), &Var::constant(memory.clone())).unwrap();
    check_parameter_gradients(&block, &f, &dev);
    assert_eq!(block.mlp.c_fc.weight.value().dims(), [WIDTH, 12], "the MLP is `ff` wide");
}

#[test]
fn padded_memory_is_invisible() {
    let dev = CpuDevice::shared();
    let cross = CrossAttention::new(WIDTH, 2, true, 0.02, &mut TensorRng::new(1), &dev).unwrap();
    let x = Var::constant(input(2, 3, DType::F32, 2, &dev));
    let memory = input(2, 5, DType::F32, 3, &dev);
    let mut changed = memory.to_vec::<f32>().unwrap();
    changed[(5 + 2) * WIDTH..].iter_mut().for_each(|v| *v += 5.0); // row 1 past its 2 real positions
    let changed = Tensor::from_vec(changed, [2, 5, WIDTH], &dev).unwrap();
    let read =
        |m: Tensor| cross.forward_cross(&x, &Var::constant(m), &[5, 2]).unwrap().value().to_vec::<f32>().unwrap();
    close(&read(memory.clone()), &read(changed.clone()), 1e-6);
    let unpadded = cross.forward_cross(&x, &Var::constant(changed), &[5, 5]).unwrap().value().to_vec::<f32>().unwrap();
    assert!(unpadded.iter().zip(read(memory)).any(|(a, b)| (a - b).abs() > 1e-3), "the padding was seen");
}

#[test]
fn select_reorders_memory_and_cache_rows() {
    let dev = CpuDevice::shared();
    let block = DecoderBlock::new(&config(), 16, None, &mut TensorRng::new(4), &dev).unwrap();
    let memory = block.memory(&Var::constant(input(3, 4, DType::F32, 6, &dev)), &[4, 2, 3]).unwrap();
    let x = input(3, 2, DType::F32, 7, &dev);
    let mut cache = LayerKv::default();
    no_grad(|| block.forward_with(&Var::constant(x.clone()), &memory, Some(&mut cache), None).unwrap());
    let rows = [2, 0, 2, 1];
    let (picked_memory, mut picked_cache) = (memory.select(&rows).unwrap(), cache.select(&rows).unwrap());
    assert_eq!(picked_memory.lengths, [3, 4, 3, 2]);
    assert_eq!(picked_cache.len(), 2);
    // The next step of the selected rows equals the same step of the original rows, reordered.
    let next = input(3, 1, DType::F32, 8, &dev);
    let full = no_grad(|| block.forward_with(&Var::constant(next.clone()), &memory, Some(&mut cache), None).unwrap());
    let full = full.value().to_vec::<f32>().unwrap();
    let index = Tensor::from_vec(rows.iter().map(|&r| r as i64).collect::<Vec<_>>(), [4], &dev).unwrap();
    let next = Var::constant(next.index_select(0, &index));
    let picked = no_grad(|| block.forward_with(&next, &picked_memory, Some(&mut picked_cache), None).unwrap());
    let picked = picked.value().to_vec::<f32>().unwrap();
    for (i, &r) in rows.iter().enumerate() {
        close(&picked[i * WIDTH..(i + 1) * WIDTH], &full[r * WIDTH..(r + 1) * WIDTH], 1e-6);
    }
    assert_eq!(picked_cache.len(), 3);
    assert!(memory.select(&[3]).is_err() && cache.select(&[3]).is_err(), "row 3 of 3");
}

#[test]
fn cached_decoding_matches_the_full_pass() {
    let dev = CpuDevice::shared();
    for rotary in [false, true] {
        let rotary = rotary.then(|| Rotary::new(16, WIDTH / 2, &dev).unwrap());
        let block = DecoderBlock::new(&config(), 16, rotary, &mut TensorRng::new(4), &dev).unwrap();
        let memory = block.memory(&Var::constant(input(2, 5, DType::F32, 6, &dev)), &[5, 3]).unwrap();
        let x = input(2, 6, DType::F32, 9, &dev);
        let full = block.forward_with(&Var::constant(x.clone()), &memory, None, None).unwrap().value();
        let mut cache = LayerKv::default();
        for t in 0..6 {
            let step = Var::constant(x.narrow(1, t, 1));
            let y = no_grad(|| block.forward_with(&step, &memory, Some(&mut cache), None).unwrap());
            close(&y.value().to_vec::<f32>().unwrap(), &full.narrow(1, t, 1).to_vec::<f32>().unwrap(), 1e-5);
        }
    }
}
