//! Parallel text in tab-separated files: a header line naming the columns, then one sentence
//! pair per line; gzip-compressed or plain.

use std::path::{Path, PathBuf};

use nn_layers::data::{Header, Record, RecordFormat, read_records};

use crate::{Result, TranslateError};

/// One sentence and its translation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    /// The sentence in the source language.
    pub source: String,
    /// Its translation.
    pub target: String,
}

/// Reads the pairs of a parallel TSV file (gzip or not): the columns named `source` and
/// `target` in its header line (other columns are ignored; blank lines are skipped). Errors
/// name the file and line: a missing header or column, a row with too few fields, an empty
/// sentence. The parsing is nn-layers' one reader of tabular text.
pub fn read_tsv(path: &Path, source: &str, target: &str) -> Result<Vec<Pair>> {
    let records = read_records(path, RecordFormat::Tsv, Header::FirstLine, &[source, target])?;
    let mut pairs = Vec::with_capacity(records.len());
    for Record { line, values } in records {
        let [source_text, target_text] = [&values[0], &values[1]].map(|v| v.trim().to_string());
        for (name, text) in [(source, &source_text), (target, &target_text)] {
            if text.is_empty() {
                let message = format!("the `{name}` sentence is empty");
                return Err(TranslateError::Data { path: path.to_path_buf(), line, message });
            }
        }
        pairs.push(Pair { source: source_text, target: target_text });
    }
    Ok(pairs)
}

/// The train, validation and test pairs of a data set.
#[derive(Clone, Debug, Default)]
pub struct Splits {
    /// Training pairs.
    pub train: Vec<Pair>,
    /// Validation pairs (empty when the data is one file).
    pub valid: Vec<Pair>,
    /// Test pairs (empty when the data is one file).
    pub test: Vec<Pair>,
}

/// The file of split `split` (`train`, `valid`, `test`) in a data folder: `SPLIT.tsv.gz` or
/// `SPLIT.tsv`.
pub fn split_file(dir: &Path, split: &str) -> Result<PathBuf> {
    for name in [format!("{split}.tsv.gz"), format!("{split}.tsv")] {
        let path = dir.join(name);
        if path.is_file() {
            return Ok(path);
        }
    }
    Err(TranslateError::Io {
        path: dir.join(format!("{split}.tsv.gz")),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no {split}.tsv.gz or {split}.tsv in this folder"),
        ),
    })
}

/// Reads a data set: a folder with `train`, `valid` and `test` TSV files (each `.tsv.gz` or
/// `.tsv`; `valid` and `test` may be absent), or a single TSV file used whole for training.
pub fn read_splits(path: &Path, source: &str, target: &str) -> Result<Splits> {
    if !path.is_dir() {
        return Ok(Splits { train: read_tsv(path, source, target)?, ..Splits::default() });
    }
    let optional = |split: &str| -> Result<Vec<Pair>> {
        match split_file(path, split) {
            Ok(file) => read_tsv(&file, source, target),
            Err(_) => Ok(Vec::new()),
        }
    };
    Ok(Splits {
        train: read_tsv(&split_file(path, "train")?, source, target)?,
        valid: optional("valid")?,
        test: optional("test")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tessera-mt-tsv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn reads_named_columns_in_any_order() {
        let path = write("ok.tsv", "ref\ten\tde\n1\tHello.\tHallo.\n2\tYes\tJa\n");
        let pairs = read_tsv(&path, "de", "en").unwrap();
        assert_eq!(
            pairs,
            vec![
                Pair { source: "Hallo.".into(), target: "Hello.".into() },
                Pair { source: "Ja".into(), target: "Yes".into() }
            ]
        );
    }

    #[test]
    fn bad_rows_are_errors_with_file_and_line() {
        let missing = write("missing.tsv", "de\ten\nHallo\tHello\nnur eins\n");
        let err = read_tsv(&missing, "de", "en").unwrap_err().to_string();
        assert!(err.contains("missing.tsv:3: 1 fields, but the header has 2"), "{err}");
        let empty = write("empty.tsv", "de\ten\nHallo\tHello\n\nJa\tYes\n");
        assert_eq!(read_tsv(&empty, "de", "en").unwrap().len(), 2, "a blank line is skipped");
        let header = write("header.tsv", "de\tfr\nHallo\tSalut\n");
        let err = read_tsv(&header, "de", "en").unwrap_err().to_string();
        assert!(err.contains("header.tsv:1: no field `en` in the header (fields: de, fr)"), "{err}");
        let blank = write("blank.tsv", "de\ten\nHallo\t \n");
        assert!(
            read_tsv(&blank, "de", "en").unwrap_err().to_string().contains("blank.tsv:2: the `en` sentence is empty")
        );
        assert!(read_tsv(Path::new("/no/such.tsv"), "de", "en").unwrap_err().to_string().starts_with("/no/such.tsv: "));
    }
}
