"""seqeval's entity F1 (its default, conlleval-compatible mode) on a Tessera NER model's own
test predictions, compared with the F1 Tessera reported for them (see docs/ner-and-qa.md).

Usage: seqeval_check.py PREDICTIONS MODEL_DIR
PREDICTIONS: `word gold predicted` per line, a blank line between sentences, as
`tessera ner train|eval --predictions` writes it. MODEL_DIR: the folder whose config.json
holds Tessera's scores of the same predictions (`report.test`). Prints both, per type too,
and exits 1 when overall precision, recall or F1 differ in the 4th decimal.

Setup: python3 -m venv target/ner-venv && target/ner-venv/bin/pip install seqeval
"""

import json
import sys

from seqeval.metrics import classification_report, f1_score, precision_score, recall_score


def read(path):
    gold, pred, g, p = [], [], [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            if not fields:
                if g:
                    gold.append(g)
                    pred.append(p)
                g, p = [], []
                continue
            g.append(fields[1])
            p.append(fields[2])
    if g:
        gold.append(g)
        pred.append(p)
    return gold, pred


def main():
    predictions, model_dir = sys.argv[1], sys.argv[2]
    gold, pred = read(predictions)
    ours = json.load(open(f"{model_dir}/config.json", encoding="utf-8"))["report"]["test"]
    theirs = {
        "precision": precision_score(gold, pred),
        "recall": recall_score(gold, pred),
        "f1": f1_score(gold, pred),
    }
    print(f"sentences {len(gold)}")
    print(classification_report(gold, pred, digits=4))
    ok = True
    for key in ("precision", "recall", "f1"):
        same = round(ours[key], 4) == round(theirs[key], 4)
        ok &= same
        print(f"{key:<9} tessera {ours[key]:.6f}  seqeval {theirs[key]:.6f}  {'equal to 4 decimals' if same else 'DIFFERENT'}")
    report = classification_report(gold, pred, output_dict=True)
    for kind, scores in sorted(ours["per_type"].items()):
        peer = report[kind]["f1-score"]
        same = round(scores["f1"], 4) == round(peer, 4)
        ok &= same
        print(f"{kind:<9} F1 tessera {scores['f1']:.6f}  seqeval {peer:.6f}  {'equal' if same else 'DIFFERENT'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
