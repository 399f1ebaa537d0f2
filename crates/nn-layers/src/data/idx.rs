//! The IDX format of MNIST: a big-endian magic (`0x0000_08_NN`, NN = rank), the dims, then
//! unsigned bytes.

use std::path::Path;

use super::read_maybe_gz;
use crate::{NnError, Result};

fn parse(path: &Path, bytes: &[u8], rank: usize) -> Result<(Vec<usize>, Vec<u8>)> {
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(NnError::format(path, format!("{} bytes is shorter than an IDX header of {header}", bytes.len())));
    }
    let word = |i: usize| u32::from_be_bytes([bytes[4 * i], bytes[4 * i + 1], bytes[4 * i + 2], bytes[4 * i + 3]]);
    let magic = word(0);
    let expected = 0x0800 | rank as u32;
    if magic != expected {
        return Err(NnError::format(
            path,
            format!("IDX magic is {magic:#010x}, expected {expected:#010x} (unsigned bytes, rank {rank})"),
        ));
    }
    let dims: Vec<usize> = (1..=rank).map(|i| word(i) as usize).collect();
    let body = &bytes[header..];
    // Checked: four dims of up to 2^32 overflow 64 bits, and a wrapped product could match.
    let count = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if count != Some(body.len()) {
        let count = count.map_or_else(|| "more than 2^64".to_string(), |c| c.to_string());
        return Err(NnError::format(
            path,
            format!("header {dims:?} promises {count} bytes after byte {header}, found {}", body.len()),
        ));
    }
    Ok((dims, body.to_vec()))
}

/// Images as `(count, height, width, pixels in 0..=255)`.
pub fn read_idx_images(path: &Path) -> Result<(usize, usize, usize, Vec<u8>)> {
    let (dims, pixels) = parse(path, &read_maybe_gz(path)?, 3)?;
    Ok((dims[0], dims[1], dims[2], pixels))
}

/// Labels, one byte each.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    Ok(parse(path, &read_maybe_gz(path)?, 1)?.1)
}

/// MNIST from a folder with the four IDX files (gzipped or not): (train, test), pixels scaled
/// to [0, 1], each example `[784]`.
pub fn read_mnist(dir: &Path) -> Result<(super::Dataset, super::Dataset)> {
    let split = |images: &str, labels: &str| -> Result<super::Dataset> {
        let find = |name: &str| {
            let gz = dir.join(format!("{name}.gz"));
            if gz.exists() { gz } else { dir.join(name) }
        };
        let image_path = find(images);
        let (count, h, w, pixels) = read_idx_images(&image_path)?;
        let labels = read_idx_labels(&find(labels))?;
        if labels.len() != count {
            return Err(NnError::format(image_path, format!("{count} images but {} labels", labels.len())));
        }
        super::Dataset::new(
            pixels.iter().map(|&p| p as f32 / 255.0).collect(),
            vec![h * w],
            labels.iter().map(|&l| l as i64).collect(),
        )
    };
    Ok((
        split("train-images-idx3-ubyte", "train-labels-idx1-ubyte")?,
        split("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")?,
    ))
}
