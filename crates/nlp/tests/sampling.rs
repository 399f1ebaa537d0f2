//! Token sampling: each filter keeps what its definition says, seeds reproduce, and the empirical
//! frequencies of many draws match the distribution they are drawn from.

use nlp::lm::sampling::{Sampler, SamplingConfig, SamplingError, top_k_tokens};
use proptest::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// Logits in [-scale, scale), fixed by `seed`.
fn random_logits(vocab: usize, scale: f32, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..vocab).map(|_| ((rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * scale).collect()
}

/// Reference softmax of `logits / temperature` in f64.
fn softmax(logits: &[f32], temperature: f64) -> Vec<f64> {
    let max = logits.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
    let weights: Vec<f64> = logits.iter().map(|&l| ((l as f64 - max) / temperature).exp()).collect();
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| w / total).collect()
}

/// Logits whose softmax is `probabilities` (up to f32 rounding).
fn logits_of(probabilities: &[f64]) -> Vec<f32> {
    probabilities.iter().map(|p| p.ln() as f32).collect()
}

/// Token ids ordered from most to least likely, ties to the lower id.
fn ranked(logits: &[f32]) -> Vec<u32> {
    let mut ids: Vec<u32> = (0..logits.len() as u32).collect();
    ids.sort_by(|&a, &b| logits[b as usize].total_cmp(&logits[a as usize]).then(a.cmp(&b)));
    ids
}

fn sampler(config: SamplingConfig) -> Sampler {
    Sampler::new(config).expect("valid config")
}

fn kept_ids(config: SamplingConfig, logits: &[f32]) -> Vec<u32> {
    let mut ids: Vec<u32> = sampler(config).distribution(logits, &[]).unwrap().into_iter().map(|(t, _)| t).collect();
    ids.sort_unstable();
    ids
}

fn nucleus(p: f32) -> SamplingConfig {
    SamplingConfig { top_p: Some(p), ..SamplingConfig::with_temperature(1.0, 0) }
}

/// Counts of each token over `draws` samples.
fn histogram(sampler: &mut Sampler, logits: &[f32], draws: usize) -> Vec<usize> {
    let mut counts = vec![0; logits.len()];
    for _ in 0..draws {
        counts[sampler.sample(logits, &[]).unwrap() as usize] += 1;
    }
    counts
}

/// Pearson's chi-square statistic of `counts` against `probabilities` (cells of probability 0
/// must have count 0, checked).
fn chi_square(counts: &[usize], probabilities: &[f64]) -> f64 {
    let draws: usize = counts.iter().sum();
    counts
        .iter()
        .zip(probabilities)
        .map(|(&c, &p)| {
            if p == 0.0 {
                assert_eq!(c, 0, "a token of probability 0 was drawn");
                return 0.0;
            }
            let expected = p * draws as f64;
            (c as f64 - expected).powi(2) / expected
        })
        .sum()
}

#[test]
fn top_k_never_emits_a_token_outside_the_k_most_likely() {
    let logits = random_logits(50, 3.0, 11);
    let allowed: Vec<u32> = ranked(&logits)[..5].to_vec();
    let config = SamplingConfig { top_k: Some(5), ..SamplingConfig::with_temperature(1.5, 3) };
    let counts = histogram(&mut sampler(config), &logits, 20_000);
    for (token, &count) in counts.iter().enumerate() {
        if allowed.contains(&(token as u32)) {
            assert!(count > 0, "top-5 token {token} never drawn in 20000 draws");
        } else {
            assert_eq!(count, 0, "token {token} is not among the 5 most likely {allowed:?}");
        }
    }
    let mut allowed_by_id = allowed;
    allowed_by_id.sort_unstable();
    assert_eq!(kept_ids(config, &logits), allowed_by_id);
}

#[test]
fn top_k_breaks_a_tie_at_the_boundary_towards_lower_ids() {
    let logits = [1.0, 3.0, 2.0, 2.0, 2.0];
    let config = SamplingConfig { top_k: Some(3), ..SamplingConfig::default() };
    assert_eq!(kept_ids(config, &logits), vec![1, 2, 3]);
}

#[test]
fn top_p_keeps_the_smallest_set_whose_mass_reaches_p() {
    let logits = logits_of(&[0.1, 0.4, 0.2, 0.3]);
    assert_eq!(kept_ids(nucleus(0.3), &logits), vec![1], "the most likely token alone reaches 0.3");
    assert_eq!(kept_ids(nucleus(0.4), &logits), vec![1], "mass exactly p counts as reaching it");
    assert_eq!(kept_ids(nucleus(0.41), &logits), vec![1, 3]);
    assert_eq!(kept_ids(nucleus(0.7), &logits), vec![1, 3]);
    assert_eq!(kept_ids(nucleus(0.75), &logits), vec![1, 2, 3]);
    assert_eq!(kept_ids(nucleus(0.95), &logits), vec![0, 1, 2, 3]);
    assert_eq!(kept_ids(nucleus(1.0), &logits), vec![0, 1, 2, 3]);
    assert_eq!(kept_ids(nucleus(0.01), &logits_of(&[0.2; 5])), vec![0], "always at least one token");

    // The kept set is renormalised: 0.4 and 0.3 become 4/7 and 3/7.
    let mut kept = sampler(nucleus(0.7)).distribution(&logits, &[]).unwrap();
    kept.sort_by_key(|&(t, _)| t);
    assert!((kept[0].1 - 4.0 / 7.0).abs() < 1e-6 && (kept[1].1 - 3.0 / 7.0).abs() < 1e-6, "{kept:?}");
}

#[test]
fn top_p_takes_tied_tokens_lowest_id_first_and_stops_at_p() {
    let uniform = logits_of(&[0.25; 4]);
    assert_eq!(kept_ids(nucleus(0.5), &uniform), vec![0, 1]);
    assert_eq!(kept_ids(nucleus(0.6), &uniform), vec![0, 1, 2]);
    let tied_tail = logits_of(&[0.3, 0.4, 0.3]);
    assert_eq!(kept_ids(nucleus(0.7), &tied_tail), vec![0, 1], "one of the tied 0.3 tokens suffices");
    assert_eq!(kept_ids(nucleus(0.71), &tied_tail), vec![0, 1, 2]);
}

#[test]
fn top_p_measures_mass_after_top_k_renormalises() {
    // Top-k 2 keeps {1, 3} with mass 0.4 and 0.3, renormalised to 4/7 = 0.571 and 3/7.
    let logits = logits_of(&[0.1, 0.4, 0.2, 0.3]);
    let both = |p| SamplingConfig { top_k: Some(2), ..nucleus(p) };
    assert_eq!(kept_ids(both(0.57), &logits), vec![1], "4/7 of the renormalised mass reaches 0.57");
    assert_eq!(kept_ids(nucleus(0.57), &logits), vec![1, 3], "0.4 of the whole mass does not");
    assert_eq!(kept_ids(both(0.58), &logits), vec![1, 3]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// For any distribution and p, the kept set is made of the most likely tokens, reaches p, and
    /// dropping its least likely member would fall short of p.
    #[test]
    fn top_p_kept_set_is_minimal(seed in 0u64..1_000, vocab in 1usize..2_000, p in 0.05f32..1.0, temperature in 0.3f32..3.0) {
        let logits = random_logits(vocab, 4.0, seed);
        let config = SamplingConfig { top_p: Some(p), ..SamplingConfig::with_temperature(temperature, seed) };
        let kept = kept_ids(config, &logits);
        let probabilities = softmax(&logits, temperature as f64);
        let order = ranked(&logits);
        let mut expected: Vec<u32> = order[..kept.len()].to_vec();
        expected.sort_unstable();
        prop_assert_eq!(&kept, &expected, "kept tokens are not the most likely ones");
        let mass: f64 = kept.iter().map(|&t| probabilities[t as usize]).sum();
        prop_assert!(mass >= p as f64 - 1e-5, "kept mass {} is below p {}", mass, p);
        let least_likely = order[kept.len() - 1] as usize;
        prop_assert!(mass - probabilities[least_likely] < p as f64 + 1e-5, "the set is not the smallest one");
    }
}

#[test]
fn temperature_towards_zero_equals_greedy() {
    let mut checked = 0;
    for seed in 0..200 {
        let logits = random_logits(100, 5.0, seed);
        let order = ranked(&logits);
        let gap = logits[order[0] as usize] - logits[order[1] as usize];
        if gap < 1e-2 {
            continue; // Near-tied maxima share the mass at any positive temperature.
        }
        checked += 1;
        let greedy = sampler(SamplingConfig::greedy()).sample(&logits, &[]).unwrap();
        assert_eq!(greedy, order[0], "greedy is the argmax");
        let mut cold = sampler(SamplingConfig::with_temperature(1e-4, seed));
        for _ in 0..20 {
            assert_eq!(cold.sample(&logits, &[]).unwrap(), greedy, "seed {seed}: temperature 1e-4 left the argmax");
        }
    }
    assert!(checked > 150, "only {checked} of 200 logit vectors had a clear maximum");
}

#[test]
fn greedy_ties_go_to_the_lowest_id_and_ignore_the_seed() {
    let logits = [1.0, 3.0, f32::NEG_INFINITY, 3.0, 2.0];
    for seed in 0..10 {
        let mut greedy = sampler(SamplingConfig::greedy().seeded(seed));
        assert_eq!(greedy.sample(&logits, &[]).unwrap(), 1);
    }
    assert_eq!(sampler(SamplingConfig::greedy()).distribution(&logits, &[]).unwrap(), vec![(1, 1.0)]);
}

#[test]
fn a_fixed_seed_reproduces_the_sequence_and_another_seed_differs() {
    let logits = random_logits(1_000, 2.0, 5);
    let config = SamplingConfig { top_k: Some(200), top_p: Some(0.95), ..SamplingConfig::with_temperature(0.9, 7) };
    let run = |config: SamplingConfig| {
        let mut sampler = sampler(config);
        let mut history = Vec::new();
        for _ in 0..200 {
            let token = sampler.sample(&logits, &history).unwrap();
            history.push(token);
        }
        history
    };
    let first = run(config);
    assert_eq!(first, run(config), "same seed, same tokens");
    let other = run(config.seeded(8));
    let differing = first.iter().zip(&other).filter(|(a, b)| a != b).count();
    assert!(differing > 100, "seeds 7 and 8 agree on {} of 200 tokens", 200 - differing);
}

#[test]
fn repetition_penalty_lowers_a_seen_token_probability_whatever_its_sign() {
    let logits = [2.0, -1.0, 0.5, 1.0];
    let plain = sampler(SamplingConfig::default());
    let penalised = sampler(SamplingConfig { repetition_penalty: 1.5, ..SamplingConfig::default() });
    let probability = |s: &Sampler, history: &[u32], token: u32| {
        s.distribution(&logits, history).unwrap().into_iter().find(|&(t, _)| t == token).unwrap().1
    };
    for token in [0, 1] {
        let before = probability(&plain, &[token], token);
        let after = probability(&penalised, &[token], token);
        assert!(after < before, "token {token} (logit {}): {before} -> {after}", logits[token as usize]);
        let untouched = probability(&penalised, &[token], 2);
        assert!(untouched > probability(&plain, &[token], 2), "other tokens gain the mass");
    }
    // CTRL's rule exactly: 2.0 / 1.5 and -1.0 * 1.5, once however often a token was seen.
    let expected = softmax(&[2.0 / 1.5, -1.5, 0.5, 1.0], 1.0);
    for history in [&[0u32, 1][..], &[1, 0, 0, 1, 1]] {
        let mut got = penalised.distribution(&logits, history).unwrap();
        got.sort_by_key(|&(t, _)| t);
        for (&(_, p), &q) in got.iter().zip(&expected) {
            assert!((p - q).abs() < 1e-7, "history {history:?}: {got:?} vs {expected:?}");
        }
    }
}

#[test]
fn repetition_penalty_changes_the_greedy_choice() {
    let logits = [3.0, 2.5, 0.0];
    let config = SamplingConfig { repetition_penalty: 1.3, ..SamplingConfig::greedy() };
    assert_eq!(sampler(config).sample(&logits, &[]).unwrap(), 0);
    assert_eq!(sampler(config).sample(&logits, &[0]).unwrap(), 1, "3.0 / 1.3 = 2.31 < 2.5");
}

#[test]
fn empirical_frequencies_match_the_softmax() {
    let logits = random_logits(8, 2.0, 21);
    let draws = 200_000;
    let counts = histogram(&mut sampler(SamplingConfig::with_temperature(0.8, 1)), &logits, draws);
    let probabilities = softmax(&logits, 0.8);
    // 7 degrees of freedom: the 1e-6 upper tail starts at 40.5.
    let statistic = chi_square(&counts, &probabilities);
    assert!(statistic < 40.5, "chi-square {statistic:.1}: counts {counts:?} vs {probabilities:?}");
    let worst =
        counts.iter().zip(&probabilities).map(|(&c, &p)| (c as f64 / draws as f64 - p).abs()).fold(0.0, f64::max);
    assert!(worst < 0.005, "largest frequency error {worst}");
}

#[test]
fn empirical_frequencies_match_the_filtered_distribution() {
    let logits = random_logits(30, 2.0, 4);
    let config = SamplingConfig { top_k: Some(10), top_p: Some(0.8), ..SamplingConfig::with_temperature(1.2, 9) };
    let mut expected = vec![0.0; logits.len()];
    for (token, p) in sampler(config).distribution(&logits, &[]).unwrap() {
        expected[token as usize] = p;
    }
    let kept = expected.iter().filter(|&&p| p > 0.0).count();
    assert!((2..10).contains(&kept), "the crafted case should filter: {kept} kept");
    let counts = histogram(&mut sampler(config), &logits, 100_000);
    // At most 9 degrees of freedom: the 1e-6 upper tail starts at 48.
    let statistic = chi_square(&counts, &expected);
    assert!(statistic < 48.0, "chi-square {statistic:.1}: counts {counts:?} vs {expected:?}");
}

#[test]
fn masked_tokens_are_never_drawn() {
    let logits = [0.0, f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY];
    let counts = histogram(&mut sampler(SamplingConfig::default()), &logits, 2_000);
    assert_eq!((counts[1], counts[3]), (0, 0));
    assert!(counts[0] > 800 && counts[2] > 800, "{counts:?}");
}

#[test]
fn top_k_tokens_gives_log_probabilities_most_likely_first() {
    let logits = [0.5, 2.0, -1.0, 2.0, f32::NEG_INFINITY];
    let top = top_k_tokens(&logits, 3).unwrap();
    let probabilities = softmax(&logits, 1.0);
    assert_eq!(top.iter().map(|&(t, _)| t).collect::<Vec<_>>(), vec![1, 3, 0], "ties to the lower id");
    for &(token, log_p) in &top {
        assert!((log_p as f64 - probabilities[token as usize].ln()).abs() < 1e-6, "{top:?}");
    }
    let all = top_k_tokens(&logits, 100).unwrap();
    assert_eq!(all.len(), 4, "masked tokens are left out");
    let mass: f64 = all.iter().map(|&(_, l)| (l as f64).exp()).sum();
    assert!((mass - 1.0).abs() < 1e-6, "log-probabilities of every token sum to {mass}");
    assert!(top_k_tokens(&logits, 0).unwrap().is_empty());
}

#[test]
fn bad_logits_and_configs_are_typed_errors() {
    let mut plain = sampler(SamplingConfig::default());
    assert_eq!(plain.sample(&[], &[]), Err(SamplingError::EmptyLogits));
    assert_eq!(
        plain.sample(&[0.0, f32::NAN], &[]).unwrap_err().to_string(),
        "sampling: logit 1 is NaN; logits must be finite or -inf"
    );
    assert_eq!(
        plain.sample(&[f32::INFINITY], &[]),
        Err(SamplingError::InvalidLogit { index: 0, value: f32::INFINITY })
    );
    assert_eq!(plain.sample(&[f32::NEG_INFINITY; 3], &[]), Err(SamplingError::NoCandidate { vocab: 3 }));
    assert_eq!(plain.sample(&[0.0, 1.0], &[2]), Err(SamplingError::HistoryOutOfVocab { token: 2, vocab: 2 }));
    assert!(
        matches!(top_k_tokens(&[1.0, f32::NAN], 1), Err(SamplingError::InvalidLogit { index: 1, value }) if value.is_nan())
    );
    assert!(matches!(top_k_tokens(&[], 1), Err(SamplingError::EmptyLogits)));

    let base = SamplingConfig::default();
    let invalid = [
        (SamplingConfig { temperature: -0.1, ..base }, "temperature -0.1"),
        (SamplingConfig { temperature: f32::NAN, ..base }, "temperature NaN"),
        (SamplingConfig { top_k: Some(0), ..base }, "top_k must be at least 1"),
        (SamplingConfig { top_p: Some(0.0), ..base }, "top_p 0 must"),
        (SamplingConfig { top_p: Some(1.5), ..base }, "top_p 1.5 must"),
        (SamplingConfig { top_p: Some(f32::NAN), ..base }, "top_p NaN must"),
        (SamplingConfig { repetition_penalty: 0.0, ..base }, "repetition penalty 0 must"),
        (SamplingConfig { repetition_penalty: f32::INFINITY, ..base }, "repetition penalty inf must"),
    ];
    for (config, message) in invalid {
        let error = Sampler::new(config).unwrap_err().to_string();
        assert!(error.contains(message), "{config:?}: `{error}` does not mention `{message}`");
    }
}
