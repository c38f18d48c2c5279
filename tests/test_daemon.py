"""The poll pipeline and the daemon, against real local servers and the real database.

In-process tests build the daemon exactly as `claimwatch run` does (one aiohttp session, the
repository, the watchlist from a directory) and drive its steps by hand: sync the sources,
poll, deliver, reload. Outlets are local aiohttp servers (tests/newsroom.py serves the seed
articles; tests/outlet.py is configurable and counts every request); alerts go to a local
json:// receiver. Each of those tests runs on SQLite and on PostgreSQL (`db_url`). The tests
of the daemon as a process run the real command line, on SQLite.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

import monitor.pipeline as pipeline
from matcher.match import match_article
from monitor.daemon import Daemon
from monitor.fetch import Fetcher, FetchSettings, make_session
from monitor.settings import Settings
from monitor.watchlist import load_watchlists
from storage.models import Article, SeenUrl
from storage.repository import Repository
from tests.newsroom import Newsroom, Story, article_html, rss, seed_stories
from tests.outlet import Outlet
from tests.receivers import JsonReceiver
from tests.support import REPO, claimwatch, seed

CLAIM = "Elon Musk has held private talks with Vladimir Putin"
SEED_ALERTS = {
    f"Elon Musk denies: {CLAIM}",
    f"Ian Bremmer confirms: {CLAIM}",
    f"The Wall Street Journal confirms: {CLAIM}",
    f"Kremlin denies: {CLAIM}",
}
FAST_FETCH = FetchSettings(timeout_total=5.0, connect_timeout=2.0)

KREMLIN_CONFIRMS = Story(
    "2024/11/04/kremlin-confirms-putin-and-musk-held-private-talks",
    "Kremlin confirms Putin and Musk held private talks",
    (
        "Kremlin spokesman Dmitry Peskov confirmed on Monday that Vladimir Putin and Elon Musk had held "
        "several private conversations over the past two years, reversing the Kremlin's earlier line "
        "that the two men had spoken only once.",
        "\"Yes, they have talked, and more than once,\" Peskov told reporters in Moscow, declining to give "
        "dates or to say what had been discussed.",
        "The admission follows months of reports in Western media about contacts between the SpaceX "
        "founder and the Russian president.",
        "Musk did not respond to a request for comment on Monday.",
    ),
    datetime(2024, 11, 4, 10, 0, tzinfo=timezone.utc),
)

MUSK_DENIES_SUMMARY = Story(
    "2022/10/11/musk-denies-report-he-spoke-with-putin-about-ukraine",
    "Musk denies report he spoke with Putin about Ukraine",
    (
        "Tesla CEO Elon Musk on Tuesday denied a report that he had spoken with Russian President "
        "Vladimir Putin before proposing a peace plan for Ukraine, writing on Twitter that he had "
        "spoken to Putin only once, about 18 months ago, and that the subject had been space.",
    ),
    datetime(2022, 10, 11, 18, 0, tzinfo=timezone.utc),
)

# A page trafilatura finds no article in: the text is rendered by JavaScript.
APP_SHELL = ("<!doctype html><html><head><title>Summary Wire</title></head><body><div id=\"app\"></div>"
             "<script src=\"/static/app.js\"></script></body></html>")


# ------------------------------------------------------------------------------- helpers


def titles(alerts: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(f"{a.party} {a.stance}: {a.statement}" for a in alerts)


def write_sources(directory: Path, sources: list[tuple[str, str, str]], *, extra: str = "") -> Path:
    """(name, "feed"|"page", url) → sources.yaml; the mtime is bumped so a reload always sees it."""
    lines = ["sources:"]
    for name, kind, url in sources:
        # local servers are on 127.0.0.1, and the seed stories are years old: read them all
        lines += [f"  - name: {name}", f"    {kind}: {url}", "    every: 5m", "    allow_private: true",
                  "    backfill: all"]
    path = directory / "sources.yaml"
    existed = path.exists()
    path.write_text("\n".join(lines) + "\n" + extra)
    if existed:
        later = path.stat().st_mtime + 2
        os.utime(path, (later, later))
    return path


def watchlist_dir(tmp_path: Path, sources: list[tuple[str, str, str]]) -> Path:
    """The bundled claim watchlist, verbatim, plus our own sources.yaml."""
    directory = tmp_path / "watchlists"
    directory.mkdir()
    shutil.copy(REPO / "watchlists" / "musk-putin.yaml", directory / "musk-putin.yaml")
    write_sources(directory, sources)
    return directory


@pytest.fixture
def desk(monkeypatch: pytest.MonkeyPatch) -> Callable[[JsonReceiver | None], dict[str, str]]:
    """Point the desk channel's Slack target at a receiver (email switched off); the environment
    is set too, because a watchlist reload reads the process environment."""
    def point(receiver: JsonReceiver | None) -> dict[str, str]:
        monkeypatch.delenv("DESK_EMAIL_URL", raising=False)
        if receiver is None:
            monkeypatch.delenv("SLACK_DESK_URL", raising=False)
        else:
            monkeypatch.setenv("SLACK_DESK_URL", receiver.url)
        return dict(os.environ)

    return point


@asynccontextmanager
async def daemon_for(directory: Path, repo: Repository, env: dict[str, str]) -> AsyncIterator[Daemon]:
    """The daemon as `run` builds it, with its sources synced; short fetch timeouts."""
    settings = Settings(db_url="unused://", watchlists=directory, fetch=FAST_FETCH)
    async with make_session(settings.fetch) as session:
        daemon = Daemon(settings, load_watchlists(directory, env=env), repo, Fetcher(session, settings.fetch))
        await daemon.sync_sources()
        yield daemon


def article_hits(server: Outlet | Newsroom) -> dict[str, int]:
    return {path: n for path, n in server.hits.items() if path.startswith("/news/")}


async def count(repo: Repository, model: type) -> int:  # type: ignore[type-arg]
    async with repo._sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def seen_outcome(repo: Repository, url: str) -> str | None:
    async with repo._sessions() as s:
        return await s.scalar(select(SeenUrl.outcome).where(SeenUrl.url == url))


def outlet_with_stories(outlet: Outlet, stories: list[Story], *, feed: str = "/feed.xml", **feed_kw: object) -> None:
    outlet.serve(feed, rss(stories, outlet.base), content_type="application/rss+xml", **feed_kw)
    for story in stories:
        outlet.serve(f"/news/{story.slug}", article_html(story, outlet.base))


# ------------------------------------------------------------------- the poll pipeline


async def test_an_outlet_page_source_reads_only_its_same_site_articles_and_alerts_as_the_feed_does(
    tmp_path: Path, repo: Repository, desk: Callable[..., dict[str, str]]
) -> None:
    async with Outlet() as site, JsonReceiver() as slack:
        stories = seed_stories()
        for story in stories:
            site.serve(f"/news/{story.slug}", article_html(story, site.base))
        links = "\n".join(f'<li><a href="/news/{s.slug}?utm_source=home">{s.title}</a></li>' for s in stories)
        page = f"""<!doctype html><html><head><title>World news</title>
<link rel="stylesheet" href="/static/site.css"></head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/tag/tech">Tech</a> <a href="/about">About us</a></nav>
<ul>{links}</ul>
<a href="https://www.example.com/2024/10/26/an-off-site-story-about-musk-and-putin">Elsewhere</a>
<a href="/static/photos/musk-and-putin-at-the-kremlin-2024.jpg">Photo</a>
</body></html>"""
        site.serve("/world", page)
        directory = watchlist_dir(tmp_path, [("World Desk", "page", site.url("/world"))])
        async with daemon_for(directory, repo, desk(slack)) as daemon:
            [result] = await daemon.poll(everything=True)
            assert result.error is None and result.complete, result
            assert site.hits == {"/world": 1, **{f"/news/{s.slug}": 1 for s in stories}}, site.hits
            assert titles(await repo.alerts()) == sorted(SEED_ALERTS)
            await daemon.deliver(everything=True)
            assert sorted(m["title"] for m in slack.received) == sorted(SEED_ALERTS)

            # The page changes (it is read again) but offers no new article: nothing is refetched.
            site.serve("/world", page.replace("</nav>", ' <a href="/tag/space">Space</a></nav>'))
            [result] = await daemon.poll(everything=True)
            assert result.error is None and result.new_articles == 0, result
            assert site.hits["/world"] == 2
            assert all(n == 1 for n in article_hits(site).values()), site.hits
            assert set(site.hits) == {"/world", *(f"/news/{s.slug}" for s in stories)}, site.hits
            await daemon.deliver(everything=True)
            assert len(slack.received) == 4


async def test_a_syndicated_copy_of_a_denial_does_not_alert_twice(
    tmp_path: Path, repo: Repository, desk: Callable[..., dict[str, str]]
) -> None:
    async with Newsroom() as news, Outlet() as other, JsonReceiver() as slack:
        wsj = seed_stories()[1]  # carries "Kremlin denies"
        copy_path = "/wire/world/reuters-elon-musk-held-secret-talks-with-putin-report-says"
        body = "\n".join(f"<div class=\"para\">{p}</div>" for p in wsj.paragraphs)
        other.serve(copy_path, f"""<!doctype html><html><head><title>{wsj.title} - Other Wire</title></head>
<body><div class="site-header"><a href="/">Other Wire</a></div>
<div class="story"><h2 class="headline">{wsj.title}</h2><div class="story-body">{body}</div></div>
</body></html>""")
        item = Story(copy_path.removeprefix("/"), wsj.title, wsj.paragraphs, wsj.published)
        other.serve("/feed.xml", rss([item], other.base).replace(f"{other.base}/news/", f"{other.base}/"),
                    content_type="application/rss+xml")

        directory = watchlist_dir(tmp_path, [("Local Wire", "feed", f"{news.base}/feed.xml")])
        env = desk(slack)
        async with daemon_for(directory, repo, env) as daemon:
            await daemon.poll(everything=True)
            await daemon.deliver(everything=True)
            assert sorted(m["title"] for m in slack.received) == sorted(SEED_ALERTS)
            alerts_before, deliveries_before = await repo.alerts(), await repo.deliveries()

            write_sources(directory, [("Local Wire", "feed", f"{news.base}/feed.xml"),
                                      ("Other Wire", "feed", other.url("/feed.xml"))])
            assert await daemon.reload_if_changed()
            results = {r.source: r for r in await daemon.poll(everything=True)}
            assert results["Other Wire"].error is None and results["Other Wire"].alerts == 0, results
            assert other.hits.get(copy_path) == 1, other.hits  # the copy was read ...
            assert await repo.alerts() == alerts_before  # ... and said nothing new
            assert await repo.deliveries() == deliveries_before
            await daemon.deliver(everything=True)
            assert len(slack.received) == 4
            # recognised as the same article (content hash), not stored as a second one
            assert await seen_outcome(repo, other.url(copy_path)) == "duplicate-content"
            assert await count(repo, Article) == 2


async def test_a_party_that_switches_stance_alerts_again(
    tmp_path: Path, repo: Repository, desk: Callable[..., dict[str, str]]
) -> None:
    async with Newsroom() as news, Outlet() as later, JsonReceiver() as slack:
        wl = load_watchlists(REPO / "watchlists", env={})
        findings = match_article(KREMLIN_CONFIRMS.title, "\n\n".join(KREMLIN_CONFIRMS.paragraphs),
                                 wl.claims, wl.entities, outlet="Other Wire")
        assert findings and (findings[0].party, str(findings[0].stance)) == ("Kremlin", "confirms"), findings

        outlet_with_stories(later, [KREMLIN_CONFIRMS])
        directory = watchlist_dir(tmp_path, [("Local Wire", "feed", f"{news.base}/feed.xml")])
        async with daemon_for(directory, repo, desk(slack)) as daemon:
            await daemon.poll(everything=True)
            await daemon.deliver(everything=True)
            assert titles(await repo.alerts()) == sorted(SEED_ALERTS)

            write_sources(directory, [("Local Wire", "feed", f"{news.base}/feed.xml"),
                                      ("Other Wire", "feed", later.url("/feed.xml"))])
            assert await daemon.reload_if_changed()
            await daemon.poll(everything=True)
            alerts = await repo.alerts()
            new = alerts[4:]
            assert titles(new) == [f"Kremlin confirms: {CLAIM}"], titles(alerts)
            assert new[0].generation == 2  # the Kremlin's second stance on the claim
            await daemon.deliver(everything=True)
            assert [m["title"] for m in slack.received[4:]] == [f"Kremlin confirms: {CLAIM}"]
            assert later.url(f"/news/{KREMLIN_CONFIRMS.slug}") in slack.received[4]["message"]


async def test_stances_are_decided_in_publication_order_not_in_download_order(
    tmp_path: Path, repo: Repository, desk: Callable[..., dict[str, str]]
) -> None:
    denial = next(s for s in seed_stories() if "WSJ" in s.title)  # 2024-10-25: the Kremlin denies
    async with Outlet() as wire:
        outlet_with_stories(wire, [KREMLIN_CONFIRMS, denial])  # newest first, as feeds list them
        wire.resources[f"/news/{denial.slug}"].delay = 0.5  # the older page arrives last
        directory = watchlist_dir(tmp_path, [("Wire", "feed", wire.url("/feed.xml"))])
        async with daemon_for(directory, repo, desk(None)) as daemon:
            await daemon.poll(everything=True)
        kremlin = [(a.generation, a.stance) for a in await repo.alerts() if a.party == "Kremlin"]
        assert kremlin == [(1, "denies"), (2, "confirms")], "the later confirmation is the Kremlin's current stance"


async def test_an_unchanged_feed_is_not_parsed_again(
    tmp_path: Path, repo: Repository, desk: Callable[..., dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    real = pipeline._candidates

    def spy(kind: str, body: bytes, url: str) -> list[pipeline.Candidate]:
        parsed.append(url)
        return real(kind, body, url)

    monkeypatch.setattr(pipeline, "_candidates", spy)
    async with Outlet() as with_etag, Outlet() as plain:
        stories = seed_stories()
        outlet_with_stories(with_etag, stories, etag='"v1"')
        outlet_with_stories(plain, stories)
        directory = watchlist_dir(tmp_path, [("ETag Wire", "feed", with_etag.url("/feed.xml")),
                                             ("Plain Wire", "feed", plain.url("/feed.xml"))])
        async with daemon_for(directory, repo, desk(None)) as daemon:
            results = await daemon.poll(everything=True)
            assert all(r.error is None and r.complete for r in results), results
            assert sorted(parsed) == sorted([with_etag.url("/feed.xml"), plain.url("/feed.xml")])
            states = {s.name: s for s in await repo.source_states()}
            assert states["ETag Wire"].etag == '"v1"' and states["Plain Wire"].body_hash

            with_hits, plain_hits = dict(with_etag.hits), dict(plain.hits)
            results = await daemon.poll(everything=True)
            assert all(r.error is None for r in results), results
            assert with_etag.statuses("/feed.xml") == [200, 304]  # conditional GET honoured
            assert plain.statuses("/feed.xml") == [200, 200]  # same body, skipped by its hash
            assert len(parsed) == 2, parsed  # neither feed was parsed again
            assert article_hits(with_etag) == {p: n for p, n in with_hits.items() if p.startswith("/news/")}
            assert article_hits(plain) == {p: n for p, n in plain_hits.items() if p.startswith("/news/")}


async def test_nothing_is_lost_when_an_article_page_fails_transiently_and_a_gone_page_is_not_refetched(
    tmp_path: Path, repo: Repository, desk: Callable[..., dict[str, str]]
) -> None:
    async with Outlet() as site:
        wsj = seed_stories()[1]
        gone = Story("2024/10/25/a-story-that-was-taken-down-by-the-outlet", "Taken down", ("x",), wsj.published)
        site.serve("/feed.xml", rss([wsj, gone], site.base), content_type="application/rss+xml", etag='"feed-1"')
        flaky = site.serve(f"/news/{wsj.slug}", article_html(wsj, site.base), fail_with=[503])
        gone_path = f"/news/{gone.slug}"  # never served: 404
        directory = watchlist_dir(tmp_path, [("Flaky Wire", "feed", site.url("/feed.xml"))])
        async with daemon_for(directory, repo, desk(None)) as daemon:
            [first] = await daemon.poll(everything=True)
            assert first.error is None and not first.complete and first.alerts == 0, first
            [state] = await repo.source_states()
            assert state.last_error is None and state.error_count == 0
            assert state.etag is None, "validators must not advance while an item is missing"
            assert await repo.alerts() == []
            assert site.statuses(f"/news/{wsj.slug}") == [503] and site.statuses(gone_path) == [404]
            assert await seen_outcome(repo, site.url(gone_path)) == "error:http"
            assert not flaky.fail_with

            [second] = await daemon.poll(everything=True)
            assert second.complete and second.new_articles == 1, second
            assert site.statuses("/feed.xml") == [200, 200]  # not a 304: the feed was read again
            assert titles(await repo.alerts()) == sorted(
                t for t in SEED_ALERTS if t.split(":")[0] in
                {"The Wall Street Journal confirms", "Kremlin denies"}
            )
            assert site.hits[gone_path] == 1, "a 404 article is remembered, not refetched"

            [third] = await daemon.poll(everything=True)
            assert site.statuses("/feed.xml")[-1] == 304 and third.new_articles == 0
            assert site.hits[gone_path] == 1 and site.hits[f"/news/{wsj.slug}"] == 2


async def test_a_feed_item_whose_page_has_no_readable_text_is_matched_from_its_summary(
    tmp_path: Path, repo: Repository, desk: Callable[..., dict[str, str]]
) -> None:
    async with Outlet() as site:
        item = MUSK_DENIES_SUMMARY
        assert len(item.paragraphs[0]) >= pipeline.MIN_ARTICLE_CHARS
        site.serve("/feed.xml", rss([item], site.base), content_type="application/rss+xml")
        site.serve(f"/news/{item.slug}", APP_SHELL)
        directory = watchlist_dir(tmp_path, [("Summary Wire", "feed", site.url("/feed.xml"))])
        async with daemon_for(directory, repo, desk(None)) as daemon:
            [result] = await daemon.poll(everything=True)
            assert result.error is None and result.new_articles == 1, result
            assert site.hits[f"/news/{item.slug}"] == 1
            assert titles(await repo.alerts()) == [f"Elon Musk denies: {CLAIM}"]
            [evidence] = [e for e in await repo.evidence() if e.stance == "denies"]
            assert "Musk" in evidence.quote


# ---------------------------------------------------------------------------- the daemon


async def test_an_edited_watchlist_is_reloaded_and_a_broken_edit_keeps_the_last_good_one(
    tmp_path: Path, repo: Repository, desk: Callable[..., dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    async with Newsroom() as news, Outlet() as later:
        outlet_with_stories(later, [KREMLIN_CONFIRMS])
        directory = watchlist_dir(tmp_path, [("Local Wire", "feed", f"{news.base}/feed.xml")])
        async with daemon_for(directory, repo, desk(None)) as daemon:
            assert not await daemon.reload_if_changed(), "nothing changed yet"
            await daemon.poll(everything=True)

            good = [("Local Wire", "feed", f"{news.base}/feed.xml"), ("Other Wire", "feed", later.url("/feed.xml"))]
            write_sources(directory, good)
            assert await daemon.reload_if_changed()
            assert [s.name for s in daemon.watchlist.sources] == ["Local Wire", "Other Wire"]
            assert {s.name for s in await repo.source_states() if s.enabled} == {"Local Wire", "Other Wire"}
            results = {r.source: r for r in await daemon.poll(everything=True)}
            assert results["Other Wire"].alerts == 1 and later.hits["/feed.xml"] == 1, results

            caplog.clear()
            with caplog.at_level(logging.ERROR, logger="claimwatch.daemon"):
                path = write_sources(directory, good[:1], extra="    evry: 5m\n")
                assert not await daemon.reload_if_changed()
            errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
            assert any(f"{path}:7: unknown key 'evry'" in m for m in errors), errors
            assert [s.name for s in daemon.watchlist.sources] == ["Local Wire", "Other Wire"]
            assert not await daemon.reload_if_changed(), "the broken file is reported once, not every tick"

            results = {r.source: r for r in await daemon.poll(everything=True)}
            assert set(results) == {"Local Wire", "Other Wire"}
            assert all(r.error is None for r in results.values()), results
            assert later.hits["/feed.xml"] == 2


async def test_a_source_whose_poll_crashes_does_not_stop_the_others(
    tmp_path: Path, repo: Repository, desk: Callable[..., dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = pipeline._candidates

    def crashing(kind: str, body: bytes, url: str) -> list[pipeline.Candidate]:
        if "/crash/" in url:
            raise RuntimeError("parser blew up")
        return real(kind, body, url)

    monkeypatch.setattr(pipeline, "_candidates", crashing)
    async with Newsroom() as news, Outlet() as bad:
        outlet_with_stories(bad, [KREMLIN_CONFIRMS], feed="/crash/feed.xml")
        directory = watchlist_dir(tmp_path, [("Crashing Wire", "feed", bad.url("/crash/feed.xml")),
                                             ("Local Wire", "feed", f"{news.base}/feed.xml")])
        async with daemon_for(directory, repo, desk(None)) as daemon:
            before = datetime.now(timezone.utc)
            results = {r.source: r for r in await daemon.poll(everything=True)}
            assert "parser blew up" in (results["Crashing Wire"].error or "")
            assert results["Local Wire"].error is None and results["Local Wire"].alerts == 4
            assert titles(await repo.alerts()) == sorted(SEED_ALERTS)
            states = {s.name: s for s in await repo.source_states()}
            crashed = states["Crashing Wire"]
            assert crashed.last_error_kind == "internal" and "parser blew up" in (crashed.last_error or "")
            assert crashed.error_count == 1 and crashed.leased_until is None
            assert crashed.next_due_at > before + timedelta(minutes=4), "a crashing source backs off"
            assert states["Local Wire"].last_error is None


# ---------------------------------------------------------------------- the real process


async def until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def test_the_daemon_process_delivers_reports_health_and_stops_cleanly_on_sigterm(
    tmp_path: Path, sqlite_url: str
) -> None:
    async with Newsroom() as news, JsonReceiver() as slack:
        directory = watchlist_dir(tmp_path, [("Local Wire", "feed", f"{news.base}/feed.xml")])
        beat = tmp_path / "heartbeat"
        env = {**os.environ, "SLACK_DESK_URL": slack.url, "CLAIMWATCH_TICK_SECONDS": "0.5",
               "CLAIMWATCH_HEARTBEAT": str(beat), "CLAIMWATCH_LOG_LEVEL": "INFO"}
        env.pop("DESK_EMAIL_URL", None)
        log_path = tmp_path / "daemon.log"
        with log_path.open("wb") as log_file:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "monitor", "run", "--watchlists", str(directory), "--db", sqlite_url,
                env=env, cwd=str(tmp_path), stdout=log_file, stderr=asyncio.subprocess.STDOUT,
            )
            try:
                delivered = await until(lambda: len(slack.received) >= 4, 15)
                assert delivered, log_path.read_text()
                assert proc.returncode is None, "the daemon must keep running"
                code, out = await claimwatch("health", env={"CLAIMWATCH_HEARTBEAT": str(beat)})
                assert code == 0, out

                await asyncio.sleep(1.0)  # a few more ticks and deliveries: nothing new to send
                proc.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(proc.wait(), 10)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
        log = log_path.read_text()
        assert code == 0, log
        assert "finishing running work" in log, log
        assert sorted(m["title"] for m in slack.received) == sorted(SEED_ALERTS), "no alert twice"
        assert all(n == 1 for n in article_hits(news).values()), news.hits
        repo = await Repository.open(sqlite_url)
        try:
            assert (await repo.delivery_counts())["sent"] == 4
        finally:
            await repo.close()


async def test_the_daemon_refuses_to_start_on_a_bad_watchlist(tmp_path: Path, sqlite_url: str) -> None:
    directory = watchlist_dir(tmp_path, [("Local Wire", "feed", "https://example.org/feed.xml")])
    path = write_sources(directory, [("Local Wire", "feed", "https://example.org/feed.xml")],
                         extra="    evry: 5m\n")
    code, out = await claimwatch("run", "--watchlists", str(directory), "--db", sqlite_url, env={}, timeout=20)
    assert code == 2, out
    assert f"{path}:7: unknown key 'evry'" in out, out


async def test_match_json_explains_each_finding_with_party_stance_quote_and_cue(tmp_path: Path) -> None:
    article = seed("004_2444ca2dfe6ef90e.txt")
    code, out = await claimwatch("match", "--watchlists", str(REPO / "watchlists"), "--json", str(article), env={})
    assert code == 0, out
    [line] = [ln for ln in out.splitlines() if ln.startswith("{")]
    report = json.loads(line)
    assert report["input"] == str(article) and "Musk" in report["title"]
    found = {(f["party"], f["stance"]) for f in report["findings"]}
    assert {("Kremlin", "denies"), ("The Wall Street Journal", "confirms")} <= found, report["findings"]
    for f in report["findings"]:
        assert f["claim_id"] == "musk-putin-talks" and f["quote"] and f["cue"], f
    kremlin = next(f for f in report["findings"] if f["party"] == "Kremlin")
    assert kremlin["quote"] == "“It’s all untrue.”", kremlin  # the Kremlin's own words…
    assert kremlin["cue"] in kremlin["context"], kremlin  # …and the sentence that reports them
