//! Corpus BLEU and chrF, computed exactly as sacreBLEU 2.x does by default.
//!
//! - [`corpus_bleu`]: the `13a` tokenizer ([`tokenize_13a`]), case-sensitive, n-grams up to 4,
//!   `exp` smoothing (mteval-v13a's), one reference per hypothesis.
//! - [`corpus_chrf`]: character n-grams up to 6 with whitespace removed, β = 2, no word n-grams,
//!   precision and recall averaged over the orders both sides have (sacreBLEU's default, not the
//!   ε-smoothed variant).
//!
//! Both take detokenised text. Scores are on sacreBLEU's 0-100 scale; the committed fixture
//! `tests/fixtures/mt_metrics.json` (made by `xtask/peers/make_mt_metric_fixtures.py`) holds
//! sacreBLEU's own numbers, and `tests/metrics.rs` checks ours against them.

mod bleu;
mod chrf;
mod tok13a;

pub use bleu::{Bleu, corpus_bleu};
pub use chrf::corpus_chrf;
pub use tok13a::tokenize_13a;

use crate::{Result, TranslateError};

/// Python's `str.isspace` (what `str.split()` splits on): Unicode White_Space plus the four
/// ASCII information separators `\x1c`-`\x1f`, which Rust's `char::is_whitespace` leaves out.
pub(crate) fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `line.split()`: the runs of non-whitespace.
pub(crate) fn python_split(line: &str) -> impl Iterator<Item = &str> {
    line.split(is_python_space).filter(|w| !w.is_empty())
}

/// Checks that there is one reference per hypothesis.
fn check_pairs(hypotheses: &[String], references: &[String]) -> Result<()> {
    if hypotheses.len() != references.len() {
        return Err(TranslateError::Invalid(format!(
            "{} hypotheses but {} references: scoring needs one reference per hypothesis",
            hypotheses.len(),
            references.len()
        )));
    }
    Ok(())
}
