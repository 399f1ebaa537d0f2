"""Writes the WordPiece fixture that crates/nlp/tests/wordpiece.rs checks Tessera against.

A cased WordPiece vocabulary of 1,000 pieces is learned by Hugging Face `tokenizers`'
WordPieceTrainer from the first 4,000 lines of the shipped Austen novels (so the vocabulary is
not Tessera's own), then Hugging Face `transformers`' BertTokenizerFast reads it, cased and
lower-cased, and records the pieces, ids and character offsets of a set of awkward sentences.

    python3 -m venv target/bert-venv && target/bert-venv/bin/pip install transformers tokenizers
    target/bert-venv/bin/python xtask/peers/wordpiece_fixture.py crates/nlp/tests/fixtures/wordpiece
"""
import gzip
import json
import os
import sys

from tokenizers import BertWordPieceTokenizer
from transformers import BertTokenizerFast

SENTENCES = [
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
    "Mr. Darcy's estate -- Pemberley -- was worth £10,000 a year!",
    "Café résumé naïve façade: ÉLAN vs élan.",
    "Tabs\tand\nnewlines\r\nand  double  spaces",
    "Zero\u200bwidth and soft\u00adhyphen, NBSP\u00a0here.",
    "中文字 and 日本語 mixed with English.",
    "Emoji 😀 and symbols © ™ § ¶ « quoted » “curly” ‘single’",
    "Straße İstanbul ΑΘΗΝΑ Ωμέγα ﬁne",
    "supercalifragilisticexpialidocious" * 4,
    "don't won't shan't 1,000,000 3.14159 U.S.A. e-mail",
    "a\u0301 combining e\u0308 marks",
    "",
    "   ",
    "Elizabeth and Jane Bennet walked to Meryton; Lydia followed.",
]


def main(out_dir):
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    with gzip.open(os.path.join(root, "data/austen/austen_novels.txt.gz"), "rt", encoding="utf-8") as f:
        lines = [next(f) for _ in range(4000)]
    trainer = BertWordPieceTokenizer(lowercase=False, strip_accents=False)
    trainer.train_from_iterator(
        lines, vocab_size=1000, min_frequency=2, limit_alphabet=200,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    )
    os.makedirs(out_dir, exist_ok=True)
    vocab_path = os.path.join(out_dir, "vocab.txt")
    vocab = sorted(trainer.get_vocab().items(), key=lambda kv: kv[1])
    with open(vocab_path, "w", encoding="utf-8") as f:
        for token, _ in vocab:
            f.write(token + "\n")
    cases = []
    for lowercase in (False, True):
        tok = BertTokenizerFast(vocab_path, do_lower_case=lowercase)  # transformers 5: `vocab` is the first argument
        for text in SENTENCES:
            enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
            cases.append({
                "lowercase": lowercase,
                "text": text,
                "tokens": tok.convert_ids_to_tokens(enc["input_ids"]),
                "ids": enc["input_ids"],
                "offsets": [list(o) for o in enc["offset_mapping"]],
            })
    with open(os.path.join(out_dir, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "xtask/peers/wordpiece_fixture.py", "cases": cases}, f, ensure_ascii=False, indent=1)
    print(f"{len(vocab)} pieces, {len(cases)} cases -> {out_dir}")


if __name__ == "__main__":
    main(sys.argv[1])
