"""Headline against claim: how the engine reads a one-sentence text, where editors' alerts start.

    .venv/bin/python bench/headline_eval.py                 # held-out topics (the report)
    .venv/bin/python bench/headline_eval.py --split validation --fast

FNC-1 gives each body several headlines, labelled by how they stand to the body. Within one
body's cluster, a headline that *agrees* with the body states its claim: it is the claim here.
Every other headline of the cluster is a text whose label follows from its own: an agreeing
headline confirms the claim, a disagreeing one denies it, a discussing one discusses it; a
headline the body is unrelated to (another story) is unrelated. Pairs are drawn with a fixed
seed, at most `--per-label` of each label per cluster, identical headlines skipped.

`--split unseen` (default) draws from bench/fnc_data.py's held-out topics: no model saw these
headlines. `--split validation` draws from the validation topics, for choosing between variants.
Prints accuracy, per-class precision/recall/F1, macro-F1 and the confusion matrix.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

import fnc_data

from matcher.assess import Engine, assess, default_engine
from matcher.match import Claim, Stance

LABELS = fnc_data.LABELS
_LABEL = {Stance.CONFIRMS: "agree", Stance.DENIES: "disagree", Stance.DISCUSSES: "discuss",
          Stance.UNRELATED: "unrelated"}


def headline_pairs(split: str, per_label: int = 2, seed: int = fnc_data.SEED) -> list[tuple[str, str, str]]:
    """(claim headline, text headline, gold label) for the clusters of the split."""
    source = fnc_data.test_pairs("unseen") if split == "unseen" else fnc_data.validation_pairs()
    by_body: dict[str, list[fnc_data.Pair]] = defaultdict(list)
    for p in source:
        by_body[p.body_id].append(p)
    rng = random.Random(seed)
    out = []
    for body_id in sorted(by_body):
        cluster = sorted(by_body[body_id], key=lambda p: p.headline)
        agreeing = [p.headline for p in cluster if p.stance == "agree"]
        if not agreeing:
            continue
        claim = rng.choice(agreeing)
        for label in LABELS:
            texts = sorted({p.headline for p in cluster if p.stance == label and p.headline != claim})
            for text in rng.sample(texts, min(per_label, len(texts))):
                out.append((claim, text, label))
    return out


def predict(pairs: list[tuple[str, str, str]], engine: Engine) -> tuple[list[str], float]:
    t0 = time.perf_counter()
    got = [_LABEL[assess("", text, [Claim("c", claim, ())], engine=engine)[0].stance]
           for claim, text, _ in pairs]
    return got, len(pairs) / (time.perf_counter() - t0)


def report(gold: list[str], got: list[str]) -> str:
    lines = [f"pairs {len(gold)}; accuracy {sum(g == p for g, p in zip(gold, got, strict=True)) / len(gold):.3f}"]
    f1s = []
    lines.append(f"{'':>10} {'precision':>9} {'recall':>7} {'F1':>6} {'n':>5}")
    for lab in LABELS:
        tp = sum(g == lab and p == lab for g, p in zip(gold, got, strict=True))
        n_pred, n_gold = got.count(lab), gold.count(lab)
        prec = tp / n_pred if n_pred else 0.0
        rec = tp / n_gold if n_gold else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        f1s.append(f1)
        lines.append(f"{lab:>10} {prec:9.3f} {rec:7.3f} {f1:6.3f} {n_gold:5d}")
    lines.append(f"macro-F1 {sum(f1s) / len(f1s):.3f}")
    lines.append("confusion (rows gold, columns predicted): " + " ".join(f"{lab[:5]:>6}" for lab in LABELS))
    for g_lab in LABELS:
        row = [sum(g == g_lab and p == p_lab for g, p in zip(gold, got, strict=True)) for p_lab in LABELS]
        lines.append(f"{g_lab:>10} " + " ".join(f"{n:6d}" for n in row))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=["unseen", "validation"], default="unseen")
    parser.add_argument("--per-label", type=int, default=2)
    parser.add_argument("--fast", action="store_true", help="features only (no reader)")
    args = parser.parse_args()
    pairs = headline_pairs(args.split, args.per_label)
    engine = default_engine(args.fast)
    got, rate = predict(pairs, engine)
    print(f"claimwatch headline eval: {args.split} topics, {'fast' if args.fast else 'full'} engine, "
          f"{rate:.0f} pairs/s")
    print(report([g for _, _, g in pairs], got))


if __name__ == "__main__":
    main()
