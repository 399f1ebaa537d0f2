//! Readers for text corpora. Each reader streams or reads its file once and reports malformed
//! input as a typed error naming the file and line.

mod sentiment;

pub use sentiment::{RatedText, read_rated_text};
