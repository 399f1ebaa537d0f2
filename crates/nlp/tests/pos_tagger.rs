//! Part-of-speech tagging on the Brown corpus with a document-level split (no document is in
//! two splits). CI trains a bidirectional LSTM tagger on a slice of the training documents; the
//! full run is `tessera train tagger` (its numbers are in docs/sequence-models.md).

use backend_cpu::CpuDevice;
use nlp::classify::split_indices;
use nlp::corpus::{TaggedDocument, read_brown};
use nlp::tag::{Tagger, TaggerConfig, TaggingData, TaggingVocab, evaluate_tagger, train_tagger_epoch};
use nn_layers::ModuleExt;
use nn_layers::optim::{Adam, AdamConfig};
use tensor_core::TensorRng;
use test_support::shared_data;

fn pick(docs: &[TaggedDocument], indices: &[usize]) -> Vec<TaggedDocument> {
    indices.iter().map(|&i| docs[i].clone()).collect()
}

#[test]
fn bilstm_tags_held_out_brown_documents() {
    let Some(dir) = shared_data("brown") else { return };
    let docs = read_brown(&dir.join("brown_tagged.jsonl.gz")).expect("Brown parses");
    assert_eq!(docs.len(), 500);
    let parts = split_indices(docs.len(), &[0.8, 0.1, 0.1], 0);
    let (train, test) = (pick(&docs, &parts[0][..60]), pick(&docs, &parts[2][..15]));
    let vocab = TaggingVocab::build(&train, &docs);
    let (train_data, test_data) = (TaggingData::encode(&train, &vocab), TaggingData::encode(&test, &vocab));
    println!(
        "{} train tokens, {} test tokens, {} words, {} suffixes, {} tags",
        train_data.tokens(),
        test_data.tokens(),
        vocab.words.len(),
        vocab.suffixes.len(),
        vocab.tags.len()
    );
    let dev = CpuDevice::shared();
    let config = TaggerConfig {
        words: vocab.words.len(),
        suffixes: vocab.suffixes.len(),
        tags: vocab.tags.len(),
        word_dim: 64,
        suffix_dim: 32,
        hidden: 64,
        bidirectional: true,
        dropout: 0.2,
    };
    let tagger = Tagger::new(&config, &mut TensorRng::new(0), &dev).unwrap();
    let mut opt = Adam::new(tagger.parameters(), AdamConfig::adam(3e-3));
    let mut accuracy = 0.0;
    for epoch in 0..2 {
        let (loss, train_acc) = train_tagger_epoch(&tagger, &mut opt, &train_data, 32, epoch, &dev, false).unwrap();
        accuracy = evaluate_tagger(&tagger, &test_data, &dev).unwrap();
        println!("epoch {epoch}: loss {loss:.4}, train {:.2}%, held-out {:.2}%", 100.0 * train_acc, 100.0 * accuracy);
    }
    assert!(accuracy >= 0.90, "held-out token accuracy {accuracy}");
}
