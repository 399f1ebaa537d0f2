//! Sentences with a human sentiment rating: the VADER ground-truth files (`id<TAB>mean
//! rating<TAB>text`, ratings on -4..+4; plain or gzip).

use std::path::Path;

use crate::{NlpError, Result};

/// One rated sentence.
#[derive(Clone, Debug, PartialEq)]
pub struct RatedText {
    /// The sentence.
    pub text: String,
    /// Mean human rating (negative to positive).
    pub score: f64,
}

/// Reads a VADER `*_GroundTruth.txt[.gz]` file. Line endings may be `\n` or `\r\n`; blank lines
/// are skipped.
pub fn read_rated_text(path: &Path) -> Result<Vec<RatedText>> {
    let bytes = nn_layers::data::read_maybe_gz(path)?;
    let mut out = Vec::new();
    for (number, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = number + 1;
        let parse = |msg: String| NlpError::Parse { path: path.to_path_buf(), line, msg };
        let text = std::str::from_utf8(raw).map_err(|e| parse(format!("invalid UTF-8: {e}")))?;
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = text.splitn(3, '\t').collect();
        let [_, score, sentence] = fields[..] else {
            return Err(parse(format!("expected 3 tab-separated fields (id, rating, text), found {}", fields.len())));
        };
        let score: f64 = score.trim().parse().map_err(|_| parse(format!("rating `{score}` is not a number")))?;
        if !score.is_finite() {
            return Err(parse(format!("rating `{score}` is not finite")));
        }
        out.push(RatedText { text: sentence.to_string(), score });
    }
    if out.is_empty() {
        return Err(NlpError::Parse { path: path.to_path_buf(), line: 0, msg: "no rated sentences".into() });
    }
    Ok(out)
}
