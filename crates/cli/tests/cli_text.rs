//! The `tessera ngram`, `tokenizer` and `word2vec` commands end to end on the shipped Austen
//! text, with the numbers they print parsed and checked against each other, and their clean
//! failures (exit code 1, one message naming the file and line, no panic).

mod common;

use common::{lines_starting, number_after, tessera};

const AUSTEN: &str = "data/austen/austen_novels.txt.gz";

fn scratch(name: &str) -> std::path::PathBuf {
    common::scratch("cli-text", name)
}

/// Sentences, tokens (with `</s>`) and perplexity from a `ngram ppl` line, after checking that
/// the perplexity is 10^(−log10 prob / tokens) as printed.
fn perplexity_line(out: &str) -> (f64, f64, f64) {
    let line = lines_starting(out, AUSTEN)[0];
    let (ppl, tokens, log10) =
        (number_after(line, "perplexity"), number_after(line, "sentences,"), number_after(line, "log10 prob"));
    assert_eq!(number_after(line, "tokens incl. </s>,"), 0.0, "no OOV in the training text: {line}");
    assert!((10f64.powf(-log10 / tokens) - ppl).abs() < 1e-3 * ppl, "{line}");
    (number_after(line, "("), tokens, ppl)
}

#[test]
fn ngram_train_ppl_score_next() {
    let arpa = scratch("austen3.arpa.gz");
    let arpa_arg = arpa.to_str().unwrap();
    let out = tessera(&["ngram", "train", "--prose", "--order", "3", "-o", arpa_arg, AUSTEN]).ok().to_string();
    let (sentences, tokens) = (number_after(&out, ""), number_after(&out, "sentences,"));
    let counts: Vec<f64> = (1..=3).map(|n| number_after(&out, &format!("{n}-grams:"))).collect();
    assert!(counts[0] > 1000.0 && counts[0] < counts[1] && counts[1] < counts[2], "{out}");
    for line in lines_starting(&out, "  ").iter().filter(|l| l.contains("discounts")) {
        let d: Vec<f64> =
            line.split("discounts").nth(1).unwrap().split_whitespace().map(|v| v.parse().unwrap()).collect();
        // Modified Kneser-Ney: D1 < D2 < D3, each inside (0, 3).
        assert!(d.len() == 3 && d[0] > 0.0 && d[0] < d[1] && d[1] < d[2] && d[2] < 3.0, "{line}");
    }

    // On its own training text a Kneser-Ney trigram is sharp (Tessera: 19.0); add-k is far worse.
    let kn = perplexity_line(tessera(&["ngram", "ppl", "--prose", "--model", arpa_arg, AUSTEN]).ok());
    assert_eq!((kn.0, kn.1), (sentences, tokens), "ppl reads the same text that train counted");
    assert!((10.0..30.0).contains(&kn.2), "Kneser-Ney trigram perplexity {}", kn.2);
    let run = tessera(&["ngram", "ppl", "--train", AUSTEN, "--prose", "--smoothing", "add-k", AUSTEN]);
    let add_k = perplexity_line(run.ok());
    assert!(add_k.2 > 2.0 * kn.2 && add_k.2 < 500.0, "add-k {} vs Kneser-Ney {}", add_k.2, kn.2);

    let (shuffled, proper) =
        ("Letter the with pleased much very was she.", "She was very much pleased with the letter.");
    let run = tessera(&["ngram", "score", "--prose", "--model", arpa_arg, shuffled, proper]);
    let out = run.ok();
    // Each sentence: one line per token (with `</s>`) whose log10 p sum to the printed total.
    let totals = lines_starting(out, "  total log10 p");
    assert_eq!(totals.len(), 2, "{out}");
    let token_lines: Vec<f64> = lines_starting(out, "  ")
        .iter()
        .filter(|l| l.contains(" log10 p ") && !l.contains("total"))
        .map(|l| number_after(l, "log10 p"))
        .collect();
    assert_eq!(token_lines.len(), 20, "ten tokens (with `.` and `</s>`) per sentence:\n{out}");
    for (tokens, total) in token_lines.chunks(10).zip(&totals) {
        let (sum, printed) = (tokens.iter().sum::<f64>(), number_after(total, "total log10 p"));
        assert!((sum - printed).abs() < 1e-3, "{sum} vs {total}");
        assert!((number_after(total, "fluency") - printed / 10.0).abs() < 1e-3, "{total}");
    }
    let ranking: Vec<&str> = out.split("most fluent first").nth(1).expect("a ranking").lines().skip(1).collect();
    assert_eq!(ranking.len(), 2, "{out}");
    assert!(
        ranking[0].starts_with("  1.") && ranking[0].ends_with("she was very much pleased with the letter ."),
        "{out}"
    );
    assert!(number_after(ranking[0], "1.") > number_after(ranking[1], "2."), "{out}");

    let run = tessera(&["ngram", "next", "--prose", "--model", arpa_arg, "--top", "3", "I am"]);
    let lines: Vec<&str> = run.ok().lines().collect();
    assert_eq!(lines.len(), 4, "a heading and three words: {lines:?}");
    let p: Vec<f64> = lines[1..].iter().map(|l| number_after(l, "")).collect();
    assert!(p[0] >= p[1] && p[1] >= p[2] && p[2] > 0.0 && p.iter().sum::<f64>() <= 1.0, "{lines:?}");
}

#[test]
fn ngram_errors_are_messages() {
    let bad = scratch("bad.arpa");
    std::fs::write(&bad, "\\data\\\nngram 1=2\n\n\\1-grams:\n-1\ta\n-x\tb\n\\end\\\n").unwrap();
    let message = tessera(&["ngram", "next", "--model", bad.to_str().unwrap(), "a"]).error().to_string();
    assert_eq!(message, format!("{}:6: log10 probability `-x` is not a number", bad.display()));
    let empty = scratch("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let run = tessera(&["ngram", "train", "-o", scratch("x.arpa").to_str().unwrap(), empty.to_str().unwrap()]);
    assert_eq!(run.error(), "the corpus is empty: no sentence to count");
    let message = tessera(&["ngram", "ppl", "--model", "no/such/file.arpa", AUSTEN]).error().to_string();
    assert!(message.starts_with("no/such/file.arpa: "), "{message}");
}

#[test]
fn tokenizer_train_encode_decode() {
    let json = scratch("tokenizer.json");
    let json_arg = json.to_str().unwrap();
    let run = tessera(&["tokenizer", "train", "--vocab-size", "600", "-o", json_arg, AUSTEN]);
    let out = run.ok();
    // 256 bytes, one special token, and the merges make up the vocabulary.
    assert_eq!((number_after(out, ""), number_after(out, "tokens (")), (600.0, 600.0 - 257.0), "{out}");
    assert!((1.5..4.0).contains(&number_after(out, "s;")), "bytes per token: {out}");
    let sentence = "Emma Woodhouse, handsome, clever, and rich — 🙂";
    let run = tessera(&["tokenizer", "encode", "--tokenizer", json_arg, sentence]);
    let ids: Vec<&str> = run.ok().split_whitespace().collect();
    let values: Vec<u32> = ids.iter().map(|id| id.parse().expect("ids are numbers")).collect();
    assert!(values.iter().all(|&id| id < 600), "{ids:?}");
    assert!(ids.len() > 5 && ids.len() < sentence.len(), "merges shorten the {} bytes: {ids:?}", sentence.len());
    let mut args = vec!["tokenizer", "decode", "--tokenizer", json_arg];
    args.extend(&ids);
    assert_eq!(tessera(&args).ok().trim_end(), sentence);
    let run = tessera(&["tokenizer", "decode", "--tokenizer", json_arg, "99999"]);
    assert_eq!(run.error(), "token id 99999 is outside the vocabulary of 600");
    let message = tessera(&["tokenizer", "encode", "--tokenizer", AUSTEN, "x"]).error().to_string();
    assert!(message.starts_with(&format!("{AUSTEN}:1: invalid JSON")), "{message}");
}

#[test]
fn word2vec_train_eval_similar_analogy() {
    let (vectors, vocab) = (scratch("austen.bin"), scratch("austen.vocab"));
    let v = vectors.to_str().unwrap();
    let train = ["word2vec", "train", "--train", AUSTEN, "--output", v, "--binary", "1", "--text8", "--size", "32"];
    let run =
        tessera(&[&train[..], &["--iter", "1", "--threads", "2", "--save-vocab", vocab.to_str().unwrap()]].concat());
    let out = run.ok();
    let words = number_after(out, "");
    assert!(number_after(out, "summary:") == 1.0 && number_after(out, "s =") > 0.0, "one epoch, a speed: {out}");
    // The vocabulary file: one `word count` line per word, most frequent first.
    let saved = std::fs::read_to_string(&vocab).unwrap();
    let counts: Vec<u64> = saved.lines().map(|l| l.split(' ').nth(1).unwrap().parse().unwrap()).collect();
    assert_eq!(counts.len() as f64, words, "{out}");
    assert!(saved.starts_with("the ") && counts.windows(2).all(|w| w[0] >= w[1]), "most frequent first");

    let run = tessera(&["word2vec", "eval", "--vectors", v, "--binary", "1"]);
    let out = run.ok();
    assert_eq!((number_after(out, ""), number_after(out, "of dimension")), (words, 32.0), "{out}");
    // The semantic and syntactic lines add up to the total, and coverage is answered / asked.
    let [semantic, syntactic, total] =
        ["semantic", "syntactic", "total"].map(|s| lines_starting(out, &format!("   analogies {s}"))[0]);
    let counted = |line: &str| (number_after(line, "("), number_after(line, "/"));
    assert_eq!(counted(semantic).0 + counted(syntactic).0, counted(total).0, "{out}");
    assert_eq!(counted(semantic).1 + counted(syntactic).1, counted(total).1, "{out}");
    let skipped: f64 = out.lines().filter(|l| l.ends_with(" skipped)")).map(|l| number_after(l, ",")).sum();
    let coverage = 100.0 * counted(total).1 / (counted(total).1 + skipped);
    assert!((number_after(out, "analogy coverage") - coverage).abs() < 0.06, "{coverage:.2}%:\n{out}");
    assert!((-1.0..=1.0).contains(&number_after(out, "Spearman")), "{out}");

    let run = tessera(&["word2vec", "similar", "--vectors", v, "--binary", "1", "--topn", "3", "sister"]);
    let neighbours: Vec<(&str, f64)> = run
        .ok()
        .trim_end()
        .strip_prefix("sister: ")
        .expect("sister: ...")
        .split(", ")
        .map(|pair| pair.rsplit_once(' ').map(|(w, c)| (w, c.parse().unwrap())).unwrap())
        .collect();
    assert_eq!(neighbours.len(), 3, "{neighbours:?}");
    assert!(neighbours.iter().all(|(w, c)| *w != "sister" && (-1.0..=1.0).contains(c)), "{neighbours:?}");
    assert!(neighbours.windows(2).all(|p| p[0].1 >= p[1].1), "most similar first: {neighbours:?}");

    let run = tessera(&["word2vec", "analogy", "--vectors", v, "--binary", "1", "he", "she", "brother"]);
    let lines: Vec<&str> = run.ok().lines().collect();
    assert_eq!(lines[0], "he : she :: brother : ?");
    let answers: Vec<(f64, &str)> =
        lines[1..].iter().map(|l| (number_after(l, ""), l.split_whitespace().nth(1).unwrap())).collect();
    assert_eq!(answers.len(), 5, "{lines:?}");
    assert!(answers.iter().all(|(_, w)| !["he", "she", "brother"].contains(w)), "the question's words are excluded");
    assert!(answers.windows(2).all(|p| p[0].0 >= p[1].0), "best first: {lines:?}");

    let run = tessera(&["word2vec", "similar", "--vectors", v, "--binary", "1", "qwertyuiop"]);
    assert_eq!(run.error(), "`qwertyuiop` is not in the vocabulary");
    let message = tessera(&["word2vec", "similar", "--vectors", AUSTEN, "x"]).error().to_string();
    assert!(message.starts_with(&format!("{AUSTEN}:1: expected `<count> <dim>`")), "{message}");
    let run = tessera(&["word2vec", "train", "--train", AUSTEN, "--output", v, "--hs", "0", "--negative", "0"]);
    assert!(run.error().contains("choose hierarchical softmax (hs), negative sampling (negative > 0), or both"));
}
