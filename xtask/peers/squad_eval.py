#!/usr/bin/env python3
"""The official SQuAD v1.1 evaluation, reimplemented from its published definition
(Rajpurkar et al. 2016; the v1.1 evaluate script's rules), as Tessera's peer for `qa eval`.

Usage: squad_eval.py DATASET.json[.gz] PREDICTIONS.json
Prints {"exact_match": ..., "f1": ...} (percentages) as JSON on one line.

Normalisation: lower-case, remove ASCII punctuation (string.punctuation), replace the whole
words a/an/the by a space, collapse whitespace. Exact match compares normalised strings; F1 is
over the bag of normalised tokens (0 when none is shared). Each question takes the maximum over
its references; a question without a prediction counts 0; averages over all questions.
Standard library only.
"""

import collections
import gzip
import json
import re
import string
import sys

PUNCTUATION = set(string.punctuation)
ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize(text):
    text = text.lower()
    text = "".join(ch for ch in text if ch not in PUNCTUATION)
    text = ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction, reference):
    return normalize(prediction) == normalize(reference)


def f1(prediction, reference):
    predicted = normalize(prediction).split()
    gold = normalize(reference).split()
    common = collections.Counter(predicted) & collections.Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(predicted)
    recall = same / len(gold)
    return 2 * precision * recall / (precision + recall)


def evaluate(dataset, predictions):
    em = score = total = 0
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                total += 1
                if qa["id"] not in predictions:
                    continue
                references = [a["text"] for a in qa["answers"]]
                prediction = predictions[qa["id"]]
                em += max(exact_match(prediction, r) for r in references)
                score += max(f1(prediction, r) for r in references)
    return {"exact_match": 100.0 * em / total, "f1": 100.0 * score / total}


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: squad_eval.py DATASET.json[.gz] PREDICTIONS.json")
    opener = gzip.open if sys.argv[1].endswith(".gz") else open
    with opener(sys.argv[1], "rt", encoding="utf-8") as f:
        dataset = json.load(f)["data"]
    with open(sys.argv[2], encoding="utf-8") as f:
        predictions = json.load(f)
    print(json.dumps(evaluate(dataset, predictions)))


if __name__ == "__main__":
    main()
