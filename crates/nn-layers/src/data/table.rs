//! Numeric CSV tables.

use std::path::Path;

use super::{Dataset, read_maybe_gz};
use crate::{NnError, Result};

/// scikit-learn's digits CSV: per line 64 pixel values (0..=16) and a label (0..=9). Pixels are
/// scaled to [0, 1].
pub fn read_digits_csv(path: &Path) -> Result<Dataset> {
    let bytes = read_maybe_gz(path)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| NnError::format(path, format!("not UTF-8: {e}")))?;
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 65 {
            return Err(NnError::format(path, format!("line {}: {} fields, expected 65", number + 1, fields.len())));
        }
        for (col, field) in fields.iter().enumerate() {
            let value: f64 = field.parse().map_err(|_| {
                NnError::format(path, format!("line {}, column {}: `{field}` is not a number", number + 1, col + 1))
            })?;
            if col < 64 {
                features.push((value / 16.0) as f32);
            } else if (0.0..=9.0).contains(&value) && value.fract() == 0.0 {
                labels.push(value as i64);
            } else {
                return Err(NnError::format(path, format!("line {}: label `{field}` is not a digit 0-9", number + 1)));
            }
        }
    }
    if labels.is_empty() {
        return Err(NnError::format(path, "no rows"));
    }
    Dataset::new(features, vec![64], labels)
}
