//! Named fields of tabular text files: CSV (RFC 4180 quoting: fields in double quotes may hold
//! commas, doubled quotes and line breaks), TSV (tab-separated, no quoting) or JSON Lines,
//! plain or gzip. One reader for every labelled-text consumer (the CLI's `train textcnn`, the
//! GLUE-style benchmark's task files), so all of them report a bad file the same way: the file,
//! the 1-based line, and what was wrong.

use std::path::Path;

use serde_json::Value;

use crate::{NnError, Result};

/// The file formats [`read_records`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordFormat {
    /// Comma-separated with RFC 4180 quoting.
    Csv,
    /// Tab-separated, no quoting.
    Tsv,
    /// One JSON object per line.
    JsonLines,
}

impl RecordFormat {
    /// The format a file name says (`.csv`, `.tsv`/`.tab`, `.jsonl`/`.json`/`.ndjson`, each
    /// maybe followed by `.gz`).
    pub fn from_name(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        match name.rsplit('.').next()? {
            "csv" => Some(RecordFormat::Csv),
            "tsv" | "tab" => Some(RecordFormat::Tsv),
            "jsonl" | "json" | "ndjson" => Some(RecordFormat::JsonLines),
            _ => None,
        }
    }
}

/// Where the column names of a CSV or TSV file come from (JSON Lines names its own fields).
#[derive(Clone, Copy, Debug)]
pub enum Header<'a> {
    /// The file's first record.
    FirstLine,
    /// These names; every record is data.
    Given(&'a [String]),
}

/// One record: the line it starts on and the asked-for fields' values, in the order asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// 1-based line of the file where the record starts.
    pub line: usize,
    /// The values of the requested fields (JSON numbers and booleans as their text).
    pub values: Vec<String>,
}

/// A data error at `line` of `path`.
fn bad(path: &Path, line: Option<usize>, msg: impl Into<String>) -> NnError {
    NnError::Data { path: path.to_path_buf(), line, msg: msg.into() }
}

/// `bytes` as UTF-8, or an error naming the line of the first bad byte.
pub fn utf8_text<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        bad(path, Some(line), format!("not UTF-8 (byte {}): {e}", e.valid_up_to()))
    })
}

/// Splits CSV text into records of fields, each with the line it starts on. Lines with no
/// field at all are skipped; a quote left open at the end is an error.
pub fn csv_records(text: &str, path: &Path) -> Result<Vec<(usize, Vec<String>)>> {
    let mut records = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let (mut line, mut start) = (1, 1);
    let (mut quoted, mut any) = (false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => {
                    line += usize::from(c == '\n');
                    field.push(c);
                }
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => (quoted, any) = (true, true),
            ',' => {
                record.push(std::mem::take(&mut field));
                any = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if any || !field.is_empty() {
                    record.push(std::mem::take(&mut field));
                    records.push((start, std::mem::take(&mut record)));
                }
                any = false;
                line += 1;
                start = line;
            }
            _ => {
                field.push(c);
                any = true;
            }
        }
    }
    if quoted {
        return Err(bad(path, Some(start), "a quoted field is never closed"));
    }
    if any || !field.is_empty() {
        record.push(field);
        records.push((start, record));
    }
    Ok(records)
}

/// The TSV records of `text` (blank lines skipped, a trailing `\r` dropped).
fn tsv_records(text: &str) -> Vec<(usize, Vec<String>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r').split('\t').map(str::to_string).collect()))
        .collect()
}

fn json_records(text: &str, path: &Path, fields: &[&str]) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let line = i + 1;
        let value: Value =
            serde_json::from_str(raw).map_err(|e| bad(path, Some(line), format!("not a JSON object: {e}")))?;
        let values = fields
            .iter()
            .map(|&name| match &value[name] {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                _ => Err(bad(path, Some(line), format!("no string or number field `{name}`"))),
            })
            .collect::<Result<_>>()?;
        out.push(Record { line, values });
    }
    Ok(out)
}

/// Picks `fields` out of header-named records; a record too short for a field is an error.
fn pick(path: &Path, header: &[String], records: &[(usize, Vec<String>)], fields: &[&str]) -> Result<Vec<Record>> {
    let columns = fields
        .iter()
        .map(|&name| {
            header.iter().position(|h| h.trim() == name).ok_or_else(|| {
                bad(path, Some(1), format!("no field `{name}` in the header (fields: {})", header.join(", ")))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    records
        .iter()
        .map(|(line, record)| {
            let values = columns
                .iter()
                .map(|&c| {
                    record.get(c).cloned().ok_or_else(|| {
                        let msg = format!("{} fields, but the header has {}", record.len(), header.len());
                        bad(path, Some(*line), msg)
                    })
                })
                .collect::<Result<_>>()?;
            Ok(Record { line: *line, values })
        })
        .collect()
}

/// The `fields` of every record of `text`, read as `format` (`path` names it in errors).
pub fn parse_records(
    text: &str,
    path: &Path,
    format: RecordFormat,
    header: Header,
    fields: &[&str],
) -> Result<Vec<Record>> {
    let records = match format {
        RecordFormat::JsonLines => return json_records(text, path, fields),
        RecordFormat::Csv => csv_records(text, path)?,
        RecordFormat::Tsv => tsv_records(text),
    };
    match header {
        Header::Given(names) => pick(path, names, &records, fields),
        Header::FirstLine => {
            let Some(((_, names), rows)) = records.split_first() else {
                return Err(bad(path, None, "empty: expected a header row naming the fields"));
            };
            pick(path, names, rows, fields)
        }
    }
}

/// Reads `path` (gzip or not) and returns the `fields` of every record.
pub fn read_records(path: &Path, format: RecordFormat, header: Header, fields: &[&str]) -> Result<Vec<Record>> {
    let bytes = super::read_maybe_gz(path)?;
    parse_records(utf8_text(&bytes, path)?, path, format, header, fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, format: RecordFormat, fields: &[&str]) -> Result<Vec<Record>> {
        parse_records(text, Path::new("f"), format, Header::FirstLine, fields)
    }

    #[test]
    fn csv_quotes_commas_and_newlines() {
        let records = csv_records("a,b\n\"x, \"\"y\"\"\",2\n\"multi\nline\",3\r\n\nlast,4", Path::new("f")).unwrap();
        let fields: Vec<Vec<String>> = records.iter().map(|(_, r)| r.clone()).collect();
        assert_eq!(fields, [vec!["a", "b"], vec!["x, \"y\"", "2"], vec!["multi\nline", "3"], vec!["last", "4"]]);
        assert_eq!(records.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [1, 2, 3, 6]);
    }

    #[test]
    fn the_three_formats_give_the_same_records() {
        let csv = parse("id,label,text\n1,pos,\"Good\"\n2,neg,bad\r\n", RecordFormat::Csv, &["text", "label"]).unwrap();
        let tsv = parse("label\ttext\n\npos\tGood\nneg\tbad\n", RecordFormat::Tsv, &["text", "label"]).unwrap();
        let json = parse(
            "{\"text\":\"Good\",\"label\":\"pos\"}\n{\"text\":\"bad\",\"label\":\"neg\"}",
            RecordFormat::JsonLines,
            &["text", "label"],
        )
        .unwrap();
        for got in [&csv, &tsv, &json] {
            assert_eq!(got.iter().map(|r| r.values.clone()).collect::<Vec<_>>(), [["Good", "pos"], ["bad", "neg"]]);
        }
        assert_eq!(tsv[1].line, 4);
        let given = ["a".to_string(), "b".to_string()];
        let rows =
            parse_records("1\t2\n3\t4\n", Path::new("f"), RecordFormat::Tsv, Header::Given(&given), &["b"]).unwrap();
        assert_eq!(rows, [Record { line: 1, values: vec!["2".into()] }, Record { line: 2, values: vec!["4".into()] }]);
    }

    #[test]
    fn bad_files_name_the_line() {
        let message = |r: Result<Vec<Record>>| r.unwrap_err().to_string();
        assert_eq!(
            message(parse("a,b\n1,2\n", RecordFormat::Csv, &["c"])),
            "f:1: no field `c` in the header (fields: a, b)"
        );
        assert_eq!(message(parse("a\tb\n1\n", RecordFormat::Tsv, &["b"])), "f:2: 1 fields, but the header has 2");
        assert_eq!(message(parse("a,b\n1,\"open\n", RecordFormat::Csv, &["a"])), "f:2: a quoted field is never closed");
        assert_eq!(message(parse("", RecordFormat::Csv, &["a"])), "f: empty: expected a header row naming the fields");
        assert!(message(parse("{\"a\":1}\n[", RecordFormat::JsonLines, &["a"])).starts_with("f:2: not a JSON object"));
        assert_eq!(
            message(parse("{\"a\":null}", RecordFormat::JsonLines, &["a"])),
            "f:1: no string or number field `a`"
        );
        assert!(utf8_text(b"ok\ncaf\xe9", Path::new("f")).unwrap_err().to_string().starts_with("f:2: not UTF-8"));
    }
}
