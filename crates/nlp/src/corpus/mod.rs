//! Readers for text corpora. Each reader streams or reads its file once and reports malformed
//! input as a typed error naming the file and line.

mod brown;
mod lines;
mod prose;
mod sentiment;

pub use brown::{TaggedDocument, read_brown, simplify_brown_tag};
pub use lines::{Lines, read_bytes, read_text, text_prefix};
pub use prose::{for_each_prose_sentence, prose_sentences};
pub use sentiment::{RatedText, read_rated_text};
