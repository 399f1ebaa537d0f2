//! How big a model a folder may ask for: a `config.json` is checked against its weights file
//! before anything is built, so that sizes a file does not back (a vocabulary of a billion, a
//! width of a million) are a typed error instead of a multi-gigabyte allocation.

use std::path::Path;

use serde_json::Value;

use crate::{NlpError, Result};

/// The longest context a transformer config may ask for (its position tables grow with it).
pub const MAX_CONTEXT: u64 = 1 << 16;

/// A lower bound on the number of values the weights of the model `doc` describes hold: its
/// embedding tables and one `width x width` (or `hidden x hidden`) matrix per layer, plus the
/// feed-forward matrices of a BERT layer and the learned positions of a GPT. Every value Tessera
/// reads from safetensors takes at least 4 bytes (f32, f64, i64), so a weights file smaller than
/// four times this cannot hold the model, and loading it would fail after building it.
fn least_values(doc: &Value) -> u128 {
    let get = |key: &str| doc[key].as_u64().unwrap_or(0) as u128;
    let (vocab, layers) = (get("vocab_size"), get("layers"));
    let product = |factors: &[u128]| factors.iter().fold(1u128, |a, &b| a.saturating_mul(b));
    let sum = |terms: &[u128]| terms.iter().fold(0u128, |a, &b| a.saturating_add(b));
    match doc["architecture"].as_str() {
        Some("bert") => {
            let w = get("width");
            let tables = sum(&[vocab, get("positions"), get("segments")]);
            let layer = sum(&[product(&[w, w]), product(&[w, get("intermediate")])]);
            sum(&[product(&[tables, w]), product(&[layers, layer])])
        }
        Some("gpt") => {
            let w = get("width");
            let positions = if doc["positions"] == "learned" { get("context") } else { 0 };
            sum(&[product(&[sum(&[vocab, positions]), w]), product(&[layers, w, w])])
        }
        _ => {
            let hidden = get("hidden");
            sum(&[product(&[vocab, get("embed")]), product(&[layers, hidden, hidden])])
        }
    }
}

/// Checks that the weights file `weights` is large enough for the model `doc` (read from
/// `config`) describes, and that a transformer's context is at most [`MAX_CONTEXT`].
pub(crate) fn check_config_fits(doc: &Value, config: &Path, weights: &Path) -> Result<()> {
    let bad = |msg: String| NlpError::Parse { path: config.to_path_buf(), line: 0, msg };
    if let Some(context) = doc["context"].as_u64().filter(|&c| c > MAX_CONTEXT) {
        return Err(bad(format!("`context` {context} is over the limit of {MAX_CONTEXT} positions")));
    }
    let bytes =
        std::fs::metadata(weights).map_err(|source| NlpError::Io { path: weights.to_path_buf(), source })?.len();
    let least = least_values(doc);
    if least.saturating_mul(4) > bytes as u128 {
        return Err(bad(format!(
            "the sizes it gives need at least {least} weights, more than {} ({bytes} bytes) can hold",
            weights.display()
        )));
    }
    Ok(())
}
