//! The repository's `data/` folder, compiled into the binary, so the demo and every built-in
//! dataset name work from any directory after `cargo install --path crates/cli`.
//!
//! The readers take paths (and read gzip by its magic bytes), so the embedded files are written
//! once into a folder named by their content's hash under the system's temporary folder, each
//! file atomically; later runs (and concurrent ones) find them there. [`file`] answers the path
//! of one of them.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nn_layers::NnError;
use nn_layers::checkpoint::write_atomically;

/// One embedded file: its path under `data/` and its bytes.
pub struct Embedded {
    /// Path relative to the repository's `data/` folder, `/`-separated.
    pub path: &'static str,
    /// The file's bytes as they were at build time.
    pub bytes: &'static [u8],
}

macro_rules! embed {
    ($($path:literal),* $(,)?) => {
        &[$(Embedded { path: $path, bytes: include_bytes!(concat!("../../../data/", $path)) }),*]
    };
}

/// Every file of the repository's `data/` folder (a test checks that none is left out).
pub const FILES: &[Embedded] = embed!(
    "austen/SOURCE.md",
    "austen/austen_novels.txt.gz",
    "brown-sample/SOURCE.md",
    "brown-sample/brown_sample.jsonl.gz",
    "sklearn-digits/SOURCE.md",
    "sklearn-digits/digits.csv.gz",
    "word-eval/SOURCE.md",
    "word-eval/questions-words.txt",
    "word-eval/wordsim353.tsv",
);

/// FNV-1a over every embedded path and byte: names the unpacked folder, so a binary built from
/// other data never reads a stale copy.
fn content_hash() -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for file in FILES {
        for &b in file.path.as_bytes().iter().chain(file.bytes) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// Writes every embedded file that is not already there (with its full length) under `root`.
fn unpack(root: &Path) -> Result<(), NnError> {
    for file in FILES {
        let path = root.join(file.path);
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == file.bytes.len() as u64) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| NnError::io(parent, e))?;
        }
        write_atomically(&path, |out| out.write_all(file.bytes))?;
    }
    Ok(())
}

/// The folder holding the unpacked files, unpacking them on first use in this process.
pub fn root() -> Result<&'static Path, NnError> {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    if let Some(root) = ROOT.get() {
        return Ok(root);
    }
    let root = std::env::temp_dir().join(format!("tessera-data-{:016x}", content_hash()));
    unpack(&root)?;
    Ok(ROOT.get_or_init(|| root))
}

/// The path of the built-in file `relative` (as under the repository's `data/`), e.g.
/// `sklearn-digits/digits.csv.gz`.
pub fn file(relative: &str) -> Result<PathBuf, NnError> {
    if !FILES.iter().any(|f| f.path == relative) {
        return Err(NnError::Invalid(format!("no built-in data file `{relative}`")));
    }
    Ok(root()?.join(relative))
}

/// The path of the built-in dataset folder `name` (e.g. `sklearn-digits`).
pub fn folder(name: &str) -> Result<PathBuf, NnError> {
    if !FILES.iter().any(|f| f.path.split('/').next() == Some(name)) {
        return Err(NnError::Invalid(format!("no built-in dataset `{name}`")));
    }
    Ok(root()?.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file under the repository's `data/` is embedded, byte for byte.
    #[test]
    fn every_data_file_is_embedded() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
        let mut on_disk = Vec::new();
        let mut stack = vec![data.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    on_disk.push(path.strip_prefix(&data).unwrap().to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let embedded: Vec<&str> = FILES.iter().map(|f| f.path).collect();
        assert_eq!(on_disk, embedded, "data/ and builtin::FILES differ: add the file to FILES");
        let digits = file("sklearn-digits/digits.csv.gz").unwrap();
        assert_eq!(std::fs::read(digits).unwrap(), std::fs::read(data.join("sklearn-digits/digits.csv.gz")).unwrap());
        assert!(file("nothing/here").is_err());
        assert_eq!(folder("austen").unwrap(), root().unwrap().join("austen"));
    }
}
