//! word2vec: the vector formats (and gensim reading them), deterministic training, sensible
//! neighbours after training on Jane Austen, and the evaluation protocols on known answers.

use std::path::PathBuf;
use std::process::Command;

use nlp::NlpError;
use nlp::corpus::read_text;
use nlp::vocab::{Vocab, VocabConfig};
use nlp::word2vec::{Embeddings, TextFiles, TextNormalizer, VectorFormat, Word2Vec, Word2VecConfig};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-w2v-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn toy() -> Embeddings {
    let words = ["king", "queen", "man", "woman", "café"].map(String::from).to_vec();
    let vectors = vec![0.5, 1.25, -3.0, 0.5, -1.0, 2.0, 1e-7, 3.5e8, 0.1, -0.1, 0.2, 0.3, 7.0, 8.0, 9.0];
    Embeddings::new(words, 3, vectors).unwrap()
}

fn same(a: &Embeddings, b: &Embeddings) {
    assert_eq!(a.words(), b.words());
    for w in a.words() {
        assert_eq!(a.vector(w).unwrap(), b.vector(w).unwrap(), "{w}");
    }
}

#[test]
fn formats_round_trip_with_c_and_gensim_newlines() {
    let e = toy();
    for (format, binary) in
        [(VectorFormat::Text, false), (VectorFormat::BinaryC, true), (VectorFormat::BinaryGensim, true)]
    {
        let path = scratch(&format!("{format:?}.vec"));
        e.save(&path, format).unwrap();
        same(&e, &Embeddings::load(&path, binary).unwrap());
    }
    let c = std::fs::read(scratch("BinaryC.vec")).unwrap();
    let gensim = std::fs::read(scratch("BinaryGensim.vec")).unwrap();
    assert!(c.starts_with(b"5 3\nking ") && gensim.starts_with(b"5 3\nking "));
    let record = "king ".len() + 12;
    assert_eq!((c[4 + record], gensim[4 + record]), (b'\n', b'q'), "the C tool ends each vector with a newline");
    assert_eq!(c.len(), gensim.len() + 5);
}

fn load_error(bytes: &[u8], binary: bool) -> String {
    let path = scratch("bad.vec");
    std::fs::write(&path, bytes).unwrap();
    match Embeddings::load(&path, binary) {
        Err(NlpError::Parse { line, msg, .. }) => format!("{line}: {msg}"),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn truncated_and_miscounted_files_are_typed_errors() {
    let e = toy();
    let path = scratch("good.bin");
    e.save(&path, VectorFormat::BinaryGensim).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(load_error(&bytes[..bytes.len() - 3], true).contains("truncated"));
    let mut more = bytes.clone();
    more.splice(0..1, *b"4");
    assert!(load_error(&more, true).contains("wrong count"));
    assert!(load_error(b"5 3\nking 1 2\n", false).starts_with("2: expected 3 values, found 2"));
    assert!(load_error(b"2 3\nking 1 2 3\n", false).contains("truncated"));
    assert!(load_error(b"1 3\nking 1 2 3\nqueen 1 2 3\n", false).starts_with("3: wrong count"));
    assert!(load_error(b"1 3\nking 1 x 3\n", false).contains("`x` is not a number"));
    assert!(load_error(b"three 3\n", false).starts_with("1: expected `<count> <dim>`"));
}

/// Austen's novels (the first two, or all six) as text8-normalised paragraphs.
fn austen_corpus(all: bool) -> Vec<Vec<String>> {
    let text = read_text(&test_support::repo_data("austen/austen_novels.txt.gz")).unwrap();
    let end = if all { text.len() } else { text.find("<<<WORK mansfieldpark>>>").unwrap() };
    let normalizer = TextNormalizer { lowercase: true, text8: true };
    text[..end].split("\n\n").map(|p| normalizer.tokens(p)).filter(|s| !s.is_empty()).collect()
}

fn small_config(cbow: bool, threads: usize) -> Word2VecConfig {
    Word2VecConfig { size: 32, iter: 1, threads, cbow, min_count: 3, ..Word2VecConfig::default() }
}

#[test]
fn one_thread_with_a_seed_is_deterministic() {
    let corpus: Vec<Vec<String>> = austen_corpus(false).into_iter().take(400).collect();
    for cbow in [false, true] {
        let train = |seed| {
            let config = Word2VecConfig { seed, hs: true, ..small_config(cbow, 1) };
            Word2Vec::train(&corpus, &config, &mut |_| {}).unwrap().0.vectors
        };
        let first = train(7);
        assert_eq!(first, train(7), "cbow {cbow}: same seed, same vectors");
        assert_ne!(first, train(8));
    }
}

#[test]
fn a_corpus_error_during_training_is_returned_not_hung_on() {
    let path = scratch("broken.txt");
    std::fs::write(&path, b"fine words here\nmore fine words\nbro\xffken line\n").unwrap();
    let corpus = TextFiles { paths: vec![path], normalizer: TextNormalizer::default() };
    let vocab = Vocab::from_counts(
        [("fine", 2u64), ("words", 2)],
        &VocabConfig { min_count: 1, max_size: None, specials: vec![], unknown: None },
    );
    let config = Word2VecConfig { size: 8, min_count: 1, threads: 2, ..Word2VecConfig::default() };
    match Word2Vec::train_with_vocab(&corpus, vocab, &config, &mut |_| {}) {
        Err(NlpError::Parse { line: 3, .. }) => {}
        other => panic!("expected the invalid UTF-8 on line 3, got {:?}", other.map(|(_, stats)| stats)),
    }
}

#[test]
fn austen_vectors_have_sensible_neighbours() {
    let corpus = austen_corpus(true);
    let cbow = Word2VecConfig { size: 64, iter: 5, threads: 2, min_count: 5, ..Word2VecConfig::default() };
    check_austen_neighbours(&corpus, &cbow);
}

#[test]
fn austen_skip_gram_hierarchical_softmax_on_two_threads_has_sensible_neighbours() {
    // Two workers train private copies of the top of the Huffman tree and publish them (see
    // `word2vec/rows.rs`): what they learn there must reach the shared model.
    let corpus = austen_corpus(true);
    let config = Word2VecConfig {
        size: 64,
        iter: 3,
        threads: 2,
        cbow: false,
        hs: true,
        negative: 0,
        ..Word2VecConfig::default()
    };
    check_austen_neighbours(&corpus, &config);
}

fn check_austen_neighbours(corpus: &Vec<Vec<String>>, config: &Word2VecConfig) {
    let mut last_alpha = f32::MAX;
    let (model, stats) = Word2Vec::train(corpus, config, &mut |p| {
        assert!(p.alpha <= last_alpha && p.words_done <= p.words_total);
        last_alpha = p.alpha;
    })
    .unwrap();
    println!("{stats:?}");
    assert!(stats.raw_words > 600_000 * config.iter as u64 && stats.effective_words < stats.raw_words);
    let e = Embeddings::from_model(model);
    let near = |word: &str| e.nearest(word, 10).unwrap().into_iter().map(|(w, _)| w).collect::<Vec<_>>();
    for (word, any_of) in [
        ("sister", &["sisters", "mother", "brother", "daughter", "aunt", "cousin"][..]),
        ("monday", &["tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]),
        ("happy", &["glad", "comfortable", "unhappy", "pleased", "sorry", "miserable", "delighted", "fortunate"]),
    ] {
        let neighbours = near(word);
        assert!(neighbours.iter().any(|n| any_of.contains(&n.as_str())), "{word}: {neighbours:?}");
    }
}

#[test]
fn evaluation_protocols_on_known_vectors() {
    // Two clean directions: gender (x) and royalty (y); `apple` is noise.
    let words = ["man", "woman", "king", "queen", "boy", "girl", "apple"].map(String::from).to_vec();
    let vectors = vec![1., 0., 0., -1., 0., 0., 1., 1., 0., -1., 1., 0., 1., 0., 0.3, -1., 0., 0.3, 0.2, 0.1, 1.];
    let e = Embeddings::new(words, 3, vectors).unwrap();
    assert_eq!(e.analogy("man", "woman", "king", 1).unwrap()[0].0, "queen");
    assert!(matches!(e.nearest("unicorn", 3), Err(NlpError::Invalid(_))));
    let questions = scratch("questions.txt");
    std::fs::write(&questions, ": family\nman woman king queen\nMAN WOMAN BOY GIRL\nman woman unicorn horn\n: gram-plural\nking queen man woman\n").unwrap();
    let report = e.evaluate_analogies(&questions, 300_000, true).unwrap();
    assert_eq!((report.semantic().correct, report.semantic().skipped), (2, 1));
    assert_eq!((report.syntactic().correct, report.syntactic().incorrect), (1, 0));
    assert!((report.coverage() - 0.75).abs() < 1e-12 && report.overall().accuracy() == 1.0);
    // Restricted to the 4 most frequent words, `boy`/`girl` questions are skipped.
    assert_eq!(e.evaluate_analogies(&questions, 4, true).unwrap().overall().skipped, 2);
    let pairs = scratch("pairs.tsv");
    let lines = "# comment\nman\tboy\t9\nwoman\tgirl\t8.5\nking\tman\t5\nqueen\tapple\t1\nking\tunicorn\t5\n";
    std::fs::write(&pairs, lines).unwrap();
    let sim = e.evaluate_word_pairs(&pairs, true).unwrap();
    assert_eq!((sim.pairs, sim.oov), (4, 1));
    // Cosines 0.958, 0.958, 0.707, -0.069: ranks 3.5 3.5 2 1 against 4 3 2 1.
    assert!((sim.oov_ratio() - 20.0).abs() < 1e-9 && (sim.spearman - 0.9486832980505138).abs() < 1e-9, "{sim:?}");
    std::fs::write(&questions, ": s\nonly three words\n").unwrap();
    assert!(matches!(e.evaluate_analogies(&questions, 10, true), Err(NlpError::Parse { line: 2, .. })));
}

const GENSIM_ROUND_TRIP: &str = r#"
import json, sys
from gensim.models import KeyedVectors
out = {}
for path, binary in [(sys.argv[1], False), (sys.argv[2], True), (sys.argv[3], True)]:
    kv = KeyedVectors.load_word2vec_format(path, binary=binary)
    out[path] = {w: [float(x) for x in kv[w]] for w in kv.index_to_key}
kv.save_word2vec_format(sys.argv[4], binary=True)
print(json.dumps(out))
"#;

#[test]
fn gensim_reads_what_tessera_writes_and_back() {
    let Some(python) = test_support::python_with("gensim") else { return };
    let e = toy();
    let paths = ["t.txt", "c.bin", "g.bin", "from-gensim.bin"].map(scratch);
    e.save(&paths[0], VectorFormat::Text).unwrap();
    e.save(&paths[1], VectorFormat::BinaryC).unwrap();
    e.save(&paths[2], VectorFormat::BinaryGensim).unwrap();
    let out = Command::new(&python).args(["-c", GENSIM_ROUND_TRIP]).args(&paths).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let loaded: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for path in &paths[..3] {
        for word in e.words() {
            let theirs: Vec<f32> = loaded[path.to_str().unwrap()][word]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            assert_eq!(theirs, e.vector(word).unwrap(), "{word} from {}", path.display());
        }
    }
    same(&e, &Embeddings::load(&paths[3], true).unwrap());
}
