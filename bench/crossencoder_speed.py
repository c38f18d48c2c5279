"""Single-thread latency of the stance cross-encoder, input construction included.

    .venv/bin/python bench/crossencoder_speed.py                                  # shipped int8
    .venv/bin/python bench/crossencoder_speed.py --model /tmp/xenc/out --onnx model.onnx

What one pair costs at run time: split the article into sentences and keep the first one plus
the `top_k` sentences sharing most word stems with the claim (`select_sentences`), tokenise
claim + selection with `tokenizers` (truncated to `max_len` tokens), and one onnxruntime run
with intra_op_num_threads=1 at batch size 1.  Timed over FNC-1 bodies of 400-600 words (the
~500-word articles the budget is set for), median over `--pairs` pairs.  Batched throughput is
reported too, since the daemon may score an article's claims together.

The model's input is built by matcher/crossencoder.py, which the product, this benchmark and
scripts/train_crossencoder.py all import, so they see the same input.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # one thread, as timed
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import fnc_data

from matcher.crossencoder import MODEL_DIR, CrossEncoder, encode, select_sentences


def bench_pairs(n: int) -> list[tuple[str, str]]:
    """`n` (claim, body) pairs on 400-600-word bodies of the unseen test split."""
    texts = fnc_data.bodies()
    pool = [(p.headline, texts[p.body_id]) for p in fnc_data.test_pairs("unseen")
            if 400 <= len(texts[p.body_id].split()) <= 600]
    if not pool:
        sys.exit("no 400-600-word bodies in the unseen split")
    return [pool[i % len(pool)] for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=MODEL_DIR,
                    help="dir written by train_crossencoder (default: the shipped model)")
    ap.add_argument("--onnx", default="model.int8.onnx", help="file name inside --model")
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--max-len", type=int, default=None, help="override the trained max_len")
    ap.add_argument("--batch", type=int, default=16, help="batch size of the throughput run")
    args = ap.parse_args()

    enc = CrossEncoder(args.model, args.onnx, threads=1, max_len=args.max_len)
    pairs = bench_pairs(args.pairs)
    words = [len(b.split()) for _, b in pairs]
    for c, b in pairs[:10]:  # warm-up
        enc.predict([c], [b])

    t_sel, t_tok, t_run, t_all = [], [], [], []
    for c, b in pairs:
        t0 = time.perf_counter()
        passage = select_sentences(c, b, enc.top_k)
        t1 = time.perf_counter()
        feed = encode(enc.tokenizer, [c], [passage])
        t2 = time.perf_counter()
        enc.run(feed)
        t3 = time.perf_counter()
        t_sel.append(t1 - t0)
        t_tok.append(t2 - t1)
        t_run.append(t3 - t2)
        t_all.append(t3 - t0)

    t0 = time.perf_counter()
    for s in range(0, len(pairs), args.batch):
        chunk = pairs[s:s + args.batch]
        enc.predict([c for c, _ in chunk], [b for _, b in chunk])
    batched = len(pairs) / (time.perf_counter() - t0)

    ms = {k: round(float(np.median(v)) * 1000, 3)
          for k, v in (("select", t_sel), ("tokenise", t_tok), ("onnx", t_run), ("total", t_all))}
    report = {
        "model": str(args.model / args.onnx),
        "onnx_mb": round(os.path.getsize(args.model / args.onnx) / 2**20, 2),
        "max_len": enc.max_len,
        "pairs": len(pairs),
        "median_words": int(np.median(words)),
        "median_ms": ms,
        "p90_ms_total": round(float(np.percentile(t_all, 90)) * 1000, 3),
        "pairs_per_s_batch1": round(1000 / ms["total"], 1),
        f"pairs_per_s_batch{args.batch}": round(batched, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
