//! Interpolated modified Kneser-Ney smoothing (Chen & Goodman 1998), computed the way KenLM's
//! `lmplz` does: adjusted counts below the highest order, three discounts per order estimated
//! from counts-of-counts, interpolation down to a uniform distribution over the vocabulary, and
//! the result written in back-off form (the interpolation weight of a context is its back-off).

use super::backoff::{BackoffModel, Level};
use super::counts::{CountTable, NgramCounts};
use super::vocab::NgramVocab;
use crate::{NlpError, Result};

/// The discounts of one order: subtracted from n-grams seen once, twice, and three or more times.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Discounts {
    /// For count 1.
    pub d1: f64,
    /// For count 2.
    pub d2: f64,
    /// For counts of 3 and more.
    pub d3_plus: f64,
}

impl Discounts {
    /// Chen & Goodman's estimate from the numbers of n-grams seen exactly 1, 2, 3 and 4 times:
    /// `Y = n1 / (n1 + 2 n2)`, `D_k = k - (k + 1) Y n_{k+1} / n_k`. `None` when the counts are
    /// too sparse to give discounts in `(0, k)` (tiny corpora).
    pub fn estimate(counts_of_counts: [u64; 4]) -> Option<Discounts> {
        let n = counts_of_counts.map(|c| c as f64);
        let y = n[0] / (n[0] + 2.0 * n[1]);
        let d = |k: usize| k as f64 - (k + 1) as f64 * y * n[k] / n[k - 1];
        let discounts = Discounts { d1: d(1), d2: d(2), d3_plus: d(3) };
        let valid = [discounts.d1, discounts.d2, discounts.d3_plus]
            .iter()
            .enumerate()
            .all(|(i, &d)| d.is_finite() && d > 0.0 && d < (i + 1) as f64);
        valid.then_some(discounts)
    }

    /// The discount for an n-gram counted `count` times.
    pub fn for_count(&self, count: u32) -> f64 {
        match count {
            0 => 0.0,
            1 => self.d1,
            2 => self.d2,
            _ => self.d3_plus,
        }
    }
}

/// Options of [`kneser_ney`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KneserNeyConfig {
    /// Discounts used for an order whose counts-of-counts give no valid estimate (small
    /// corpora); `None` makes that an error. KenLM's `--discount_fallback` uses 0.5, 1, 1.5.
    pub discount_fallback: Option<Discounts>,
}

impl Default for KneserNeyConfig {
    fn default() -> Self {
        KneserNeyConfig { discount_fallback: Some(Discounts { d1: 0.5, d2: 1.0, d3_plus: 1.5 }) }
    }
}

/// The counts-of-counts (n1..n4) of a table's adjusted counts.
fn counts_of_counts(table: &CountTable) -> [u64; 4] {
    let mut n = [0u64; 4];
    for &c in &table.adjusted {
        if (1..=4).contains(&c) {
            n[c as usize - 1] += 1;
        }
    }
    n
}

/// The discounts of every order (index n-1), estimated from `counts`.
pub fn estimate_discounts(counts: &NgramCounts, config: &KneserNeyConfig) -> Result<Vec<Discounts>> {
    (1..=counts.order)
        .map(|n| {
            let coc = counts_of_counts(&counts.tables[n - 1]);
            Discounts::estimate(coc).or(config.discount_fallback).ok_or_else(|| {
                NlpError::Invalid(format!(
                    "order {n}: counts-of-counts {coc:?} give no valid Kneser-Ney discounts; \
                     the corpus is too small (allow a discount fallback)"
                ))
            })
        })
        .collect()
}

/// Per context group of a sorted table: (start, end, total adjusted count, interpolation weight).
fn context_groups<'a>(
    table: &'a CountTable,
    discounts: Discounts,
    context_of: impl Fn(u128) -> u128 + 'a,
) -> impl Iterator<Item = (usize, usize, f64, f64)> + 'a {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start == table.keys.len() {
            return None;
        }
        let context = context_of(table.keys[start]);
        let mut end = start;
        let (mut total, mut removed) = (0.0, 0.0);
        while end < table.keys.len() && context_of(table.keys[end]) == context {
            let count = table.adjusted[end];
            total += count as f64;
            removed += discounts.for_count(count);
            end += 1;
        }
        let group = (start, end, total, removed / total);
        start = end;
        Some(group)
    })
}

/// Builds the interpolated modified Kneser-Ney model of `counts`.
pub fn kneser_ney(counts: NgramCounts, config: &KneserNeyConfig) -> Result<BackoffModel> {
    let discounts = estimate_discounts(&counts, config)?;
    let NgramCounts { order, packer, vocab, mut tables, .. } = counts;

    // Unigrams: discounted adjusted counts, interpolated with the uniform distribution over
    // every word that can be predicted (the vocabulary without <s>).
    let unigrams = std::mem::take(&mut tables[0]);
    let predictable = (vocab.len() - 1) as f64;
    let (_, _, total, gamma) = context_groups(&unigrams, discounts[0], |_| 0).next().unwrap_or((0, 0, 0.0, 1.0));
    let mut probs = vec![gamma / predictable; vocab.len()];
    for (&key, &count) in unigrams.keys.iter().zip(&unigrams.adjusted) {
        probs[key as usize] += (count as f64 - discounts[0].for_count(count)) / total;
    }
    probs[NgramVocab::START_ID as usize] = 0.0;
    let mut levels = vec![Level::unigrams(&probs)];
    drop(unigrams);

    for n in 2..=order {
        let table = std::mem::take(&mut tables[n - 1]);
        let lower_keys = if n == 2 { None } else { Some(&levels[n - 2].keys) };
        let find_lower = |key: u128| match lower_keys {
            None => Some(key as usize),
            Some(keys) => keys.binary_search(&key).ok(),
        };
        let mut level = Level::with_capacity(table.keys.len());
        let mut level_probs = Vec::with_capacity(table.keys.len());
        let mut context_backoffs = Vec::new();
        for (start, end, total, gamma) in context_groups(&table, discounts[n - 1], |k| packer.context(k)) {
            for i in start..end {
                let key = table.keys[i];
                let lower = find_lower(packer.suffix(key, n)).ok_or_else(|| missing(n - 1))?;
                let count = table.adjusted[i];
                let p = (count as f64 - discounts[n - 1].for_count(count)) / total + gamma * probs[lower];
                level.push(key, p.log10() as f32, 0.0);
                level_probs.push(p);
            }
            let context = find_lower(packer.context(table.keys[start])).ok_or_else(|| missing(n - 1))?;
            context_backoffs.push((context, gamma.log10() as f32));
        }
        for (at, backoff) in context_backoffs {
            levels[n - 2].log10_backoff[at] = backoff;
        }
        levels.push(level);
        probs = level_probs;
    }
    Ok(BackoffModel { order, packer, vocab, levels })
}

fn missing(n: usize) -> NlpError {
    NlpError::Invalid(format!("inconsistent counts: a needed {n}-gram is missing"))
}
