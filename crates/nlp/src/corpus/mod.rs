//! Readers for text corpora. Each reader streams or reads its file once and reports malformed
//! input as a typed error naming the file and line.

mod brown;
mod conll;
mod lines;
mod pretraining;
mod prose;
mod sentiment;
mod wikitext;

pub use brown::{TaggedDocument, read_brown, simplify_brown_tag};
pub use conll::{ConllDocument, ConllLine, parse_conll_lines, read_conll_lines};
pub use lines::{Lines, read_bytes, read_text, text_prefix};
pub use pretraining::{
    PRETRAINING_SOURCES, PretrainingCorpus, Source, SourceCount, SourceFormat, build_pretraining_corpus,
    source_documents,
};
pub use prose::{for_each_prose_sentence, prose_sentences};
pub use sentiment::{RatedText, read_rated_text};
pub use wikitext::{Article, strip_wikitext, unescape_xml, wiki_articles};
