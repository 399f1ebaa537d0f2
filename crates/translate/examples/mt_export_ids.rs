//! Writes a parallel set as the id files that `mt_peer_train` and the JAX peer
//! (`xtask/peers/mt_transformer_jax.py train`) read, so both train on the same tokens: a joint
//! byte-level BPE (Tessera's `BpeTrainer`, specials `<pad>` `<s>` `</s>` = ids 0, 1, 2)
//! learned on the training split's two columns only.
//!
//! ```text
//! cargo run --release -p translate --example mt_export_ids -- DATA OUT [SRC TGT] [VOCAB]
//! e.g. mt_export_ids ../shared/data/mt/ding-de-en target/mt-ding de en 8000
//! ```
//!
//! `DATA` holds `{train,valid,test}.tsv[.gz]` with a header naming the columns. Pairs whose
//! source or target is empty are left out (and counted); `test.ref` keeps the test references
//! of the pairs written, in order.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use nlp::corpus::Lines;
use nlp::tokenize::{BpeTokenizer, BpeTrainer};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The (source, target) columns of `DATA/<split>.tsv[.gz]`.
fn read_split(data: &Path, split: &str, src: &str, tgt: &str) -> Result<Vec<(String, String)>> {
    let path = [".tsv.gz", ".tsv"]
        .iter()
        .map(|ext| data.join(format!("{split}{ext}")))
        .find(|p| p.exists())
        .ok_or_else(|| format!("{}: no {split}.tsv or {split}.tsv.gz", data.display()))?;
    let mut lines = Lines::open(&path)?;
    let header: Vec<String> = match lines.next_line() {
        Some(line) => line?.1.split('\t').map(str::to_string).collect(),
        None => return Err(format!("{}: empty file", path.display()).into()),
    };
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{}: no column `{name}` in {header:?}", path.display()))
    };
    let (s, t) = (column(src)?, column(tgt)?);
    let mut pairs = Vec::new();
    while let Some(line) = lines.next_line() {
        let (number, text) = line?;
        let fields: Vec<&str> = text.split('\t').collect();
        match (fields.get(s), fields.get(t)) {
            (Some(a), Some(b)) => pairs.push((a.to_string(), b.to_string())),
            _ => return Err(format!("{}:{number}: fewer than {} columns", path.display(), s.max(t) + 1).into()),
        }
    }
    Ok(pairs)
}

fn write(path: PathBuf, text: &str) -> Result<()> {
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn ids_line(ids: &[u32]) -> String {
    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
}

fn export(out: &Path, split: &str, pairs: &[(String, String)], bpe: &BpeTokenizer) -> Result<()> {
    let (mut src, mut tgt, mut refs, mut dropped) = (String::new(), String::new(), String::new(), 0);
    for (source, target) in pairs {
        let (a, b) = (bpe.encode(source), bpe.encode(target));
        if a.is_empty() || b.is_empty() {
            dropped += 1;
            continue;
        }
        let _ = writeln!(src, "{}", ids_line(&a));
        let _ = writeln!(tgt, "{}", ids_line(&b));
        let _ = writeln!(refs, "{target}");
    }
    write(out.join(format!("{split}.src.ids")), &src)?;
    write(out.join(format!("{split}.tgt.ids")), &tgt)?;
    if split == "test" {
        write(out.join("test.ref"), &refs)?;
    }
    println!("{split}: {} pairs written, {dropped} with an empty side left out", pairs.len() - dropped);
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: mt_export_ids DATA OUT [SRC TGT] [VOCAB]";
    let (data, out) = (Path::new(args.first().ok_or(usage)?), Path::new(args.get(1).ok_or(usage)?));
    let (src, tgt) = (args.get(2).map_or("de", String::as_str), args.get(3).map_or("en", String::as_str));
    let vocab_size = args.get(4).map_or(Ok(8000), |v| v.parse()).map_err(|_| usage)?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let train = read_split(data, "train", src, tgt)?;
    let specials = ["<pad>", "<s>", "</s>"].map(String::from).to_vec();
    let trainer = BpeTrainer { vocab_size, min_frequency: 2, special_tokens: specials };
    let bpe = trainer.train(train.iter().flat_map(|(a, b)| [a.as_str(), b.as_str()]))?;
    let mut hex = String::new();
    for id in 0..bpe.vocab_size() as u32 {
        let bytes = if id < 3 { Vec::new() } else { bpe.decode_bytes(&[id])? };
        let _ = writeln!(hex, "{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
    }
    write(out.join("vocab.hex"), &hex)?;
    let meta = format!("{{\"vocab\": {}, \"pad\": 0, \"bos\": 1, \"eos\": 2}}\n", bpe.vocab_size());
    write(out.join("meta.json"), &meta)?;
    export(out, "train", &train, &bpe)?;
    for split in ["valid", "test"] {
        export(out, split, &read_split(data, split, src, tgt)?, &bpe)?;
    }
    println!("vocabulary {} ids in {}", bpe.vocab_size(), out.display());
    Ok(())
}
