//! The POS-tagged Brown corpus as distributed in `brown_tagged.jsonl.gz`: one JSON object per
//! document (`id`, `genre`, `tagged_text`), sentences as lines of `word/tag` tokens.

use std::path::Path;

use crate::{NlpError, Result};

/// One tagged document.
#[derive(Clone, Debug, PartialEq)]
pub struct TaggedDocument {
    /// File id (`ca01`).
    pub id: String,
    /// Genre (`news`).
    pub genre: String,
    /// Sentences of (word, tag) pairs.
    pub sentences: Vec<Vec<(String, String)>>,
}

/// Reduces a Brown tag to its core: lower case, without the headline (`-hl`), title (`-tl`)
/// and cited-word (`-nc`) markers or the foreign-word prefix (`fw-`): `nn-tl` -> `nn`.
pub fn simplify_brown_tag(tag: &str) -> String {
    let mut tag = tag.to_lowercase();
    loop {
        let before = tag.len();
        for suffix in ["-hl", "-tl", "-nc"] {
            if let Some(stripped) = tag.strip_suffix(suffix) {
                tag = stripped.to_string();
            }
        }
        if let Some(stripped) = tag.strip_prefix("fw-") {
            tag = stripped.to_string();
        }
        if tag.len() == before {
            return tag;
        }
    }
}

/// Reads every document; tags are kept as written (see [`simplify_brown_tag`]).
pub fn read_brown(path: &Path) -> Result<Vec<TaggedDocument>> {
    let bytes = nn_layers::data::read_maybe_gz(path)?;
    let mut documents = Vec::new();
    for (number, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = number + 1;
        let parse = |msg: String| NlpError::Parse { path: path.to_path_buf(), line, msg };
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value: serde_json::Value = serde_json::from_slice(raw).map_err(|e| parse(format!("not JSON: {e}")))?;
        let field = |name: &str| {
            value[name].as_str().map(str::to_string).ok_or_else(|| parse(format!("no string field `{name}`")))
        };
        let (id, genre, text) = (field("id")?, field("genre")?, field("tagged_text")?);
        let mut sentences = Vec::new();
        for sentence in text.lines().map(str::trim).filter(|s| !s.is_empty()) {
            let tokens = sentence
                .split_whitespace()
                .map(|token| match token.rsplit_once('/') {
                    Some((word, tag)) if !word.is_empty() && !tag.is_empty() => Ok((word.to_string(), tag.to_string())),
                    _ => Err(parse(format!("document {id}: token `{token}` is not word/tag"))),
                })
                .collect::<Result<Vec<_>>>()?;
            sentences.push(tokens);
        }
        documents.push(TaggedDocument { id, genre, sentences });
    }
    if documents.is_empty() {
        return Err(NlpError::Parse { path: path.to_path_buf(), line: 0, msg: "no documents".into() });
    }
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::simplify_brown_tag;

    #[test]
    fn tags_lose_title_headline_and_foreign_markers() {
        assert_eq!(simplify_brown_tag("nn-tl"), "nn");
        assert_eq!(simplify_brown_tag("NP$-TL-HL"), "np$");
        assert_eq!(simplify_brown_tag("fw-in-tl"), "in");
        assert_eq!(simplify_brown_tag("vbd"), "vbd");
        assert_eq!(simplify_brown_tag("do*"), "do*");
    }
}
