//! Rows of a data file (JSONL, TSV or CSV; gzip or not) as the fields a spec names.

use std::path::Path;

use serde_json::Value;

use crate::error::{GlueError, Result};

/// One row: its 1-based line (where its record starts) and the named fields' values, in the
/// order they were asked for.
pub type Row = (usize, Vec<String>);

/// Reads a file whole, inflating gzip (told from the magic bytes, not the name).
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| GlueError::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&raw[..]), &mut out)
            .map_err(|e| GlueError::io(path, e))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn text(path: &Path) -> Result<String> {
    String::from_utf8(read_bytes(path)?).map_err(|e| GlueError::Data {
        path: path.to_path_buf(),
        line: 0,
        msg: format!("not UTF-8: {e}"),
    })
}

/// The `fields` of every object of a JSON Lines file (numbers and booleans as their text).
pub fn jsonl_rows(path: &Path, fields: &[&str]) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (i, line) in text(path)?.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |msg: String| GlueError::Data { path: path.to_path_buf(), line: i + 1, msg };
        let value: Value = serde_json::from_str(line).map_err(|e| bad(format!("not JSON: {e}")))?;
        let values = fields
            .iter()
            .map(|f| match &value[*f] {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                _ => Err(bad(format!("no field `{f}`"))),
            })
            .collect::<Result<_>>()?;
        rows.push((i + 1, values));
    }
    Ok(rows)
}

/// Picks `fields` out of header-named records.
fn pick(path: &Path, header: &[String], records: Vec<Row>, fields: &[&str]) -> Result<Vec<Row>> {
    let columns = fields
        .iter()
        .map(|f| {
            header.iter().position(|h| h == f).ok_or_else(|| GlueError::Data {
                path: path.to_path_buf(),
                line: 1,
                msg: format!("no column `{f}` (columns: {})", header.join(", ")),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    records
        .into_iter()
        .map(|(line, record)| {
            let values = columns
                .iter()
                .map(|&c| {
                    record.get(c).cloned().ok_or_else(|| GlueError::Data {
                        path: path.to_path_buf(),
                        line,
                        msg: format!("{} fields, expected at least {}", record.len(), c + 1),
                    })
                })
                .collect::<Result<_>>()?;
            Ok((line, values))
        })
        .collect()
}

/// The `fields` of a tab-separated file, its header from `columns` or its first line.
pub fn tsv_rows(path: &Path, columns: Option<&[String]>, fields: &[&str]) -> Result<Vec<Row>> {
    let text = text(path)?;
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.is_empty());
    let header: Vec<String> = match columns {
        Some(c) => c.to_vec(),
        None => lines.next().map(|(_, l)| l.split('\t').map(str::to_string).collect()).unwrap_or_default(),
    };
    let records = lines.map(|(i, l)| (i + 1, l.split('\t').map(str::to_string).collect())).collect();
    pick(path, &header, records, fields)
}

/// RFC 4180 records: fields split on commas outside quotes, `""` an escaped quote, newlines
/// allowed inside quotes. Each record carries the line it starts on.
pub fn csv_records(text: &str) -> Vec<Row> {
    let mut records = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut line, mut start) = (false, 1, 1);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push((start, std::mem::take(&mut record)));
                line += 1;
                start = line;
            }
            (_, ch) => {
                if ch == '\n' {
                    line += 1;
                }
                field.push(ch);
            }
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push((start, record));
    }
    records
}

/// The `fields` of a CSV file with a header line.
pub fn csv_rows(path: &Path, fields: &[&str]) -> Result<Vec<Row>> {
    let mut records = csv_records(&text(path)?);
    if records.is_empty() {
        return Err(GlueError::Data { path: path.to_path_buf(), line: 1, msg: "no header line".into() });
    }
    let header = records.remove(0).1;
    pick(path, &header, records, fields)
}

/// Plain text of a whole file (for generated tasks).
pub fn read_text(path: &Path) -> Result<String> {
    text(path)
}

#[cfg(test)]
mod tests {
    use super::csv_records;

    #[test]
    fn csv_quotes_commas_and_newlines() {
        let records = csv_records("a,b\n\"x, \"\"y\"\"\",2\n\"multi\nline\",3\r\nlast,4");
        let fields: Vec<Vec<String>> = records.iter().map(|(_, r)| r.clone()).collect();
        assert_eq!(fields, [vec!["a", "b"], vec!["x, \"y\"", "2"], vec!["multi\nline", "3"], vec!["last", "4"]]);
        assert_eq!(records.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [1, 2, 3, 5]);
    }
}
