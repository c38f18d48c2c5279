"""How long an alert waits between its commit and the desk's receiver, with the real daemon.

    .venv/bin/python bench/alert_latency.py [--sources 8] [--seconds 75] [--db sqlite|postgres]

A local server runs `--sources` feeds; while the daemon (`claimwatch run`, a real process) polls
them, a new article appears on a random feed every ~1.5 s, each with a new named party
confirming the tracked claim, so every article is one alert. A local json:// receiver stamps
each message on arrival; the alert's commit time is its `created_at` in the database. Prints
the count and p50/p95/max of commit → receiver. Run by hand; quote medians of one run.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402
from aiohttp import web  # noqa: E402

from storage.repository import Repository  # noqa: E402
from tests.newsroom import Story, article_html, rss  # noqa: E402
from tests.support import serve  # noqa: E402
from tests.test_end_to_end import CLAIM, watchlist_dir  # noqa: E402

FIRST = ["Anna", "Marek", "Priya", "Tomas", "Lena", "Jonah", "Clara", "Oskar", "Ines", "Felix"]
LAST = ["Kovacs", "Lindqvist", "Raman", "Okafor", "Varga", "Whitfield", "Moreau", "Brandt", "Sato", "Ferreira"]


def story(i: int, person: str) -> Story:
    lead = (f"{person}, a former adviser, confirmed on Monday that Elon Musk had held private talks "
            f"with Vladimir Putin, saying the two men spoke several times last year.")
    filler = ("The central bank left interest rates unchanged, citing persistent inflation in services. "
              "Officials said the new bridge would open to traffic in the spring, two years behind schedule.")
    return Story(f"2024/10/25/adviser-account-number-{i}", f"Adviser {i} speaks about Musk and Putin",
                 (lead, filler, filler), datetime.now(UTC) - timedelta(minutes=5))


async def main(n_sources: int, seconds: float, backend: str) -> None:
    rng = random.Random(11)
    people = [f"{f} {last}" for f in FIRST for last in LAST]
    rng.shuffle(people)
    feeds: list[list[Story]] = [[] for _ in range(n_sources)]
    pages: dict[str, Story] = {}
    arrived: dict[str, float] = {}  # alert title → arrival (epoch seconds)

    async def feed(request: web.Request) -> web.Response:
        return web.Response(text=rss(feeds[int(request.match_info["k"])], base), content_type="application/rss+xml")

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=article_html(pages[request.match_info["slug"]], base), content_type="text/html")

    async def hook(request: web.Request) -> web.Response:
        stamp = time.time()
        arrived.setdefault((await request.json())["title"], stamp)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/feed/{k}.xml", feed)
    app.router.add_get("/news/{slug:.+}", page)
    app.router.add_post("/hook", hook)
    runner, base = await serve(app)
    pg_name = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if backend == "postgres":
                pg_name = f"cw_bench_{uuid.uuid4().hex[:8]}"
                admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
                await admin.execute(f'CREATE DATABASE "{pg_name}"')
                await admin.close()
                db = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{pg_name}"
            else:
                db = f"sqlite+aiosqlite:///{tmp}/cw.db"
            wl = watchlist_dir(Path(tmp), {f"Wire {k}": f"{base}/feed/{k}.xml" for k in range(n_sources)})
            text = (wl / "sources.yaml").read_text().replace("every: 5m", "every: 30s")
            (wl / "sources.yaml").write_text(text)
            hook_url = base.replace("http://", "json://") + "/hook"
            env = {**os.environ, "SLACK_DESK_URL": hook_url, "CLAIMWATCH_LOG_LEVEL": "WARNING",
                   "CLAIMWATCH_TICK_SECONDS": "1"}
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "monitor", "run", "--watchlists", str(wl), "--db", db, env=env)
            end = time.monotonic() + seconds
            i = 0
            for k in range(n_sources):  # a feed with no item would be refused as not a feed
                s = story(i, people[i])
                pages[s.slug] = s
                feeds[k].append(s)
                i += 1
            while time.monotonic() < end and i < len(people):
                s = story(i, people[i])
                pages[s.slug] = s
                feeds[rng.randrange(n_sources)].insert(0, s)
                i += 1
                await asyncio.sleep(rng.uniform(1.0, 2.0))
            await asyncio.sleep(35)  # the last items' feeds come due (every 30s) and alert
            proc.send_signal(signal.SIGTERM)
            await proc.wait()
            repo = await Repository.open(db)
            try:
                alerts = await repo.alerts()
            finally:
                await repo.close()
    finally:
        await runner.cleanup()
        if pg_name:
            admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
            await admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await admin.close()
    latencies = sorted(arrived[f"{a.party} {a.stance}: {a.statement}"] - a.created_at.timestamp()
                       for a in alerts if f"{a.party} {a.stance}: {a.statement}" in arrived)
    missing = len(alerts) - len(latencies)
    if not latencies:
        print(f"{backend}: no alert arrived ({len(alerts)} committed, {i} articles published)")
        return
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    print(f"{backend}: {i} articles on {n_sources} feeds, {len(alerts)} alerts committed, {missing} not received; "
          f"commit → receiver p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms (claim: {CLAIM})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=75.0)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    asyncio.run(main(args.sources, args.seconds, args.db))
