"""Claim-article pairs per second through the stance engine, on one CPU core.

    .venv/bin/python bench/stance_speed.py [--pairs 400] [--runs 5]

Pairs are FNC-1 bodies of 400-600 words (about 500) with a headline as the claim, in two
mixes: every pair related (the costly case: the matcher and the reader analyse every article)
and a mixed one, a related headline for about 27% of bodies (FNC-1's share) and an unrelated
one for the others where the body has any (the actual share is printed).  Every pair has its
own article, so nothing is cached between pairs: the per-line work of `claimwatch stance`,
with the full engine and with `--fast` (no transformer reader).  Pinned to one core, numerical
libraries to one thread; prints the median of `--runs`.
"""
from __future__ import annotations

import os

os.environ.update({k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

import fnc_data

from matcher import features as ft
from matcher import text as tx
from matcher.assess import Engine, assess, default_engine
from matcher.match import Claim


def workload(n: int, related_share: float, seed: int = 1) -> list[tuple[str, str, bool]]:
    """(claim, text, related) triples, each with a different ~500-word article."""
    bodies = fnc_data.bodies()
    sized = [b for b, t in bodies.items() if 400 <= len(t.split()) <= 600]
    by_body: dict[str, list[fnc_data.Pair]] = {}
    for p in fnc_data.pairs():
        by_body.setdefault(p.body_id, []).append(p)
    rng = random.Random(seed)
    rng.shuffle(sized)
    out = []
    for bid in sized[:n]:
        related = [p for p in by_body.get(bid, []) if p.stance != "unrelated"]
        others = [p for p in by_body.get(bid, []) if p.stance == "unrelated"]
        pool = related if (rng.random() < related_share and related) or not others else others
        out.append((rng.choice(pool).headline, bodies[bid], pool is related))
    return out


def rate(pairs: list[tuple[str, str, bool]], engine: Engine) -> float:
    ft.body_of.cache_clear()
    tx.body_sentences.cache_clear()
    t0 = time.perf_counter()
    for i, (claim, text, _) in enumerate(pairs):
        assess("", text, [Claim(str(i), claim, ())], engine=engine)
    return len(pairs) / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=400)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    for fast in (False, True):
        engine = default_engine(fast)  # loading the models is start-up, not per pair
        for label, share in (("all related", 1.0), ("mixed", 0.27)):
            pairs = workload(args.pairs, share)
            words = statistics.median(len(t.split()) for _, t, _ in pairs)
            label += f" ({100 * sum(r for *_, r in pairs) / len(pairs):.0f}% related)"
            rate(pairs[:20], engine)  # warm caches of the code, not of the articles
            rates = [rate(pairs, engine) for _ in range(args.runs)]
            print(f"{'fast' if fast else 'full'} engine, {label}: {len(pairs)} pairs, "
                  f"median {words:.0f} words/article: "
                  f"median {statistics.median(rates):.0f} pairs/s "
                  f"(min {min(rates):.0f}, max {max(rates):.0f}; {args.runs} runs, one core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
