//! Parallel text in tab-separated files: a header line naming the columns, then one sentence
//! pair per line; gzip-compressed when the name ends in `.gz`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::{Result, TranslateError};

/// One sentence and its translation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    /// The sentence in the source language.
    pub source: String,
    /// Its translation.
    pub target: String,
}

/// Reads the pairs of a parallel TSV file: the columns named `source` and `target` in its header
/// line (other columns are ignored). Errors name the file and line: a missing header or column, a
/// row with too few fields, an empty line or an empty sentence.
pub fn read_tsv(path: &Path, source: &str, target: &str) -> Result<Vec<Pair>> {
    let io = |e| TranslateError::Io { path: path.to_path_buf(), source: e };
    let file = File::open(path).map_err(io)?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut lines = BufReader::new(reader).lines();
    let bad = |line: usize, message: String| TranslateError::Data { path: path.to_path_buf(), line, message };
    let header = lines
        .next()
        .ok_or_else(|| bad(1, "the file is empty: expected a header line naming the columns".into()))?
        .map_err(io)?;
    let columns: Vec<&str> = header.split('\t').map(str::trim).collect();
    let find = |name: &str| {
        columns
            .iter()
            .position(|c| *c == name)
            .ok_or_else(|| bad(1, format!("no column `{name}` in the header (columns: {})", columns.join(", "))))
    };
    let (si, ti) = (find(source)?, find(target)?);
    let mut pairs = Vec::new();
    for (index, line) in lines.enumerate() {
        let number = index + 2;
        let line = line.map_err(io)?;
        let line = line.strip_suffix('\r').unwrap_or(&line);
        if line.trim().is_empty() {
            return Err(bad(number, "empty line: expected a tab-separated sentence pair".into()));
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let field = |i: usize, name: &str| -> Result<String> {
            let text = fields.get(i).ok_or_else(|| {
                bad(number, format!("{} fields, but column `{name}` is field {} of the header", fields.len(), i + 1))
            })?;
            let text = text.trim();
            if text.is_empty() {
                return Err(bad(number, format!("the `{name}` sentence is empty")));
            }
            Ok(text.to_string())
        };
        pairs.push(Pair { source: field(si, source)?, target: field(ti, target)? });
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
        assert!(err.contains("missing.tsv:3:") && err.contains("column `en`"), "{err}");
        let empty = write("empty.tsv", "de\ten\nHallo\tHello\n\nJa\tYes\n");
        let err = read_tsv(&empty, "de", "en").unwrap_err().to_string();
        assert!(err.contains("empty.tsv:3: empty line"), "{err}");
        let header = write("header.tsv", "de\tfr\nHallo\tSalut\n");
        let err = read_tsv(&header, "de", "en").unwrap_err().to_string();
        assert!(err.contains("header.tsv:1: no column `en`"), "{err}");
        let blank = write("blank.tsv", "de\ten\nHallo\t \n");
        assert!(
            read_tsv(&blank, "de", "en").unwrap_err().to_string().contains("blank.tsv:2: the `en` sentence is empty")
        );
        assert!(matches!(read_tsv(Path::new("/no/such.tsv"), "de", "en"), Err(TranslateError::Io { .. })));
    }
}
