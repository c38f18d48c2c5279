"""Time `claimwatch run --once` end to end on the seed articles, and the matcher per article.

    .venv/bin/python bench/seeds_run_once.py [--runs 5]

Starts the local newsroom (tests/newsroom.py) and local receivers, runs the real command line
against a fresh SQLite database each time, and prints medians. Needs ../shared/seeds.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from matcher.match import match_article  # noqa: E402
from monitor.watchlist import load_watchlists  # noqa: E402
from tests.newsroom import Newsroom, seed_stories  # noqa: E402
from tests.receivers import JsonReceiver, SmtpReceiver  # noqa: E402
from tests.test_end_to_end import watchlist_dir  # noqa: E402


async def time_run_once(runs: int) -> list[float]:
    times = []
    async with Newsroom() as news, JsonReceiver() as slack:
        with SmtpReceiver() as smtp:
            for _ in range(runs):
                with tempfile.TemporaryDirectory() as tmp:
                    wl = watchlist_dir(Path(tmp), {"Local Wire": f"{news.base}/feed.xml"})
                    env = {**os.environ, "SLACK_DESK_URL": slack.url, "DESK_EMAIL_URL": smtp.url,
                           "CLAIMWATCH_LOG_LEVEL": "WARNING"}
                    start = time.perf_counter()
                    proc = await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "monitor", "run", "--once", "--watchlists", str(wl),
                        "--db", f"sqlite+aiosqlite:///{tmp}/cw.db", env=env)
                    assert await proc.wait() == 0
                    times.append(time.perf_counter() - start)
            assert len(slack.received) == 4 * runs, len(slack.messages)
    return times


def time_matcher(repeats: int = 200) -> tuple[float, int]:
    wl = load_watchlists(REPO / "watchlists")
    stories = seed_stories()
    texts = [(s.title, "\n\n".join(s.paragraphs)) for s in stories]
    samples = []
    for _ in range(repeats):
        for title, text in texts:
            start = time.perf_counter()
            match_article(title, text, wl.claims, wl.entities, outlet="Local Wire")
            samples.append(time.perf_counter() - start)
    words = sum(len(t.split()) for _, t in texts) // len(texts)
    return statistics.median(samples), words


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    per_article, words = time_matcher()
    print(f"matcher: median {per_article * 1000:.2f} ms per seed article (~{words} words, 1 claim)")
    times = asyncio.run(time_run_once(args.runs))
    print(f"run --once on the seeds (2 articles, 4 alerts to 2 targets, process start included): "
          f"median {statistics.median(times):.2f} s over {len(times)} runs "
          f"(min {min(times):.2f}, max {max(times):.2f})")
    start = time.perf_counter()
    os.system(f"{sys.executable} -c 'import monitor.daemon'")
    print(f"  of which Python start + imports: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
