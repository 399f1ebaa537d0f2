//! In-memory datasets, readers for the IDX (MNIST) and digits CSV formats, and a batching
//! loader with seeded shuffles.

mod idx;
mod loader;
mod table;

pub use idx::{read_idx_images, read_idx_labels, read_mnist};
pub use loader::{Batches, Dataset, Examples, LastBatch, permutation};
pub use table::read_digits_csv;

use std::io::Read;
use std::path::Path;

use crate::{NnError, Result};

/// The bytes of a file, gunzipped when its name ends in `.gz`.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| NnError::io(path, e))?;
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| NnError::format(path, format!("not valid gzip: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}
