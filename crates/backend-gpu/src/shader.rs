//! WGSL building blocks shared by every kernel, and the `info` words that describe views.
//!
//! Every kernel reads a storage array `info: array<i32>` at binding 0. For the kernels that walk
//! views ([`ViewInfo`]) it holds: `[0]` the number of output elements, `[1]` the rank, `[2..6]`
//! four f32 parameters (as bits), `[6..6+rank]` the output shape, then for each operand view its
//! offset followed by one stride per axis (signed, in elements). Kernels take their operands
//! from bindings 1, 2, ... in the order the Rust side lists them.

use tensor_core::{DType, Layout};

use crate::storage::wgsl_type;

/// Declarations every kernel starts with: the `info` words and their readers.
pub(crate) const PRELUDE: &str = r#"
@group(0) @binding(0) var<storage, read> info: array<i32>;

fn info_u(i: u32) -> u32 { return u32(info[i]); }
fn param(i: u32) -> f32 { return bitcast<f32>(info[2u + i]); }

// Storage index of logical element `i` (row-major over the output shape) of operand `k`.
fn view_index(i: u32, k: u32) -> u32 {
    let rank = info_u(1u);
    let base = 6u + rank + k * (rank + 1u);
    var rest = i;
    var at = info[base];
    for (var d = rank; d > 0u; d--) {
        let dim = info_u(5u + d);
        at += i32(rest % dim) * info[base + d];
        rest /= dim;
    }
    return u32(at);
}
"#;

/// Float helpers: stable sigmoid and tanh, a NaN-aware power, and erf.
pub(crate) const FLOAT_MATH: &str = r#"
fn is_nan(x: f32) -> bool { return !(x == x); }

fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 { return 1.0 / (1.0 + exp(-x)); }
    let e = exp(x);
    return e / (1.0 + e);
}

fn tanh_stable(x: f32) -> f32 {
    if abs(x) > 15.0 { return sign(x); }
    return tanh(x);
}

fn pow_any(a: f32, b: f32) -> f32 {
    if b == 0.0 { return 1.0; }
    if is_nan(a) || is_nan(b) { return a + b; }
    if a == 0.0 { return select(bitcast<f32>(0x7f800000u), 0.0, b > 0.0); }
    let magnitude = exp2(b * log2(abs(a)));
    if a > 0.0 { return magnitude; }
    if floor(b) != b { return bitcast<f32>(0x7fc00000u); }
    let odd = abs(b) < 16777216.0 && (i32(abs(b)) & 1) == 1;
    return select(magnitude, -magnitude, odd);
}

// erf with the rational approximations of FreeBSD's s_erff.c (Sun Microsystems, freely
// redistributable), accurate to about one ulp in f32.
fn erf(x: f32) -> f32 {
    let a = abs(x);
    if is_nan(x) { return x; }
    if a < 0.84375 {
        let z = x * x;
        let r = 1.2837916613e-01 + z * (-3.2504209876e-01 + z * (-2.8481749818e-02 + z * (-5.7702702470e-03 + z * -2.3763017452e-05)));
        let s = 1.0 + z * (3.9791721106e-01 + z * (6.5022252500e-02 + z * (5.0813062117e-03 + z * (1.3249473704e-04 + z * -3.9602282413e-06))));
        return x + x * (r / s);
    }
    var y: f32;
    if a < 1.25 {
        let s = a - 1.0;
        let p = -2.3621185683e-03 + s * (4.1485610604e-01 + s * (-3.7220788002e-01 + s * (3.1834661961e-01 + s * (-1.1089469492e-01 + s * (3.5478305072e-02 + s * -2.1663755178e-03)))));
        let q = 1.0 + s * (1.0642088205e-01 + s * (5.4039794207e-01 + s * (7.1828655899e-02 + s * (1.2617121637e-01 + s * (1.3637083583e-02 + s * 1.1984500103e-02)))));
        y = 8.4506291151e-01 + p / q;
    } else if a < 6.0 {
        let s = 1.0 / (a * a);
        var r: f32;
        var big_s: f32;
        if a < 2.857142857 {
            r = -9.8649440333e-03 + s * (-6.9385856390e-01 + s * (-1.0558626175e+01 + s * (-6.2375331879e+01 + s * (-1.6239666748e+02 + s * (-1.8460508728e+02 + s * (-8.1287437439e+01 + s * -9.8143291473e+00))))));
            big_s = 1.0 + s * (1.9651271820e+01 + s * (1.3765776062e+02 + s * (4.3456588745e+02 + s * (6.4538726807e+02 + s * (4.2900814819e+02 + s * (1.0863500214e+02 + s * (6.5702495575e+00 + s * -6.0424413532e-02)))))));
        } else {
            r = -9.8649431020e-03 + s * (-7.9928326607e-01 + s * (-1.7757955551e+01 + s * (-1.6063638306e+02 + s * (-6.3756646729e+02 + s * (-1.0250950928e+03 + s * -4.8351919556e+02)))));
            big_s = 1.0 + s * (3.0338060379e+01 + s * (3.2579251099e+02 + s * (1.5367296143e+03 + s * (3.1998581543e+03 + s * (2.5530502930e+03 + s * (4.7452853394e+02 + s * -2.2440952301e+01))))));
        }
        let z = bitcast<f32>(bitcast<u32>(a) & 0xffffe000u);
        y = 1.0 - exp(-z * z - 0.5625) * exp((z - a) * (z + a) + r / big_s) / a;
    } else {
        y = 1.0;
    }
    return select(y, -y, x < 0.0);
}

fn f32_to_i64(x: f32) -> i64 {
    if is_nan(x) { return i64(0); }
    if x >= 9.2233720e18 { return 9223372036854775807li; }
    if x <= -9.2233720e18 { return -9223372036854775807li - 1li; }
    return i64(x);
}
"#;

/// The entry point of a one-thread-per-element kernel: binds `i` to the element and returns
/// early past `info[0]` elements. The body follows, then a closing brace.
pub(crate) const ELEMENT_ENTRY: &str = r#"
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 256u;
    if i >= info_u(0u) { return; }
"#;

/// A storage binding declaration: `var<storage, read> name: array<T>` at `binding`.
pub(crate) fn binding(binding: u32, name: &str, dtype: DType, writable: bool) -> String {
    let access = if writable { "read_write" } else { "read" };
    format!("@group(0) @binding({binding}) var<storage, {access}> {name}: array<{}>;\n", wgsl_type(dtype))
}

/// A whole one-thread-per-element kernel: prelude, float helpers, bindings, and `body`.
pub(crate) fn element_kernel(bindings: &[String], body: &str) -> String {
    element_kernel_with(bindings, "", body)
}

/// [`element_kernel`] with extra module-level `helpers` (functions, workgroup variables).
pub(crate) fn element_kernel_with(bindings: &[String], helpers: &str, body: &str) -> String {
    format!("{PRELUDE}{FLOAT_MATH}{}{helpers}{ELEMENT_ENTRY}{body}\n}}\n", bindings.concat())
}

/// The `info` words of a kernel over views that share one output shape.
pub(crate) struct ViewInfo {
    words: Vec<i32>,
}

impl ViewInfo {
    /// Info for an output of shape `dims` with up to four float parameters.
    pub(crate) fn new(dims: &[usize], params: &[f64]) -> Self {
        assert!(params.len() <= 4, "at most four kernel parameters");
        let numel: usize = dims.iter().product();
        let mut words = vec![word(numel), dims.len() as i32];
        for k in 0..4 {
            words.push((params.get(k).copied().unwrap_or(0.0) as f32).to_bits() as i32);
        }
        words.extend(dims.iter().map(|&d| word(d)));
        ViewInfo { words }
    }

    /// Adds an operand view: its offset and strides, read with the output's coordinates.
    pub(crate) fn view(mut self, layout: &Layout) -> Self {
        self.words.push(offset_word(layout));
        self.words.extend(stride_words(layout));
        self
    }

    /// Replaces word `index` (for kernels that keep integers in the parameter slots).
    pub(crate) fn with_word(mut self, index: usize, value: i32) -> Self {
        self.words[index] = value;
        self
    }

    /// Appends raw words after the views.
    pub(crate) fn extend(mut self, words: impl IntoIterator<Item = i32>) -> Self {
        self.words.extend(words);
        self
    }

    /// Replaces parameter slots 1 and 2 with the two 32-bit halves of an i64.
    pub(crate) fn i64_param(mut self, value: i64) -> Self {
        self.words[3] = value as i32;
        self.words[4] = (value >> 32) as i32;
        self
    }

    /// The words.
    pub(crate) fn words(&self) -> &[i32] {
        &self.words
    }
}

/// A size or offset as an `info` word; the GPU backend addresses at most 2^31 elements.
pub(crate) fn word(n: usize) -> i32 {
    i32::try_from(n).expect("the GPU backend addresses at most 2^31 elements per buffer")
}

/// A view's offset as an `info` word (0 for an empty view, whose offset is never read).
pub(crate) fn offset_word(layout: &Layout) -> i32 {
    if layout.numel() == 0 { 0 } else { word(layout.offset()) }
}

/// A view's strides as `info` words. A size-1 axis's stride is never multiplied by a non-zero
/// coordinate, so it is written as 0 (it may be anything); every other stride is at most the
/// span of the view, which fits a buffer of at most [`crate::context::MAX_ELEMENTS`].
pub(crate) fn stride_words(layout: &Layout) -> impl Iterator<Item = i32> + '_ {
    layout.dims().iter().zip(layout.strides()).map(|(&dim, &stride)| stride_word(dim, stride))
}

/// One stride as an `info` word (see [`stride_words`]).
pub(crate) fn stride_word(dim: usize, stride: isize) -> i32 {
    if dim <= 1 { 0 } else { i32::try_from(stride).expect("a stride within a buffer of at most 2^31 elements") }
}
