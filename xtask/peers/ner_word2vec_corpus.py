"""Writes the text the NER word vectors are trained on (see docs/ner-and-qa.md): the SQuAD v1.1
passages (Wikipedia, CC BY-SA), the enwiki sample with its markup stripped, the State of the
Union addresses and Jane Austen's novels, all from ../shared/data; one paragraph per line,
tokenised the way CoNLL-2003 is (letter/digit runs joined by inner . ' -, every other visible
character alone), lower-cased, every digit written 0 (the tagger's word normalisation).
CoNLL-2003 itself is not used.

Usage: python3 xtask/peers/ner_word2vec_corpus.py SHARED_DATA_DIR OUT.txt
"""

import gzip
import json
import re
import sys

TOKEN = re.compile(r"\w+(?:[.'\-]\w+)*|\S")


def paragraphs(shared):
    for name in ("train-v1.1.json.gz", "dev-v1.1.json.gz"):
        for article in json.load(gzip.open(f"{shared}/squad/{name}"))["data"]:
            for paragraph in article["paragraphs"]:
                yield paragraph["context"]
    wiki = gzip.open(f"{shared}/enwiki-sample/enwiki-articles1-shortened.xml.gz", "rt", errors="replace").read()
    for line in re.sub(r"<[^>]+>", " ", wiki).split("\n"):
        if len(line.split()) > 5:
            yield line
    for line in gzip.open(f"{shared}/sotu/sotu.jsonl.gz", "rt"):
        for paragraph in (json.loads(line).get("text") or "").split("\n"):
            if paragraph.strip():
                yield paragraph
    for line in gzip.open(f"{shared}/austen/austen_novels.txt.gz", "rt", errors="replace"):
        if line.strip():
            yield line


def main():
    shared, out = sys.argv[1], sys.argv[2]
    with open(out, "w", encoding="utf-8") as f:
        for text in paragraphs(shared):
            words = (re.sub(r"\d", "0", w.lower()) for w in TOKEN.findall(text))
            f.write(" ".join(words) + "\n")


if __name__ == "__main__":
    main()
