//! The linear-chain CRF against brute-force enumeration of every tag path on tiny sequences
//! (log-partition, path score, Viterbi, with and without IOB2 constraints and padding), a
//! gradient check through the emissions, finite differences through its own parameters, and
//! the char-CNN word encoder's shapes and gradient.

use std::sync::Arc;

use autograd::{GradcheckOptions, Var, gradcheck};
use backend_cpu::CpuDevice;
use nn_layers::ModuleExt;
use nn_layers::layers::{CharCnn, CharCnnConfig, Crf, TransitionMask};
use tensor_core::{DType, Device, Tensor, TensorRng};

fn dev() -> Arc<dyn Device> {
    CpuDevice::shared()
}

/// Score of `path` over row-major emissions `e` (`[len, k]`) with the CRF's (masked) scores.
fn path_score(crf: &Crf, e: &[f64], k: usize, path: &[usize]) -> f64 {
    let trans = crf.transitions.value().to_f64_vec().unwrap();
    let start = crf.start.value().to_f64_vec().unwrap();
    let end = crf.end.value().to_f64_vec().unwrap();
    let mask = crf.mask();
    let penalty = |ok: bool| if ok { 0.0 } else { nn_layers::layers::FORBIDDEN };
    let mut s = start[path[0]] + mask.map_or(0.0, |m| penalty(m.allows_start(path[0])));
    for (t, &y) in path.iter().enumerate() {
        s += e[t * k + y];
        if t > 0 {
            s += trans[path[t - 1] * k + y] + mask.map_or(0.0, |m| penalty(m.allows(path[t - 1], y)));
        }
    }
    s + end[*path.last().unwrap()]
}

/// Every path of `len` tags over `k` tags.
fn all_paths(len: usize, k: usize) -> Vec<Vec<usize>> {
    (0..k.pow(len as u32))
        .map(|mut code| {
            (0..len)
                .map(|_| {
                    let y = code % k;
                    code /= k;
                    y
                })
                .collect()
        })
        .collect()
}

/// (log Z, best path) by enumeration for sequence `b` of `[N, T, k]` emissions.
fn brute(crf: &Crf, e: &[f64], steps: usize, k: usize, b: usize, len: usize) -> (f64, Vec<usize>) {
    let rows = &e[b * steps * k..(b * steps + len) * k];
    let scored: Vec<(f64, Vec<usize>)> =
        all_paths(len, k).into_iter().map(|p| (path_score(crf, rows, k, &p), p)).collect();
    let max = scored.iter().map(|s| s.0).fold(f64::NEG_INFINITY, f64::max);
    let log_z = max + scored.iter().map(|s| (s.0 - max).exp()).sum::<f64>().ln();
    let best = scored.into_iter().fold((f64::NEG_INFINITY, vec![]), |a, c| if c.0 > a.0 { c } else { a });
    (log_z, best.1)
}

fn check_against_brute_force(crf: &Crf, lengths: &[usize], seed: u64) {
    let (n, steps, k) = (lengths.len(), *lengths.iter().max().unwrap(), crf.tags());
    let emissions = TensorRng::new(seed).normal([n, steps, k], 0.0, 1.5, DType::F64, &dev()).unwrap();
    let e = emissions.to_f64_vec().unwrap();
    let log_z = crf.log_partition(&Var::constant(emissions.clone()), lengths).unwrap().value().to_f64_vec().unwrap();
    let decoded = crf.decode(&emissions, lengths).unwrap();
    for (b, &len) in lengths.iter().enumerate() {
        let (want_z, want_path) = brute(crf, &e, steps, k, b, len);
        assert!((log_z[b] - want_z).abs() < 1e-9, "sequence {b}: log Z {} vs brute force {want_z}", log_z[b]);
        assert_eq!(decoded[b], want_path, "sequence {b}: Viterbi vs brute force");
        // The loss of one sequence is log Z minus its gold path's score.
        let gold: Vec<i64> = (0..steps).map(|t| ((t + b) % k) as i64).collect();
        let single = Var::constant(emissions.narrow(0, b, 1));
        let tags = Tensor::from_vec(gold.clone(), [1, steps], &dev()).unwrap();
        let loss = crf.loss(&single, &tags, &[len]).unwrap().value().to_scalar().unwrap();
        let path: Vec<usize> = gold[..len].iter().map(|&g| g as usize).collect();
        let want = want_z - path_score(crf, &e[b * steps * k..(b * steps + len) * k], k, &path);
        assert!((loss - want).abs() < 1e-9, "sequence {b}: loss {loss} vs {want}");
    }
}

#[test]
fn log_partition_score_and_viterbi_match_enumeration() {
    let crf = Crf::with_dtype(3, DType::F64, &mut TensorRng::new(1), &dev()).unwrap();
    // Random scores large enough that the transitions matter.
    crf.transitions.set_value(TensorRng::new(2).normal([3, 3], 0.0, 1.0, DType::F64, &dev()).unwrap()).unwrap();
    check_against_brute_force(&crf, &[4], 3);
    check_against_brute_force(&crf, &[4, 1, 3, 2], 4); // padded batch, lengths out of order
}

#[test]
fn iob2_constraints_forbid_and_enumeration_agrees() {
    let names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];
    let mask = TransitionMask::iob2(&names).unwrap();
    assert!(mask.allows(1, 2) && mask.allows(2, 2) && mask.allows(0, 1) && mask.allows(2, 3));
    assert!(!mask.allows(0, 2) && !mask.allows(3, 2) && !mask.allows(4, 2) && !mask.allows(1, 4));
    assert!(mask.allows_start(0) && mask.allows_start(1) && !mask.allows_start(2) && !mask.allows_start(4));
    let crf = Crf::with_dtype(5, DType::F64, &mut TensorRng::new(5), &dev()).unwrap().with_mask(mask.clone()).unwrap();
    check_against_brute_force(&crf, &[3, 2], 6);
    // Emissions that shout I-PER everywhere still decode to a valid IOB2 path.
    let mut e = vec![0.0; 4 * 5];
    (0..4).for_each(|t| e[t * 5 + 2] = 10.0);
    let paths = crf.decode(&Tensor::from_vec(e, [1, 4, 5], &dev()).unwrap(), &[4]).unwrap();
    assert_eq!(paths[0][0], 1, "an I-PER run must open with B-PER: {:?}", paths[0]);
    assert!(paths[0].windows(2).all(|w| mask.allows(w[0], w[1])), "{:?}", paths[0]);
    assert!(TransitionMask::iob2(&["O", "S-PER"]).unwrap_err().to_string().contains("S-PER"));
    assert!(Crf::new(3, &mut TensorRng::new(0), &dev()).unwrap().with_mask(mask).is_err());
}

#[test]
fn gradient_through_emissions_is_checked() {
    let crf = Crf::with_dtype(3, DType::F64, &mut TensorRng::new(7), &dev()).unwrap();
    let crf = crf.with_mask(TransitionMask::iob2(&["O", "B-X", "I-X"]).unwrap()).unwrap();
    let tags = Tensor::from_vec(vec![1i64, 2, 0, 0, 1, 0], [2, 3], &dev()).unwrap();
    let emissions = TensorRng::new(8).normal([2, 3, 3], 0.0, 1.0, DType::F64, &dev()).unwrap();
    gradcheck(|x| crf.loss(&x[0], &tags, &[3, 2]), &[emissions], GradcheckOptions::default()).unwrap();
}

#[test]
fn gradient_of_own_parameters_matches_finite_differences() {
    let crf = Crf::with_dtype(3, DType::F64, &mut TensorRng::new(9), &dev()).unwrap();
    let tags = Tensor::from_vec(vec![1i64, 2, 0, 2, 1, 0], [2, 3], &dev()).unwrap();
    let emissions = Var::constant(TensorRng::new(10).normal([2, 3, 3], 0.0, 1.0, DType::F64, &dev()).unwrap());
    let loss = || crf.loss(&emissions, &tags, &[3, 2]).unwrap();
    loss().backward().unwrap();
    for (name, param) in crf.parameters() {
        let analytic = param.grad().unwrap().to_f64_vec().unwrap();
        let base = param.value().to_f64_vec().unwrap();
        for i in 0..base.len() {
            let at = |delta: f64| {
                let mut v = base.clone();
                v[i] += delta;
                param.set_value(Tensor::from_vec(v, param.value().dims().to_vec(), &dev()).unwrap()).unwrap();
                loss().value().to_scalar().unwrap()
            };
            let numeric = (at(1e-6) - at(-1e-6)) / 2e-6;
            param.set_value(Tensor::from_vec(base.clone(), param.value().dims().to_vec(), &dev()).unwrap()).unwrap();
            assert!((numeric - analytic[i]).abs() < 1e-6, "{name}[{i}]: {} vs {numeric}", analytic[i]);
        }
    }
}

#[test]
fn bad_shapes_and_tags_are_errors() {
    let crf = Crf::new(3, &mut TensorRng::new(0), &dev()).unwrap();
    let e = Var::constant(Tensor::zeros([2, 4, 3], DType::F32, &dev()).unwrap());
    assert!(crf.log_partition(&e, &[4]).is_err(), "one length for two sequences");
    assert!(crf.log_partition(&e, &[4, 0]).is_err(), "an empty sequence");
    assert!(crf.log_partition(&e, &[5, 1]).is_err(), "a length past T");
    let wrong_k = Var::constant(Tensor::zeros([2, 4, 2], DType::F32, &dev()).unwrap());
    assert!(crf.log_partition(&wrong_k, &[4, 4]).is_err());
    let bad = Tensor::from_vec(vec![0i64, 1, 3, 0, 0, 0, 0, 0], [2, 4], &dev()).unwrap();
    assert!(crf.loss(&e, &bad, &[4, 1]).unwrap_err().to_string().contains("outside"));
    // A bad tag in the padding is ignored.
    let padded = Tensor::from_vec(vec![0i64, 1, 2, 0, 0, 9, 9, 9], [2, 4], &dev()).unwrap();
    assert!(crf.loss(&e, &padded, &[4, 1]).is_ok());
}

#[test]
fn char_cnn_pools_one_feature_per_word_and_trains() {
    let config = CharCnnConfig { chars: 10, char_dim: 4, filters: 6, kernel: 3, dropout: 0.0 };
    let cnn = CharCnn::new(&config, &mut TensorRng::new(0), &dev()).unwrap();
    let ids = Tensor::from_vec(vec![1i64, 2, 3, 0, 4, 5, 0, 0, 6, 0, 0, 0], [3, 4], &dev()).unwrap();
    let features = cnn.encode(&ids).unwrap();
    assert_eq!(features.dims(), [3, 6]);
    features.sum_all().unwrap().backward().unwrap();
    let names: Vec<String> = cnn.parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["chars.weight", "conv.weight", "conv.bias"]);
    assert!(cnn.parameters().iter().all(|(_, p)| p.grad().is_some()));
    let even = CharCnnConfig { kernel: 2, ..config };
    assert!(CharCnn::new(&even, &mut TensorRng::new(0), &dev()).is_err());
}
