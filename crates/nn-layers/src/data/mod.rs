//! In-memory datasets, readers for the IDX (MNIST) and digits CSV formats, and a batching
//! loader with seeded shuffles.

mod idx;
mod loader;
pub mod records;
mod table;

pub use idx::{read_idx_images, read_idx_labels, read_mnist};
pub use loader::{Batches, Dataset, Examples, LastBatch, permutation};
pub use records::{Header, Record, RecordFormat, read_records};
pub use table::read_digits_csv;

use std::io::Read;
use std::path::Path;

use crate::{NnError, Result};

/// The bytes of a file, gunzipped when its name ends in `.gz` or it starts with gzip's magic
/// bytes (concatenated gzip members are read as one stream, as `gunzip` does).
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| NnError::io(path, e))?;
    if path.extension().is_some_and(|e| e == "gz") || raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| NnError::format(path, format!("not valid gzip: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}
