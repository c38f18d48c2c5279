"""What hostile feeds cost: CPU seconds and peak RSS of parsing each, before and after the bounds.

    .venv/bin/python bench/hostile.py [--before] [--cases bomb-1.2MB,wide-0.7MB] [--poll]
    .venv/bin/python bench/hostile.py --daemon [--good 160] [--hostile 38] [--cpu 0]

Each case runs in a fresh interpreter so its peak RSS is its own. "after" is `parse_feed` as the
daemon runs it (scan first: too deep or too many elements is refused, long feeds are cut);
`--before` also runs bare `feedparser.parse` on the same bytes, which is what `parse_feed` did
before issue 8. `--poll` then runs the whole hostile set through real polls (`refresh_source`,
SQLite, a local server) in one process and reports that process's CPU time and peak RSS.
`--daemon` runs the real `claimwatch run` twice on `--good` farm feeds (bench/farm.py: 30 items,
3 inside the backfill), once alone and once with `--hostile` hostile sources beside them, each on
a host of its own (127.0.0.N): the parse cases above, feeds whose 20 article pages drip a byte a
second, a feed that drips, links to a closed port. It prints how long the good sources' first
poll took (every feed fetched and every article page read) in both runs, their ratio, and the
daemon's peak RSS with the hostile set (after every hostile source had one poll, or 150 s).
Run by hand; these machines are noisy.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]

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


SLOW = ["drip-articles", "drip-feed", "closed-port"]


async def _drip(request, length: int = 400):  # type: ignore[no-untyped-def]
    """A page that sends one byte a second: it never finishes inside any sane deadline."""
    from aiohttp import web

    resp = web.StreamResponse(headers={"Content-Type": request.match_info.get("ct", "text/html")})
    resp.content_length = length
    await resp.prepare(request)
    with contextlib.suppress(ConnectionError):  # the daemon gave up on it: what it should do
        for _ in range(length):
            await resp.write(b" ")
            await asyncio.sleep(1)
    return resp


async def hostile_site(count: int):  # type: ignore[no-untyped-def]
    """`count` hostile feeds, feed i served as http://127.0.0.(10+i):PORT/feed: a host each."""
    from aiohttp import web

    kinds = [*CASES, *SLOW]
    now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000").encode()
    bodies = {k: case(k) for k in CASES}
    bodies["drip-articles"] = HEAD + b"".join(
        b"<item><title>Slow story %d</title><link>/drip/%d</link><pubDate>%s</pubDate></item>" % (j, j, now)
        for j in range(20)) + TAIL
    bodies["closed-port"] = HEAD + b"".join(
        b"<item><title>Gone %d</title><link>http://127.0.0.1:9/news/%d</link><pubDate>%s</pubDate></item>"
        % (j, j, now) for j in range(20)) + TAIL
    hosts = {f"127.0.0.{10 + i}": kinds[i % len(kinds)] for i in range(count)}

    async def feed(request: web.Request) -> web.StreamResponse:
        kind = hosts[request.host.split(":")[0]]
        if kind == "drip-feed":
            return await _drip(request)
        return web.Response(body=bodies[kind], content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed", feed)
    app.router.add_get("/drip/{j}", _drip)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    first = web.TCPSite(runner, "127.0.0.10", 0)
    await first.start()
    port = first._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    for host in list(hosts)[1:]:
        await web.TCPSite(runner, host, port).start()
    return runner, [(f"Hostile {i} ({kind})", f"http://{host}:{port}/feed") for i, (host, kind) in enumerate(hosts.items())]


async def daemon_run(good: int, hostile: int, cpu: int | None) -> dict[str, float]:
    """One real `claimwatch run`: seconds until the good sources' first poll is over, peak RSS."""
    from farm import Farm

    farm = Farm(feeds=good, items=30, recent=3)
    await farm.start()
    runner, bad = await hostile_site(hostile) if hostile else (None, [])
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="cw_hostile_") as tmp:
        wl = Path(tmp) / "watchlists"
        wl.mkdir()
        (wl / "musk-putin.yaml").write_text((REPO / "watchlists" / "musk-putin.yaml").read_text())
        lines = ["sources:"]
        for name, url in [(f"Farm Wire {k}", farm.feed_url(k)) for k in range(good)] + bad:
            lines += [f"  - name: {name}", f"    feed: {url}", "    every: 5m", "    allow_private: true"]
        (wl / "sources.yaml").write_text("\n".join(lines) + "\n")
        env = {**os.environ, "SLACK_DESK_URL": farm.hook_url, "CLAIMWATCH_LOG_LEVEL": "WARNING",
               "CLAIMWATCH_HTTP": "127.0.0.1:0"}
        env.pop("DESK_EMAIL_URL", None)
        log = (Path(tmp) / "daemon.log").open("wb")
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "run", "--watchlists", str(wl),
            "--db", f"sqlite+aiosqlite:///{tmp}/cw.db", env=env, cwd=tmp, stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None)
        try:
            want = good * 3
            while time.monotonic() - started < 900 and proc.returncode is None:
                tot = farm.totals()
                if tot["feeds_fetched"] >= good and tot["distinct_articles"] >= want:
                    break
                await asyncio.sleep(0.25)
            out["good_first_poll_s"] = time.monotonic() - started
            if hostile:  # let every hostile source have its poll (the drips run to their deadline)
                polled = Path(tmp) / "cw.db"
                from sqlalchemy import create_engine, text
                engine = create_engine(f"sqlite:///{polled}")
                while time.monotonic() - started < 150 and proc.returncode is None:
                    with engine.connect() as conn:
                        left = conn.execute(text("SELECT count(*) FROM sources WHERE name LIKE 'Hostile%' "
                                                 "AND last_fetched_at IS NULL AND last_error IS NULL")).scalar()
                    if not left:
                        break
                    await asyncio.sleep(1)
                engine.dispose()
                out["hostile_polled_s"] = time.monotonic() - started
            status = Path(f"/proc/{proc.pid}/status").read_text().splitlines()
            out["peak_rss_mb"] = next(int(x.split()[1]) / 1024 for x in status if x.startswith("VmHWM:"))
        finally:
            if proc.returncode is None:
                t0 = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 60)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
                out["stop_s"] = time.monotonic() - t0
            log.close()
            errors = [x for x in (Path(tmp) / "daemon.log").read_text(errors="replace").splitlines()
                      if "Traceback" in x]
            out["tracebacks"] = len(errors)
    if runner is not None:
        await runner.cleanup()
    await farm.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", action="store_true", help="also run bare feedparser (the old path)")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--poll", action="store_true", help="then poll the whole set for real")
    parser.add_argument("--daemon", action="store_true",
                        help="good sources' first poll in a real daemon, alone and beside the hostile set")
    parser.add_argument("--good", type=int, default=160)
    parser.add_argument("--hostile", type=int, default=38)
    parser.add_argument("--cpu", type=int, default=None, help="pin the daemon to this core")
    parser.add_argument("--one", nargs=2, metavar=("CASE", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(*args.one)
        return
    if args.daemon:
        alone = asyncio.run(daemon_run(args.good, 0, args.cpu))
        beside = asyncio.run(daemon_run(args.good, args.hostile, args.cpu))
        print(f"claimwatch run, {args.good} good feeds (30 items, 3 in the backfill); load average "
              f"{os.getloadavg()[0]:.2f}")
        print(f"| measure | alone | beside {args.hostile} hostile | target |\n|---|---|---|---|")
        print(f"| good sources' first poll | {alone['good_first_poll_s']:.1f} s | {beside['good_first_poll_s']:.1f} s "
              f"(ratio {beside['good_first_poll_s'] / alone['good_first_poll_s']:.2f}) | ≤ 1.5× |")
        print(f"| every hostile source polled once | | {beside.get('hostile_polled_s', float('nan')):.1f} s | |")
        print(f"| peak RSS | {alone['peak_rss_mb']:.0f} MB | {beside['peak_rss_mb']:.0f} MB | ≤ 400 MB |")
        print(f"| SIGTERM → exit | {alone.get('stop_s', float('nan')):.1f} s | {beside.get('stop_s', float('nan')):.1f} s | ≤ 30 s |")
        print(f"| tracebacks in the log | {alone['tracebacks']:.0f} | {beside['tracebacks']:.0f} | 0 |")
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
