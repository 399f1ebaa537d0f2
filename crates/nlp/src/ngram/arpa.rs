//! ARPA back-off model files, as SRILM and KenLM read and write them: a `\data\` header with
//! the number of n-grams per order, then per order `\n-grams:` lines of
//! `log10 prob <TAB> words <TAB> log10 back-off` (no back-off at the highest order), then
//! `\end\`. Files ending in `.gz` are written gzipped; gzip is detected when reading.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::backoff::{BackoffModel, LOG10_IMPOSSIBLE, Level};
use super::vocab::{NgramVocab, Packer};
use crate::corpus::read_bytes;
use crate::{NlpError, Result};

/// Log10 probability given to `<unk>` when an ARPA file has none (KenLM's choice).
const LOG10_UNKNOWN_DEFAULT: f32 = -100.0;

/// Writes `model` as an ARPA file at `path` (gzipped when the name ends in `.gz`), atomically.
pub fn write_arpa(model: &BackoffModel, path: &Path) -> Result<()> {
    let gzip = path.extension().is_some_and(|e| e == "gz");
    nn_layers::checkpoint::write_atomically(path, |out| {
        if gzip {
            let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
            write_body(model, &mut encoder)?;
            encoder.finish()?;
            Ok(())
        } else {
            write_body(model, out)
        }
    })?;
    Ok(())
}

fn write_body(model: &BackoffModel, out: &mut dyn Write) -> std::io::Result<()> {
    let mut text = String::with_capacity(1 << 17);
    text.push_str("\\data\\\n");
    for (n, level) in model.levels.iter().enumerate() {
        let _ = writeln!(text, "ngram {}={}", n + 1, level.len());
    }
    let mut ids = Vec::with_capacity(model.order);
    let mut number = ryu::Buffer::new();
    for (n, level) in model.levels.iter().enumerate().map(|(i, l)| (i + 1, l)) {
        let _ = write!(text, "\n\\{n}-grams:\n");
        for i in 0..level.len() {
            model.packer.unpack(level.keys[i], n, &mut ids);
            text.push_str(number.format(level.log10_prob[i]));
            for (j, &id) in ids.iter().enumerate() {
                text.push(if j == 0 { '\t' } else { ' ' });
                text.push_str(model.vocab.word(id));
            }
            if n < model.order {
                text.push('\t');
                text.push_str(number.format(level.log10_backoff[i]));
            }
            text.push('\n');
            if text.len() >= 1 << 16 {
                out.write_all(text.as_bytes())?;
                text.clear();
            }
        }
    }
    text.push_str("\n\\end\\\n");
    out.write_all(text.as_bytes())
}

/// Where the reader is in the file.
enum Section {
    BeforeData,
    Header,
    Ngrams(usize),
    End,
}

/// The whole text of a plain or gzip file; invalid UTF-8 is an error naming its line.
fn read_whole(path: &Path) -> Result<String> {
    let bytes = read_bytes(path)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        NlpError::Parse { path: path.to_path_buf(), line, msg: format!("invalid UTF-8 at byte {at}") }
    })
}

/// Where the section body starting at `start` ends: at the next line that starts with `\`
/// (backslashes are rare, so this scans for them rather than for line ends).
fn section_end(text: &str, start: usize) -> usize {
    if text[start..].starts_with('\\') {
        return start;
    }
    let bytes = text.as_bytes();
    text[start..].match_indices('\\').map(|(i, _)| start + i).find(|&i| bytes[i - 1] == b'\n').unwrap_or(text.len())
}

/// Reads an ARPA file (plain or gzip). Malformed input is an [`NlpError::Parse`] naming the line.
/// The unigrams are read first; the higher orders are then parsed in parallel chunks.
pub fn read_arpa(path: &Path) -> Result<BackoffModel> {
    let text = read_whole(path)?;
    let parse_error = |line: usize, msg: String| NlpError::Parse { path: PathBuf::from(path), line, msg };
    let mut section = Section::BeforeData;
    let mut declared: Vec<usize> = Vec::new();
    let mut listed_counts: Vec<usize> = Vec::new();
    let mut vocab = NgramVocab::new();
    let mut unigrams = Level::default();
    let mut higher: Vec<Level> = Vec::new();
    let mut packer = None;
    let mut ids: Vec<u32> = Vec::new();
    let mut listed: Vec<bool> = Vec::new();
    let (mut number, mut offset) = (0, 0);
    while offset < text.len() {
        let raw = &text[offset..text[offset..].find('\n').map_or(text.len(), |i| offset + i + 1)];
        number += 1;
        offset += raw.len();
        let line = raw.trim_end();
        match section {
            Section::BeforeData if line == "\\data\\" => section = Section::Header,
            Section::BeforeData | Section::End => {}
            Section::Header if line.is_empty() => {}
            Section::Header if line.starts_with("ngram ") => {
                let (n, count) = line[6..]
                    .split_once('=')
                    .and_then(|(n, c)| Some((n.trim().parse::<usize>().ok()?, c.trim().parse::<usize>().ok()?)))
                    .ok_or_else(|| parse_error(number, format!("expected `ngram N=COUNT`, found `{line}`")))?;
                if n != declared.len() + 1 {
                    return Err(parse_error(number, format!("expected the count of order {}", declared.len() + 1)));
                }
                declared.push(count);
            }
            Section::Header | Section::Ngrams(_) if line.starts_with('\\') => {
                section = next_section(line, &declared, &listed_counts).map_err(|msg| parse_error(number, msg))?;
                if let Section::Ngrams(n) = section {
                    if n == 1 {
                        packer =
                            Some(Packer::for_order(declared.len()).map_err(|e| parse_error(number, e.to_string()))?);
                        // The header's count is reserved only as far as the bytes left can hold
                        // (a unigram line has at least 4: `0\ta\n`); the count is checked later.
                        unigrams = Level::with_capacity(declared[0].min((text.len() - offset) / 4));
                        listed_counts.push(0);
                    } else {
                        // The body runs to the next line starting with `\`; parse it now, in
                        // parallel (the unigrams before it fixed the vocabulary).
                        let end = section_end(&text, offset);
                        let first_line = number + 1;
                        let (level, lines) = parse_section(
                            &text[offset..end],
                            n,
                            n == declared.len(),
                            first_line,
                            &vocab,
                            packer
                                .ok_or_else(|| parse_error(number, "an n-gram section before the unigrams".into()))?,
                        )
                        .map_err(|(line, msg)| parse_error(line, msg))?;
                        number += lines;
                        listed_counts.push(level.len());
                        higher.push(level);
                        offset = end;
                    }
                }
            }
            Section::Header => return Err(parse_error(number, format!("unexpected line in the header: `{line}`"))),
            Section::Ngrams(_) if line.is_empty() => {}
            Section::Ngrams(n) => {
                debug_assert_eq!(n, 1, "higher orders are skipped over");
                // `next_section` opens `\\1-grams:` (pushing a count and setting the packer) first,
                // so these are there; a typed error all the same, this being a reader.
                let (Some(count), Some(packer)) = (listed_counts.last_mut(), packer) else {
                    return Err(parse_error(number, "an n-gram before any `\\N-grams:` section".into()));
                };
                *count += 1;
                let entry = parse_entry(line, 1, declared.len() == 1, &mut ids, &mut |_, word| Ok(vocab.intern(word)))
                    .map_err(|msg| parse_error(number, msg))?;
                packer.check_vocab(vocab.len()).map_err(|e| parse_error(number, e.to_string()))?;
                let id = ids[0] as usize;
                listed.resize(vocab.len(), false);
                if std::mem::replace(&mut listed[id], true) {
                    return Err(parse_error(
                        number,
                        format!("the unigram `{}` is listed twice", vocab.word(id as u32)),
                    ));
                }
                unigrams.push(id as u128, entry.0, entry.1);
            }
        }
    }
    if !matches!(section, Section::End) {
        return Err(parse_error(number, "the file ends before `\\end\\`".into()));
    }
    let packer = packer.ok_or_else(|| parse_error(number, "no n-gram sections".into()))?;
    let mut levels = vec![unigrams];
    levels.extend(higher);
    finish(vocab, levels, packer).map_err(|msg| parse_error(number, msg))
}

/// Parses the body of a section of order `n` > 1 in chunks of about 4 MB on all cores; returns
/// the n-grams and the number of lines of the body. An error names the first bad line.
fn parse_section(
    body: &str,
    n: usize,
    highest: bool,
    first_line: usize,
    vocab: &NgramVocab,
    packer: Packer,
) -> std::result::Result<(Level, usize), (usize, String)> {
    let mut chunks: Vec<&str> = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let mut end = (4 << 20).min(rest.len());
        while end < rest.len() && !rest.is_char_boundary(end) {
            end += 1;
        }
        end = rest[end..].find('\n').map_or(rest.len(), |i| end + i + 1);
        chunks.push(&rest[..end]);
        rest = &rest[end..];
    }
    let line_counts: Vec<usize> =
        chunks.par_iter().map(|chunk| chunk.bytes().filter(|&b| b == b'\n').count()).collect();
    let starts: Vec<usize> = line_counts
        .iter()
        .scan(first_line, |next, &lines| {
            let start = *next;
            *next += lines;
            Some(start)
        })
        .collect();
    let parsed: Vec<std::result::Result<Level, (usize, String)>> = chunks
        .par_iter()
        .zip(&starts)
        .map(|(chunk, &first_line)| {
            let mut level = Level::default();
            let (mut ids, mut recent) = (Vec::new(), RecentWords::default());
            for (i, line) in chunk.lines().enumerate() {
                let line = line.trim_end();
                if line.is_empty() {
                    continue;
                }
                let entry = parse_entry(line, n, highest, &mut ids, &mut |at, word| recent.id(at, word, vocab))
                    .map_err(|msg| (first_line + i, msg))?;
                level.push(packer.pack(&ids), entry.0, entry.1);
            }
            Ok(level)
        })
        .collect();
    let mut level = Level::with_capacity(parsed.iter().map(|p| p.as_ref().map_or(0, Level::len)).sum());
    for part in parsed {
        let part = part?;
        level.keys.extend(part.keys);
        level.log10_prob.extend(part.log10_prob);
        level.log10_backoff.extend(part.log10_backoff);
    }
    Ok((level, line_counts.iter().sum()))
}

/// The section a `\...` line opens, checking that the previous one was complete.
fn next_section(line: &str, declared: &[usize], listed: &[usize]) -> std::result::Result<Section, String> {
    if let Some(done) = listed.len().checked_sub(1)
        && listed[done] != declared[done]
    {
        return Err(format!(
            "the header declares {} {}-grams, the section has {}",
            declared[done],
            done + 1,
            listed[done]
        ));
    }
    if line == "\\end\\" {
        return if listed.len() == declared.len() && !declared.is_empty() {
            Ok(Section::End)
        } else {
            Err(format!("`\\end\\` after {} of {} n-gram sections", listed.len(), declared.len()))
        };
    }
    let n = line.strip_prefix('\\').and_then(|l| l.strip_suffix("-grams:")).and_then(|n| n.parse::<usize>().ok());
    match n {
        Some(n) if n == listed.len() + 1 && n <= declared.len() => Ok(Section::Ngrams(n)),
        _ => Err(format!("expected `\\{}-grams:` or `\\end\\`, found `{line}`", listed.len() + 1)),
    }
}

/// The words of the previous n-gram line and their ids: sorted ARPA sections repeat the context
/// of the line before, and comparing with it is cheaper than a vocabulary lookup.
#[derive(Default)]
struct RecentWords {
    words: Vec<String>,
    ids: Vec<u32>,
}

impl RecentWords {
    /// The id of `word` at position `at` of an n-gram of order > 1.
    fn id(&mut self, at: usize, word: &str, vocab: &NgramVocab) -> std::result::Result<u32, String> {
        if at < self.words.len() && self.words[at] == word {
            return Ok(self.ids[at]);
        }
        let id = vocab.get(word).ok_or_else(|| format!("word `{word}` is not among the unigrams"))?;
        if at >= self.words.len() {
            self.words.resize(at + 1, String::new());
            self.ids.resize(at + 1, 0);
        }
        self.words[at].clear();
        self.words[at].push_str(word);
        self.ids[at] = id;
        Ok(id)
    }
}

/// The fields of an ARPA line: the runs of characters between tabs and spaces.
struct Fields<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let separator = |b: &u8| *b == b'\t' || *b == b' ';
        let bytes = self.rest.as_bytes();
        let start = bytes.iter().position(|b| !separator(b))?;
        let len = bytes[start..].iter().position(separator).unwrap_or(bytes.len() - start);
        let field = &self.rest[start..start + len];
        self.rest = &self.rest[start + len..];
        Some(field)
    }
}

/// Parses `prob <TAB> w1 .. wn [<TAB> backoff]` into (prob, backoff), the ids (given by
/// `word_id(position, word)`) into `ids`.
fn parse_entry(
    line: &str,
    n: usize,
    highest: bool,
    ids: &mut Vec<u32>,
    word_id: &mut dyn FnMut(usize, &str) -> std::result::Result<u32, String>,
) -> std::result::Result<(f32, f32), String> {
    let mut fields = Fields { rest: line };
    let number = |field: Option<&str>, what: &str| -> std::result::Result<f32, String> {
        let field = field.ok_or_else(|| format!("missing {what}"))?;
        field.parse::<f32>().map_err(|_| format!("{what} `{field}` is not a number"))
    };
    let prob = number(fields.next(), "log10 probability")?;
    ids.clear();
    for at in 0..n {
        let word = fields.next().ok_or_else(|| format!("expected {n} words"))?;
        ids.push(word_id(at, word)?);
    }
    let backoff = match fields.next() {
        None => 0.0,
        Some(_) if highest => return Err(format!("a {n}-gram of the highest order cannot have a back-off weight")),
        field => number(field, "log10 back-off")?,
    };
    if fields.next().is_some() {
        return Err("trailing fields after the back-off weight".into());
    }
    Ok((prob, backoff))
}

/// Lays unigrams out densely by id, sorts the higher orders and rejects duplicates.
fn finish(vocab: NgramVocab, mut levels: Vec<Level>, packer: Packer) -> std::result::Result<BackoffModel, String> {
    let listed = std::mem::take(&mut levels[0]);
    let mut unigrams = Level {
        keys: (0..vocab.len() as u128).collect(),
        log10_prob: vec![LOG10_IMPOSSIBLE; vocab.len()],
        log10_backoff: vec![0.0; vocab.len()],
    };
    unigrams.log10_prob[NgramVocab::UNKNOWN_ID as usize] = LOG10_UNKNOWN_DEFAULT;
    for i in 0..listed.len() {
        let id = listed.keys[i] as usize;
        unigrams.log10_prob[id] = listed.log10_prob[i];
        unigrams.log10_backoff[id] = listed.log10_backoff[i];
    }
    levels[0] = unigrams;
    for (n, level) in levels.iter_mut().enumerate().skip(1) {
        let mut order: Vec<u32> = (0..level.len() as u32).collect();
        order.sort_unstable_by_key(|&i| level.keys[i as usize]);
        let permute = |values: &[f32]| order.iter().map(|&i| values[i as usize]).collect::<Vec<f32>>();
        let sorted = Level {
            keys: order.iter().map(|&i| level.keys[i as usize]).collect(),
            log10_prob: permute(&level.log10_prob),
            log10_backoff: permute(&level.log10_backoff),
        };
        if let Some(pair) = sorted.keys.windows(2).find(|w| w[0] == w[1]) {
            let mut words = Vec::new();
            packer.unpack(pair[0], n + 1, &mut words);
            let words: Vec<&str> = words.iter().map(|&w| vocab.word(w)).collect();
            return Err(format!("the {}-gram `{}` is listed twice", n + 1, words.join(" ")));
        }
        *level = sorted;
    }
    Ok(BackoffModel { order: levels.len(), packer, vocab, levels })
}
