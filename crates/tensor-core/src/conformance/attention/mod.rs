//! Cases for scaled dot-product attention, forward and backward, against the f64 reference in
//! [`reference`]: causal masks with `Tq = Tk`, `Tq < Tk` (down to one decoding query) and
//! `Tq > Tk` (rows that see no key), ragged key padding (a fully padded batch entry among
//! them), both together, sizes past one 64-wide tile, empty axes, scores in the hundreds,
//! decoding shapes (one to eight query rows against a hundred keys), and
//! strided inputs: `q` split into heads from `[B, T, H, d]`, keys shared across the batch
//! (stride 0), values reversed, a transposed output gradient.

mod reference;

use super::reference::Ref;
use super::{Domain, Suite, View};
use crate::{AttentionMask, AttentionOutput, Composite, DType, HostBuffer, Layout, Tensor, TensorError};
use reference::{Expected, Problem};

pub(crate) fn run(s: &mut Suite) {
    let sizes_and_masks: [([usize; 6], bool, Option<Vec<usize>>); 18] = [
        ([1, 1, 1, 1, 1, 1], false, None),
        ([2, 3, 5, 5, 4, 3], true, None),
        ([2, 2, 3, 7, 8, 5], false, None),
        ([2, 2, 1, 9, 8, 8], true, None),
        ([1, 2, 6, 4, 4, 4], true, None),
        ([2, 2, 4, 5, 4, 4], false, Some(vec![3, 0])),
        ([3, 2, 5, 5, 4, 6], true, Some(vec![5, 2, 4])),
        ([2, 1, 3, 6, 4, 2], true, Some(vec![6, 1])),
        ([1, 2, 70, 70, 16, 16], true, None),
        ([1, 1, 130, 67, 8, 8], false, Some(vec![50])),
        // Decoding shapes: a few query rows against a long cache, rows wider than one vector.
        ([1, 2, 1, 100, 40, 24], true, None),
        ([2, 2, 8, 100, 40, 24], true, Some(vec![100, 37])),
        // Keys not a multiple of 8, rows with a tail past the vectors, values past two blocks.
        ([1, 2, 1, 37, 13, 70], false, None),
        ([1, 4, 2, 300, 64, 48], true, Some(vec![299])),
        ([0, 2, 3, 3, 4, 4], true, None),
        ([1, 1, 0, 4, 4, 4], false, None),
        ([1, 2, 3, 0, 4, 4], false, None),
        ([1, 1, 2, 3, 0, 2], true, None),
    ];
    for (sizes, causal, key_lengths) in sizes_and_masks {
        let problem = Problem { sizes, causal, key_lengths, scale: crate::default_attention_scale(sizes[4]) };
        for strided in [false, true] {
            check(s, &problem, strided);
        }
    }
    // Scores in the hundreds: the softmax must shift by the row maximum.
    let large = Problem { sizes: [1, 2, 6, 6, 8, 8], causal: true, key_lengths: None, scale: 40.0 };
    check(s, &large, true);
    errors(s);
}

/// A random `[B, H, T, d]` input stored as `[B, T, H, d]` and viewed with heads second, as a
/// projection's output is split into heads.
fn heads_split(s: &mut Suite, [b, h, t, d]: [usize; 4]) -> (Tensor, Ref) {
    let layout = Layout::contiguous([b, t, h, d]).transpose(1, 2).expect("rank 4");
    let mut host: Vec<f64> = (0..b * t * h * d).map(|_| s.value(Domain::Any)).collect();
    Suite::round(s.dtype, &mut host);
    let storage = s.device.upload(HostBuffer::from_f64(s.dtype, &host)).expect("upload");
    let tensor = Tensor::from_storage(storage, layout.clone(), s.device.clone()).expect("layout fits");
    (tensor, Ref::view(&host, &layout))
}

/// `view` where it applies to `dims`, contiguous otherwise.
fn input(s: &mut Suite, dims: [usize; 4], view: View) -> (Tensor, Ref) {
    let view = if view.applies(&dims) && !(view == View::Broadcast && dims[0] < 2) { view } else { View::Contiguous };
    s.input(&dims, view, Domain::Any)
}

/// A reference result uploaded in the suite's dtype (what a forward handed to the backward).
fn upload(s: &Suite, expected: &Expected) -> Tensor {
    let mut data = expected.value.data.clone();
    Suite::round(s.dtype, &mut data);
    Tensor::from_buffer(HostBuffer::from_f64(s.dtype, &data), expected.value.dims.clone(), &s.device).expect("upload")
}

fn check(s: &mut Suite, problem: &Problem, strided: bool) {
    let [b, h, tq, tk, d, dv] = problem.sizes;
    let (q, rq) = if strided { heads_split(s, [b, h, tq, d]) } else { input(s, [b, h, tq, d], View::Contiguous) };
    let (k, rk) = input(s, [b, h, tk, d], if strided { View::Broadcast } else { View::Contiguous });
    let (v, rv) = input(s, [b, h, tk, dv], if strided { View::Flipped } else { View::Contiguous });
    let (grad, rgrad) = input(s, [b, h, tq, dv], if strided { View::Transposed } else { View::Contiguous });
    let mask = AttentionMask { causal: problem.causal, key_lengths: problem.key_lengths.clone() };
    let case = format!(
        "{:?} causal {} lengths {:?} scale {:.3}{}",
        problem.sizes,
        problem.causal,
        problem.key_lengths,
        problem.scale,
        if strided { " strided" } else { "" }
    );

    let (out_want, lse_want) = problem.forward(&rq, &rk, &rv);
    let outcome = match q.try_attention(&k, &v, &mask, problem.scale) {
        // The products' tolerance where the run relaxes it: every score is one.
        Ok(got) => [("out", got.out), ("lse", got.lse)].into_iter().zip([&out_want, &lse_want]).try_for_each(
            |((name, got), want)| {
                s.compare_product(Ok(got), &want.value, s.magnitude(want)).map_err(|e| format!("{name}: {e}"))
            },
        ),
        Err(e) => Err(format!("error: {e}")),
    };
    s.record("attention", Some(Composite::Attention), case.clone(), outcome);

    let forward = AttentionOutput { out: upload(s, &out_want), lse: upload(s, &lse_want) };
    let wants = problem.backward(&rq, &rk, &rv, &rgrad);
    let outcome = match q.try_attention_backward(&k, &v, &forward, &grad, &mask, problem.scale) {
        Ok((dq, dk, dv)) => {
            [("dq", dq), ("dk", dk), ("dv", dv)].into_iter().zip(&wants).try_for_each(|((name, got), want)| {
                s.compare_product(Ok(got), &want.value, s.magnitude(want)).map_err(|e| format!("{name}: {e}"))
            })
        }
        Err(e) => Err(format!("error: {e}")),
    };
    s.record("attention_backward", Some(Composite::AttentionBackward), case, outcome);
}

impl Suite {
    /// The magnitude a result is compared within: the terms' own, or, where the run relaxes
    /// the products' tolerance for rounded operands, the coarse one (see [`Expected::coarse`]).
    fn magnitude<'a>(&self, expected: &'a Expected) -> &'a [f64] {
        if self.product_rtol.is_some() { &expected.coarse } else { &expected.magnitude }
    }
}

/// The messages of misuse, each a typed error.
fn errors(s: &mut Suite) {
    let device = s.device.clone();
    let zeros = |dims: &[usize], dtype: DType| Tensor::zeros(dims, dtype, &device).expect("zeros");
    let f = s.dtype;
    let (q, k, v) = (zeros(&[2, 3, 5, 4], f), zeros(&[2, 3, 6, 5], f), zeros(&[2, 3, 6, 4], f));
    let none = AttentionMask::none();
    let expect = |got: crate::Result<AttentionOutput>, want: &str| match got {
        Err(e) if e.to_string() == want => Ok(()),
        other => Err(format!("expected `{want}`, got {:?}", other.map(|o| o.out))),
    };
    let cases = [
        (
            "width mismatch",
            expect(
                q.try_attention(&k, &v, &none, 0.5),
                "attention: shapes do not match: lhs [2, 3, 5, 4] vs rhs [2, 3, 6, 5] (k must be [B, H, Tk, d] with the batch, heads and width d of q)",
            ),
        ),
        (
            "keys mismatch",
            expect(
                q.try_attention(&zeros(&[2, 3, 7, 4], f), &v, &none, 0.5),
                "attention: shapes do not match: lhs [2, 3, 7, 4] vs rhs [2, 3, 6, 4] (v must be [B, H, Tk, dv] with the batch, heads and keys of k)",
            ),
        ),
        (
            "rank 3",
            expect(
                zeros(&[3, 5, 4], f).try_attention(&v, &v, &none, 0.5),
                "attention: q, k and v must be [batch, heads, T, d], got a tensor of shape [3, 5, 4]",
            ),
        ),
        (
            "key length past the keys",
            expect(
                q.try_attention(&v, &v, &AttentionMask::causal().with_key_lengths(vec![6, 7]), 0.5),
                "attention: key length 7 of batch entry 1 exceeds the 6 keys",
            ),
        ),
        (
            "integers",
            match zeros(&[1, 1, 2, 2], DType::I64).try_attention(
                &zeros(&[1, 1, 2, 2], DType::I64),
                &zeros(&[1, 1, 2, 2], DType::I64),
                &none,
                1.0,
            ) {
                Err(TensorError::UnsupportedDType { .. }) => Ok(()),
                other => Err(format!("integer attention gave {:?}", other.map(|o| o.out))),
            },
        ),
    ];
    for (case, outcome) in cases {
        s.record("attention", Some(Composite::Attention), format!("error: {case}"), outcome);
    }
    let forward = AttentionOutput { out: zeros(&[2, 3, 5, 4], f), lse: zeros(&[2, 3, 4], f) };
    let outcome = match q.try_attention_backward(&v, &v, &forward, &zeros(&[2, 3, 5, 4], f), &none, 0.5) {
        Err(e) if e.to_string().contains("lhs [2, 3, 5] vs rhs [2, 3, 4] (lse must have the shape on the left)") => {
            Ok(())
        }
        other => Err(format!("a wrong lse shape gave {:?}", other.map(|(dq, _, _)| dq))),
    };
    s.record("attention_backward", Some(Composite::AttentionBackward), "error: lse shape".into(), outcome);
}
