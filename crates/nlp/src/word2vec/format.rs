//! The word2vec vector formats, as the C tool and gensim write them. Both start with a
//! `"<count> <dim>\n"` header. Text: one `word v1 .. vdim` line per word. Binary: the word, a
//! space, then `dim` little-endian f32; the C tool adds a newline after each vector and gensim
//! does not, and both are read. Gzip is detected when reading.

use std::path::{Path, PathBuf};

use super::embeddings::Embeddings;
use crate::corpus::read_bytes;
use crate::{NlpError, Result};

/// How vectors are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorFormat {
    /// Text: one line per word.
    Text,
    /// Binary with a newline after each vector (the C tool's `-binary 1`).
    BinaryC,
    /// Binary without newlines (gensim's `save_word2vec_format(binary=True)`).
    BinaryGensim,
}

impl Embeddings {
    /// Writes the vectors in `format`, atomically.
    #[allow(clippy::expect_used, reason = "an invariant, not input: every listed word has a vector")]
    pub fn save(&self, path: &Path, format: VectorFormat) -> Result<()> {
        nn_layers::checkpoint::write_atomically(path, |out| {
            writeln!(out, "{} {}", self.len(), self.dim())?;
            let mut number = ryu::Buffer::new();
            for word in self.words() {
                let vector = self.vector(word).expect("every listed word has a vector");
                match format {
                    VectorFormat::Text => {
                        let mut line = String::with_capacity(word.len() + 12 * vector.len());
                        line.push_str(word);
                        for &x in vector {
                            line.push(' ');
                            line.push_str(number.format(x));
                        }
                        line.push('\n');
                        out.write_all(line.as_bytes())?;
                    }
                    VectorFormat::BinaryC | VectorFormat::BinaryGensim => {
                        let mut record = Vec::with_capacity(word.len() + 2 + 4 * vector.len());
                        record.extend_from_slice(word.as_bytes());
                        record.push(b' ');
                        vector.iter().for_each(|x| record.extend_from_slice(&x.to_le_bytes()));
                        if format == VectorFormat::BinaryC {
                            record.push(b'\n');
                        }
                        out.write_all(&record)?;
                    }
                }
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Reads vectors written by the C tool, gensim or [`Embeddings::save`]; `binary` selects the
    /// format. Truncated files and counts that do not match the header are errors.
    pub fn load(path: &Path, binary: bool) -> Result<Embeddings> {
        let bytes = read_bytes(path)?;
        let header_end =
            bytes.iter().position(|&b| b == b'\n').ok_or_else(|| parse(path, 1, "no header line".into()))?;
        let header =
            std::str::from_utf8(&bytes[..header_end]).map_err(|_| parse(path, 1, "the header is not UTF-8".into()))?;
        let (count, dim) = match header.split_whitespace().map(str::parse::<usize>).collect::<Vec<_>>()[..] {
            [Ok(count), Ok(dim)] if dim > 0 => (count, dim),
            _ => return Err(parse(path, 1, format!("expected `<count> <dim>`, found `{header}`"))),
        };
        let body = &bytes[header_end + 1..];
        let (words, vectors) =
            if binary { read_binary(path, body, count, dim)? } else { read_text(path, body, count, dim)? };
        Embeddings::new(words, dim, vectors).map_err(|e| parse(path, 0, e.to_string()))
    }
}

fn parse(path: &Path, line: usize, msg: String) -> NlpError {
    NlpError::Parse { path: PathBuf::from(path), line, msg }
}

/// How many of the header's `count` vectors of `dim` values `body` can hold, at `bytes_per_value`
/// bytes a value (a word and its separator take at least 2 more): what may be reserved before
/// reading, so that a header claiming more than the file holds allocates nothing for it.
fn plausible_count(body: &[u8], count: usize, dim: usize, bytes_per_value: usize) -> usize {
    count.min(body.len() / dim.saturating_mul(bytes_per_value).saturating_add(2))
}

fn read_binary(path: &Path, body: &[u8], count: usize, dim: usize) -> Result<(Vec<String>, Vec<f32>)> {
    let reserve = plausible_count(body, count, dim, 4);
    let mut words = Vec::with_capacity(reserve);
    let mut vectors = Vec::with_capacity(reserve * dim);
    let mut at = 0;
    for entry in 0..count {
        let truncated = || {
            parse(
                path,
                0,
                format!("truncated: the header promises {count} vectors, vector {} is incomplete", entry + 1),
            )
        };
        while body.get(at) == Some(&b'\n') {
            at += 1;
        }
        let space = body[at..].iter().position(|&b| b == b' ').ok_or_else(truncated)?;
        let word = std::str::from_utf8(&body[at..at + space])
            .map_err(|_| parse(path, 0, format!("vector {}: the word is not UTF-8", entry + 1)))?;
        words.push(word.to_string());
        at += space + 1;
        let end = dim.checked_mul(4).and_then(|bytes| at.checked_add(bytes)).ok_or_else(truncated)?;
        let raw = body.get(at..end).ok_or_else(truncated)?;
        vectors.extend(raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])));
        at = end;
    }
    if body[at..].iter().any(|b| !b.is_ascii_whitespace()) {
        return Err(parse(path, 0, format!("wrong count: data follows the {count} vectors the header promises")));
    }
    Ok((words, vectors))
}

fn read_text(path: &Path, body: &[u8], count: usize, dim: usize) -> Result<(Vec<String>, Vec<f32>)> {
    let text =
        std::str::from_utf8(body).map_err(|e| parse(path, 0, format!("invalid UTF-8 at byte {}", e.valid_up_to())))?;
    // A text value takes at least 2 bytes (a digit and a space).
    let reserve = plausible_count(body, count, dim, 2);
    let mut words = Vec::with_capacity(reserve);
    let mut vectors = Vec::with_capacity(reserve * dim);
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let number = i + 2;
        if words.len() == count {
            return Err(parse(path, number, format!("wrong count: more than the {count} vectors the header promises")));
        }
        let mut fields = line.split_whitespace();
        // Blank lines were filtered out above, so the line has a first field.
        let Some(word) = fields.next() else { continue };
        let before = vectors.len();
        for field in fields {
            vectors.push(field.parse::<f32>().map_err(|_| parse(path, number, format!("`{field}` is not a number")))?);
        }
        if vectors.len() - before != dim {
            return Err(parse(path, number, format!("expected {dim} values, found {}", vectors.len() - before)));
        }
        words.push(word.to_string());
    }
    if words.len() != count {
        return Err(parse(
            path,
            0,
            format!("truncated: the header promises {count} vectors, the file has {}", words.len()),
        ));
    }
    Ok((words, vectors))
}
