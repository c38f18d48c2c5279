"""Claim-article pairs per second through the stance engine, on one CPU core.

    .venv/bin/python bench/stance_speed.py [--pairs 400] [--runs 5] [--profile fast|full]

Pairs are FNC-1 bodies of 400-600 words (about 500) with a headline as the claim, in two
mixes: every pair related (the costly case: the matcher and the reader analyse every article)
and a mixed one, a related headline for about 27% of bodies (FNC-1's share) and an unrelated
one for the others where the body has any (the actual share is printed).  Every pair has its
own article, so nothing is cached between pairs: the per-line work of `claimwatch stance`,
with the full engine and with `--fast` (no transformer reader).  Pinned to one core, numerical
libraries to one thread; prints the median of `--runs`.  `--profile` instead runs the
all-related pairs once under cProfile and prints where the time goes (rules, features, model,
reader); cProfile inflates pure-Python steps against native ones (the reader's ONNX run).
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


def clear_article_caches() -> None:
    """Forget every article the engine has seen (its caches keyed by article or passage)."""
    for cached in (ft.body_of, tx.body_sentences, tx.sentences_of, tx.word_spans):
        cached.cache_clear()


def rate(pairs: list[tuple[str, str, bool]], engine: Engine) -> float:
    clear_article_caches()
    t0 = time.perf_counter()
    for i, (claim, text, _) in enumerate(pairs):
        assess("", text, [Claim(str(i), claim, ())], engine=engine)
    return len(pairs) / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=400)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--profile", choices=("fast", "full"),
                    help="profile one pass of the all-related pairs instead of timing")
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    if args.profile:
        return profile(workload(args.pairs, 1.0), default_engine(args.profile == "fast"))
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


# (label, file name ending, function name): steps of `assess`, their cumulative time reported
STEPS = (
    ("rules: match_article", "matcher/match.py", "match_article"),
    ("  prepare_article (claim specs, entities)", "matcher/match.py", "prepare_article"),
    ("  build_passages", "matcher/passages.py", "build_passages"),
    ("    body_sentences (clean + split)", "matcher/text.py", "body_sentences"),
    ("    find_names", "matcher/text.py", "find_names"),
    ("  keyword_spans", "matcher/claims.py", "keyword_spans"),
    ("  _referenced", "matcher/match.py", "_referenced"),
    ("  _votes (cues, govern, holder)", "matcher/match.py", "_votes"),
    ("  _finding (own words)", "matcher/match.py", "_finding"),
    ("rules: voice_of (from assess)", "matcher/match.py", "voice_of"),
    ("features: body_of", "matcher/features.py", "body_of"),
    ("features: features", "matcher/features.py", "features"),
    ("features: evidence", "matcher/features.py", "evidence"),
    ("model: predict_proba", "matcher/assess.py", "predict_proba"),
    ("model: why", "matcher/assess.py", "why"),
    ("reader: predict", "matcher/crossencoder.py", "predict"),
    ("  select_sentences", "matcher/crossencoder.py", "select_sentences"),
    ("  tokenizer (encode)", "matcher/crossencoder.py", "encode"),
    ("  onnx run", "matcher/crossencoder.py", "run"),
)


def profile(pairs: list[tuple[str, str, bool]], engine: Engine) -> int:
    import cProfile
    import pstats

    rate(pairs[:20], engine)
    prof = cProfile.Profile()
    prof.enable()
    rate(pairs, engine)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = next(ct for (file, _, name), (_, _, _, ct, _) in stats.items()
                 if name == "rate" and file.endswith("stance_speed.py"))
    print(f"{'full' if engine.reader else 'fast'} engine, {len(pairs)} all-related pairs under "
          f"cProfile: {1000 * total / len(pairs):.2f} ms/pair")
    for label, ending, fn in STEPS:
        ct = sum(v[3] for (file, _, name), v in stats.items()
                 if name == fn and file.endswith(ending))
        if ct:
            print(f"  {100 * ct / total:5.1f}%  {1000 * ct / len(pairs):6.2f} ms/pair  {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
