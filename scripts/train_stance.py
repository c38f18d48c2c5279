"""Train the article-level stance model from FNC-1 and write matcher/stance_model.json.

    .venv/bin/python scripts/train_stance.py            # train, report, write the model
    .venv/bin/python scripts/train_stance.py --dry-run  # train and report only

Why a small MLP over hand-built features: the features (matcher/features.py) say how much of
the claim an article covers and which stance words surround it — nothing about topics — so
the model carries to stories it never saw.  The weights are plain JSON, evaluated with numpy
at run time (no scikit-learn pickle, no version lock).  Trained on `fnc_data.train_pairs()`
only: the held-out claims and bodies that bench/fnc_eval.py reports are never seen.
Needs scikit-learn at training time only (`pip install scikit-learn`).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import fnc_data

from matcher import features as ft
from matcher.assess import MODEL_PATH, StanceModel
from matcher.match import Claim, match_article

LABELS = fnc_data.LABELS


def document_frequencies(body_ids: set[str]) -> tuple[dict[str, float], float]:
    """IDF of word stems over the training bodies (stems seen in >= 2 bodies)."""
    df: Counter[str] = Counter()
    for bid in body_ids:
        body = ft.body_of("", fnc_data.bodies()[bid])
        df.update(frozenset().union(*body.stems) if body.stems else ())
    n = len(body_ids)
    idf = {w: round(math.log((n + 1) / (c + 1)) + 1.0, 3) for w, c in df.items() if c >= 2}
    return idf, round(math.log((n + 1) / 2) + 1.0, 3)


def featurise(pairs: list[fnc_data.Pair], idf: dict[str, float], default: float,
              label: str) -> np.ndarray:
    rows = []
    t0 = time.perf_counter()
    for i, p in enumerate(pairs):
        text = fnc_data.bodies()[p.body_id]
        findings = match_article("", text, [Claim("c", p.headline, ())])
        rows.append(ft.features(p.headline, ft.body_of("", text), findings, idf, default))
        if i % 2000 == 1999:
            rate = (i + 1) / (time.perf_counter() - t0)
            print(f"  {label}: {i + 1}/{len(pairs)} pairs, {rate:.0f}/s", file=sys.stderr)
    return np.asarray(rows, dtype=np.float64)


def cached_features(pairs: list[fnc_data.Pair], idf: dict[str, float], default: float,
                    label: str, cache: Path | None) -> np.ndarray:
    if cache:
        path = cache / f"{label}.npy"
        if path.exists():
            x: np.ndarray = np.load(path)
            if x.shape == (len(pairs), len(ft.NAMES)):
                return x
        x = featurise(pairs, idf, default, label)
        cache.mkdir(parents=True, exist_ok=True)
        np.save(path, x)
        return x
    return featurise(pairs, idf, default, label)


def train(x: np.ndarray, y: np.ndarray, hidden: int, members: int,
          seed: int) -> dict[str, object]:
    """`members` one-hidden-layer MLPs on standardised features, each on its own resample
    with the rare classes (disagree, agree) oversampled; their average is the model."""
    from sklearn.neural_network import MLPClassifier

    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mean) / scale
    counts = np.bincount(y, minlength=len(LABELS))
    copies = {0: 3.0, 1: 6.0, 2: 1.5, 3: 1.0}  # how many copies of each class
    nets = []
    for m in range(members):
        rng = np.random.default_rng(seed + m)
        idx = np.concatenate([rng.choice(np.flatnonzero(y == c), int(counts[c] * copies[c]))
                              for c in range(len(LABELS)) if counts[c]])
        clf = MLPClassifier(hidden_layer_sizes=(hidden,), alpha=1e-3, max_iter=300,
                            early_stopping=True, random_state=seed + m)
        clf.fit(z[idx], y[idx])
        nets.append([{"w": w.round(5).tolist(), "b": b.round(5).tolist()}
                     for w, b in zip(clf.coefs_, clf.intercepts_, strict=True)])
    return {"mean": mean.round(6).tolist(), "scale": scale.round(6).tolist(), "members": nets}


def macro_f1(gold: np.ndarray, pred: np.ndarray) -> float:
    f1 = []
    for c in range(len(LABELS)):
        tp = int(((pred == c) & (gold == c)).sum())
        prec, rec = tp / max(1, int((pred == c).sum())), tp / max(1, int((gold == c).sum()))
        f1.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return float(np.mean(f1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    ap.add_argument("--hidden", type=int, default=24)
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cache", type=Path, help="keep feature matrices here between runs")
    ap.add_argument("--dry-run", action="store_true", help="report only, write nothing")
    args = ap.parse_args(argv)

    train_pairs = fnc_data.train_pairs()
    idf, default = document_frequencies({p.body_id for p in train_pairs})
    x = cached_features(train_pairs, idf, default, "train", args.cache)
    y = np.asarray([LABELS.index(p.stance) for p in train_pairs])
    weights = train(x, y, args.hidden, args.members, args.seed)
    model = {"version": 1, "labels": list(LABELS), "names": list(ft.NAMES),
             "default_idf": default, "idf": idf, **weights}
    sm = StanceModel.from_dict(model)
    for split in ("unseen", "challenge"):
        pairs = fnc_data.test_pairs(split)
        xt = cached_features(pairs, idf, default, split, args.cache)
        gold = np.asarray([LABELS.index(p.stance) for p in pairs])
        print(f"{split}: macro-F1 {macro_f1(gold, sm.predict_proba(xt).argmax(axis=1)):.3f}")
    if not args.dry_run:
        args.out.write_text(json.dumps(model, separators=(",", ":")) + "\n")
        print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
