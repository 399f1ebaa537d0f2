//! The CoNLL-2003 reader (good files, gzip, and typed errors naming file:line), the conlleval
//! entity metric on hand-computed cases, raw-text tokenisation with character offsets, and the
//! real CoNLL-2003 counts from the shared data.

use std::io::Write;
use std::path::Path;

use ner::conll::{parse_conll, read_conll};
use ner::metric::{Entity, EntityScores, entities};
use ner::text::{spans, tokenize};
use test_support::shared_data;

const GOOD: &str = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\
call NN I-NP O\n. . O O\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n";

fn parse(text: &str) -> ner::Result<Vec<ner::conll::Sentence>> {
    parse_conll(text, Path::new("mem.txt"))
}

#[test]
fn reads_sentences_and_documents() {
    let sentences = parse(GOOD).unwrap();
    assert_eq!(sentences.len(), 2);
    assert_eq!(sentences[0].words, ["EU", "rejects", "German", "call", "."]);
    assert_eq!(sentences[1].tags, ["B-PER", "I-PER"]);
    // The same file gzipped reads the same.
    let dir = std::env::temp_dir().join(format!("ner-reader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tiny.txt.gz");
    let mut gz = flate2_writer(&path);
    gz.write_all(GOOD.as_bytes()).unwrap();
    gz.finish().unwrap();
    assert_eq!(read_conll(&path).unwrap(), sentences);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn flate2_writer(path: &Path) -> flate2::write::GzEncoder<std::fs::File> {
    flate2::write::GzEncoder::new(std::fs::File::create(path).unwrap(), flate2::Compression::default())
}

#[test]
fn malformed_lines_are_typed_errors_with_file_and_line() {
    let columns = parse("EU NNP B-NP B-ORG\nrejects VBZ O\n").unwrap_err().to_string();
    assert_eq!(columns, "mem.txt:2: 3 columns, expected 4 (word POS chunk NER)");
    let scheme = parse("EU NNP B-NP S-ORG\n").unwrap_err().to_string();
    assert!(scheme.starts_with("mem.txt:1: tag `S-ORG` is not in the IOB2 scheme"), "{scheme}");
    let bare = parse("EU NNP B-NP ORG\n").unwrap_err().to_string();
    assert!(bare.contains("`ORG` is not in the IOB2 scheme"), "{bare}");
    let iob1 = parse("x X X O\nEU NNP B-NP I-ORG\n").unwrap_err().to_string();
    assert!(iob1.starts_with("mem.txt:2: `I-ORG` after `O` is not IOB2"), "{iob1}");
    let start = parse("\nEU NNP B-NP I-ORG\n").unwrap_err().to_string();
    assert!(start.contains("after the sentence start"), "{start}");
    let switch = parse("EU NNP B-NP B-ORG\nx X X I-PER\n").unwrap_err().to_string();
    assert!(switch.starts_with("mem.txt:2:"), "{switch}");
    let missing = read_conll(Path::new("/nonexistent/ner.txt")).unwrap_err().to_string();
    assert!(missing.contains("/nonexistent/ner.txt"), "{missing}");
}

fn e(start: usize, end: usize, kind: &str) -> Entity {
    Entity { start, end, kind: kind.to_string() }
}

#[test]
fn chunks_follow_conlleval_rules() {
    assert_eq!(entities(&["B-PER", "I-PER", "O", "B-LOC", "B-LOC"]), [e(0, 2, "PER"), e(3, 4, "LOC"), e(4, 5, "LOC")]);
    // Ill-formed predictions: an I- after O or after another type opens a chunk.
    assert_eq!(entities(&["O", "I-PER", "I-PER", "I-LOC"]), [e(1, 3, "PER"), e(3, 4, "LOC")]);
    assert_eq!(entities(&["B-PER", "I-LOC"]), [e(0, 1, "PER"), e(1, 2, "LOC")]);
    assert_eq!(entities::<&str>(&[]), []);
    assert_eq!(entities(&["O", "O"]), []);
}

#[test]
fn micro_and_per_type_scores_by_hand() {
    let gold = vec![vec!["B-PER", "I-PER", "O", "B-LOC"], vec!["B-ORG", "O", "B-MISC", "I-MISC"]];
    // PER right; LOC predicted as ORG; ORG boundary too long; MISC right; one spurious PER.
    let predicted = vec![vec!["B-PER", "I-PER", "O", "B-ORG"], vec!["B-ORG", "I-ORG", "B-MISC", "I-MISC"]];
    let scores = EntityScores::compute(&gold, &predicted);
    assert_eq!((scores.overall.gold, scores.overall.predicted, scores.overall.correct), (4, 4, 2));
    assert!((scores.overall.f1() - 0.5).abs() < 1e-12);
    let org = scores.per_type["ORG"];
    assert_eq!((org.gold, org.predicted, org.correct), (1, 2, 0));
    assert_eq!(org.f1(), 0.0);
    assert_eq!(scores.per_type["LOC"].recall(), 0.0);
    assert_eq!(scores.per_type["MISC"].f1(), 1.0);
    // precision 2/3, recall 2/4: F1 = 2·(2/3)(1/2)/(2/3 + 1/2) = 4/7.
    let fewer = vec![vec!["B-PER", "I-PER", "O", "O"], vec!["B-ORG", "O", "O", "B-LOC"]];
    let scores = EntityScores::compute(&gold, &fewer);
    assert!((scores.overall.f1() - 4.0 / 7.0).abs() < 1e-12, "{}", scores.overall.f1());
    // Empty predictions: no entity predicted, precision and F1 are 0, not NaN.
    let none = vec![vec!["O"; 4], vec!["O"; 4]];
    let scores = EntityScores::compute(&gold, &none);
    assert_eq!((scores.overall.precision(), scores.overall.recall(), scores.overall.f1()), (0.0, 0.0, 0.0));
    assert!(scores.table().starts_with("overall "));
}

#[test]
fn raw_text_tokens_keep_character_offsets() {
    let text = "Ms. Müller flew to São Paulo on 1996-08-22, paying 1,000 €.";
    let tokens = tokenize(text);
    let words: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(
        words,
        ["Ms", ".", "Müller", "flew", "to", "São", "Paulo", "on", "1996-08-22", ",", "paying", "1,000", "€", "."]
    );
    let chars: Vec<char> = text.chars().collect();
    for t in &tokens {
        assert_eq!(chars[t.start..t.end].iter().collect::<String>(), t.text, "{t:?}");
    }
    let tags = ["O", "O", "B-PER", "O", "O", "B-LOC", "I-LOC", "O", "O", "O", "O", "O", "O", "O"];
    let found = spans(text, &tokens, &tags);
    assert_eq!(found.len(), 2);
    assert_eq!(
        (found[0].kind.as_str(), found[0].text.as_str(), found[0].start, found[0].end),
        ("PER", "Müller", 4, 10)
    );
    assert_eq!((found[1].text.as_str(), found[1].start, found[1].end), ("São Paulo", 19, 28));
}

#[test]
fn shared_conll2003_has_the_standard_counts() {
    let Some(dir) = shared_data("conll2003") else { return };
    for (split, sentences, tokens, entity_count) in
        [("train", 14_041, 203_621, 23_499), ("valid", 3_250, 51_362, 5_942), ("test", 3_453, 46_435, 5_648)]
    {
        let read = read_conll(&dir.join(format!("{split}.txt.gz"))).unwrap();
        let found: usize = read.iter().map(|s| entities(&s.tags).len()).sum();
        let words: usize = read.iter().map(|s| s.words.len()).sum();
        assert_eq!((read.len(), words, found), (sentences, tokens, entity_count), "{split}");
    }
}
