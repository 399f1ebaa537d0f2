//! The fuzz targets: one per reader of outside input.
//!
//! A target names the file (or the files of a folder) its input is written to, gives valid
//! seed files, and reads the written input with the reader under test. It returns `Ok` for a
//! value and `Err` with the text of a typed error; both are fine. Anything else is a finding:
//! a panic, an abort, a run past the time limit, an allocation over the cap, or an error whose
//! text does not name the file it read.

mod apps;
mod models;
mod tables;
mod tasks;
mod tasks_text;
mod text;
mod tpu;
mod transfer;

use std::path::{Path, PathBuf};

/// Separates the files of a folder target's input, in the order of [`Target::files`].
pub const FILE_SEPARATOR: &[u8] = b"\n=====TESSERA-FUZZ-FILE=====\n";

/// A reader under test.
pub struct Target {
    /// Its name on the command line and as the folder of its regression files.
    pub name: &'static str,
    /// The file name the input is written to; several for a folder target, whose input holds
    /// the files separated by [`FILE_SEPARATOR`] (a file whose part is missing is absent).
    pub files: &'static [&'static str],
    /// Valid inputs to start mutating from.
    pub seeds: fn() -> Vec<Vec<u8>>,
    /// Reads the written input: the file, or the folder of a folder target. `Err` holds the text
    /// of the typed error.
    pub read: fn(&Path) -> Result<(), String>,
}

impl Target {
    /// Whether the input is a folder of several files.
    pub fn is_folder(&self) -> bool {
        self.files.len() > 1
    }

    /// Writes `input` under `dir` as this target's file or folder and returns the path to read.
    pub fn write_input(&self, dir: &Path, input: &[u8]) -> std::io::Result<PathBuf> {
        if !self.is_folder() {
            let path = dir.join(self.files[0]);
            std::fs::write(&path, input)?;
            return Ok(path);
        }
        let folder = dir.join("folder");
        std::fs::create_dir_all(&folder)?;
        let parts = split_files(input);
        for (i, name) in self.files.iter().enumerate() {
            let path = folder.join(name);
            match parts.get(i) {
                Some(part) => std::fs::write(&path, part)?,
                None => match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                },
            }
        }
        Ok(folder)
    }

    /// Reads `input` as this target does, checking that an error names the file it read.
    /// `Err` describes a finding (panics are not caught here).
    pub fn check(&self, dir: &Path, input: &[u8]) -> Result<(), String> {
        let path =
            self.write_input(dir, input).map_err(|e| format!("cannot write the input under {}: {e}", dir.display()))?;
        match (self.read)(&path) {
            Ok(()) => Ok(()),
            Err(message) if message.contains(&path.display().to_string()) => Ok(()),
            Err(message) => Err(format!("the error does not name {}: {message}", path.display())),
        }
    }
}

/// The parts of a folder target's input.
pub fn split_files(input: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = input;
    while let Some(at) = rest.windows(FILE_SEPARATOR.len()).position(|w| w == FILE_SEPARATOR) {
        parts.push(&rest[..at]);
        rest = &rest[at + FILE_SEPARATOR.len()..];
    }
    parts.push(rest);
    parts
}

/// Joins the files of a folder target's seed.
pub fn join_files(parts: &[&[u8]]) -> Vec<u8> {
    parts.join(FILE_SEPARATOR)
}

/// Every target.
pub fn all() -> Vec<Target> {
    let mut out = Vec::new();
    out.extend(tables::targets());
    out.extend(tasks::targets());
    out.extend(tasks_text::targets());
    out.extend(text::targets());
    out.extend(models::targets());
    out.extend(tpu::targets());
    out.extend(apps::targets());
    out.extend(transfer::targets());
    out
}

/// The target named `name`.
pub fn find(name: &str) -> Option<Target> {
    all().into_iter().find(|t| t.name == name)
}

/// An error's text, for a target's `read`.
pub(crate) fn text<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<(), String> {
    result.map(|_| ()).map_err(|e| e.to_string())
}

/// Gzips `bytes` for a seed.
pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

/// A scratch folder for seeds that are made by saving a model.
pub(crate) fn seed_scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-fuzz-seed-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the temporary folder is writable");
    dir
}
