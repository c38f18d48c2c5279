"""What trafilatura's fallback extractors cost and what they add, on real pages.

    .venv/bin/python bench/extract_fast.py DIR [DIR ...] [--runs 5]

For every .html file under the directories (saved pages of real sites: the project ships none,
bring your own, e.g. a crawl of the outlets you watch), `monitor.extract.extract_article` runs
as the daemon runs it and again with trafilatura's `fast=True` (no readability/jusText
fallback). Prints per page the median CPU time of each, whether an article was found, and how
much of the text differs (1 - difflib ratio of the two texts), then the medians and totals.
Run by hand on one core (`taskset -c 0`).
"""
from __future__ import annotations

import argparse
import difflib
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import trafilatura  # noqa: E402

from monitor import extract  # noqa: E402

_BARE = trafilatura.bare_extraction


def run(html: bytes, url: str, *, fast: bool, runs: int) -> tuple[float, str | None]:
    """Median CPU seconds of `runs` extractions, and the text extracted."""
    def bare(*args: object, **kwargs: object) -> object:
        return _BARE(*args, fast=fast, **kwargs)  # type: ignore[arg-type]

    times, text = [], None
    with mock.patch.object(extract.trafilatura, "bare_extraction", bare):
        for _ in range(runs):
            t0 = time.process_time()
            article = extract.extract_article(html, url)
            times.append(time.process_time() - t0)
            text = article.text if article is not None else None
    return statistics.median(times), text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    pages = sorted(p for d in args.dirs for p in d.rglob("*.html"))
    if not pages:
        raise SystemExit("no .html files found")
    full_t, fast_t, diffs, lost, gained = [], [], [], 0, 0
    print(f"{'page':48s} {'full ms':>8s} {'fast ms':>8s} {'text differs':>12s}")
    for page in pages:
        html = page.read_bytes()
        url = f"https://{page.stem.split('.')[0]}.example/{page.stem}"
        tf, text_full = run(html, url, fast=False, runs=args.runs)
        tq, text_fast = run(html, url, fast=True, runs=args.runs)
        full_t.append(tf)
        fast_t.append(tq)
        if (text_full is None) != (text_fast is None):
            lost += text_fast is None
            gained += text_full is None
            diff = "article lost" if text_fast is None else "article found"
        elif text_full is None:
            diff = "no article"
        else:
            d = 1 - difflib.SequenceMatcher(None, text_full, text_fast, autojunk=False).ratio()
            diffs.append(d)
            diff = f"{d:.1%}"
        print(f"{page.name[:48]:48s} {tf * 1000:8.1f} {tq * 1000:8.1f} {diff:>12s}")
    print(f"\n{len(pages)} pages: median {statistics.median(full_t) * 1000:.1f} ms full, "
          f"{statistics.median(fast_t) * 1000:.1f} ms fast (total {sum(fast_t) / sum(full_t):.0%} of full); "
          f"articles lost {lost}, found only by fast {gained}")
    if diffs:
        print(f"text differs: median {statistics.median(diffs):.1%}, max {max(diffs):.1%}, "
              f"identical on {sum(d == 0 for d in diffs)} of {len(diffs)}")


if __name__ == "__main__":
    main()
