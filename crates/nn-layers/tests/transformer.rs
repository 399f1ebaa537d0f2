//! The transformer layers: GPT-2's parameter names, causality, key padding, the key-value cache
//! against full recomputation, positions, and gradients against finite differences.

mod param_gradients;

use std::sync::Arc;

use autograd::{GradcheckOptions, Var, gradcheck, no_grad};
use backend_cpu::CpuDevice;
use nn_layers::layers::{
    Activation, BlockConfig, KvCache, LayerNorm, Positions, Rotary, TransformerBlock, sinusoidal_table,
};
use nn_layers::{Module, ModuleExt};
use param_gradients::check_parameter_gradients;
use tensor_core::{DType, Device, Tensor, TensorRng};

fn config(bias: bool, dropout: f64) -> BlockConfig {
    BlockConfig { width: 8, heads: 2, causal: true, bias, dropout, activation: Activation::GeluTanh, layers: 2 }
}

fn block(bias: bool, rotary: bool, dev: &Arc<dyn Device>) -> TransformerBlock {
    let rotary = rotary.then(|| Rotary::new(16, 4, dev).unwrap());
    TransformerBlock::new(&config(bias, 0.0), rotary, &mut TensorRng::new(3), dev).unwrap()
}

fn input(batch: usize, steps: usize, dtype: DType, seed: u64, dev: &Arc<dyn Device>) -> Tensor {
    TensorRng::new(seed).normal([batch, steps, 8], 0.0, 1.0, dtype, dev).unwrap()
}

fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol, "element {i}: {x} vs {y}");
    }
}

#[test]
fn names_and_shapes_follow_gpt2() {
    let dev = CpuDevice::shared();
    let shapes: Vec<(String, Vec<usize>)> =
        block(true, false, &dev).parameters().into_iter().map(|(n, p)| (n, p.value().dims().to_vec())).collect();
    let expected = [
        ("ln_1.weight", vec![8]),
        ("ln_1.bias", vec![8]),
        ("attn.c_attn.weight", vec![8, 24]),
        ("attn.c_attn.bias", vec![24]),
        ("attn.c_proj.weight", vec![8, 8]),
        ("attn.c_proj.bias", vec![8]),
        ("ln_2.weight", vec![8]),
        ("ln_2.bias", vec![8]),
        ("mlp.c_fc.weight", vec![8, 32]),
        ("mlp.c_fc.bias", vec![32]),
        ("mlp.c_proj.weight", vec![32, 8]),
        ("mlp.c_proj.bias", vec![8]),
    ];
    let expected: Vec<(String, Vec<usize>)> = expected.into_iter().map(|(n, s)| (n.to_string(), s)).collect();
    assert_eq!(shapes, expected);
    let names: Vec<String> = block(false, false, &dev).parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names.len(), 6, "without biases only weights: {names:?}");
    assert!(LayerNorm::with_bias(4, 1e-5, false, &dev).unwrap().bias.is_none());
    let bad = BlockConfig { heads: 3, ..config(true, 0.0) };
    assert!(TransformerBlock::new(&bad, None, &mut TensorRng::new(0), &dev).is_err(), "8 is no multiple of 3");
}

#[test]
fn causal_block_ignores_the_future() {
    let dev = CpuDevice::shared();
    for rotary in [false, true] {
        let b = block(true, rotary, &dev);
        let x = input(2, 6, DType::F32, 1, &dev);
        let mut changed = x.to_vec::<f32>().unwrap();
        for row in 0..2 {
            for v in &mut changed[(row * 6 + 4) * 8..(row * 6 + 6) * 8] {
                *v += 3.0;
            }
        }
        let changed = Tensor::from_vec(changed, [2, 6, 8], &dev).unwrap();
        let y = b.forward(&Var::constant(x)).unwrap().value().narrow(1, 0, 4).to_vec::<f32>().unwrap();
        let z = b.forward(&Var::constant(changed)).unwrap().value().narrow(1, 0, 4).to_vec::<f32>().unwrap();
        close(&y, &z, 1e-6);
    }
}

#[test]
fn padded_keys_are_invisible() {
    let dev = CpuDevice::shared();
    let b = block(true, false, &dev);
    let mut attn = Vec::new();
    for junk in [0.0f32, 5.0] {
        let mut x = input(2, 5, DType::F32, 2, &dev).to_vec::<f32>().unwrap();
        // Row 1 is 3 keys long: what lies after them must not matter.
        for v in &mut x[(5 + 3) * 8..10 * 8] {
            *v += junk;
        }
        let x = Var::constant(Tensor::from_vec(x, [2, 5, 8], &dev).unwrap());
        let y = b.attn.forward_with(&x, Some(&[5, 3]), None).unwrap().value();
        attn.push(y.narrow(0, 1, 1).narrow(1, 0, 3).to_vec::<f32>().unwrap());
    }
    close(&attn[0], &attn[1], 1e-6);
}

#[test]
fn cached_decoding_matches_the_full_pass() {
    let dev = CpuDevice::shared();
    for rotary in [false, true] {
        let blocks = [block(true, rotary, &dev), block(false, rotary, &dev)];
        let x = input(2, 7, DType::F32, 4, &dev);
        let full = no_grad(|| {
            let mut h = Var::constant(x.clone());
            for b in &blocks {
                h = b.forward(&h).unwrap();
            }
            h.value().to_vec::<f32>().unwrap()
        });
        // A prefix of three positions at once, then one position at a time.
        let mut cache = KvCache::new(2);
        let mut pieces = Vec::new();
        for (start, len) in [(0, 3), (3, 1), (4, 1), (5, 1), (6, 1)] {
            let mut h = Var::constant(x.narrow(1, start, len));
            for (b, kv) in blocks.iter().zip(cache.layers.iter_mut()) {
                h = no_grad(|| b.forward_with(&h, None, Some(kv), None)).unwrap();
            }
            pieces.push(h.value());
            assert_eq!(cache.len(), start + len);
        }
        let refs: Vec<&Tensor> = pieces.iter().collect();
        let cached = Tensor::cat(&refs, 1).to_vec::<f32>().unwrap();
        close(&cached, &full, 1e-5);
    }
}

#[test]
fn a_cloned_cache_decodes_on_its_own() {
    // Two continuations of one cached prefix: each must match its own full pass, so the
    // clone's appends and the original's cannot land in each other's buffers.
    let dev = CpuDevice::shared();
    let blocks = [block(true, false, &dev), block(false, false, &dev)];
    let (a, b) = (input(1, 6, DType::F32, 7, &dev), input(1, 6, DType::F32, 8, &dev));
    let run = |steps: &[Tensor], cache: &mut KvCache| -> Vec<f32> {
        let mut last = Vec::new();
        for x in steps {
            let mut h = Var::constant(x.clone());
            for (block, kv) in blocks.iter().zip(cache.layers.iter_mut()) {
                h = no_grad(|| block.forward_with(&h, None, Some(kv), None)).unwrap();
            }
            last = h.value().to_vec::<f32>().unwrap();
        }
        last
    };
    let full_last = |x: &Tensor| -> Vec<f32> {
        let cached = run(std::slice::from_ref(x), &mut KvCache::new(2));
        cached[cached.len() - 8..].to_vec()
    };
    let mut original = KvCache::new(2);
    run(&[a.narrow(1, 0, 3)], &mut original);
    let mut clone = original.clone();
    // The original continues with a's last three positions, the clone with b's, interleaved.
    let steps = |x: &Tensor| -> Vec<Tensor> { (3..6).map(|t| x.narrow(1, t, 1)).collect() };
    let mixed = Tensor::cat(&[&a.narrow(1, 0, 3), &b.narrow(1, 3, 3)], 1);
    let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
    for (step_a, step_b) in steps(&a).iter().zip(steps(&b).iter()) {
        got_a = run(std::slice::from_ref(step_a), &mut original);
        got_b = run(std::slice::from_ref(step_b), &mut clone);
    }
    close(&got_a, &full_last(&a), 1e-5);
    close(&got_b, &full_last(&mixed), 1e-5);
    assert_eq!((original.len(), clone.len()), (6, 6));
}

#[test]
fn positions() {
    let dev = CpuDevice::shared();
    let table = sinusoidal_table(3, 4, &dev).unwrap().to_vec::<f32>().unwrap();
    let expected = [0.0, 1.0, 0.0, 1.0, 1f64.sin(), 1f64.cos(), 0.01f64.sin(), 0.01f64.cos()];
    close(&table[..8], &expected.map(|v| v as f32), 1e-6);
    assert_eq!(Positions::from_name("rotary"), Some(Positions::Rotary));
    assert_eq!(Positions::from_name(Positions::Sinusoidal.name()), Some(Positions::Sinusoidal));
    // Rotary: a query and a key keep their norms, and their product depends only on the
    // distance between their positions.
    let rotary = Rotary::new(12, 4, &dev).unwrap();
    let q = Var::constant(Tensor::from_vec(vec![0.3f32, -1.0, 0.7, 0.2], [1, 1, 1, 4], &dev).unwrap());
    let k = Var::constant(Tensor::from_vec(vec![-0.5f32, 0.4, 0.1, 0.9], [1, 1, 1, 4], &dev).unwrap());
    let dot = |qp: usize, kp: usize| {
        let (a, b) = (rotary.apply(&q, qp).unwrap().value(), rotary.apply(&k, kp).unwrap().value());
        a.mul(&b).sum(&[-1], false).to_vec::<f32>().unwrap()[0]
    };
    close(&[dot(5, 2), dot(9, 6)], &[dot(3, 0), dot(3, 0)], 1e-5);
    let turned = rotary.apply(&q, 7).unwrap().value();
    close(&turned.square().sum(&[-1], false).to_vec::<f32>().unwrap(), &[0.09 + 1.0 + 0.49 + 0.04], 1e-5);
    assert!(rotary.apply(&q, 12).is_err(), "past the table");
}

#[test]
fn block_gradients_match_finite_differences() {
    let dev = CpuDevice::shared();
    let b = block(true, true, &dev);
    for (_, p) in b.parameters() {
        p.set_value(p.value().cast(DType::F64)).unwrap();
    }
    // The input's gradient through the whole block (attention, layer norms, GELU, MLP).
    let x = input(2, 4, DType::F64, 5, &dev);
    let options = GradcheckOptions { atol: 1e-6, rtol: 1e-4, ..GradcheckOptions::default() };
    gradcheck(|v| b.forward(&v[0]), std::slice::from_ref(&x), options).unwrap();
    // Every parameter's gradient, a few elements each, by central differences.
    check_parameter_gradients(&b, &|| b.forward(&Var::constant(x.clone())).unwrap(), &dev);
}

#[test]
fn dropout_only_with_masks() {
    let dev = CpuDevice::shared();
    let b = TransformerBlock::new(&config(true, 0.5), None, &mut TensorRng::new(3), &dev).unwrap();
    let x = Var::constant(input(1, 4, DType::F32, 6, &dev));
    let plain = b.forward(&x).unwrap().value().to_vec::<f32>().unwrap();
    let again = b.forward_with(&x, None, None, None).unwrap().value().to_vec::<f32>().unwrap();
    assert_eq!(plain, again, "no masks: no dropout");
    let mut rng = TensorRng::new(1);
    let dropped = b.forward_with(&x, None, None, Some(&mut rng)).unwrap().value().to_vec::<f32>().unwrap();
    assert_ne!(plain, dropped);
}
