//! Users' labelled text: CSV (RFC 4180 quoting), TSV or JSON Lines, plain or gzip, with the
//! text and the label in named fields (a header row names the columns of CSV and TSV). The
//! parsing is `nn_layers::data::records`, shared with the GLUE-style benchmark.

use std::path::Path;

pub use nn_layers::data::RecordFormat as TextFormat;
use nn_layers::data::{Header, read_records};

use crate::use_error::{Result, UseError};

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

/// Reads every example of `path`: the text from field `text_field` and the label from
/// `label_field` (surrounding spaces trimmed). Empty texts are kept (they classify as the
/// model sees them); a file with no example is an error.
pub fn read_labelled(path: &Path, format: TextFormat, text_field: &str, label_field: &str) -> Result<Vec<Labelled>> {
    let records = read_records(path, format, Header::FirstLine, &[text_field, label_field])?;
    if records.is_empty() {
        return Err(UseError::data(path, None, "no examples"));
    }
    Ok(records
        .into_iter()
        .map(|mut r| {
            let label = r.values.pop().unwrap_or_default().trim().to_string();
            Labelled { text: r.values.pop().unwrap_or_default(), label, line: r.line }
        })
        .collect())
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
        let header_only = write("d.csv", b"label,text\n");
        let error = read_labelled(&header_only, TextFormat::Csv, "text", "label").unwrap_err().to_string();
        assert_eq!(error, format!("{}: no examples", header_only.display()));
        for path in [csv, tsv, jsonl, latin1, open, header_only] {
            std::fs::remove_file(path).unwrap();
        }
    }
}
