//! Users' labelled text: CSV (RFC 4180 quoting: fields in double quotes may hold commas,
//! quotes doubled, and line breaks), TSV (tab-separated, no quoting) or JSON Lines, plain or
//! gzip, with the text and the label in named fields (a header row names the columns of CSV
//! and TSV).

use std::path::Path;

use serde_json::Value;

use crate::use_error::{Result, UseError};

/// The file formats [`read_labelled`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextFormat {
    /// Comma-separated with a header row and RFC 4180 quoting.
    Csv,
    /// Tab-separated with a header row, no quoting.
    Tsv,
    /// One JSON object per line.
    JsonLines,
}

impl TextFormat {
    /// The format a file name says (`.csv`, `.tsv`, `.jsonl`, `.json`, each maybe `.gz`).
    pub fn from_name(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        match name.rsplit('.').next()? {
            "csv" => Some(TextFormat::Csv),
            "tsv" | "tab" => Some(TextFormat::Tsv),
            "jsonl" | "json" | "ndjson" => Some(TextFormat::JsonLines),
            _ => None,
        }
    }
}

/// One labelled example with the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labelled {
    /// The text.
    pub text: String,
    /// The label, as written (numbers in JSON become their decimal text).
    pub label: String,
    /// 1-based line of the file where the example starts.
    pub line: usize,
}

/// Splits CSV text into records of fields, each with its starting line.
fn csv_records(text: &str, path: &Path) -> Result<Vec<(usize, Vec<String>)>> {
    let mut records = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let (mut line, mut start) = (1, 1);
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut any = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => {
                quoted = true;
                any = true;
            }
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
        return Err(UseError::data(path, Some(start), "a quoted field is never closed"));
    }
    if any || !field.is_empty() {
        record.push(field);
        records.push((start, record));
    }
    Ok(records)
}

fn utf8<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        UseError::data(path, Some(line), format!("not UTF-8 (byte {}): {e}", e.valid_up_to()))
    })
}

fn column(header: &[String], name: &str, path: &Path) -> Result<usize> {
    header.iter().position(|h| h.trim() == name).ok_or_else(|| {
        UseError::data(path, Some(1), format!("no field `{name}` in the header (fields: {})", header.join(", ")))
    })
}

/// Reads every example of `path`: the text from field `text_field` and the label from
/// `label_field`. Empty texts are kept (they classify as the model sees them).
pub fn read_labelled(path: &Path, format: TextFormat, text_field: &str, label_field: &str) -> Result<Vec<Labelled>> {
    let bytes = nn_layers::data::read_maybe_gz(path)?;
    let text = utf8(&bytes, path)?;
    let mut out = Vec::new();
    match format {
        TextFormat::Csv | TextFormat::Tsv => {
            let records: Vec<(usize, Vec<String>)> = if format == TextFormat::Csv {
                csv_records(text, path)?
            } else {
                text.lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                    .map(|(i, l)| (i + 1, l.trim_end_matches('\r').split('\t').map(str::to_string).collect()))
                    .collect()
            };
            let Some(((_, header), rows)) = records.split_first() else {
                return Err(UseError::data(path, None, "empty: expected a header row naming the fields"));
            };
            let (t, l) = (column(header, text_field, path)?, column(header, label_field, path)?);
            for (line, row) in rows {
                let (Some(text), Some(label)) = (row.get(t), row.get(l)) else {
                    return Err(UseError::data(
                        path,
                        Some(*line),
                        format!("{} fields, but the header has {}", row.len(), header.len()),
                    ));
                };
                out.push(Labelled { text: text.clone(), label: label.trim().to_string(), line: *line });
            }
        }
        TextFormat::JsonLines => {
            for (i, raw) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let line = i + 1;
                let value: Value = serde_json::from_str(raw)
                    .map_err(|e| UseError::data(path, Some(line), format!("not a JSON object: {e}")))?;
                let field = |name: &str| -> Result<String> {
                    match &value[name] {
                        Value::String(s) => Ok(s.clone()),
                        Value::Number(n) => Ok(n.to_string()),
                        Value::Bool(b) => Ok(b.to_string()),
                        _ => Err(UseError::data(path, Some(line), format!("no string or number field `{name}`"))),
                    }
                };
                out.push(Labelled { text: field(text_field)?, label: field(label_field)?, line });
            }
        }
    }
    if out.is_empty() {
        return Err(UseError::data(path, None, "no examples"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("tessera-text-data-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn csv_tsv_and_json_lines_give_the_same_examples() {
        let csv = write("a.csv", b"id,label,text\n1,pos,\"Good, \"\"really\"\"\nfun\"\n2,neg,bad\r\n");
        let tsv = write("a.tsv", b"label\ttext\npos\tGood\nneg\tbad\n");
        let jsonl = write("a.jsonl", b"{\"text\": \"Good\", \"label\": 1}\n\n{\"text\": \"bad\", \"label\": 0}\n");
        let got = read_labelled(&csv, TextFormat::from_name(&csv).unwrap(), "text", "label").unwrap();
        assert_eq!(got[0], Labelled { text: "Good, \"really\"\nfun".into(), label: "pos".into(), line: 2 });
        assert_eq!(got[1], Labelled { text: "bad".into(), label: "neg".into(), line: 4 });
        let got = read_labelled(&tsv, TextFormat::Tsv, "text", "label").unwrap();
        assert_eq!((got[1].text.as_str(), got[1].label.as_str(), got[1].line), ("bad", "neg", 3));
        let got = read_labelled(&jsonl, TextFormat::from_name(&jsonl).unwrap(), "text", "label").unwrap();
        assert_eq!((got[1].label.as_str(), got[1].line), ("0", 3));

        let error = read_labelled(&csv, TextFormat::Csv, "sentence", "label").unwrap_err().to_string();
        assert_eq!(error, format!("{}:1: no field `sentence` in the header (fields: id, label, text)", csv.display()));
        let error = read_labelled(&jsonl, TextFormat::JsonLines, "text", "stars").unwrap_err().to_string();
        assert_eq!(error, format!("{}:1: no string or number field `stars`", jsonl.display()));
        let latin1 = write("b.csv", b"label,text\npos,caf\xe9\n");
        let error = read_labelled(&latin1, TextFormat::Csv, "text", "label").unwrap_err().to_string();
        assert!(error.starts_with(&format!("{}:2: not UTF-8", latin1.display())), "{error}");
        let open = write("c.csv", b"label,text\npos,\"never closed\n");
        let error = read_labelled(&open, TextFormat::Csv, "text", "label").unwrap_err().to_string();
        assert_eq!(error, format!("{}:2: a quoted field is never closed", open.display()));
        for path in [csv, tsv, jsonl, latin1, open] {
            std::fs::remove_file(path).unwrap();
        }
    }
}
