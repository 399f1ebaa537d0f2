//! Gradient checks for every differentiable op, on backend-cpu in f64: fixed cases per op,
//! then property-based shapes for broadcasting and non-contiguous inputs.

use std::sync::Arc;

use autograd::{GradcheckOptions, Var, gradcheck};
use backend_cpu::CpuDevice;
use proptest::prelude::*;
use tensor_core::{BinaryOp, DType, Device, Tensor, TensorRng, UnaryOp, Window1d, Window2d};

fn device() -> Arc<dyn Device> {
    CpuDevice::shared()
}

/// Values in ±[0.2, 1.2] (away from the kinks of relu, abs, clamp at ±0.1… and from zero).
fn input(dims: &[usize], seed: u64) -> Tensor {
    let dev = device();
    let mut rng = TensorRng::new(seed);
    let magnitude = rng.uniform(dims, 0.2, 1.2, DType::F64, &dev).unwrap();
    let sign = rng.bernoulli(dims, 0.5, DType::F64, &dev).unwrap().affine(2.0, -1.0);
    magnitude.mul(&sign)
}

fn positive(dims: &[usize], seed: u64) -> Tensor {
    input(dims, seed).abs()
}

fn check(name: &str, f: impl Fn(&[Var]) -> tensor_core::Result<Var>, inputs: Vec<Tensor>) {
    if let Err(e) = gradcheck(f, &inputs, GradcheckOptions::default()) {
        panic!("{name}: {e}");
    }
}

#[test]
fn unary_ops() {
    use UnaryOp::*;
    let ops = [
        Neg,
        Exp,
        Log,
        Sqrt,
        Abs,
        Recip,
        Square,
        Sigmoid,
        Tanh,
        Relu,
        Gelu,
        GeluTanh,
        Sin,
        Cos,
        Erf,
        Sign,
        Softplus,
        LeakyRelu(0.1),
        Affine { mul: 2.5, add: -1.0 },
        Powf(3.0),
        Powf(0.5),
        Clamp { min: -0.5, max: 0.7 },
    ];
    for op in ops {
        let x = if matches!(op, Log | Sqrt | Powf(0.5)) { positive(&[3, 4], 1) } else { input(&[3, 4], 1) };
        // Through a transposed view, so rules see strided inputs.
        check(&format!("{op:?}"), |v| v[0].transpose(0, 1)?.unary(op), vec![x]);
    }
}

#[test]
fn binary_ops_broadcast() {
    use BinaryOp::*;
    for op in [Add, Sub, Mul, Div, Pow, Maximum, Minimum] {
        let a = if op == Pow { positive(&[3, 1, 4], 2) } else { input(&[3, 1, 4], 2) };
        let b = input(&[2, 4], 3);
        check(&format!("{op:?}"), |v| v[0].binary(op, &v[1]), vec![a, b]);
    }
}

#[test]
fn where_select() {
    let cond = input(&[3, 4], 9).gt(&Tensor::scalar(0.0, DType::F64, &device()).unwrap());
    check("where", |v| v[0].where_select(&cond, &v[1]), vec![input(&[3, 4], 4), input(&[4], 5)]);
}

#[test]
fn reductions_and_softmax() {
    let x = input(&[3, 4, 5], 6);
    check("sum", |v| v[0].sum(&[0, 2], false), vec![x.clone()]);
    check("sum keepdim", |v| v[0].sum(&[1], true), vec![x.clone()]);
    check("mean", |v| v[0].mean(&[-1], false), vec![x.clone()]);
    check("max", |v| v[0].max(&[1], false), vec![x.clone()]);
    check("min", |v| v[0].min(&[0, 2], true), vec![x.clone()]);
    check("softmax", |v| v[0].softmax(1), vec![x.clone()]);
    check("log_softmax", |v| v[0].log_softmax(-1), vec![x.clone()]);
    check("logsumexp", |v| v[0].logsumexp(2, false), vec![x.clone()]);
    check("logsumexp keepdim", |v| v[0].logsumexp(0, true), vec![x]);
}

/// f64 → f32 → f64: the gradient flows back through both casts, converted at each, and reaches
/// the f64 input as f64. The square is in f32 and quadratic, so central differences are exact
/// but for f32 rounding (about 1e-7 per value over a step of 1e-2, well inside `atol`).
#[test]
fn cast_round_trip_through_f32() {
    let round_trip = |v: &[Var]| v[0].cast(DType::F32)?.square()?.cast(DType::F64)?.mul(&v[1]);
    let through_f32 = GradcheckOptions { eps: 1e-2, atol: 1e-4, ..GradcheckOptions::default() };
    let inputs = vec![input(&[3, 4], 21), input(&[4], 22)];
    if let Err(e) = gradcheck(round_trip, &inputs, through_f32) {
        panic!("cast: {e}");
    }
    let x = Var::parameter(inputs[0].clone());
    let y = x.cast(DType::F32).unwrap();
    assert_eq!(y.value().dtype(), DType::F32);
    y.square().unwrap().sum_all().unwrap().backward().unwrap();
    let grad = x.grad().expect("the cast passes the gradient on");
    assert_eq!(grad.dtype(), DType::F64, "the gradient is converted back to the input's dtype");
    for (g, v) in grad.to_f64_vec().unwrap().iter().zip(inputs[0].to_f64_vec().unwrap()) {
        assert!((g - 2.0 * v).abs() < 1e-6 * v.abs().max(1.0), "d(x²)/dx through f32: {g} vs {}", 2.0 * v);
    }
}

#[test]
fn matmul_batched_and_transposed() {
    check("matmul", |v| v[0].matmul(&v[1]), vec![input(&[2, 3, 4], 7), input(&[4, 5], 8)]);
    check("matmul bcast", |v| v[0].matmul(&v[1]), vec![input(&[2, 1, 3, 4], 7), input(&[3, 4, 2], 8)]);
    check(
        "matmul transposed",
        |v| v[0].transpose(0, 1)?.matmul(&v[1].transpose(0, 1)?),
        vec![input(&[4, 3], 9), input(&[5, 4], 10)],
    );
}

#[test]
fn views_and_joins() {
    let x = input(&[2, 3, 4], 11);
    check("reshape", |v| v[0].reshape([6, 4]), vec![x.clone()]);
    check("permute", |v| v[0].permute(&[2, 0, 1]), vec![x.clone()]);
    check("narrow", |v| v[0].narrow(2, 1, 2), vec![x.clone()]);
    check("flip", |v| v[0].flip(1), vec![x.clone()]);
    check("broadcast", |v| v[0].broadcast_to([5, 2, 3, 4]), vec![x.clone()]);
    check("unsqueeze/squeeze", |v| v[0].unsqueeze(1)?.exp()?.squeeze(1), vec![x.clone()]);
    check("cat", |v| Var::cat(&[&v[0], &v[1]], 1), vec![x, input(&[2, 2, 4], 12)]);
}

#[test]
fn indexing() {
    let dev = device();
    let index = Tensor::from_vec(vec![0i64, 2, 2, 1, 0, 1], [2, 3], &dev).unwrap();
    check("gather", |v| v[0].gather(1, &index), vec![input(&[2, 4], 13)]);
    check("scatter_add", |v| v[0].scatter_add(1, &index, &v[1]), vec![input(&[2, 4], 14), input(&[2, 3], 15)]);
    let picks = Tensor::from_vec(vec![3i64, 0, 3, 1], [4], &dev).unwrap();
    check("index_select", |v| v[0].index_select(0, &picks), vec![input(&[5, 3], 16)]);
    check("index_select axis 1", |v| v[0].index_select(1, &picks), vec![input(&[2, 5], 16)]);
    check("index_add", |v| v[0].index_add(0, &picks, &v[1]), vec![input(&[5, 3], 17), input(&[4, 3], 18)]);
    let ids = Tensor::from_vec(vec![1i64, 4, 4, 0], [2, 2], &dev).unwrap();
    check("embedding", |v| v[0].embedding(&ids), vec![input(&[5, 3], 19)]);
}

#[test]
fn windows() {
    let x = input(&[2, 2, 5, 6], 20);
    let conv = Window2d::new([3, 3]).padding([1, 1]).stride([2, 1]);
    check("unfold", |v| v[0].unfold(&conv), vec![x.clone()]);
    let cols = input(&[2, 18, 18], 21);
    check("fold", |v| v[0].fold(&conv, [5, 6]), vec![cols]);
    let pool = Window2d::new([2, 2]).stride([2, 2]);
    check("max_pool2d", |v| v[0].max_pool2d(&pool), vec![x.clone()]);
    check("max_pool2d padded", |v| v[0].max_pool2d(&Window2d::new([3, 3]).padding([1, 1])), vec![x.clone()]);
    check("avg_pool2d", |v| v[0].avg_pool2d(&Window2d::new([3, 2]).padding([1, 0]).dilation([1, 2])), vec![x]);
}

#[test]
fn convolutions() {
    // Odd, non-square shapes; stride 2 with padding; dilation 2; groups; and 1-D forms.
    let x = input(&[2, 4, 5, 7], 22);
    let cases = [
        ("conv2d 3x2 stride 2 pad 1", Window2d::new([3, 2]).stride([2, 2]).padding([1, 1]), 1),
        ("conv2d dilation 2", Window2d::new([2, 3]).dilation([2, 2]).padding([1, 0]), 1),
        ("conv2d groups 2", Window2d::new([3, 3]).padding([1, 1]).stride([1, 2]), 2),
    ];
    for (name, window, groups) in cases {
        let w = input(&[6, 4 / groups, window.kernel[0], window.kernel[1]], 23);
        let b = input(&[6], 24);
        check(name, |v| v[0].conv2d(&v[1], Some(&v[2]), &window, groups), vec![x.clone(), w, b]);
    }
    let depthwise = Window2d::new([2, 2]);
    check("conv2d depthwise no bias", |v| v[0].conv2d(&v[1], None, &depthwise, 4), vec![x, input(&[4, 1, 2, 2], 25)]);
    let seq = input(&[2, 3, 9], 26);
    let w1 = Window1d::new(3).padding(1).stride(2).dilation(2);
    check(
        "conv1d",
        |v| v[0].conv1d(&v[1], Some(&v[2]), &w1, 1),
        vec![seq.clone(), input(&[5, 3, 3], 27), input(&[5], 28)],
    );
    check("max_pool1d", |v| v[0].max_pool1d(&Window1d::new(2).stride(2)), vec![seq.clone()]);
    check("avg_pool1d", |v| v[0].avg_pool1d(&Window1d::new(3).padding(1)), vec![seq]);
}

#[test]
fn fused_lstm_cell() {
    let gates = input(&[3, 8], 30);
    let c = input(&[3, 2], 31);
    check("lstm_cell h", |v| Ok(Var::lstm_cell(&v[0], &v[1])?.0), vec![gates.clone(), c.clone()]);
    check("lstm_cell c", |v| Ok(Var::lstm_cell(&v[0], &v[1])?.1), vec![gates.clone(), c.clone()]);
    check(
        "lstm_cell both",
        |v| {
            let (h, c) = Var::lstm_cell(&v[0], &v[1])?;
            h.mul(&c)?.add(&h)
        },
        vec![gates, c],
    );
}

#[test]
fn fused_cross_entropy() {
    let labels = Tensor::from_vec(vec![2i64, 0, 4, 4], [4], &device()).unwrap();
    // Weighted per-row losses, so each row's gradient is scaled differently.
    let weights = input(&[4], 41);
    check(
        "cross_entropy",
        |v| v[0].cross_entropy_with_labels(&labels)?.mul(&Var::constant(weights.clone()))?.sum_all(),
        vec![input(&[4, 5], 40).affine(3.0, 0.0)],
    );
}

#[test]
fn fused_attention() {
    use tensor_core::AttentionMask;
    // q split into heads from [B, Tq, H, d] (a strided view); Tq = 3 < Tk = 5, so a causal
    // query sees the keys up to its place at the end of the sequence.
    let (q, k, v) = (input(&[2, 3, 2, 4], 40), input(&[2, 2, 5, 4], 41), input(&[2, 2, 5, 3], 42));
    let masks = [
        AttentionMask::causal(),
        AttentionMask::none().with_key_lengths(vec![4, 2]),
        AttentionMask::causal().with_key_lengths(vec![5, 1]),
    ];
    for mask in masks {
        let f = |v: &[Var]| Var::attention(&v[0].transpose(1, 2)?, &v[1], &v[2], &mask, None);
        check(&format!("attention {mask:?}"), f, vec![q.clone(), k.clone(), v.clone()]);
    }
    // Tq = 4 > Tk = 2 with an explicit scale: the first two queries see no key (zero output,
    // no gradient), and a padded batch entry sees none at all.
    let mask = AttentionMask::causal().with_key_lengths(vec![2, 0]);
    let f = |v: &[Var]| Var::attention(&v[0], &v[1], &v[2], &mask, Some(0.7));
    check(
        "attention, rows that see no key",
        f,
        vec![input(&[2, 1, 4, 3], 43), input(&[2, 1, 2, 3], 44), input(&[2, 1, 2, 2], 45)],
    );
}

#[test]
fn shared_weight_over_steps() {
    // h_{t+1} = tanh(h_t Wᵀ + b) for three steps, W applied through one SharedWeight.
    let f = |v: &[Var]| {
        let shared = autograd::SharedWeight::new(&v[1])?;
        let mut h = v[0].clone();
        for _ in 0..3 {
            h = shared.apply(&h, Some(&v[2]))?.tanh()?;
        }
        h.square()?.sum_all()
    };
    check("shared weight", f, vec![input(&[2, 3], 32), input(&[3, 3], 33).affine(0.5, 0.0), input(&[3], 34)]);
    // 64 units: both W and Wᵀ are laid out as column panels for the steps' thin products.
    check(
        "shared weight, panels",
        f,
        vec![input(&[2, 64], 35), input(&[64, 64], 36).affine(0.05, 0.0), input(&[64], 37)],
    );
}

/// A shape and a second shape that broadcasts against it (some axes set to 1, leading axes
/// dropped).
fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    prop::collection::vec(1usize..4, 1..4).prop_flat_map(|dims| {
        let rank = dims.len();
        (Just(dims.clone()), prop::collection::vec(any::<bool>(), rank), 0..rank).prop_map(|(dims, ones, drop)| {
            let other: Vec<usize> = dims.iter().zip(&ones).map(|(&d, &one)| if one { 1 } else { d }).collect();
            (dims, other[drop..].to_vec())
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn binary_broadcasting_any_shapes((a, b) in broadcast_pair(), swap in any::<bool>(), seed in 0u64..1000) {
        let (a, b) = if swap { (b, a) } else { (a, b) };
        for op in [BinaryOp::Add, BinaryOp::Mul, BinaryOp::Div] {
            let inputs = [input(&a, seed), input(&b, seed + 1)];
            prop_assert!(gradcheck(|v| v[0].binary(op, &v[1]), &inputs, GradcheckOptions::default()).is_ok(), "{op:?} {a:?} {b:?}");
        }
    }

    #[test]
    fn non_contiguous_inputs(m in 1usize..5, k in 1usize..5, n in 1usize..5, flip in any::<bool>(), seed in 0u64..1000) {
        // lhs arrives transposed (and maybe flipped), rhs narrowed: strided views everywhere.
        let lhs = input(&[k, m], seed);
        let rhs = input(&[k, n + 2], seed + 1);
        let f = |v: &[Var]| {
            let a = v[0].transpose(0, 1)?;
            let a = if flip { a.flip(1)? } else { a };
            a.matmul(&v[1].narrow(1, 1, n)?)?.tanh()?.sum(&[0], false)
        };
        prop_assert!(gradcheck(f, &[lhs, rhs], GradcheckOptions::default()).is_ok());
    }
}

#[test]
fn fused_linear() {
    check(
        "linear",
        |v| v[0].linear(&v[1], Some(&v[2])),
        vec![input(&[2, 3, 4], 30), input(&[5, 4], 31), input(&[5], 32)],
    );
    check("linear no bias", |v| v[0].linear(&v[1], None), vec![input(&[3, 4], 33), input(&[2, 4], 34)]);
}

/// Gradient reversal: the forward is the identity, so the gradient through it must be `-λ`
/// times the finite differences of the same function without it, for a scale on both sides;
/// with the plain check it fails (its backward is not its forward's derivative, on purpose).
#[test]
fn gradient_reversal() {
    let inputs = vec![input(&[3, 4], 31), input(&[4, 2], 32)];
    let body = |v: &[Var]| v[0].transpose(0, 1)?.tanh()?.transpose(0, 1)?.matmul(&v[1]);
    for lambda in [1.0, 0.3, 0.0] {
        let reversed = |v: &[Var]| body(v)?.reverse_gradient(lambda)?.square();
        let plain = |v: &[Var]| body(v)?.square();
        if let Err(e) = autograd::gradcheck_scaled(reversed, plain, -lambda, &inputs, GradcheckOptions::default()) {
            panic!("reverse_gradient({lambda}): {e}");
        }
    }
    let reversed = |v: &[Var]| body(v)?.reverse_gradient(1.0)?.square();
    assert!(
        gradcheck(reversed, &inputs, GradcheckOptions::default()).is_err(),
        "a reversed gradient is not the derivative"
    );
    // Only the part of the graph below the reversal is flipped: a parameter above it is not.
    let x = Var::parameter(inputs[0].clone());
    let w = Var::parameter(inputs[1].clone());
    x.reverse_gradient(2.0).unwrap().matmul(&w).unwrap().sum_all().unwrap().backward().unwrap();
    let (gx, gw) = (x.grad().unwrap().to_f64_vec().unwrap(), w.grad().unwrap().to_f64_vec().unwrap());
    let w_rows: Vec<f64> = inputs[1].to_f64_vec().unwrap().chunks(2).map(|r| r[0] + r[1]).collect();
    for (k, g) in gx.iter().enumerate() {
        assert!((g + 2.0 * w_rows[k % 4]).abs() < 1e-12, "x's gradient is -2 Σ_j w[k, j]");
    }
    let x_cols: Vec<f64> = (0..4).map(|k| inputs[0].to_f64_vec().unwrap().iter().skip(k).step_by(4).sum()).collect();
    for (k, g) in gw.iter().enumerate() {
        assert!((g - x_cols[k / 2]).abs() < 1e-12, "w's gradient is not reversed");
    }
}
