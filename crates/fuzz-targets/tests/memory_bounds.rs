//! Memory that stays flat in the corpus's length: the n-gram counter (its occurrence buffer
//! is bounded and merged) and word2vec (vocabulary counting and training stream the text)
//! peak at about the same bytes on a corpus and on the same corpus eight times over; and the
//! vocabulary counter holds no more than its cap of distinct words on text that never repeats.
//! Measured with the crate's counting allocator, so these run in this test binary alone.

use std::path::{Path, PathBuf};

use fuzz_targets::alloc;
use nlp::ngram::NgramCounter;
use nlp::word2vec::{TextFiles, TextNormalizer, Word2Vec, Word2VecConfig, build_vocab_capped};

/// A text of `sentences` sentences over a 300-word vocabulary, the same for the same seed.
fn text(sentences: usize) -> String {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut out = String::new();
    for _ in 0..sentences {
        for _ in 0..12 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            out.push_str(&format!("w{} ", (state >> 33) % 300));
        }
        out.push('\n');
    }
    out
}

fn scratch(name: &str, body: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("tessera-memory-{}-{name}", std::process::id()));
    std::fs::write(&path, body).unwrap();
    path
}

/// One test at a time: the allocator's counters are global to the test binary, so another
/// test's allocations would count in a measurement.
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    ALONE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The peak bytes allocated while `run` runs, above what was live before.
fn peak_of(run: impl FnOnce()) -> usize {
    let before = alloc::live();
    alloc::reset_peak();
    run();
    alloc::peak().saturating_sub(before)
}

/// The two corpora: a base text and the same text eight times.
fn corpora() -> (PathBuf, PathBuf) {
    let base = text(4000);
    (scratch("x1.txt", &base), scratch("x8.txt", &base.repeat(8)))
}

fn assert_flat(what: &str, small: usize, large: usize) {
    eprintln!("{what}: peak {small} bytes on the corpus, {large} on eight times it");
    assert!(
        large <= small + small / 4 + (256 << 10),
        "{what}: the peak grew with the corpus's length: {small} bytes, then {large} on eight times the text"
    );
}

#[test]
fn memory_stays_flat_in_corpus_length() {
    let _alone = alone();
    let (x1, x8) = corpora();
    // Counting n-grams: a 16k-occurrence buffer, far below either corpus (48k and 384k tokens).
    let count = |path: &Path| {
        peak_of(|| {
            let mut counter = NgramCounter::with_buffer(3, 1 << 14).unwrap();
            counter.add_file(path).unwrap();
            let counts = counter.finish().unwrap();
            assert!(counts.tokens > 0);
        })
    };
    assert_flat("n-gram counting", count(&x1), count(&x8));

    // word2vec: the vocabulary pass and one epoch stream the file.
    let train = |path: &Path| {
        peak_of(|| {
            let corpus = TextFiles { paths: vec![path.to_path_buf()], normalizer: TextNormalizer::default() };
            let config =
                Word2VecConfig { size: 16, window: 3, iter: 1, threads: 1, min_count: 1, ..Word2VecConfig::default() };
            let (model, _) = Word2Vec::train(&corpus, &config, &mut |_| {}).unwrap();
            assert_eq!(model.vocab.len(), 300);
        })
    };
    assert_flat("word2vec", train(&x1), train(&x8));
    for path in [x1, x8] {
        std::fs::remove_file(path).unwrap();
    }
}

#[test]
fn the_vocabulary_counter_is_capped() {
    let _alone = alone();
    // 40 frequent words, then 20,000 words that never repeat, then the frequent words again.
    let frequent: String = (0..40).map(|i| format!("common{i} ")).collect::<String>().repeat(50);
    let unique: String = (0..20_000).map(|i| format!("once{i} ")).collect();
    let path = scratch("capped.txt", &format!("{frequent}\n{unique}\n{frequent}\n"));
    let corpus = TextFiles { paths: vec![path.clone()], normalizer: TextNormalizer::default() };
    let uncapped = peak_of(|| {
        build_vocab_capped(&corpus, 1, None, usize::MAX).unwrap();
    });
    let mut vocab = None;
    let capped = peak_of(|| vocab = Some(build_vocab_capped(&corpus, 1, None, 1000).unwrap()));
    let vocab = vocab.unwrap();
    eprintln!("vocabulary counting: peak {uncapped} bytes uncapped, {capped} capped at 1000 words");
    assert!(vocab.len() <= 1000 + 40, "{} words kept", vocab.len());
    for i in 0..40 {
        let id = vocab.id(&format!("common{i}")).unwrap_or_else(|| panic!("common{i} survives the pruning"));
        assert_eq!(vocab.count(id), 100, "a frequent word keeps its whole count");
    }
    assert!(capped * 4 < uncapped, "the cap bounds the counter: {capped} vs {uncapped} bytes");
    std::fs::remove_file(path).unwrap();
}
