"""Hostile sources (issue 8): SSRF through DNS, costly feeds, and small wrong answers.

Each test runs one real poll (`refresh_source`) of sources from a real watchlist file against a
local server on 127.0.0.1, on SQLite and PostgreSQL. Names like `wire.test` reach that server
through a stub resolver (aiohttp's AbstractResolver), handed to the session and the fetcher
alike, so a test can say what a name resolves to and count, by Host header, what arrived.
"""
from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from sqlalchemy import select

from monitor.daemon import source_specs
from monitor.extract import MAX_TEXT_CHARS, MAX_TITLE_CHARS
from monitor.fetch import (
    Fetcher,
    FetchError,
    FetchSettings,
    make_session,
    parse_max_age,
    parse_retry_after,
)
from monitor.pipeline import Context, PollResult, refresh_source
from monitor.schedule import MAX_HONOURED_CACHE
from monitor.watchlist import WatchlistError, load_watchlists
from storage.models import Article, SeenUrl
from storage.repository import Repository
from tests.support import LocalServer

NOW = datetime.now(UTC).replace(microsecond=0)
PUBLIC = "93.184.216.34"  # looks public; nothing is ever sent there (the policy refuses first)
FAST = FetchSettings(timeout_total=5.0, connect_timeout=2.0)
ARTICLE = "<html><head><title>A story</title></head><body><article><h1>A story</h1>" + (
    "<p>" + "Officials said on Friday that the talks would continue next week in Geneva. " * 6 + "</p>") * 3 + (
    "</article></body></html>")


@dataclass
class Server(LocalServer):
    """Serves `pages[path]` = (status, body, headers) to any Host; counts (host, path) hits."""

    pages: dict[str, tuple[int, str, dict[str, str]]] = field(default_factory=dict)
    hits: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def serve(self, path: str, body: str, status: int = 200, **headers: str) -> None:
        self.pages[path] = (status, body, headers)

    def arrived(self, host: str, path: str) -> int:
        return self.hits.get((host, path), 0)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/{tail:.*}", self._handle)

    async def _handle(self, request: web.Request) -> web.Response:
        host = request.host.rsplit(":", 1)[0]
        self.hits[(host, request.path)] = self.hits.get((host, request.path), 0) + 1
        status, body, headers = self.pages.get(request.path, (404, "not found", {}))
        ctype = "application/rss+xml" if body.lstrip().startswith("<?xml") else "text/html"
        return web.Response(status=status, text=body, content_type=ctype, headers=headers)


class StubResolver(AbstractResolver):
    """name → addresses; each answer list is used once in turn, the last one thereafter."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        self.asked.append(host)
        turns = self.answers.get(host)
        if not turns:
            raise OSError(f"stub resolver: unknown host {host}")
        addresses = turns.pop(0) if len(turns) > 1 else turns[0]
        return [ResolveResult(hostname=host, host=a, port=port, family=socket.AF_INET, proto=0,
                              flags=socket.AI_NUMERICHOST) for a in addresses]

    async def close(self) -> None:
        pass


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with Server() as s:
        yield s


@pytest.fixture
def resolver() -> StubResolver:
    return StubResolver({
        "wire.test": [["127.0.0.1"]],
        "other.test": [["127.0.0.1"]],
        "mixed.test": [[PUBLIC, "127.0.0.1"]],
    })


def rss(items: list[tuple[str, str, datetime | None]]) -> str:
    """(title, link, published) → an RSS 2.0 feed."""
    out = []
    for title, link, published in items:
        date = f"<pubDate>{format_datetime(published)}</pubDate>" if published else ""
        out.append(f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>{date}</item>")
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Wire</title>'
            f"<link>http://wire.test/</link><description>d</description>{''.join(out)}</channel></rss>")


async def poll(repo: Repository, resolver: StubResolver, tmp_path: Path, yaml: str,
               now: datetime = NOW) -> dict[str, PollResult]:
    """Poll every source of `yaml` (a watchlist's sources section) once, at `now`."""
    directory = tmp_path / "watchlists"
    directory.mkdir(exist_ok=True)
    (directory / "sources.yaml").write_text(yaml)
    wl = load_watchlists(directory, env={})
    await repo.sync_sources(source_specs(wl), now)
    async with make_session(FAST, resolver=resolver) as session:
        fetcher = Fetcher(session, FAST, resolver=resolver)
        ctx = Context(repo, fetcher, (), (), {}, articles_per_poll=None, clock=lambda: now,
                      sources={s.name: s for s in wl.sources})
        due = await repo.lease_due_sources(now, 100, 60, due_by=now + timedelta(days=400))
        results = {s.name: await refresh_source(ctx, s) for s in due}
    await repo.flush_polls()  # the outcomes, written behind, are in the database (as `run --once` waits)
    return results


async def seen(repo: Repository, url: str) -> str | None:
    async with repo._sessions() as s:
        return await s.scalar(select(SeenUrl.outcome).where(SeenUrl.url == url))


async def state(repo: Repository, name: str):  # type: ignore[no-untyped-def]
    return next(s for s in await repo.source_states() if s.name == name)


# --------------------------------------------------------------------------- SSRF


async def test_a_name_resolving_to_public_and_private_addresses_never_reaches_the_private_one(
    repo: Repository, server: Server, resolver: StubResolver, tmp_path: Path
) -> None:
    p = server.port
    server.serve("/feed.xml", rss([("Secret", f"http://mixed.test:{p}/news/secret", None),
                                   ("Metadata", "http://169.254.169.254/latest/meta-data/", None)]))
    server.serve("/news/secret", ARTICLE)
    results = await poll(repo, resolver, tmp_path, f"""sources:
  - name: Mixed
    feed: http://mixed.test:{p}/feed.xml
  - name: Wire
    feed: http://wire.test:{p}/feed.xml
    allow_private: true
""")
    # A source on the mixed name is refused whole: its feed is never requested.
    assert results["Mixed"].error and "non-public address 127.0.0.1" in results["Mixed"].error
    assert server.arrived("mixed.test", "/feed.xml") == 0
    assert (await state(repo, "Mixed")).last_error_kind == "refused"
    # A trusted private source's article link to the mixed name (or the metadata address) is
    # refused too: its permission is for wire.test alone, not for the whole poll.
    assert results["Wire"].error is None and server.arrived("wire.test", "/feed.xml") == 1
    assert server.arrived("mixed.test", "/news/secret") == 0
    assert await seen(repo, f"http://mixed.test:{p}/news/secret") == "error:refused"
    assert await seen(repo, "http://169.254.169.254/latest/meta-data") == "error:refused"


async def test_a_name_that_turns_private_at_connect_time_is_refused_at_the_connect(
    server: Server,
) -> None:
    """DNS rebinding: public when the fetcher checks, loopback when aiohttp connects."""
    rebinding = StubResolver({"rebind.test": [[PUBLIC], ["127.0.0.1"]]})
    server.serve("/x", ARTICLE)
    async with make_session(FAST, resolver=rebinding) as session:
        fetcher = Fetcher(session, FAST, resolver=rebinding)
        with pytest.raises(FetchError) as caught:
            await fetcher.get(f"http://rebind.test:{server.port}/x")
    assert caught.value.kind == "refused", caught.value
    assert rebinding.asked == ["rebind.test", "rebind.test"], "checked, then guarded at the connect"
    assert server.hits == {}


async def test_allow_private_reaches_only_the_sources_own_host(
    repo: Repository, server: Server, resolver: StubResolver, tmp_path: Path
) -> None:
    p = server.port
    server.serve("/feed.xml", rss([("Own", f"http://wire.test:{p}/news/own", None),
                                   ("Other", f"http://other.test:{p}/news/other", None),
                                   ("Literal", f"http://127.0.0.1:{p}/news/literal", None),
                                   ("Hop", f"http://wire.test:{p}/news/hop", None)]))
    for path in ("/news/own", "/news/other", "/news/literal"):
        server.serve(path, ARTICLE)
    server.serve("/news/hop", "", status=302, Location=f"http://other.test:{p}/news/other")
    results = await poll(repo, resolver, tmp_path, f"""sources:
  - name: Wire
    feed: http://wire.test:{p}/feed.xml
    allow_private: true
  - name: Untrusted
    feed: http://other.test:{p}/feed.xml
""")
    assert results["Wire"].error is None
    assert server.arrived("wire.test", "/news/own") == 1
    assert server.arrived("other.test", "/news/other") == 0
    assert server.arrived("127.0.0.1", "/news/literal") == 0
    assert server.arrived("wire.test", "/news/hop") == 1, "its own host: allowed, but not where it redirects"
    assert await seen(repo, f"http://wire.test:{p}/news/hop") == "error:refused"
    assert await seen(repo, f"http://other.test:{p}/news/other") == "error:refused"
    # Without `allow_private: true` a private source is not polled at all (the default).
    assert "non-public address" in (results["Untrusted"].error or "")
    assert server.arrived("other.test", "/feed.xml") == 0


# --------------------------------------------------------------------------- costly inputs


async def test_a_new_sources_items_older_than_backfill_are_recorded_not_fetched(
    repo: Repository, server: Server, resolver: StubResolver, tmp_path: Path
) -> None:
    p = server.port
    base = f"http://wire.test:{p}"
    items = [("Fresh", f"{base}/news/fresh", NOW - timedelta(hours=3)),
             ("Undated", f"{base}/news/undated", None),
             ("Old", f"{base}/news/old", NOW - timedelta(days=3)),
             ("Ancient", f"{base}/news/ancient", NOW - timedelta(days=400))]
    server.serve("/feed.xml", rss(items))
    for _, link, _ in items + [("", f"{base}/news/late", None)]:
        server.serve(link.removeprefix(base), ARTICLE)
    yaml = f"sources:\n  - name: Wire\n    feed: {base}/feed.xml\n    allow_private: true\n"  # backfill: 2d

    assert (await poll(repo, resolver, tmp_path, yaml))["Wire"].error is None
    assert server.arrived("wire.test", "/news/fresh") == server.arrived("wire.test", "/news/undated") == 1
    assert server.arrived("wire.test", "/news/old") == server.arrived("wire.test", "/news/ancient") == 0
    assert await seen(repo, f"{base}/news/old") == await seen(repo, f"{base}/news/ancient") == "backfill"

    # Later polls take every item not seen before, whatever its date.
    server.serve("/feed.xml", rss([("Late", f"{base}/news/late", NOW - timedelta(days=30)), *items]))
    assert (await poll(repo, resolver, tmp_path, yaml, NOW + timedelta(hours=1)))["Wire"].error is None
    assert server.arrived("wire.test", "/news/late") == 1
    assert server.arrived("wire.test", "/news/old") == 0


async def test_backfill_all_reads_a_new_sources_whole_back_catalogue(
    repo: Repository, server: Server, resolver: StubResolver, tmp_path: Path
) -> None:
    base = f"http://wire.test:{server.port}"
    server.serve("/feed.xml", rss([("Ancient", f"{base}/news/ancient", NOW - timedelta(days=400))]))
    server.serve("/news/ancient", ARTICLE)
    await poll(repo, resolver, tmp_path,
               f"sources:\n  - name: Wire\n    feed: {base}/feed.xml\n    allow_private: true\n    backfill: all\n")
    assert server.arrived("wire.test", "/news/ancient") == 1


async def test_a_thousand_items_linking_one_page_fetch_it_once(
    repo: Repository, server: Server, resolver: StubResolver, tmp_path: Path
) -> None:
    base = f"http://wire.test:{server.port}"
    server.serve("/feed.xml", rss([(f"Item {i}", f"{base}/news/same?utm_source=x{i}", None) for i in range(1000)]))
    server.serve("/news/same", ARTICLE)
    started = time.monotonic()
    result = (await poll(repo, resolver, tmp_path,
                         f"sources:\n  - name: Wire\n    feed: {base}/feed.xml\n    allow_private: true\n"))["Wire"]
    assert result.error is None and result.new_articles == 1
    assert server.arrived("wire.test", "/news/same") == 1
    assert time.monotonic() - started < 10


async def test_a_deeply_nested_feed_is_refused_quickly_with_a_clear_error_on_the_source(
    repo: Repository, server: Server, resolver: StubResolver, tmp_path: Path
) -> None:
    depth = 1_000_000 // 7  # "<a>" + "</a>": a 1 MB nesting bomb inside one item
    server.serve("/feed.xml", '<?xml version="1.0"?><rss version="2.0"><channel><item><title>t</title>'
                 "<link>http://wire.test/x</link>" + "<a>" * depth + "</a>" * depth + "</item></channel></rss>")
    started = time.process_time()
    result = (await poll(repo, resolver, tmp_path,
                         f"sources:\n  - name: Wire\n    feed: http://wire.test:{server.port}/feed.xml\n"
                         "    allow_private: true\n"))["Wire"]
    assert time.process_time() - started < 2.0
    assert result.error == "feed refused: nested deeper than 100 elements"
    source = await state(repo, "Wire")
    assert source.last_error == result.error and source.last_error_kind == "too-costly"


async def test_a_huge_title_and_text_are_capped_before_storage(
    repo: Repository, server: Server, resolver: StubResolver, tmp_path: Path
) -> None:
    base = f"http://wire.test:{server.port}"
    title, summary = "headline " * 111_112, "word " * 60_000  # 1,000,008 and 300,000 characters
    server.serve("/feed.xml", '<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>'
                 f"<item><title>{title}</title><link>{base}/news/huge</link><description>{summary}</description>"
                 "</item></channel></rss>")
    server.serve("/news/huge", "<html><body><p>Not much here.</p></body></html>")  # the feed item is kept
    result = (await poll(repo, resolver, tmp_path,
                         f"sources:\n  - name: Wire\n    feed: {base}/feed.xml\n    allow_private: true\n"))["Wire"]
    assert result.new_articles == 1
    async with repo._sessions() as s:
        [stored] = (await s.scalars(select(Article))).all()
    assert 0 < len(stored.title) <= MAX_TITLE_CHARS and stored.title.startswith("headline headline")
    assert 0 < len(stored.text) <= MAX_TEXT_CHARS and stored.text.startswith("word word")


# --------------------------------------------------------------------------- small wrong answers


async def test_a_feed_with_no_items_is_a_success_with_zero_items(
    repo: Repository, server: Server, resolver: StubResolver, tmp_path: Path
) -> None:
    server.serve("/rss.xml", rss([]))
    server.serve("/atom.xml", '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                 "<title>Empty</title><id>urn:x</id><updated>2024-01-01T00:00:00Z</updated></feed>")
    base = f"http://wire.test:{server.port}"
    results = await poll(repo, resolver, tmp_path, f"""sources:
  - name: RSS
    feed: {base}/rss.xml
    allow_private: true
  - name: Atom
    feed: {base}/atom.xml
    allow_private: true
""")
    for name in ("RSS", "Atom"):
        assert results[name] == PollResult(name), results[name]
        source = await state(repo, name)
        assert source.last_error is None and source.last_success_at == NOW and source.error_count == 0


async def test_retry_after_99999999999999999999_does_not_crash_and_is_clamped(
    repo: Repository, server: Server, resolver: StubResolver, tmp_path: Path
) -> None:
    server.serve("/feed.xml", "busy", status=503, **{"Retry-After": "99999999999999999999"})
    result = (await poll(repo, resolver, tmp_path,
                         f"sources:\n  - name: Wire\n    feed: http://wire.test:{server.port}/feed.xml\n"
                         "    allow_private: true\n"))["Wire"]
    assert result.error and "HTTP 503" in result.error
    due = (await state(repo, "Wire")).next_due_at
    assert NOW + timedelta(hours=23) < due <= NOW + MAX_HONOURED_CACHE + timedelta(minutes=2)


def test_absurd_retry_after_and_max_age_values_never_raise() -> None:
    from multidict import CIMultiDict

    day = 365 * 86400.0
    assert parse_retry_after("99999999999999999999") == day
    assert parse_retry_after("9" * 5000) == day
    assert parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT") == day
    assert parse_retry_after("Mon, 01 Jan 1900 00:00:00 GMT") == 0.0
    for junk in ("-5", "soon", "1e9", "²", "", "  ", "Mon, 99 Foo 2024"):
        assert parse_retry_after(junk) is None, junk
    assert parse_max_age(CIMultiDict({"Cache-Control": "max-age=99999999999999999999"})) == day
    assert parse_max_age(CIMultiDict({"Cache-Control": f"max-age={'9' * 5000}"})) == day
    assert parse_max_age(CIMultiDict({"Expires": "Fri, 31 Dec 9999 23:59:59 GMT"})) == day


def test_watchlist_sources_say_allow_private_and_backfill(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("""sources:
  - name: Default
    feed: https://example.org/rss
  - name: Intranet
    feed: http://intranet.example/rss
    allow_private: true
    backfill: all
  - name: Week
    page: https://example.com/news
    backfill: 7d
""")
    by_name = {s.name: s for s in load_watchlists(tmp_path, env={}).sources}
    assert (by_name["Default"].allow_private, by_name["Default"].backfill_seconds) == (False, 2 * 86400)
    assert (by_name["Intranet"].allow_private, by_name["Intranet"].backfill_seconds) == (True, None)
    assert by_name["Week"].backfill_seconds == 7 * 86400
    (tmp_path / "s.yaml").write_text("sources:\n  - name: Bad\n    feed: https://example.org/rss\n    backfill: soon\n")
    with pytest.raises(WatchlistError, match=r"s.yaml:4: .*backfill.*not a duration"):
        load_watchlists(tmp_path, env={})


def test_a_long_feed_is_cut_after_its_first_thousand_items_and_sloppy_markup_is_not_nesting() -> None:
    from monitor.extract import MAX_FEED_ITEMS, parse_feed

    long_rss = rss([(f"Item {i}", f"https://example.org/news/{i}", None) for i in range(1500)])
    entries = parse_feed(long_rss.encode(), "https://example.org/")
    assert len(entries) == MAX_FEED_ITEMS and entries[-1].url == "https://example.org/news/999"
    atom = ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id>'
            + "".join(f'<entry><title>E{i}</title><id>urn:{i}</id><link href="https://example.org/e/{i}"/></entry>'
                      for i in range(1200)) + "</feed>")
    assert len(parse_feed(atom.encode(), "https://example.org/")) == MAX_FEED_ITEMS
    # Unclosed <br> and <p> in a sloppy feed close with their parent: not a nesting bomb.
    sloppy = rss([(f"a &amp; <br> b {i}", f"https://example.org/s/{i}", None) for i in range(300)])
    assert len(parse_feed(sloppy.replace("</title>", "<p>x</title>").encode(), "https://example.org/")) == 300


async def test_many_links_are_marked_seen_in_batches_keeping_the_first_outcome(repo: Repository) -> None:
    from storage.records import SourceSpec

    await repo.sync_sources([SourceSpec("Wire", "feed", "https://wire.example/rss", 300)], NOW)
    [source] = await repo.source_states()
    await repo.mark_seen("https://wire.example/0", source.id, "not-article", NOW)
    urls = [f"https://wire.example/{i}" for i in range(1_200)]
    await repo.mark_seen_many(urls + urls[:10], source.id, "backfill", NOW)
    assert await repo.known_urls(urls) == set(urls)
    assert await seen(repo, urls[0]) == "not-article" and await seen(repo, urls[-1]) == "backfill"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "cp037"])
def test_a_nesting_bomb_in_a_wide_encoding_is_refused_too(encoding: str) -> None:
    from monitor.extract import FeedTooCostly, parse_feed

    head = f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>W</title>'
    good = head + "<item><title>Caf\u00e9</title><link>https://example.org/a</link></item></channel></rss>"
    assert [e.title for e in parse_feed(good.encode(encoding), "https://example.org/")] == ["Caf\u00e9"]
    bomb = head + "<item><title>t</title>" + "<a>" * 50_000 + "</a>" * 50_000 + "</item></channel></rss>"
    started = time.process_time()
    with pytest.raises(FeedTooCostly, match="nested deeper than 100"):
        parse_feed(bomb.encode(encoding), "https://example.org/")
    assert time.process_time() - started < 1.0
