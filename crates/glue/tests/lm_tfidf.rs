//! `lm-tfidf`: the language-model columns by hand on a written ARPA model, and a word-order task
//! that TF-IDF cannot see (every sentence and its corruption have the same words) which the
//! columns of an n-gram model counted on other text of the same grammar solve.

use std::path::{Path, PathBuf};

use glue::models::{Context, LM_COLUMNS, Unigram, by_name, lm_columns};
use glue::run::run_model;
use glue::spec::parse_spec;
use nlp::ngram::{KneserNeyConfig, NgramCounter, kneser_ney, read_arpa, write_arpa};

/// A fresh temporary folder.
fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("glue-lm-tfidf-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn columns_follow_their_definitions_on_a_written_unigram_model() {
    let dir = temp("columns");
    let arpa = dir.join("uni.arpa");
    std::fs::write(
        &arpa,
        "\\data\\\nngram 1=5\n\n\\1-grams:\n-1.0\t<unk>\n-99\t<s>\n-0.5\t</s>\n-0.3\ta\n-0.6\tb\n\n\\end\\\n",
    )
    .unwrap();
    let model = read_arpa(&arpa).unwrap();
    let train = [vec!["a".to_string(), "a".into(), "b".into()]];
    let unigram = Unigram::count(train.iter().map(Vec::as_slice));
    let tokens: Vec<String> = ["a", "b", "c"].iter().map(|t| t.to_string()).collect();
    let columns = lm_columns(&model, &unigram, &tokens).unwrap();
    assert_eq!(columns.len(), LM_COLUMNS);
    // LM: a -0.3, b -0.6, c (unknown) -1.0, end -0.5. Unigram (add-one over 4 tokens and 4
    // types: a, b, the unknown, the end): a 3/8, b 2/8, c 1/8, end 2/8.
    let lm = [-0.3, -0.6, -1.0, -0.5];
    let uni = [(3f64 / 8.0).log10(), (2f64 / 8.0).log10(), (1f64 / 8.0).log10(), (2f64 / 8.0).log10()];
    let token_slor: Vec<f64> = lm.iter().zip(&uni).map(|(l, u)| l - u).collect();
    let mut sorted = token_slor.clone();
    sorted.sort_by(f64::total_cmp);
    let expected = [
        -2.4 / 4.0,
        -2.4 / 4.0 - uni.iter().sum::<f64>() / 4.0,
        -1.0,
        (-1.0 - 0.6 - 0.5) / 3.0,
        sorted[0],
        (sorted[0] + sorted[1] + sorted[2]) / 3.0,
        3.0 / 4.0,
        3.0,
        1.0 / 4.0,
        4f64.ln(),
    ];
    for (i, (got, want)) in columns.iter().zip(expected).enumerate() {
        assert!((got - want).abs() < 1e-6, "column {i}: {got} vs {want}");
    }
}

#[test]
fn unigram_leaves_a_training_text_out_of_its_own_counts() {
    let texts = [vec!["a".to_string(), "a".into(), "b".into()], vec!["a".to_string()]];
    let unigram = Unigram::count(texts.iter().map(Vec::as_slice));
    // 6 tokens with the two ends, 4 types with the unknown and the end: denominator 10.
    let seen = unigram.log10_probs(&texts[1], false);
    assert!((seen[0] - 0.4f64.log10()).abs() < 1e-12 && (seen[1] - 0.3f64.log10()).abs() < 1e-12, "{seen:?}");
    // Without the text `a`: 4 tokens, one end, still 4 types: a 3/8, the end 2/8.
    let left_out = unigram.log10_probs(&texts[1], true);
    assert!((left_out[0] - (3f64 / 8.0).log10()).abs() < 1e-12, "{left_out:?}");
    assert!((left_out[1] - (2f64 / 8.0).log10()).abs() < 1e-12, "{left_out:?}");
}

#[test]
fn an_unknown_word_of_a_model_without_unk_is_floored() {
    let dir = temp("floor");
    let arpa = dir.join("no-unk.arpa");
    std::fs::write(&arpa, "\\data\\\nngram 1=3\n\n\\1-grams:\n-99\t<s>\n-0.5\t</s>\n-0.3\ta\n\n\\end\\\n").unwrap();
    let model = read_arpa(&arpa).unwrap();
    let unigram = Unigram::count([["a".to_string()].as_slice()]);
    let columns = lm_columns(&model, &unigram, &["a".to_string(), "zebra".to_string()]).unwrap();
    assert!(columns.iter().all(|c| c.is_finite()), "{columns:?}");
    assert_eq!(columns[2], -20.0, "the lowest token log10 probability is floored: {columns:?}");
}

/// Sentences of a small grammar, `the ADJ NOUN VERB the NOUN ADV`.
fn sentence(i: usize) -> Vec<&'static str> {
    const ADJ: [&str; 4] = ["big", "small", "old", "red"];
    const NOUN: [&str; 5] = ["dog", "cat", "man", "bird", "child"];
    const VERB: [&str; 4] = ["sees", "likes", "chases", "finds"];
    const ADV: [&str; 3] = ["today", "again", "slowly"];
    vec!["the", ADJ[i % 4], NOUN[(i / 4) % 5], VERB[(i / 20) % 4], "the", NOUN[(i / 7 + 2) % 5], ADV[(i / 3) % 3]]
}

/// A task of 200 sentences, each also with two adjacent words swapped (the same words in
/// another order), as a CSV.
fn write_task(dir: &Path) {
    let mut csv = String::from("label,text,group\n");
    for i in 0..200 {
        let mut words = sentence(i * 7 + 3);
        csv.push_str(&format!("good,{},g{}\n", words.join(" "), i % 40));
        let at = 1 + i % 5;
        words.swap(at, at + 1);
        csv.push_str(&format!("bad,{},g{}\n", words.join(" "), i % 40));
    }
    std::fs::write(dir.join("order.csv"), csv).unwrap();
}

/// A Kneser-Ney 3-gram counted on 300 other sentences of the grammar, written as ARPA.
fn write_lm(dir: &Path) -> PathBuf {
    let mut counter = NgramCounter::new(3).unwrap();
    for i in 0..300 {
        counter.add_sentence(sentence(i * 11 + 1)).unwrap();
    }
    let model = kneser_ney(counter.finish().unwrap(), &KneserNeyConfig::default()).unwrap();
    let path = dir.join("grammar.arpa");
    write_arpa(&model, &path).unwrap();
    path
}

/// The test MCC (the task's only metric), as a fraction.
fn mcc_of(record: &glue::record::RunRecord) -> f64 {
    record.tasks[0].score
}

#[test]
fn language_model_columns_see_the_word_order_tfidf_cannot() {
    let dir = temp("order");
    write_task(&dir);
    let lm = write_lm(&dir);
    let spec = parse_spec(
        r#"{"name": "word-order", "data": {"path": "order.csv", "format": "csv"}, "kind": "single",
            "text": "text", "label": "label", "labels": ["bad", "good"], "metrics": ["mcc"],
            "split": {"group": "group", "seed": 5, "fractions": [0.6, 0.2, 0.2]}}"#,
        "order.json",
    )
    .unwrap();
    let device = backend_cpu::CpuDevice::shared();
    let ctx = Context { device, seed: 0, quick: false, pretrained: Some(lm) };
    let run =
        |name: &str| run_model(by_name(name).unwrap().as_ref(), std::slice::from_ref(&spec), &dir, &ctx, "cpu", |_| {});
    let with_lm = run("lm-tfidf").unwrap();
    let plain = run("tfidf-lr").unwrap();
    assert!(mcc_of(&with_lm) > 0.9, "lm-tfidf MCC {}", mcc_of(&with_lm));
    assert!(mcc_of(&plain) < 0.3, "tfidf-lr MCC {} on bags of words that are equal", mcc_of(&plain));
    assert!(with_lm.tasks[0].config["extra_features"]["language_model"].is_string());

    let missing = Context { pretrained: None, ..ctx.clone() };
    let model = by_name("lm-tfidf").unwrap();
    let err = run_model(model.as_ref(), &[spec], &dir, &missing, "cpu", |_| {}).unwrap_err().to_string();
    assert!(err.contains("--pretrained"), "{err}");
}
