"""A local feed farm for scale benchmarks and multi-replica tests: N RSS feeds behind one aiohttp server.

    .venv/bin/python bench/farm.py --feeds 2000 [--items 30] [--port 0]

prints its base URL and serves until interrupted:

- `GET /feed/{k}.xml`: feed k, its `items` newest items (newest first), each linking to an
  article page. ETag and Last-Modified on every answer; 304 on a matching If-None-Match, or on
  If-Modified-Since not older than the feed's last change (when no If-None-Match is sent).
- `GET /news/{k}/{j}`: item j of feed k, a ~500-word article. About a tenth of the articles
  (`claim_share`) are about the bundled claim ("Elon Musk has held private talks with Vladimir
  Putin") with a named person confirming or denying it, so alerts flow.
- `POST /advance?fraction=0.1`: a new item on that fraction of the feeds (chosen at random);
  answers `{k: {"changed_at": epoch, "url": the new item's page}}`.
- `GET /stats`: per-feed counters (requests, 200s, 304s) and totals.
- `POST /hook`: a json:// alert receiver (apprise's JSON body), each message stamped on arrival.

Importable: `Farm(feeds=...)` with `await start()` / `await stop()`, `advance(fraction)`, the
counters (`requests`, `ok`, `not_modified` per feed), `changed_at` / `changed_item` per feed,
`seen_at` (when the new version of a feed was first served with a 200; `first_served` by item URL), `article_hits` and
`alerts` (arrival epoch, title, message). Item dates: of each feed's initial items the newest
`recent` (default: all) are spread over the last `spread_hours` (default 20 h, inside a 2-day
backfill) and the others are older than the backfill (from 3 days back, one a day), as in a
real outlet's feed of 30 items where a few are from the last two days; a new item is dated at
its change.
Traffic: 127.0.0.1 only. Article bodies are generated on demand, deterministically from (k, j).
"""
from __future__ import annotations

import argparse
import asyncio
import html
import random
import sys
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any, Self

from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

FIRST = ["Anna", "Marek", "Priya", "Tomas", "Lena", "Jonah", "Clara", "Oskar", "Ines", "Felix",
         "Mirela", "Henrik", "Sofia", "Dmitri", "Aisha", "Pavel", "Greta", "Rafael", "Yuki", "Nadia"]
LAST = ["Kovacs", "Lindqvist", "Raman", "Okafor", "Varga", "Whitfield", "Moreau", "Brandt", "Sato", "Ferreira",
        "Novak", "Halloran", "Petrov", "Castell", "Mbeki", "Larsen", "Quintero", "Dubois", "Abbott", "Keane"]
FILLER = [
    "The central bank left interest rates unchanged on {day}, citing persistent inflation in services.",
    "Shares of the carmaker fell {n} percent after the company cut its delivery forecast for the year.",
    "Officials said the new bridge would open to traffic in the spring, two years behind schedule.",
    "{person} said the ministry would publish the full audit of the contract before the end of the month.",
    "Farmers in the region reported the driest summer in {n} years, with reservoirs at record lows.",
    "The opposition called for an inquiry into the procurement process, which critics described as opaque.",
    "Analysts expect the merger to face scrutiny from competition authorities in at least three countries.",
    "The football club confirmed that its new stadium would hold {n} thousand spectators.",
    "Rail workers announced a {n}-day strike over pay, the third walkout since the summer.",
    "The city council approved a plan to plant {n} thousand trees along the river by next year.",
]
CONFIRM = ("{person}, a former adviser, confirmed on {day} that Elon Musk had held private talks with "
           "Vladimir Putin, saying the two men spoke several times last year.")
DENY = ("{person}, a former adviser, denied on {day} that Elon Musk had held private talks with "
        "Vladimir Putin, calling the report untrue.")
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def _http_date(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(int(epoch), UTC), usegmt=True)


@dataclass
class Farm:
    feeds: int = 2000
    items: int = 30
    claim_share: float = 0.1
    spread_hours: float = 20.0
    recent: int | None = None  # initial items per feed dated inside the backfill (None: all)
    delay: float = 0.0  # seconds each feed answer waits (to keep polls in flight in tests)
    seed: int = 7
    host: str = "127.0.0.1"
    port: int = 0
    base: str = ""
    requests: list[int] = field(init=False)
    ok: list[int] = field(init=False)
    not_modified: list[int] = field(init=False)
    request_times: list[list[float]] = field(init=False)
    statuses: list[list[int]] = field(init=False)  # each answer's status, in request order
    head: list[int] = field(init=False)  # index of the newest item of each feed
    changed_at: list[float] = field(init=False)
    changed_item: list[str | None] = field(init=False)
    seen_at: list[float | None] = field(init=False)
    article_hits: dict[tuple[int, int], int] = field(init=False)
    alerts: list[tuple[float, str, str]] = field(init=False)
    first_served: dict[str, float] = field(init=False)  # changed item's page URL → first 200 of its feed

    def __post_init__(self) -> None:
        n = self.feeds
        self.requests, self.ok, self.not_modified = [0] * n, [0] * n, [0] * n
        self.request_times = [[] for _ in range(n)]
        self.statuses = [[] for _ in range(n)]
        self.head = [self.items - 1] * n
        self.started = time.time()
        self.changed_at = [self.started - 60.0] * n
        self.changed_item = [None] * n
        self.seen_at = [None] * n
        self.article_hits = {}
        self.alerts = []
        self.first_served = {}
        self._rng = random.Random(self.seed)
        self._runner: web.AppRunner | None = None
        self._published: dict[tuple[int, int], datetime] = {}
        recent = self.items if self.recent is None else max(0, min(self.items, self.recent))
        step = timedelta(hours=self.spread_hours) / max(1, recent)
        first = datetime.fromtimestamp(self.started - 60.0, UTC)
        old = self.items - recent  # items 0 .. old-1: older than a 2-day backfill
        self._initial = [first - timedelta(days=3 + (old - 1 - j)) if j < old else first - step * (self.items - 1 - j)
                         for j in range(self.items)]

    # -- content -------------------------------------------------------------------------------
    def url(self, k: int, j: int) -> str:
        return f"{self.base}/news/{k}/{j}"

    def feed_url(self, k: int) -> str:
        return f"{self.base}/feed/{k}.xml"

    def about_claim(self, k: int, j: int) -> bool:
        return (zlib.crc32(f"{k}/{j}".encode()) % 1000) < self.claim_share * 1000

    def published(self, k: int, j: int) -> datetime:
        return self._published.get((k, j)) or self._initial[min(j, self.items - 1)]

    def etag(self, k: int) -> str:
        return f'"f{k}-v{self.head[k]}"'

    def title(self, k: int, j: int) -> str:
        if self.about_claim(k, j):
            return f"Wire {k}-{j}: an adviser speaks about Musk and Putin"
        return f"Wire {k}-{j}: markets, transport and politics"

    def paragraphs(self, k: int, j: int) -> list[str]:
        rng = random.Random(k * 1_000_003 + j)
        person = lambda: f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        paragraphs = []
        claim = self.about_claim(k, j)
        for p in range(8):
            sentences = []
            if claim and p == 0:
                sentences.append(rng.choice((CONFIRM, DENY)).format(person=person(), day=rng.choice(DAYS)))
            while len(sentences) < 4:
                sentences.append(rng.choice(FILLER).format(person=person(), n=rng.randint(2, 90), day=rng.choice(DAYS)))
            paragraphs.append(" ".join(sentences) + f" (Report {k}-{j}-{p}.)")
        return paragraphs

    def article(self, k: int, j: int) -> str:
        title = html.escape(self.title(k, j))
        body = "\n".join(f"<p>{html.escape(p)}</p>" for p in self.paragraphs(k, j))
        return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title} | Farm Wire</title>
<link rel="canonical" href="{self.url(k, j)}">
<meta property="og:title" content="{title}">
<meta property="article:published_time" content="{self.published(k, j).isoformat()}">
</head><body>
<header><nav><a href="/">Home</a> <a href="/world">World</a></nav></header>
<main><article><h1>{title}</h1>{body}</article></main>
<footer><p>© Farm Wire.</p><a href="/about">About us</a></footer>
</body></html>"""

    def rss(self, k: int) -> str:
        h = self.head[k]
        items = []
        for j in range(h, max(-1, h - self.items), -1):
            rng = random.Random(k * 1_000_003 + j)
            summary = rng.choice(FILLER).format(person=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                                                n=rng.randint(2, 90), day=rng.choice(DAYS))
            items.append(f"""<item><title>{html.escape(self.title(k, j))}</title><link>{self.url(k, j)}</link>
<guid>{self.url(k, j)}</guid><pubDate>{format_datetime(self.published(k, j))}</pubDate>
<description>{html.escape(summary)}</description></item>""")
        return f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>
<title>Farm Wire {k}</title><link>{self.base}/</link><description>Feed {k}</description>
{"".join(items)}</channel></rss>"""

    # -- changes -------------------------------------------------------------------------------
    def advance(self, fraction: float) -> dict[int, tuple[float, str]]:
        """A new item on round(fraction × feeds) feeds chosen at random: {k: (changed_at, url)}."""
        count = max(0, min(self.feeds, round(fraction * self.feeds)))
        chosen = self._rng.sample(range(self.feeds), count)
        now = time.time()
        out = {}
        for k in chosen:
            self.head[k] += 1
            j = self.head[k]
            self._published[(k, j)] = datetime.fromtimestamp(now, UTC)
            self.changed_at[k], self.changed_item[k], self.seen_at[k] = now, self.url(k, j), None
            out[k] = (now, self.url(k, j))
        return out

    def totals(self) -> dict[str, int]:
        return {"requests": sum(self.requests), "ok": sum(self.ok), "not_modified": sum(self.not_modified),
                "articles": sum(self.article_hits.values()), "distinct_articles": len(self.article_hits),
                "alerts": len(self.alerts), "feeds_fetched": sum(1 for r in self.requests if r)}

    # -- server --------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/feed/{k:\\d+}.xml", self._feed)
        app.router.add_get("/news/{k:\\d+}/{j:\\d+}", self._article)
        app.router.add_post("/advance", self._advance)
        app.router.add_get("/stats", self._stats)
        app.router.add_post("/hook", self._hook)
        return app

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app(), handle_signals=False, handler_cancellation=True,
                                     shutdown_timeout=0.1, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://{self.host}:{self.port}"
        return self.base

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def hook_url(self) -> str:
        """The apprise json:// URL of the receiver."""
        return self.base.replace("http://", "json://", 1) + "/hook"

    async def _feed(self, request: web.Request) -> web.Response:
        k = int(request.match_info["k"])
        if k >= self.feeds:
            raise web.HTTPNotFound()
        now = time.time()
        self.requests[k] += 1
        self.request_times[k].append(now)
        if self.delay:
            await asyncio.sleep(self.delay)
        etag, modified = self.etag(k), _http_date(self.changed_at[k])
        headers = {"ETag": etag, "Last-Modified": modified}
        inm, ims = request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since")
        fresh = False
        if inm is not None:
            fresh = etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        elif ims is not None:
            try:
                fresh = parsedate_to_datetime(ims).timestamp() >= int(self.changed_at[k])
            except (TypeError, ValueError):
                fresh = False
        self.statuses[k].append(304 if fresh else 200)
        if fresh:
            self.not_modified[k] += 1
            return web.Response(status=304, headers=headers)
        self.ok[k] += 1
        if self.seen_at[k] is None:
            self.seen_at[k] = now
            item = self.changed_item[k]
            if item is not None:
                self.first_served.setdefault(item, now)
        return web.Response(text=self.rss(k), content_type="application/rss+xml", headers=headers)

    async def _article(self, request: web.Request) -> web.Response:
        k, j = int(request.match_info["k"]), int(request.match_info["j"])
        if k >= self.feeds or j > self.head[k]:
            raise web.HTTPNotFound()
        self.article_hits[(k, j)] = self.article_hits.get((k, j), 0) + 1
        return web.Response(text=self.article(k, j), content_type="text/html")

    async def _advance(self, request: web.Request) -> web.Response:
        fraction = float(request.query.get("fraction", "0.1"))
        changed = self.advance(fraction)
        return web.json_response({str(k): {"changed_at": t, "url": u} for k, (t, u) in changed.items()})

    async def _stats(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = {"totals": self.totals()}
        if request.query.get("per_feed"):
            body["feeds"] = [{"requests": r, "ok": o, "not_modified": m}
                             for r, o, m in zip(self.requests, self.ok, self.not_modified)]
        return web.json_response(body)

    async def _hook(self, request: web.Request) -> web.Response:
        stamp = time.time()
        try:
            body = await request.json()
        except ValueError:
            body = {}
        self.alerts.append((stamp, str(body.get("title", "")), str(body.get("message", ""))))
        return web.json_response({"ok": True})


async def _serve(args: argparse.Namespace) -> None:
    farm = Farm(feeds=args.feeds, items=args.items, port=args.port)
    base = await farm.start()
    print(base, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await farm.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--port", type=int, default=0)
    try:
        asyncio.run(_serve(parser.parse_args()))
    except KeyboardInterrupt:
        pass
