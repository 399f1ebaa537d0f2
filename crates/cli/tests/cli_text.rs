//! The `tessera ngram` and `tessera tokenizer` commands end to end on the shipped Austen text,
//! and their clean failures (a message naming the file and line, a non-zero exit, no panic).

use std::path::PathBuf;
use std::process::Command;

fn tessera(args: &[&str]) -> (bool, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output =
        Command::new(env!("CARGO_BIN_EXE_tessera")).args(args).current_dir(root).output().expect("tessera runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!text.contains("panicked"), "{text}");
    (output.status.success(), text)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-cli-text-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

const AUSTEN: &str = "data/austen/austen_novels.txt.gz";

#[test]
fn ngram_train_ppl_score_next() {
    let arpa = scratch("austen3.arpa.gz");
    let arpa_arg = arpa.to_str().unwrap();
    let (ok, text) = tessera(&["ngram", "train", "--prose", "--order", "3", "-o", arpa_arg, AUSTEN]);
    assert!(ok, "{text}");
    assert!(text.contains("3-grams:") && text.contains("discounts"), "{text}");
    let (ok, text) = tessera(&["ngram", "ppl", "--prose", "--model", arpa_arg, AUSTEN]);
    assert!(ok && text.contains("perplexity"), "{text}");
    let (ok, text) = tessera(&[
        "ngram",
        "score",
        "--prose",
        "--model",
        arpa_arg,
        "Letter the with pleased much very was she.",
        "She was very much pleased with the letter.",
    ]);
    assert!(ok, "{text}");
    let ranking = text.split("most fluent first").nth(1).expect("a ranking");
    assert!(
        ranking.lines().nth(1).unwrap().contains("1.  ")
            && ranking.lines().nth(1).unwrap().contains("she was very much"),
        "{text}"
    );
    let (ok, text) = tessera(&["ngram", "next", "--prose", "--model", arpa_arg, "--top", "3", "I am"]);
    assert!(ok && text.lines().count() == 4, "{text}");
    let (ok, text) = tessera(&["ngram", "ppl", "--train", AUSTEN, "--prose", "--smoothing", "add-k", AUSTEN]);
    assert!(ok && text.contains("perplexity"), "{text}");
}

#[test]
fn ngram_errors_are_messages() {
    let bad = scratch("bad.arpa");
    std::fs::write(&bad, "\\data\\\nngram 1=2\n\n\\1-grams:\n-1\ta\n-x\tb\n\\end\\\n").unwrap();
    let (ok, text) = tessera(&["ngram", "next", "--model", bad.to_str().unwrap(), "a"]);
    assert!(!ok && text.contains("bad.arpa:6:") && text.contains("not a number"), "{text}");
    let empty = scratch("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let (ok, text) = tessera(&["ngram", "train", "-o", scratch("x.arpa").to_str().unwrap(), empty.to_str().unwrap()]);
    assert!(!ok && text.contains("empty"), "{text}");
    let (ok, text) = tessera(&["ngram", "ppl", "--model", "no/such/file.arpa", AUSTEN]);
    assert!(!ok && text.contains("no/such/file.arpa"), "{text}");
}

#[test]
fn tokenizer_train_encode_decode() {
    let json = scratch("tokenizer.json");
    let json_arg = json.to_str().unwrap();
    let (ok, text) = tessera(&["tokenizer", "train", "--vocab-size", "600", "-o", json_arg, AUSTEN]);
    assert!(ok && text.contains("600 tokens"), "{text}");
    let sentence = "Emma Woodhouse, handsome, clever, and rich — 🙂";
    let (ok, ids) = tessera(&["tokenizer", "encode", "--tokenizer", json_arg, sentence]);
    assert!(ok, "{ids}");
    let ids: Vec<&str> = ids.split_whitespace().collect();
    let mut args = vec!["tokenizer", "decode", "--tokenizer", json_arg];
    args.extend(&ids);
    let (ok, text) = tessera(&args);
    assert!(ok && text.trim_end() == sentence, "{text}");
    let (ok, text) = tessera(&["tokenizer", "decode", "--tokenizer", json_arg, "99999"]);
    assert!(!ok && text.contains("outside the vocabulary"), "{text}");
    let (ok, text) = tessera(&["tokenizer", "encode", "--tokenizer", AUSTEN, "x"]);
    assert!(!ok && text.contains("invalid JSON"), "{text}");
}

#[test]
fn word2vec_train_eval_similar_analogy() {
    let vectors = scratch("austen.bin");
    let vocab = scratch("austen.vocab");
    let (ok, text) = tessera(&[
        "word2vec",
        "train",
        "--train",
        AUSTEN,
        "--output",
        vectors.to_str().unwrap(),
        "--binary",
        "1",
        "--text8",
        "--size",
        "32",
        "--iter",
        "1",
        "--threads",
        "2",
        "--save-vocab",
        vocab.to_str().unwrap(),
    ]);
    assert!(ok && text.contains("summary:") && text.contains("words/s"), "{text}");
    assert!(std::fs::read_to_string(&vocab).unwrap().starts_with("the "), "most frequent first");
    let v = vectors.to_str().unwrap();
    let (ok, text) = tessera(&["word2vec", "eval", "--vectors", v, "--binary", "1"]);
    assert!(ok && text.contains("analogies total") && text.contains("Spearman"), "{text}");
    let (ok, text) = tessera(&["word2vec", "similar", "--vectors", v, "--binary", "1", "--topn", "3", "sister"]);
    assert!(ok && text.starts_with("sister: "), "{text}");
    let (ok, text) = tessera(&["word2vec", "analogy", "--vectors", v, "--binary", "1", "he", "she", "brother"]);
    assert!(ok && text.lines().count() == 6, "{text}");
    let (ok, text) = tessera(&["word2vec", "similar", "--vectors", v, "--binary", "1", "qwertyuiop"]);
    assert!(!ok && text.contains("not in the vocabulary"), "{text}");
    let (ok, text) = tessera(&["word2vec", "similar", "--vectors", AUSTEN, "x"]);
    assert!(!ok && text.contains("austen_novels.txt.gz"), "{text}");
    let (ok, text) = tessera(&["word2vec", "train", "--train", AUSTEN, "--output", v, "--hs", "0", "--negative", "0"]);
    assert!(!ok && text.contains("hierarchical softmax"), "{text}");
}
