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

/// How far a gzip file read whole may expand: its decompressed bytes may be at most this many
/// times its compressed size, or [`GZIP_FLOOR`] bytes, whichever is larger. Real text and
/// images compress 3-8x; far more is a decompression bomb, refused before anything is
/// allocated for it.
pub const GZIP_MAX_EXPANSION: usize = 100;

/// The decompressed size every gzip file may reach whatever its compressed size.
pub const GZIP_FLOOR: usize = 16 << 20;

/// The bytes of a file, gunzipped when its name ends in `.gz` or it starts with gzip's magic
/// bytes, through [`gunzip_limited`].
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| NnError::io(path, e))?;
    if !(path.extension().is_some_and(|e| e == "gz") || raw.starts_with(&[0x1f, 0x8b])) {
        return Ok(raw);
    }
    gunzip_limited(&raw).map_err(|message| NnError::format(path, message))
}

/// `raw` gunzipped whole (concatenated gzip members are read as one stream, as `gunzip` does).
/// The decompressed size is counted first and checked against [`GZIP_MAX_EXPANSION`], so a
/// bomb is refused before anything is allocated for it and the buffer is allocated once, at
/// its size. The error is a sentence saying what was wrong, for the caller to put beside the
/// file's name.
pub fn gunzip_limited(raw: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let invalid = |e: std::io::Error| format!("not valid gzip: {e}");
    let limit = raw.len().saturating_mul(GZIP_MAX_EXPANSION).max(GZIP_FLOOR);
    let mut counted = flate2::read::MultiGzDecoder::new(raw).take(limit as u64 + 1);
    let size = std::io::copy(&mut counted, &mut std::io::sink()).map_err(invalid)?;
    if size > limit as u64 {
        return Err(format!(
            "gzip data expands past {limit} bytes, more than {GZIP_MAX_EXPANSION} times its {} compressed bytes (a \
             decompression bomb?)",
            raw.len()
        ));
    }
    let mut out = Vec::with_capacity(size as usize);
    flate2::read::MultiGzDecoder::new(raw).read_to_end(&mut out).map_err(invalid)?;
    Ok(out)
}
