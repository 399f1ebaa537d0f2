//! How big a model a translation folder may ask for: the `model` entry of its `config.json` is
//! checked against the weights file before the model is built, so that sizes no file backs (a
//! vocabulary of a billion, a width of a million) are a typed error and not an allocation the
//! input cannot justify.

use std::path::Path;

use nn_layers::checkpoint::{check_weights_hold, saturating_product as product};
use serde_json::Value;

use crate::{Result, TranslateError};

/// The most positions a transformer config may ask for (its position tables grow with it).
pub const MAX_POSITIONS: u64 = 1 << 16;

/// A lower bound on the values the weights of the model `model` describes hold: its embedding
/// tables and, per layer, one square matrix (and a transformer's feed-forward matrix).
fn least_values(model: &Value) -> u128 {
    let get = |key: &str| model[key].as_u64().unwrap_or(0);
    let layers = get("layers");
    if model["arch"] == "transformer" {
        let (w, vocab) = (get("width"), get("vocab_size"));
        let source = if model["shared_embeddings"] == true { 0 } else { get("source_vocab") };
        let positions = if model["positions"] == "learned" { get("max_positions") } else { 0 };
        let tables = product(&[vocab.saturating_add(source).saturating_add(positions), w]);
        let layer = product(&[w, w]).saturating_add(product(&[w, get("ff")]));
        tables.saturating_add(u128::from(layers).saturating_mul(layer))
    } else {
        let hidden = get("hidden");
        product(&[get("vocab_size"), get("embed")]).saturating_add(product(&[layers, hidden, hidden]))
    }
}

/// Checks that `weights` is large enough for the model `model` (the `model` entry of the config
/// file `config`) describes, and that a transformer asks for at most [`MAX_POSITIONS`]
/// positions. Errors name `config`.
pub fn check_fits(model: &Value, config: &Path, weights: &Path) -> Result<()> {
    if let Some(n) = model["max_positions"].as_u64().filter(|&n| n > MAX_POSITIONS) {
        return Err(TranslateError::Invalid(format!(
            "{}: `max_positions` {n} is over the limit of {MAX_POSITIONS}",
            config.display()
        )));
    }
    Ok(check_weights_hold(config, weights, least_values(model))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_the_weights_cannot_hold_are_an_error_naming_the_config() {
        let dir = std::env::temp_dir().join(format!("tessera-mt-bounds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (config, weights) = (dir.join("config.json"), dir.join("weights.safetensors"));
        std::fs::write(&weights, vec![0u8; 4096]).unwrap();
        let rnn =
            |vocab: u64| serde_json::json!({"arch": "rnn", "vocab_size": vocab, "embed": 4, "hidden": 4, "layers": 1});
        assert!(check_fits(&rnn(100), &config, &weights).is_ok());
        let err = check_fits(&rnn(1 << 40), &config, &weights).unwrap_err().to_string();
        assert!(err.contains("config.json") && err.contains("can hold"), "{err}");
        let transformer = serde_json::json!({"arch": "transformer", "max_positions": 1u64 << 40});
        assert!(check_fits(&transformer, &config, &weights).unwrap_err().to_string().contains("max_positions"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
