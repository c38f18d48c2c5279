"""Score the stance engine on FNC-1 with the challenge's own scorer.

    .venv/bin/python bench/fnc_eval.py                 # both splits
    .venv/bin/python bench/fnc_eval.py --split unseen  # held-out claims and bodies only

    .venv/bin/python bench/fnc_eval.py --fast          # features only (no reader)

Each (headline, body) pair goes through `matcher.assess.assess` exactly as a line of
`claimwatch stance` does (the headline is the claim, given only as a sentence; the body is
the text).  confirms/denies/discusses/unrelated map to agree/disagree/discuss/unrelated;
../shared/data/fnc1/fnc_score.py prints the FNC relative score, per-class and macro F1.
The splits are described in bench/fnc_data.py; the model never saw their claims or bodies.
"""
from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

import fnc_data

from matcher.assess import Engine, assess, default_engine
from matcher.match import Claim, Stance

_LABEL = {Stance.CONFIRMS: "agree", Stance.DENIES: "disagree", Stance.DISCUSSES: "discuss",
          Stance.UNRELATED: "unrelated"}


def predict(pairs: list[fnc_data.Pair], engine: Engine) -> tuple[list[str], float]:
    """Labels for the pairs, and pairs per second."""
    bodies = fnc_data.bodies()
    out = []
    t0 = time.perf_counter()
    for p in pairs:
        (a,) = assess("", bodies[p.body_id], [Claim("fnc", p.headline, ())], engine=engine)
        out.append(_LABEL[a.stance])
    return out, len(pairs) / (time.perf_counter() - t0)


def _write(path: Path, pairs: list[fnc_data.Pair], labels: list[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Headline", "Body ID", "Stance"])
        w.writerows((p.headline, p.body_id, lab) for p, lab in zip(pairs, labels))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=("unseen", "challenge", "both"), default="both")
    ap.add_argument("--fast", action="store_true", help="the engine without its reader")
    ap.add_argument("--out", type=Path, help="keep gold/pred CSVs here (default: a temp dir)")
    args = ap.parse_args(argv)
    splits = ("unseen", "challenge") if args.split == "both" else (args.split,)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        for split in splits:
            pairs = fnc_data.test_pairs(split)
            labels, rate = predict(pairs, default_engine(args.fast))
            gold, pred = out / f"{split}_gold.csv", out / f"{split}_pred.csv"
            _write(gold, pairs, [p.stance for p in pairs])
            _write(pred, pairs, labels)
            print(f"== split {split}: {len(pairs)} pairs, {len({p.headline for p in pairs})} "
                  f"claims, {len({p.body_id for p in pairs})} bodies; engine {rate:.0f} pairs/s")
            sys.stdout.flush()
            subprocess.run([sys.executable, str(fnc_data.FNC / "fnc_score.py"), str(gold),
                            str(pred)], check=True)
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
