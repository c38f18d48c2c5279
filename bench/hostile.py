"""What hostile feeds cost: CPU seconds and peak RSS of parsing each, before and after the bounds.

    .venv/bin/python bench/hostile.py [--before] [--cases bomb-1.2MB,wide-0.7MB] [--poll]

Each case runs in a fresh interpreter so its peak RSS is its own. "after" is `parse_feed` as the
daemon runs it (scan first: too deep or too many elements is refused, long feeds are cut);
`--before` also runs bare `feedparser.parse` on the same bytes, which is what `parse_feed` did
before issue 8. `--poll` then runs the whole hostile set through real polls (`refresh_source`,
SQLite, a local server) in one process and reports that process's CPU time and peak RSS.
Run by hand; these machines are noisy.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

HEAD = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Hostile</title>'
TAIL = b"</channel></rss>"
ITEM = b"<item><title>t</title><link>/news/x</link>"


def _items(n: int, same: bool = False) -> bytes:
    return b"".join(
        b"<item><title>Story number %d about things</title><link>/news/%s</link>"
        b"<description>A summary of the story, with some words in it.</description></item>"
        % (i, b"same" if same else b"%d" % i) for i in range(n))


def case(name: str) -> bytes:
    n = 170_000  # "<a>" + "</a>" per level: 1.2 MB
    return {
        "bomb-1.2MB": lambda: HEAD + ITEM + b"<a>" * n + b"</a>" * n + b"</item>" + TAIL,
        "bomb-2.4MB": lambda: HEAD + ITEM + b"<a>" * (2 * n) + b"</a>" * (2 * n) + b"</item>" + TAIL,
        "unclosed-1.2MB": lambda: HEAD + ITEM + b"<div>" * (n * 7 // 5) + b"</item>" + TAIL,
        "wide-0.7MB": lambda: HEAD + ITEM + b"<description>" + b"<a></a>" * 100_000 + b"</description></item>" + TAIL,
        "10k-items": lambda: HEAD + _items(10_000) + TAIL,
        "1k-same-link": lambda: HEAD + _items(1_000, same=True) + TAIL,
        "1M-char-title": lambda: HEAD + b"<item><title>" + b"headline " * 111_112
        + b"</title><link>/news/t</link></item>" + TAIL,
    }[name]()


CASES = ["bomb-1.2MB", "bomb-2.4MB", "unclosed-1.2MB", "wide-0.7MB", "10k-items", "1k-same-link", "1M-char-title"]


def one(name: str, mode: str) -> None:
    """Child: parse one case, print {"cpu": s, "rss_mb": MB, "outcome": "..."}."""
    import feedparser

    from monitor.extract import NotAFeed, parse_feed

    body = case(name)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.process_time()
    if mode == "before":
        parsed = feedparser.parse(body, response_headers={"content-location": "http://127.0.0.1/"})
        outcome = f"{len(parsed.entries)} entries"
    else:
        try:
            outcome = f"{len(parse_feed(body, 'http://127.0.0.1/'))} entries"
        except NotAFeed as err:
            outcome = f"refused: {err}"
    cpu = time.process_time() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"cpu": round(cpu, 3), "rss_mb": rss // 1024, "grew_mb": (rss - base_rss) // 1024,
                      "bytes": len(body), "outcome": outcome}))


async def poll_all(names: list[str]) -> None:
    """Every case as a source of its own, polled for real; one process, its peak RSS."""
    import logging

    from aiohttp import web

    from monitor.fetch import Fetcher, FetchSettings, make_session
    from monitor.pipeline import Context, refresh_source
    from monitor.watchlist import Source
    from storage.records import SourceSpec
    from storage.repository import Repository
    from tests.support import serve

    logging.basicConfig(level=logging.ERROR)
    bodies = {n: case(n) for n in names}
    def article(path: str) -> str:  # a different text per page: no page is a copy of another
        return (f"<html><body><article><h1>A story at {path}</h1><p>Page {path}: "
                + "Officials said the talks would go on. " * 20 + "</p></article></body></html>")

    fetched: dict[str, int] = {}

    async def handle(request: web.Request) -> web.Response:
        path = request.path
        fetched[path] = fetched.get(path, 0) + 1
        if path.startswith("/feed/"):
            return web.Response(body=bodies[path.removeprefix("/feed/")], content_type="application/rss+xml")
        return web.Response(text=article(path), content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner, base = await serve(app)
    now = datetime.now(UTC)
    t0 = time.process_time()
    wall = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        repo = await Repository.open(f"sqlite+aiosqlite:///{tmp}/hostile.db")
        await repo.sync_sources([SourceSpec(n, "feed", f"{base}/feed/{n}", 300) for n in names], now)
        settings = FetchSettings(timeout_total=30.0)
        async with make_session(settings) as session:
            sources = {n: Source(n, "feed", f"{base}/feed/{n}", 300, allow_private=True) for n in names}
            ctx = Context(repo, Fetcher(session, settings), (), (), {}, articles_per_poll=None,
                          sources=sources)
            due = await repo.lease_due_sources(now, 100, 600)
            results = await asyncio.gather(*(refresh_source(ctx, s) for s in due))
        await repo.close()
    await runner.cleanup()
    for r in results:
        print(f"  {r.source:16} new={r.new_articles:<5} error={r.error}")
    articles = sum(n for p, n in fetched.items() if not p.startswith("/feed/"))
    print(f"poll of {len(names)} hostile sources: {time.monotonic() - wall:.1f} s wall, "
          f"{time.process_time() - t0:.1f} s CPU (main thread and workers), {articles} article fetches, "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", action="store_true", help="also run bare feedparser (the old path)")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--poll", action="store_true", help="then poll the whole set for real")
    parser.add_argument("--one", nargs=2, metavar=("CASE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(*args.one)
        return
    names = [c for c in args.cases.split(",") if c]
    print(f"{'case':16} {'mode':7} {'MB':>5} {'CPU s':>7} {'peak RSS MB':>12}  outcome")
    for name in names:
        for mode in (["before"] if args.before else []) + ["after"]:
            out = subprocess.run([sys.executable, __file__, "--one", name, mode], capture_output=True,
                                 text=True, check=True).stdout
            r = json.loads(out)
            print(f"{name:16} {mode:7} {r['bytes'] / 1e6:5.2f} {r['cpu']:7.2f} {r['rss_mb']:12}  {r['outcome'][:70]}",
                  flush=True)
    if args.poll:
        asyncio.run(poll_all(names))


if __name__ == "__main__":
    main()
