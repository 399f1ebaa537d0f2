//! The Hugging Face `tokenizers` file layout (`tokenizer.json`) for byte-level BPE models: what
//! `Tokenizer.save` writes for a `BPE` model with `ByteLevel` pre-tokenizer and decoder, and
//! what `Tokenizer.from_file` loads.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::BpeTokenizer;
use crate::corpus::read_text;
use crate::{NlpError, Result};

impl BpeTokenizer {
    /// The `tokenizer.json` document of this tokenizer.
    pub fn to_hf_json(&self) -> Value {
        let byte_level =
            json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true});
        let added: Vec<Value> = self
            .specials
            .iter()
            .map(|&id| {
                json!({"id": id, "content": self.tokens[id as usize], "single_word": false, "lstrip": false,
                       "rstrip": false, "normalized": false, "special": true})
            })
            .collect();
        let vocab: Map<String, Value> = self.tokens.iter().enumerate().map(|(i, t)| (t.clone(), json!(i))).collect();
        let merges: Vec<Value> =
            self.merges.iter().map(|&(a, b)| json!([self.tokens[a as usize], self.tokens[b as usize]])).collect();
        json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": added,
            "normalizer": null,
            "pre_tokenizer": byte_level,
            "post_processor": null,
            "decoder": byte_level,
            "model": {
                "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocab, "merges": merges
            }
        })
    }

    /// Saves as `tokenizer.json`, atomically.
    #[allow(clippy::expect_used, reason = "an invariant, not input: JSON values serialise")]
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(&self.to_hf_json()).expect("JSON values serialise");
        nn_layers::checkpoint::write_atomically(path, |out| out.write_all(text.as_bytes()))?;
        Ok(())
    }

    /// Loads a byte-level BPE `tokenizer.json` (merges as `"a b"` strings or `["a", "b"]` pairs).
    pub fn load(path: &Path) -> Result<BpeTokenizer> {
        let text = read_text(path)?;
        let invalid = |msg: String| NlpError::Parse { path: PathBuf::from(path), line: 0, msg };
        let doc: Value = serde_json::from_str(&text).map_err(|e| NlpError::Parse {
            path: PathBuf::from(path),
            line: e.line(),
            msg: format!("invalid JSON: {e}"),
        })?;
        let model = &doc["model"];
        if model["type"] != "BPE" {
            return Err(invalid(format!("model.type must be \"BPE\", found {}", model["type"])));
        }
        if doc["pre_tokenizer"]["type"] != "ByteLevel" || doc["pre_tokenizer"]["add_prefix_space"] == true {
            return Err(invalid("only a ByteLevel pre-tokenizer without add_prefix_space is supported".into()));
        }
        for unsupported in ["continuing_subword_prefix", "end_of_word_suffix", "dropout"] {
            if !model[unsupported].is_null() {
                return Err(invalid(format!("model.{unsupported} is not supported")));
            }
        }
        let vocab = model["vocab"].as_object().ok_or_else(|| invalid("model.vocab must be an object".into()))?;
        let mut tokens = vec![None; vocab.len()];
        for (token, id) in vocab {
            let slot = id.as_u64().and_then(|id| tokens.get_mut(id as usize));
            match slot {
                Some(slot @ None) => *slot = Some(token.clone()),
                _ => return Err(invalid(format!("token `{token}` has a missing, repeated or out-of-range id {id}"))),
            }
        }
        // The loop above returned an error unless each id in 0..len was filled once.
        let tokens: Vec<String> = tokens.into_iter().flatten().collect();
        let merges = model["merges"].as_array().ok_or_else(|| invalid("model.merges must be an array".into()))?;
        let merges = merges
            .iter()
            .map(|merge| {
                let pair = match merge {
                    Value::String(s) => s.split_once(' ').map(|(a, b)| (a.to_string(), b.to_string())),
                    Value::Array(parts) => match parts.as_slice() {
                        [Value::String(a), Value::String(b)] => Some((a.clone(), b.clone())),
                        _ => None,
                    },
                    _ => None,
                };
                pair.ok_or_else(|| invalid(format!("a merge must be \"a b\" or [\"a\", \"b\"], found {merge}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let specials: Vec<String> = doc["added_tokens"]
            .as_array()
            .map(|added| added.iter().filter_map(|t| t["content"].as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        BpeTokenizer::from_parts(tokens, &merges, &specials).map_err(|e| invalid(e.to_string()))
    }
}
