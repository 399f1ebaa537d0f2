//! Katz back-off with Good-Turing discounting (Katz 1987), the classic back-off baseline:
//! counts up to 5 are discounted by Good-Turing's ratio, and the freed mass goes to the
//! lower order, renormalised over the words the context has not been seen with.

use super::backoff::{BackoffModel, LOG10_IMPOSSIBLE, Level};
use super::counts::{CountTable, NgramCounts};
use super::vocab::NgramVocab;
use crate::Result;

/// Counts above this are trusted as they are (Katz's k).
const KATZ_MAX_DISCOUNTED: usize = 5;

/// Good-Turing discount ratios `d_r` for r = 1..=5 from a table's raw counts-of-counts:
/// `d_r = (r*/r - (k+1) n_{k+1}/n_1) / (1 - (k+1) n_{k+1}/n_1)` with `r* = (r+1) n_{r+1}/n_r`.
/// A ratio outside (0, 1] (sparse counts) falls back to 1, no discount.
fn good_turing_ratios(table: &CountTable) -> [f64; KATZ_MAX_DISCOUNTED + 1] {
    let mut n = [0f64; KATZ_MAX_DISCOUNTED + 2];
    for &c in &table.raw {
        if (c as usize) <= KATZ_MAX_DISCOUNTED + 1 {
            n[c as usize] += 1.0;
        }
    }
    let k = KATZ_MAX_DISCOUNTED;
    let common = (k + 1) as f64 * n[k + 1] / n[1];
    let mut ratios = [1.0; KATZ_MAX_DISCOUNTED + 1];
    for r in 1..=k {
        let r_star = (r + 1) as f64 * n[r + 1] / n[r];
        let d = (r_star / r as f64 - common) / (1.0 - common);
        if d.is_finite() && d > 0.0 && d <= 1.0 {
            ratios[r] = d;
        }
    }
    ratios
}

fn discounted(ratios: &[f64; KATZ_MAX_DISCOUNTED + 1], count: u32) -> f64 {
    let ratio = ratios.get(count as usize).copied().unwrap_or(1.0);
    ratio * count as f64
}

/// Builds the Katz back-off model of `counts`.
pub fn katz(counts: NgramCounts) -> Result<BackoffModel> {
    let NgramCounts { order, packer, vocab, mut tables, .. } = counts;

    // Unigrams: discounted relative frequencies; the freed mass is shared by the words never
    // seen (at least `<unk>` when it is not in the corpus), or renormalised away when none is.
    let unigrams = std::mem::take(&mut tables[0]);
    let ratios = good_turing_ratios(&unigrams);
    let total: f64 = unigrams.raw.iter().map(|&c| c as f64).sum();
    let mut probs = vec![0.0; vocab.len()];
    for (&key, &count) in unigrams.keys.iter().zip(&unigrams.raw) {
        probs[key as usize] = discounted(&ratios, count) / total;
    }
    let unseen: Vec<usize> =
        (0..vocab.len()).filter(|&w| probs[w] == 0.0 && w != NgramVocab::START_ID as usize).collect();
    let freed = 1.0 - probs.iter().sum::<f64>();
    if unseen.is_empty() {
        probs.iter_mut().for_each(|p| *p /= 1.0 - freed);
    } else {
        unseen.iter().for_each(|&w| probs[w] = freed / unseen.len() as f64);
    }
    let mut levels = vec![Level::unigrams(&probs)];

    for n in 2..=order {
        let table = std::mem::take(&mut tables[n - 1]);
        let ratios = good_turing_ratios(&table);
        let lower = &levels[n - 2];
        let find_lower = |key: u128| if n == 2 { Some(key as usize) } else { lower.keys.binary_search(&key).ok() };
        let lower_prob = |key: u128| find_lower(key).map_or(0.0, |i| 10f64.powf(lower.log10_prob[i] as f64));
        let mut level = Level::with_capacity(table.keys.len());
        let mut context_backoffs = Vec::new();
        let mut start = 0;
        while start < table.keys.len() {
            let context = packer.context(table.keys[start]);
            let end = start + table.keys[start..].iter().take_while(|&&k| packer.context(k) == context).count();
            let total: f64 = table.raw[start..end].iter().map(|&c| c as f64).sum();
            let (mut kept, mut lower_kept) = (0.0, 0.0);
            for i in start..end {
                let p = discounted(&ratios, table.raw[i]) / total;
                kept += p;
                lower_kept += lower_prob(packer.suffix(table.keys[i], n));
                level.push(table.keys[i], p.log10() as f32, 0.0);
            }
            let alpha = (1.0 - kept).max(0.0) / (1.0 - lower_kept).max(f64::MIN_POSITIVE);
            let backoff = if alpha > 0.0 { alpha.log10() as f32 } else { LOG10_IMPOSSIBLE };
            if let Some(at) = find_lower(context) {
                context_backoffs.push((at, backoff));
            }
            start = end;
        }
        for (at, backoff) in context_backoffs {
            levels[n - 2].log10_backoff[at] = backoff;
        }
        levels.push(level);
    }
    Ok(BackoffModel { order, packer, vocab, levels })
}
