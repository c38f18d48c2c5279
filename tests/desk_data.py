"""Test data for the desk page and the API: a claim's statements written through the real
Repository (so alerts, switches and deliveries are decided as in the daemon), and the web app
served over real HTTP on 127.0.0.1."""
from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web

from matcher.claims import Claim
from matcher.match import Finding, Stance
from monitor.settings import Settings
from monitor.watchlist import Watchlist
from storage.records import ArticleRecord, ClaimRouting, SourceSpec, Target
from storage.repository import Repository
from tests.support import serve
from web.app import WebState, make_app

CLAIM_ID = "merger"
STATEMENT = "Acme will merge with Globex"
T0 = datetime(2024, 10, 25, 9, 0, tzinfo=UTC)
DESK = (Target("desk", "k-desk", "json://127.0.0.1/***"),)


@dataclass(frozen=True)
class Said:
    """One article with one party's statement in it."""

    party: str
    stance: str
    quote: str
    published: datetime | None
    outlet: str = "Wire"
    title: str = ""
    url: str = ""
    claim_id: str = CLAIM_ID


def watchlist(claims: Sequence[tuple[str, str]] = ((CLAIM_ID, STATEMENT),)) -> Watchlist:
    return Watchlist(sources=(), entities=(), claims=tuple(Claim(cid, text, ()) for cid, text in claims),
                     channels={}, notify={})


class Newsdesk:
    """Stores articles from one source, each with what its party says; `n` makes URLs unique."""

    def __init__(self, repo: Repository) -> None:
        self.repo, self.n, self.source_id = repo, 0, 0

    async def start(self, url: str = "https://wire.example/rss") -> Newsdesk:
        await self.repo.sync_sources([SourceSpec("wire", "feed", url, 300)], T0)
        self.source_id = next(s.id for s in await self.repo.source_states() if s.name == "wire")
        return self

    async def say(self, *items: Said, seen: datetime | None = None) -> list[int]:
        """Store each item as its own article; the article ids."""
        ids = []
        for it in items:
            self.n += 1
            at = seen or (it.published or T0) + timedelta(hours=1)
            rec = ArticleRecord(
                self.source_id, it.url or f"https://{it.outlet.lower().replace(' ', '')}.example/{self.n}",
                f"hash{self.n}-{it.quote}", it.title or f"Headline {self.n}", f"Body. {it.quote}", it.outlet,
                it.published, at)
            finding = Finding(it.claim_id, Stance(it.stance), it.party, "entity", it.quote, "said", 1)
            stored = await self.repo.store_article(
                rec, [finding], {it.claim_id: ClaimRouting(STATEMENT, DESK)}, at)
            assert stored is not None
            ids.append(stored[0])
        return ids


async def fill(repo: Repository, n: int, *, parties: int = 8) -> None:
    """`n` statements on the claim, parties switching now and then, a syndicated copy in ten."""
    desk = await Newsdesk(repo).start()
    items = []
    for i in range(n):
        party = f"Party {i % parties}"
        stance = "confirms" if (i // parties) % 3 else "denies"
        quote = f"“{party} says the merger {'is on' if stance == 'confirms' else 'is off'} ({i // 10}).”"
        items.append(Said(party, stance, quote, T0 + timedelta(hours=i), outlet=f"Outlet {i % 7}",
                          title=f"Story {i}"))
    await desk.say(*items)


@asynccontextmanager
async def desk_server(repo: Repository, wl: Watchlist | None = None, *,
                      settings: Settings | None = None, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """The web app on a free port of `host`: its base URL (no trailing slash)."""
    wl = wl or watchlist()
    app = make_app(WebState(repo, lambda: wl, settings or Settings(), datetime.now(UTC)))
    runner, base = await serve_on(app, host)
    try:
        yield base
    finally:
        await runner.cleanup()


async def serve_on(app: web.Application, host: str) -> tuple[web.AppRunner, str]:
    if host == "127.0.0.1":
        return await serve(app)
    runner = web.AppRunner(app, handle_signals=False, handler_cancellation=True, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://{host}:{port}"
