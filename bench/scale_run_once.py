"""How `claimwatch run --once` scales: N fresh ~500-word articles behind one feed, end to end.

    .venv/bin/python bench/scale_run_once.py [--articles 300] [--db sqlite|postgres]

A local server serves a feed of N items and their HTML pages (synthetic but varied: most are
about other things, some reference the tracked claim with confirmations and denials by
different people). Reports wall time, articles per second and the peak RSS of the daemon
process. Run by hand; these machines are noisy, so compare medians of a few runs.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import asyncpg  # noqa: E402
from aiohttp import web  # noqa: E402

from tests.newsroom import Story, article_html, rss  # noqa: E402
from tests.receivers import JsonReceiver  # noqa: E402
from tests.support import serve  # noqa: E402
from tests.test_end_to_end import watchlist_dir  # noqa: E402

PEOPLE = ["Anna Kovacs", "Marek Lindqvist", "Priya Raman", "Tomas Okafor", "Lena Varga", "Jonah Whitfield"]
FILLER = [
    "The central bank left interest rates unchanged on {day}, citing persistent inflation in services.",
    "Shares of the carmaker fell {n} percent after the company cut its delivery forecast for the year.",
    "Officials said the new bridge would open to traffic in the spring, two years behind schedule.",
    "{person} said the ministry would publish the full audit of the contract before the end of the month.",
    "Farmers in the region reported the driest summer in {n} years, with reservoirs at record lows.",
    "The opposition called for an inquiry into the procurement process, which critics described as opaque.",
    "Analysts expect the merger to face scrutiny from competition authorities in at least three countries.",
    "The football club confirmed that its new stadium would hold {n} thousand spectators.",
]
CLAIM_LINES = [
    "{person} said on {day} that Elon Musk had held several private talks with Vladimir Putin.",
    "{person} denied that Musk and Putin ever spoke about the war, calling the report untrue.",
    "Musk's alleged conversation with Putin was first reported by {person}, who stood by the account.",
    "Kremlin spokesman Dmitry Peskov told reporters that Putin and Musk had only one phone call.",
]


def story(i: int, rng: random.Random) -> Story:
    paragraphs = []
    about_claim = i % 10 == 0
    for p in range(8):
        sentences = []
        for _ in range(4):
            template = rng.choice(CLAIM_LINES if about_claim and p in (1, 4) else FILLER)
            sentences.append(template.format(person=rng.choice(PEOPLE), n=rng.randint(2, 90),
                                             day=rng.choice(["Monday", "Tuesday", "Friday"])))
        paragraphs.append(" ".join(sentences) + f" (Report {i}-{p}.)")
    published = datetime(2024, 10, 1, tzinfo=timezone.utc) + timedelta(minutes=7 * i)
    title = f"Wire report {i}: " + ("Musk, Putin and the question of private talks" if about_claim else "markets and politics")
    return Story(f"2024/10/{1 + i % 28:02d}/wire-report-number-{i}", title, tuple(paragraphs), published)


async def fresh_pg_db() -> tuple[str, str]:
    name = f"cw_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", name


async def drop_pg_db(name: str) -> None:
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


async def main(n: int, backend: str) -> None:
    rng = random.Random(7)
    stories = [story(i, rng) for i in range(n)]
    words = sum(len(" ".join(s.paragraphs).split()) for s in stories) / n
    pages: dict[str, str] = {}
    app = web.Application()

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=pages[request.match_info["slug"]], content_type="text/html")

    async def feed(request: web.Request) -> web.Response:
        return web.Response(text=rss(stories, base), content_type="application/rss+xml")

    app.router.add_get("/feed.xml", feed)
    app.router.add_get("/news/{slug:.+}", page)
    runner, base = await serve(app)
    pages.update({s.slug: article_html(s, base) for s in stories})
    pg_name = None
    try:
        async with JsonReceiver() as slack, asyncio.timeout(900):
            with tempfile.TemporaryDirectory() as tmp:
                if backend == "postgres":
                    db, pg_name = await fresh_pg_db()
                else:
                    db = f"sqlite+aiosqlite:///{tmp}/cw.db"
                wl = watchlist_dir(Path(tmp), {"Bench Wire": f"{base}/feed.xml"})
                env = {**os.environ, "SLACK_DESK_URL": slack.url, "CLAIMWATCH_LOG_LEVEL": "WARNING"}
                start = time.perf_counter()
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "monitor", "run", "--once", "--watchlists", str(wl), "--db", db, env=env)
                code = await proc.wait()
                elapsed = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"{backend}: {n} articles (~{words:.0f} words each) in {elapsed:.2f} s "
              f"= {n / elapsed:.1f} articles/s, exit {code}, {len(slack.received)} alert(s) delivered, "
              f"peak RSS of the daemon {peak_mb:.0f} MB")
    finally:
        await runner.cleanup()
        if pg_name:
            await drop_pg_db(pg_name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    asyncio.run(main(args.articles, args.db))
