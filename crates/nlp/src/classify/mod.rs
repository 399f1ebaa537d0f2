//! Sentence classification: token-id datasets padded per batch, and a TextCNN.

mod dataset;
mod sentiment;
mod textcnn;

pub use dataset::{TokenDataset, split_indices};
pub use sentiment::{SentimentTask, sentiment_task};
pub use textcnn::{TextCnn, TextCnnConfig};
