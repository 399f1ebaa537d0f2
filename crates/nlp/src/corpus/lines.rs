//! Streaming line readers: plain or gzip text, one line at a time, never the whole file in
//! memory. Invalid UTF-8 is a typed error naming the file and line.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::{NlpError, Result};

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The whole content of a file, gunzipped when it starts with the gzip magic bytes (with the
/// decompression-bomb limit of [`nn_layers::data::gunzip_limited`]).
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|source| NlpError::Io { path: path.to_path_buf(), source })?;
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    nn_layers::data::gunzip_limited(&bytes).map_err(|msg| NlpError::Parse { path: path.to_path_buf(), line: 0, msg })
}

/// The lines of a text file (gunzipped on the fly when the file starts with the gzip magic
/// bytes), without their line endings. Each item is `(line number, text)`, 1-based.
pub struct Lines {
    path: PathBuf,
    reader: Box<dyn BufRead>,
    line: usize,
    buffer: Vec<u8>,
}

impl Lines {
    /// Opens `path` for streaming.
    pub fn open(path: &Path) -> Result<Lines> {
        let io_error = |source| NlpError::Io { path: path.to_path_buf(), source };
        let mut file = BufReader::with_capacity(1 << 16, File::open(path).map_err(io_error)?);
        let gzipped = file.fill_buf().map_err(io_error)?.starts_with(&GZIP_MAGIC);
        let reader: Box<dyn BufRead> = if gzipped {
            Box::new(BufReader::with_capacity(1 << 16, flate2::bufread::MultiGzDecoder::new(file)))
        } else {
            Box::new(file)
        };
        Ok(Lines { path: path.to_path_buf(), reader, line: 0, buffer: Vec::new() })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next line, or `None` at the end of the file.
    pub fn next_line(&mut self) -> Option<Result<(usize, &str)>> {
        self.buffer.clear();
        match self.reader.read_until(b'\n', &mut self.buffer) {
            Ok(0) => None,
            Ok(_) => {
                self.line += 1;
                while matches!(self.buffer.last(), Some(b'\n' | b'\r')) {
                    self.buffer.pop();
                }
                Some(match std::str::from_utf8(&self.buffer) {
                    Ok(text) => Ok((self.line, text)),
                    Err(e) => Err(NlpError::Parse {
                        path: self.path.clone(),
                        line: self.line,
                        msg: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                    }),
                })
            }
            Err(source) => Some(Err(NlpError::Io { path: self.path.clone(), source })),
        }
    }

    /// Calls `each` with every line in order; stops at the first error (its own or `each`'s).
    pub fn for_each(mut self, mut each: impl FnMut(usize, &str) -> Result<()>) -> Result<()> {
        while let Some(next) = self.next_line() {
            let (number, text) = next?;
            each(number, text)?;
        }
        Ok(())
    }
}

/// Reads a whole (small) file as UTF-8 text, gunzipping it when needed, with the line of the
/// first invalid byte in the error.
pub fn read_text(path: &Path) -> Result<String> {
    let mut text = String::new();
    Lines::open(path)?.for_each(|_, line| {
        text.push_str(line);
        text.push('\n');
        Ok(())
    })?;
    Ok(text)
}

/// The longest prefix of `text` of at most `max_bytes` bytes that ends on a character boundary.
pub fn text_prefix(text: &str, max_bytes: usize) -> &str {
    let mut end = max_bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn plain_gzip_and_invalid_utf8() {
        let dir = std::env::temp_dir().join(format!("tessera-lines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("a.txt");
        std::fs::write(&plain, "one two\r\nthree\n\nfour").unwrap();
        let mut seen = Vec::new();
        Lines::open(&plain)
            .unwrap()
            .for_each(|n, l| {
                seen.push((n, l.to_string()));
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, [(1, "one two".into()), (2, "three".into()), (3, String::new()), (4, "four".into())]);

        let gz = dir.join("a.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"x y\nz\n").unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        assert_eq!(read_text(&gz).unwrap(), "x y\nz\n");

        let bad = dir.join("bad.txt");
        std::fs::write(&bad, b"fine\nbro\xffken\n").unwrap();
        match read_text(&bad) {
            Err(NlpError::Parse { line, msg, .. }) => assert_eq!((line, msg.as_str()), (2, "invalid UTF-8 at byte 3")),
            other => panic!("expected a parse error, got {other:?}"),
        }
        assert!(matches!(Lines::open(&dir.join("missing.txt")), Err(NlpError::Io { .. })));
        assert_eq!((text_prefix("aé", 2), text_prefix("aé", 3), text_prefix("aé", 9)), ("a", "aé", "aé"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
