//! Known values that anchor the reference to mathematics rather than to itself.
//!
//! Constants are closed forms where one exists (σ(ln 3) = 3/4, tanh(ln 2) = 3/5, softplus(0) =
//! ln 2) and otherwise values computed with mpmath at 40 significant digits, e.g.
//! `mp.dps = 40; x/2 * (1 + erf(x/sqrt(2)))` for GELU, then rounded to f64.

use super::*;
use crate::conformance::reference::Ref;

/// Within a few f64 rounding errors of `want` (relative), or exactly equal.
fn close(got: f64, want: f64) -> bool {
    got == want || (got - want).abs() <= 1e-14 * want.abs()
}

#[track_caller]
fn check_table(table: &[(UnaryOp, f64, f64)]) {
    let wrong: Vec<String> = table
        .iter()
        .filter(|&&(op, x, want)| !close(unary(op, x), want))
        .map(|&(op, x, want)| format!("{op:?}({x}) = {}, expected {want}", unary(op, x)))
        .collect();
    assert!(wrong.is_empty(), "the reference disagrees with known values:\n{}", wrong.join("\n"));
}

#[test]
fn activations_match_known_values() {
    use UnaryOp::*;
    let ln2 = std::f64::consts::LN_2;
    check_table(&[
        (Sigmoid, 0.0, 0.5),
        (Sigmoid, 3f64.ln(), 0.75),
        (Sigmoid, 1.0, 0.731_058_578_630_004_9),
        (Sigmoid, -2.0, 0.119_202_922_022_117_56),
        (Sigmoid, -40.0, 4.248_354_255_291_589e-18),
        (Sigmoid, -1000.0, 0.0),
        (Sigmoid, 1000.0, 1.0),
        (Tanh, ln2, 0.6),
        (Tanh, 0.5, 0.462_117_157_260_009_76),
        (Tanh, -2.0, -0.964_027_580_075_816_9),
        (Tanh, 1e-9, 1e-9),
        (Tanh, -800.0, -1.0),
        // The exact (erf) GELU, PyTorch's default.
        (Gelu, 1.0, 0.841_344_746_068_542_9),
        (Gelu, -1.0, -0.158_655_253_931_457_05),
        (Gelu, 0.5, 0.345_731_230_637_006_55),
        (Gelu, 2.0, 1.954_499_736_103_641_6),
        (Gelu, -3.0, -0.004_049_694_094_890_283_6),
        (Gelu, 0.0, 0.0),
        // The tanh approximation, PyTorch's `approximate="tanh"`.
        (GeluTanh, 1.0, 0.841_191_990_608_276_7),
        (GeluTanh, -1.0, -0.158_808_009_391_723_3),
        (GeluTanh, 2.0, 1.954_597_694_087_775),
        (GeluTanh, -3.0, -0.003_637_392_081_773_018_8),
        (Softplus, 0.0, ln2),
        (Softplus, 1.0, 1.313_261_687_518_222_8),
        (Softplus, -3.0, 0.048_587_351_573_742_06),
        (Softplus, 30.0, 30.000_000_000_000_092),
        (Softplus, -50.0, 1.928_749_847_963_917_8e-22),
        (Softplus, 1000.0, 1000.0),
        (Erf, 1.0, 0.842_700_792_949_714_9),
        (Erf, 0.5, 0.520_499_877_813_046_5),
        (Erf, -2.0, -0.995_322_265_018_952_7),
        (Relu, -0.5, 0.0),
        (Relu, 0.5, 0.5),
        (LeakyRelu(0.1), -2.0, -0.2),
        (LeakyRelu(0.1), 3.0, 3.0),
        (Sign, -0.25, -1.0),
        (Sign, 0.0, 0.0),
        (Sign, 7.0, 1.0),
        (Clamp { min: -0.5, max: 0.7 }, -2.0, -0.5),
        (Clamp { min: -0.5, max: 0.7 }, 0.3, 0.3),
        (Clamp { min: -0.5, max: 0.7 }, 2.0, 0.7),
        (Affine { mul: 2.5, add: -1.0 }, 2.0, 4.0),
        (Powf(3.0), -2.0, -8.0),
        (Powf(0.5), 2.25, 1.5),
        (Recip, -4.0, -0.25),
        (Square, -3.0, 9.0),
    ]);
}

#[test]
fn elementary_functions_match_known_values() {
    use UnaryOp::*;
    check_table(&[
        (Exp, 1.0, std::f64::consts::E),
        (Log, 2.0, std::f64::consts::LN_2),
        (Sqrt, 2.0, std::f64::consts::SQRT_2),
        (Sin, 1.0, 0.841_470_984_807_896_5),
        (Cos, 1.0, 0.540_302_305_868_139_8),
        (Abs, -1.5, 1.5),
        (Neg, 1.5, -1.5),
    ]);
}

#[test]
fn nan_propagates_where_the_contract_says() {
    for op in [UnaryOp::Relu, UnaryOp::Sign, UnaryOp::Clamp { min: 0.0, max: 1.0 }, UnaryOp::Tanh] {
        assert!(unary(op, f64::NAN).is_nan(), "{op:?}(NaN) should be NaN");
    }
    assert!(binary(BinaryOp::Maximum, f64::NAN, 1.0).is_nan());
    assert!(binary(BinaryOp::Minimum, 1.0, f64::NAN).is_nan());
    assert!(reduce(ReduceOp::Max, &[1.0, f64::NAN, 3.0]).is_nan());
    assert!(reduce(ReduceOp::Min, &[f64::NAN]).is_nan());
    assert_eq!(arg_extreme(ArgReduceOp::ArgMin, &[1.0, f64::NAN, -3.0, f64::NAN]), 1);
}

#[test]
fn binary_ops_match_known_values() {
    use BinaryOp::*;
    let table = [
        (Add, 1.5, -4.0, -2.5),
        (Sub, 1.5, -4.0, 5.5),
        (Mul, 1.5, -4.0, -6.0),
        (Div, 1.5, -4.0, -0.375),
        (Pow, 2.0, -3.0, 0.125),
        (Pow, 0.25, 0.5, 0.5),
        (Maximum, -1.0, 0.5, 0.5),
        (Minimum, -1.0, 0.5, -1.0),
        (Eq, 0.5, 0.5, 1.0),
        (Ne, 0.5, 0.5, 0.0),
        (Lt, 0.5, 1.0, 1.0),
        (Le, 1.0, 1.0, 1.0),
        (Gt, 0.5, 1.0, 0.0),
        (Ge, 0.5, 1.0, 0.0),
    ];
    for (op, a, b, want) in table {
        assert_eq!(binary(op, a, b), want, "{op:?}({a}, {b})");
    }
}

#[test]
fn reductions_match_known_values() {
    let lane = [3.0, -1.0, 4.0, -1.5, 4.0];
    assert_eq!(reduce(ReduceOp::Sum, &lane), 8.5);
    assert_eq!(reduce(ReduceOp::Max, &lane), 4.0);
    assert_eq!(reduce(ReduceOp::Min, &lane), -1.5);
    assert_eq!(reduce(ReduceOp::Sum, &[]), 0.0);
    assert_eq!(reduce(ReduceOp::Max, &[]), f64::NEG_INFINITY);
    assert_eq!(reduce(ReduceOp::Min, &[]), f64::INFINITY);
    // Ties go to the first position.
    assert_eq!(arg_extreme(ArgReduceOp::ArgMax, &lane), 2);
    assert_eq!(arg_extreme(ArgReduceOp::ArgMin, &[2.0, -1.0, -1.0]), 1);
    // The mean of [1, 2, 3, 4] over axis 1, through the reference's array reduction.
    let rows = Ref { dims: vec![2, 4], data: vec![1.0, 2.0, 3.0, 4.0, -1.0, -2.0, -3.0, -10.0] };
    let (sums, magnitude) = rows.reduce(ReduceOp::Sum, &[1]);
    assert_eq!(sums, Ref { dims: vec![2, 1], data: vec![10.0, -16.0] });
    assert_eq!(magnitude, vec![10.0, 16.0]);
}

#[test]
fn softmax_family_matches_known_values() {
    // ln(e + e² + e³), by mpmath.
    let lse = 3.407_605_964_444_38;
    assert!(close(logsumexp(&[1.0, 2.0, 3.0]), lse));
    // Large inputs: ln(2 e^1000) = 1000 + ln 2, where the unshifted sum overflows.
    assert!(close(logsumexp(&[1000.0, 1000.0]), 1000.0 + std::f64::consts::LN_2));
    assert!(close(logsumexp(&[-1000.0, -1000.0]), -1000.0 + std::f64::consts::LN_2));
    let row = Ref { dims: vec![1, 3], data: vec![1.0, 2.0, 3.0] };
    let softmax = [0.090_030_573_170_380_46, 0.244_728_471_054_797_64, 0.665_240_955_774_821_9];
    for (got, want) in row.softmax(1, false).data.iter().zip(softmax) {
        assert!(close(*got, want), "softmax gave {got}, expected {want}");
    }
    for (i, got) in row.softmax(1, true).data.iter().enumerate() {
        assert!(close(*got, (i + 1) as f64 - lse), "log_softmax[{i}] gave {got}");
    }
    let column = Ref { dims: vec![3, 1], data: vec![1.0, 2.0, 3.0] };
    assert!(close(column.logsumexp(0).data[0], lse));
    assert_eq!(column.logsumexp(0).dims, vec![1, 1]);
}

#[test]
fn window_geometry_matches_pytorch() {
    // torch.nn.functional.unfold(torch.zeros(1, 1, 7, 8), 3, padding=1, stride=2).shape[-1] == 16.
    let strided = Window2d::new([3, 3]).padding([1, 1]).stride([2, 2]);
    assert_eq!(window_output_size(&strided, [7, 8]), [4, 4]);
    let dilated = Window2d::new([3, 2]).dilation([2, 1]);
    assert_eq!(window_output_size(&dilated, [5, 5]), [1, 4]);
    // Output (1, 2), tap (2, 0) of the strided window reads row 1·2 + 2 - 1 = 3, column 2·2 + 0 - 1 = 3.
    assert_eq!(window_input_coord(&strided, 0, 1, 2), 3);
    assert_eq!(window_input_coord(&strided, 1, 2, 0), 3);
    assert_eq!(window_input_coord(&strided, 1, 0, 0), -1);
    assert_eq!(window_input_coord(&dilated, 0, 0, 2), 4);
}
