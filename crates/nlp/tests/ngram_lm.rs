//! N-gram language models: properness of every smoothing method, ARPA round trips and typed
//! errors, and Penn Treebank perplexities checked against KenLM's own numbers.

use std::path::{Path, PathBuf};

use nlp::NlpError;
use nlp::corpus::read_text;
use nlp::ngram::{
    AddK, BackoffModel, KneserNeyConfig, LanguageModel, NgramCounter, NgramCounts, NgramVocab, katz, kneser_ney,
    read_arpa, write_arpa,
};
use test_support::shared_data;

const TOY: &[&str] = &[
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat saw the dog",
    "the dog saw a cat on the mat",
    "a dog sat",
    "the cat ate",
    "the cat sat on the dog",
];

fn counts(order: usize, lines: &[&str]) -> NgramCounts {
    let mut counter = NgramCounter::new(order).unwrap();
    lines.iter().for_each(|l| counter.add_line(l).unwrap());
    counter.finish().unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-ngram-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Sum of p(w | context) over every predictable word.
fn total_probability(model: &dyn LanguageModel, context: &[&str]) -> f64 {
    let vocab = model.vocab();
    let mut ids = vec![NgramVocab::START_ID];
    ids.extend(context.iter().map(|w| vocab.id_or_unknown(w)));
    (0..vocab.len() as u32)
        .filter(|&w| w != NgramVocab::START_ID)
        .map(|w| 10f64.powf(model.score_word(&ids, w).log10_prob))
        .sum()
}

#[test]
fn every_model_is_a_probability_distribution() {
    let contexts: &[&[&str]] = &[&[], &["the"], &["the", "cat"], &["sat", "on", "the"], &["zebra", "the"], &["on"]];
    for order in 1..=4 {
        let models: Vec<(&str, Box<dyn LanguageModel>)> = vec![
            ("kneser-ney", Box::new(kneser_ney(counts(order, TOY), &KneserNeyConfig::default()).unwrap())),
            ("katz", Box::new(katz(counts(order, TOY)).unwrap())),
            ("add-0.1", Box::new(AddK::new(counts(order, TOY), 0.1).unwrap())),
        ];
        for (name, model) in &models {
            for context in contexts {
                let total = total_probability(model.as_ref(), context);
                assert!((total - 1.0).abs() < 1e-5, "{name} order {order} after {context:?}: sums to {total}");
            }
        }
    }
}

#[test]
fn scores_predictions_and_fluency() {
    let model = kneser_ney(counts(3, TOY), &KneserNeyConfig::default()).unwrap();
    let scored = model.score_sentence("the cat sat on the mat");
    assert_eq!(scored.tokens.len(), 7);
    assert_eq!(scored.tokens[6].token, "</s>");
    assert_eq!(scored.tokens.iter().map(|t| t.score.order_used).collect::<Vec<_>>(), [2, 3, 3, 3, 3, 3, 3]);
    let sum: f64 = scored.tokens.iter().map(|t| t.score.log10_prob).sum();
    assert!((sum - scored.log10_prob).abs() < 1e-9);
    let unknown = model.score_sentence("the zebra sat");
    assert!(unknown.tokens[1].oov && !unknown.tokens[0].oov);

    let next = model.next_words("the cat sat on the", 3);
    assert_eq!(next.len(), 3);
    assert!(next[0].1 >= next[1].1 && next[1].1 >= next[2].1);
    assert!(["mat", "dog", "log"].contains(&next[0].0.as_str()), "{next:?}");

    let ranked = model.rank_by_fluency(&["mat the on sat cat the", "the cat sat on the mat"]);
    assert_eq!(ranked[0].0, 1, "the natural order ranks first");
    assert!(ranked[0].1.fluency() > ranked[1].1.fluency());
}

fn assert_same_scores(a: &BackoffModel, b: &BackoffModel, sentences: &[&str]) {
    for s in sentences {
        let (x, y) = (a.score_sentence(s), b.score_sentence(s));
        assert!((x.log10_prob - y.log10_prob).abs() < 1e-4, "{s}: {} vs {}", x.log10_prob, y.log10_prob);
    }
}

#[test]
fn arpa_round_trip_plain_and_gzip() {
    for order in [1, 3, 5] {
        let model = kneser_ney(counts(order, TOY), &KneserNeyConfig::default()).unwrap();
        for name in [format!("toy{order}.arpa"), format!("toy{order}.arpa.gz")] {
            let path = scratch(&name);
            write_arpa(&model, &path).unwrap();
            let loaded = read_arpa(&path).unwrap();
            for n in 1..=order {
                assert_eq!(loaded.ngram_count(n), model.ngram_count(n));
            }
            assert_same_scores(&model, &loaded, &["the cat sat on the log", "a dog saw the zebra", ""]);
        }
    }
    let katz_model = katz(counts(3, TOY)).unwrap();
    let path = scratch("katz.arpa");
    write_arpa(&katz_model, &path).unwrap();
    assert_same_scores(&katz_model, &read_arpa(&path).unwrap(), &["the dog sat on the mat"]);
}

fn arpa_error(text: &str) -> (usize, String) {
    let path = scratch("bad.arpa");
    std::fs::write(&path, text).unwrap();
    match read_arpa(&path) {
        Err(NlpError::Parse { line, msg, .. }) => (line, msg),
        other => panic!("expected a parse error for {text:?}, got {other:?}"),
    }
}

#[test]
fn malformed_arpa_files_get_line_numbers() {
    let good = "\\data\\\nngram 1=3\nngram 2=1\n\n\\1-grams:\n-1\t<s>\t-0.5\n-0.5\ta\t-0.2\n-0.3\t</s>\n\n\\2-grams:\n-0.1\t<s> a\n\n\\end\\\n";
    let path = scratch("good.arpa");
    std::fs::write(&path, good).unwrap();
    let model = read_arpa(&path).unwrap();
    assert_eq!(model.entry(&["<s>", "a"]), Some((-0.1, 0.0)));
    assert_eq!(model.entry(&["<unk>"]).map(|e| e.0), Some(-100.0), "a missing <unk> gets KenLM's -100");

    let cases = [
        (good.replace("ngram 2=1", "ngram 2=x"), 3, "expected `ngram N=COUNT`"),
        (good.replace("-0.5\ta\t-0.2", "-0.5\ta\tb"), 7, "log10 back-off `b` is not a number"),
        (good.replace("-0.1\t<s> a", "-0.1\t<s> b"), 11, "word `b` is not among the unigrams"),
        (good.replace("-0.1\t<s> a", "-0.1\t<s> a\t-1"), 11, "highest order cannot have a back-off"),
        (good.replace("ngram 1=3", "ngram 1=4"), 10, "declares 4 1-grams, the section has 3"),
        (good.replace("ngram 2=1", "ngram 2=2"), 13, "declares 2 2-grams, the section has 1"),
        (good.replace("\\end\\\n", ""), 12, "ends before `\\end\\`"),
        (good.replace("\\2-grams:", "\\3-grams:"), 10, "expected `\\2-grams:`"),
        (good.replace("-0.3\t</s>", "-0.3\ta"), 8, "the unigram `a` is listed twice"),
        (
            good.replace("ngram 2=1", "ngram 2=2").replace("-0.1\t<s> a\n", "-0.1\t<s> a\n-0.2\t<s> a\n"),
            14,
            "`<s> a` is listed twice",
        ),
        ("no data section\n".to_string(), 1, "ends before `\\end\\`"),
    ];
    for (text, line, msg) in cases {
        let (at, got) = arpa_error(&text);
        assert_eq!(at, line, "{got}");
        assert!(got.contains(msg), "{got:?} should mention {msg:?}");
    }
}

#[test]
fn empty_and_invalid_corpora_are_typed_errors() {
    assert!(matches!(NgramCounter::new(3).unwrap().finish(), Err(NlpError::Invalid(_))));
    assert!(matches!(NgramCounter::new(0), Err(NlpError::Invalid(_))));
    let path = scratch("latin1.txt");
    std::fs::write(&path, b"fine line\ncaf\xe9 au lait\n").unwrap();
    let mut counter = NgramCounter::new(2).unwrap();
    match counter.add_file(&path) {
        Err(NlpError::Parse { line: 2, msg, .. }) => assert!(msg.contains("invalid UTF-8"), "{msg}"),
        other => panic!("expected a parse error on line 2, got {other:?}"),
    }
    let strict = KneserNeyConfig { discount_fallback: None };
    assert!(matches!(kneser_ney(counts(3, &["a b"]), &strict), Err(NlpError::Invalid(_))));
    assert!(matches!(AddK::new(counts(2, TOY), 0.0), Err(NlpError::Invalid(_))));
}

fn ptb(split: &str) -> Option<PathBuf> {
    shared_data("ptb").map(|dir| dir.join(format!("ptb.{split}.txt.gz")))
}

fn perplexity(model: &dyn LanguageModel, path: &Path) -> f64 {
    let totals = model.perplexity_of_file(path).unwrap();
    assert_eq!((totals.tokens, totals.oovs), (82_430, 0));
    totals.perplexity()
}

#[test]
fn kenlm_arpa_gives_kenlm_perplexity_on_ptb() {
    let (Some(test), Some(arpa)) = (ptb("test"), shared_data("ptb/kenlm/kn3.arpa.gz")) else { return };
    let model = read_arpa(&arpa).unwrap();
    assert_eq!((model.ngram_count(1), model.ngram_count(2), model.ngram_count(3)), (10_002, 264_990, 586_558));
    // KenLM reserves `<unk>`; its training text spelt PTB's unknown word UNKTOK.
    let renamed = scratch("ptb.test.unktok.txt");
    std::fs::write(&renamed, read_text(&test).unwrap().replace("<unk>", "UNKTOK")).unwrap();
    let ppl = perplexity(&model, &renamed);
    assert!((ppl - 148.2815).abs() < 0.005, "KenLM's query says 148.2815, Tessera {ppl:.4}");
}

#[test]
fn kneser_ney_on_ptb_matches_kenlm() {
    let (Some(train), Some(test)) = (ptb("train"), ptb("test")) else { return };
    for (order, kenlm) in [(3, 148.2815), (5, 141.1862)] {
        let mut counter = NgramCounter::new(order).unwrap();
        counter.add_file(&train).unwrap();
        let model = kneser_ney(counter.finish().unwrap(), &KneserNeyConfig::default()).unwrap();
        let ppl = perplexity(&model, &test);
        println!("order {order}: Tessera {ppl:.4}, KenLM {kenlm}");
        assert!((ppl / kenlm - 1.0).abs() < 1e-5, "order {order}: {ppl:.4} vs KenLM {kenlm}");
    }
}
