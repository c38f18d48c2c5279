"""The desk page and the API under load, on a SQLite claim with 1,000 statements.

    .venv/bin/python bench/desk_render.py [--statements 1000] [--clients 50] [--requests 2000] [--runs 3]

Fills a fresh SQLite database through the real Repository (tests/desk_data.py `fill`: 8 parties
switching stance now and then, alerts and deliveries decided as in the daemon), then serves the
web app in a separate process (so clients and server do not share an event loop) and measures:

1. the claim page `/claims/merger`, one request at a time (database read + fold + Jinja2 render +
   loopback HTTP): median and p95 of 30 requests, after 3 warm-ups;
2. the API under `--clients` concurrent clients on loopback (one aiohttp session each, keep-alive),
   `--requests` in all, spread over /api/v1/claims, /claims/merger, /claims/merger/timeline,
   /sources and /alerts: median and p95 latency and the throughput.

Each measurement is repeated `--runs` times; the medians of the runs are printed. The machine is
shared: note `uptime` beside the figures.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.settings import Settings
from storage.repository import Repository
from tests.desk_data import CLAIM_ID, fill, watchlist
from web.app import WebState, make_app, start

API = [f"/api/v1/claims/{CLAIM_ID}/timeline?limit=50", f"/api/v1/claims/{CLAIM_ID}", "/api/v1/claims",
       "/api/v1/sources", "/api/v1/alerts?limit=50"]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def serve(db: str) -> None:
    """The server process: print the base URL, then serve until killed."""
    repo = await Repository.open(db)
    app = make_app(WebState(repo, watchlist, Settings(), datetime.now(UTC)))
    _, url = await start(app, "127.0.0.1:0")
    print(url.rstrip("/"), flush=True)
    await asyncio.Event().wait()


async def page_times(base: str, n: int = 30) -> list[float]:
    async with aiohttp.ClientSession() as http:
        times = []
        for i in range(n + 3):
            t = time.perf_counter()
            async with http.get(f"{base}/claims/{CLAIM_ID}") as r:
                body = await r.read()
                assert r.status == 200, r.status
            if i >= 3:
                times.append(time.perf_counter() - t)
        print(f"  page: {len(body) / 1024:.0f} KiB of HTML", file=sys.stderr)
        return times


async def api_load(base: str, clients: int, total: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    counter = iter(range(total))

    async def client() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as http:
            for i in counter:
                t = time.perf_counter()
                async with http.get(base + API[i % len(API)]) as r:
                    await r.read()
                    assert r.status == 200, r.status
                latencies.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, total / (time.perf_counter() - t0)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--statements", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        await serve(args.serve)
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite+aiosqlite:///{tmp}/desk.db"
        repo = await Repository.open(db)
        t = time.perf_counter()
        await fill(repo, args.statements)
        await repo.close()
        print(f"filled {args.statements} statements in {time.perf_counter() - t:.1f}s", file=sys.stderr)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve", db, stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            assert proc.stdout is not None
            base = (await proc.stdout.readline()).decode().strip()
            page_med, page_p95, api_med, api_p95, rates = [], [], [], [], []
            for run in range(args.runs):
                times = await page_times(base)
                lat, rate = await api_load(base, args.clients, args.requests)
                page_med.append(statistics.median(times))
                page_p95.append(pct(times, 95))
                api_med.append(statistics.median(lat))
                api_p95.append(pct(lat, 95))
                rates.append(rate)
                print(f"  run {run + 1}: page median {page_med[-1] * 1000:.0f} ms p95 {page_p95[-1] * 1000:.0f} ms; "
                      f"API median {api_med[-1] * 1000:.1f} ms p95 {api_p95[-1] * 1000:.1f} ms, {rate:.0f} req/s",
                      file=sys.stderr)
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), 10)
    m = statistics.median
    print(f"claim page, {args.statements} statements (SQLite): median {m(page_med) * 1000:.0f} ms, "
          f"p95 {m(page_p95) * 1000:.0f} ms")
    print(f"API, {args.clients} concurrent clients on loopback, {args.requests} requests: median "
          f"{m(api_med) * 1000:.1f} ms, p95 {m(api_p95) * 1000:.1f} ms, {m(rates):.0f} req/s "
          f"(medians of {args.runs} runs)")


if __name__ == "__main__":
    asyncio.run(main())
