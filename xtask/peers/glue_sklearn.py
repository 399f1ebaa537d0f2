"""scikit-learn's TF-IDF + logistic regression (ridge for scores) on the GLUE-style tasks'
exported splits, written as a run record beside Tessera's (see docs/benchmark.md).

Usage: glue_sklearn.py SPLITS_DIR RUNS_DIR
SPLITS_DIR holds `<task>/{train,dev,test}.jsonl` and `<task>/task.json` from
`tessera glue export`. Features: TfidfVectorizer() with its defaults, fitted on the training
texts (for a pair, both fields' texts) and the two fields' vectors side by side;
LogisticRegression(C=1) (L2, lbfgs) or Ridge(alpha=1). Metrics come from scikit-learn and
scipy, independently of Tessera's.
"""

import json
import os
import sys
import time

import numpy as np
import scipy.sparse as sp
from scipy.stats import pearsonr, spearmanr
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, matthews_corrcoef


def read(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def metric(name, gold, pred):
    if name == "accuracy":
        return accuracy_score(gold, pred)
    if name == "f1":
        return f1_score(gold, pred, pos_label=1, average="binary", zero_division=0)
    if name == "macro_f1":
        return f1_score(gold, pred, average="macro", zero_division=0)
    if name == "mcc":
        return matthews_corrcoef(gold, pred)
    if np.std(pred) == 0:
        return 0.0
    if name == "pearson":
        return float(pearsonr(gold, pred)[0])
    if name == "spearman":
        return float(spearmanr(gold, pred)[0])
    raise ValueError(name)


def run_task(folder):
    meta = json.load(open(os.path.join(folder, "task.json")))
    if meta["kind"] == "tagging":
        return None
    train, dev, test = (read(os.path.join(folder, f"{s}.jsonl")) for s in ("train", "dev", "test"))
    started = time.perf_counter()
    pair = meta["kind"] == "pair"
    docs = [e["text"] for e in train] + ([e["second"] for e in train] if pair else [])
    vectorizer = TfidfVectorizer().fit(docs)

    def features(split):
        x = vectorizer.transform([e["text"] for e in split])
        if pair:
            x = sp.hstack([x, vectorizer.transform([e["second"] for e in split])]).tocsr()
        return x

    xtr, xdev, xte = features(train), features(dev), features(test)
    ytr = np.array([e["target"] for e in train])
    if meta["kind"] == "regression":
        model = Ridge(alpha=1.0).fit(xtr, ytr)
    else:
        model = LogisticRegression(C=1.0, max_iter=1000).fit(xtr, ytr)
    pdev, pte = model.predict(xdev), model.predict(xte)
    seconds = time.perf_counter() - started
    gdev, gte = [e["target"] for e in dev], [e["target"] for e in test]
    test_m = {m: float(metric(m, gte, pte)) for m in meta["metrics"]}
    dev_m = {m: float(metric(m, gdev, pdev)) for m in meta["metrics"]}
    confusion = None
    if meta["kind"] != "regression":
        confusion = confusion_matrix(gte, pte, labels=list(range(len(meta["classes"])))).tolist()
    return {
        "task": meta["name"], "metrics": test_m, "dev_metrics": dev_m, "metric_order": meta["metrics"],
        "score": float(np.mean(list(test_m.values()))), "seconds": seconds,
        "examples_per_second": len(train) / seconds, "counts": [len(train), len(dev), len(test)],
        "classes": meta["classes"], "confusion": confusion,
        "config": {"vectorizer": "TfidfVectorizer()", "model": "Ridge(alpha=1)" if meta["kind"] == "regression"
                   else "LogisticRegression(C=1, max_iter=1000)", "features": xtr.shape[1]},
    }


def main():
    splits, runs = sys.argv[1], sys.argv[2]
    import sklearn

    started = time.perf_counter()
    tasks = []
    for name in sorted(os.listdir(splits)):
        folder = os.path.join(splits, name)
        if os.path.isfile(os.path.join(folder, "task.json")):
            result = run_task(folder)
            if result is not None:
                tasks.append(result)
                shown = ", ".join(f"{k} {100 * v:.2f}" for k, v in result["metrics"].items())
                print(f"  {name:<16} {shown:<36} {result['seconds']:7.1f} s", flush=True)
    record = {
        "model": "sklearn-tfidf-lr", "seed": 0, "device": f"python (scikit-learn {sklearn.__version__})",
        "quick": False, "wall_seconds": time.perf_counter() - started, "tasks": tasks,
        "suite_score": 100 * float(np.mean([t["score"] for t in tasks])), "extra": None,
    }
    os.makedirs(runs, exist_ok=True)
    path = os.path.join(runs, f"sklearn-tfidf-lr-python-s0-{int(time.time() * 1000)}.json")
    with open(path, "w") as f:
        json.dump(record, f, indent=2)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
