//! Byte-level BPE: exact round trips on any UTF-8, training behaviour, `tokenizer.json` save and
//! load, and agreement with the Hugging Face `tokenizers` package (`.ci/run` installs it; where
//! no Python has it the test skips with the reason, and under `CI=true` fails).

use std::path::{Path, PathBuf};
use std::process::Command;

use nlp::NlpError;
use nlp::tokenize::{BpeTokenizer, BpeTrainer};
use proptest::prelude::*;

const CORPUS: &str = "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs!\n\
    Whales, whaling and the whale-ship: Call me Ishmael. Some years ago, never mind how long precisely.\n\
    It is a truth universally acknowledged, that a single man in possession of a good fortune.\n\
    Numbers 1234 and 56.78, café naïve 日本語 emoji 🙂🙂 tabs\tand  double  spaces.\n";

fn trained(vocab_size: usize) -> BpeTokenizer {
    let trainer =
        BpeTrainer { vocab_size, min_frequency: 1, special_tokens: vec!["<|endoftext|>".into(), "<pad>".into()] };
    trainer.train(std::iter::repeat_n(CORPUS, 3)).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-bpe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn merges_compress_and_round_trip() {
    let small = trained(300);
    let large = trained(600);
    assert_eq!(small.vocab_size(), 300);
    assert_eq!(large.merge_count(), large.vocab_size() - 258);
    let (few, many) = (large.encode(CORPUS).len(), small.encode(CORPUS).len());
    assert!(few < many && many < CORPUS.len(), "{few} < {many} < {} bytes", CORPUS.len());
    assert_eq!(large.encode_to_tokens("The fox")[1], "Ġfox");
    for text in [CORPUS, "", " ", "\n\n\t", "unseen Ünïcödé ✓ 𝔘 \u{0}\u{7f}", "a<|endoftext|>b<pad><|endoftext|>"]
    {
        assert_eq!(large.decode(&large.encode(text)).unwrap(), text);
    }
    let with_special = large.encode("x<|endoftext|>");
    assert_eq!(*with_special.last().unwrap(), 0, "a special token is one id, never split");
}

#[test]
fn decode_errors_are_typed() {
    let t = trained(300);
    assert!(matches!(t.decode(&[100_000]), Err(NlpError::Invalid(_))));
    let cut = &t.encode("é")[..];
    let first_byte = t.token_id(&BpeTokenizer::spell("é").chars().next().unwrap().to_string()).unwrap();
    assert!(cut.len() == 1 || cut[0] == first_byte);
    assert!(matches!(t.decode(&[first_byte]), Err(NlpError::Invalid(_))), "half a character is not UTF-8");
    assert!(BpeTrainer { vocab_size: 100, ..BpeTrainer::default() }.train(["x"]).is_err());
}

#[test]
fn tokenizer_json_round_trip_and_errors() {
    let t = trained(500);
    let path = scratch("tokenizer.json");
    t.save(&path).unwrap();
    let loaded = BpeTokenizer::load(&path).unwrap();
    assert_eq!(loaded.vocab_size(), t.vocab_size());
    for text in [CORPUS, "the whale-ship<pad>", "zzz 999"] {
        assert_eq!(loaded.encode(text), t.encode(text));
    }
    let bad = scratch("bad.json");
    std::fs::write(&bad, "{\"model\": {\n\"type\": \"BPE\",}").unwrap();
    assert!(matches!(BpeTokenizer::load(&bad), Err(NlpError::Parse { line: 2, .. })));
    let wordpiece = std::fs::read_to_string(&path).unwrap().replacen("\"BPE\"", "\"WordPiece\"", 1);
    std::fs::write(&bad, wordpiece).unwrap();
    assert!(matches!(BpeTokenizer::load(&bad), Err(NlpError::Parse { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn any_utf8_round_trips(text in any::<String>()) {
        let t = shared_tokenizer();
        prop_assert_eq!(t.decode(&t.encode(&text)).unwrap(), text);
    }
}

fn shared_tokenizer() -> &'static BpeTokenizer {
    static TOKENIZER: std::sync::OnceLock<BpeTokenizer> = std::sync::OnceLock::new();
    TOKENIZER.get_or_init(|| trained(400))
}

const ENCODE_WITH_HF: &str = r#"
import json, sys
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[1])
texts = json.load(open(sys.argv[2]))
print(json.dumps([[tok.encode(t).ids, tok.decode(tok.encode(t).ids, skip_special_tokens=False)] for t in texts]))
"#;

const TRAIN_WITH_HF: &str = r#"
import sys
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"],
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
tok.train_from_iterator([open(sys.argv[2]).read()] * 3, trainer)
tok.save(sys.argv[1])
"#;

fn hf_encode(python: &Path, tokenizer: &Path, texts: &[&str]) -> Vec<(Vec<u32>, String)> {
    let texts_path = scratch("texts.json");
    std::fs::write(&texts_path, serde_json::to_string(texts).unwrap()).unwrap();
    let out = Command::new(python).args(["-c", ENCODE_WITH_HF]).arg(tokenizer).arg(&texts_path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn hugging_face_tokenizers_agrees() {
    let Some(python) = test_support::python_with("tokenizers") else { return };
    let texts = [CORPUS, "The whale<|endoftext|>and the dog", "  leading spaces\n\nand 'quotes' it's", "日本語 🙂 x"];
    // A file Tessera saved, loaded by `tokenizers`.
    let ours = trained(500);
    let path = scratch("ours.json");
    ours.save(&path).unwrap();
    for ((ids, decoded), text) in hf_encode(&python, &path, &texts).into_iter().zip(texts) {
        assert_eq!(ids, ours.encode(text), "ids of {text:?}");
        assert_eq!(decoded, text);
    }
    // A file `tokenizers` trained and saved, loaded by Tessera.
    let (theirs_path, corpus_path) = (scratch("theirs.json"), scratch("corpus.txt"));
    std::fs::write(&corpus_path, CORPUS).unwrap();
    let out = Command::new(&python).args(["-c", TRAIN_WITH_HF]).arg(&theirs_path).arg(&corpus_path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let theirs = BpeTokenizer::load(&theirs_path).unwrap();
    for ((ids, _), text) in hf_encode(&python, &theirs_path, &texts).into_iter().zip(texts) {
        assert_eq!(theirs.encode(text), ids, "ids of {text:?}");
    }
}
