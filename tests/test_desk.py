"""The desk page as an editor reads it: the claims list, a claim's timeline, sources and the
outbox, served over real HTTP from a test database (SQLite and PostgreSQL), and the seeds' claim
in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright) reading the page
the daemon itself serves.
"""
from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from monitor.settings import Settings
from storage.records import SourceSpec
from storage.repository import Repository
from tests.desk_data import (
    CLAIM_ID,
    T0,
    Newsdesk,
    Said,
    desk_server,
    watchlist,
)
from tests.newsroom import Newsroom
from tests.support import REPO
from tests.test_end_to_end import watchlist_dir

CHROMIUM = "/usr/bin/chromium"
DESK_LINE = re.compile(r"desk page: (http://127\.0\.0\.1:\d+/)")
DAY = timedelta(days=1)


@pytest.fixture
async def repo(sqlite_url: str) -> AsyncIterator[Repository]:
    """SQLite only: these tests are about the HTML; the queries behind it run on both backends
    in tests/test_api.py."""
    r = await Repository.open(sqlite_url)
    try:
        yield r
    finally:
        await r.close()


async def get(url: str, **kw: object) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url, **kw) as r:  # type: ignore[arg-type]
        return r.status, await r.text()


def statements(html: str) -> list[str]:
    """The parties of the timeline's statements, in page order."""
    return re.findall(r'<li class="statement [^"]*" data-party="([^"]*)"', html)


# -- in a real browser ---------------------------------------------------------------------


def chromium() -> str:
    """Debian's chromium; missing: a failure under CI (.ci/run installs it), else a loud skip."""
    if shutil.which(CHROMIUM) is None:
        reason = f"{CHROMIUM} is missing (apt-get install chromium): the desk page is not verified in a browser"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(f"!!! {reason} !!!")
    pytest.importorskip("playwright.async_api")
    return CHROMIUM


@asynccontextmanager
async def daemon_on_the_seeds(tmp_path: Path, db_url: str) -> AsyncIterator[str]:
    """`claimwatch run` (the real daemon process, its own web server on a free port) polling the
    seeds' local newsroom; yields the desk page's base URL once the claim's four statements are
    in, and stops the daemon (SIGTERM) afterwards."""
    async with Newsroom() as news, aiohttp.ClientSession() as http:
        directory = watchlist_dir(tmp_path, {"Local Wire": f"{news.base}/feed.xml"})
        env = {**os.environ, "CLAIMWATCH_HTTP": "127.0.0.1:0", "CLAIMWATCH_LOG_LEVEL": "INFO"}
        env.pop("CLAIMWATCH_API_TOKEN", None)
        log = tmp_path / "daemon.log"
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "monitor", "run", "--watchlists", str(directory), "--db", db_url,
                env=env, cwd=str(tmp_path), stdout=out, stderr=asyncio.subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 30
                base, html = None, ""
                while time.monotonic() < deadline and len(statements(html)) < 4:
                    assert proc.returncode is None, log.read_text()
                    found = DESK_LINE.search(log.read_text())
                    if found:
                        base = found.group(1).rstrip("/")
                        async with http.get(f"{base}/claims/musk-putin-talks") as r:
                            html = await r.text()
                    await asyncio.sleep(0.2)
                assert base is not None and len(statements(html)) == 4, log.read_text()
                yield base
            finally:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        await asyncio.wait_for(proc.wait(), 15)
                    except TimeoutError:
                        proc.kill()
                        await proc.wait()


async def test_chromium_reads_the_seeds_four_statements_newest_first_from_the_daemons_claim_page(
    tmp_path: Path, sqlite_url: str
) -> None:
    from playwright.async_api import async_playwright

    executable = chromium()
    async with daemon_on_the_seeds(tmp_path, sqlite_url) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1000, "height": 900})
            response = await page.goto(f"{base}/claims/musk-putin-talks")
            assert response is not None and response.status == 200
            items = page.locator("ol.timeline > li.statement")
            parties = [await items.nth(i).get_attribute("data-party") or "" for i in range(await items.count())]
            times = [await items.nth(i).get_attribute("data-at") or "" for i in range(await items.count())]
            assert sorted(parties) == ["Elon Musk", "Ian Bremmer", "Kremlin", "The Wall Street Journal"]
            assert times == sorted(times, reverse=True), "newest first"
            assert set(parties[:2]) == {"Kremlin", "The Wall Street Journal"}, "the 2024 article first"
            kremlin = page.locator('li.statement[data-party="Kremlin"]')
            assert "It’s all untrue." in await kremlin.locator("blockquote").inner_text()
            assert "denies" in (await kremlin.locator(".stance").inner_text()).lower()
            assert await page.get_by_role("heading", level=1).inner_text() == \
                "Elon Musk has held private talks with Vladimir Putin"
            await page.get_by_label("Party").select_option("Kremlin")
            await page.get_by_role("button", name="Filter").click()
            await page.wait_for_url(re.compile(r"party=Kremlin"))
            assert await page.locator("ol.timeline > li.statement").count() == 1
            await page.goto(f"{base}/claims/musk-putin-talks")
            await page.screenshot(path=str(tmp_path / "desk.png"), full_page=True)
            phone = await browser.new_page(viewport={"width": 390, "height": 844})
            await phone.goto(f"{base}/claims/musk-putin-talks")
            assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), \
                "no sideways scrolling on a phone"
            await phone.screenshot(path=str(tmp_path / "desk-phone.png"), full_page=True)
            if os.environ.get("CLAIMWATCH_UPDATE_SCREENSHOT") == "1":  # the README's picture
                shutil.copy(tmp_path / "desk.png", REPO / "docs" / "desk.png")
                shutil.copy(tmp_path / "desk-phone.png", REPO / "docs" / "desk-phone.png")
        finally:
            await browser.close()
    assert (tmp_path / "desk.png").stat().st_size > 10_000


# -- the timeline --------------------------------------------------------------------------


async def test_a_stance_switch_is_shown_as_the_party_moving_from_one_stance_to_the_other(repo: Repository) -> None:
    desk = await Newsdesk(repo).start()
    await desk.say(Said("Kremlin", "denies", "“It is all untrue.”", T0),
                   Said("Kremlin", "confirms", "“The talks took place.”", T0 + 39 * DAY))
    async with desk_server(repo) as base:
        status, html = await get(f"{base}/claims/{CLAIM_ID}")
    assert status == 200
    assert "Kremlin: denied 25 Oct 2024 → confirmed 3 Dec 2024" in html
    assert statements(html) == ["Kremlin", "Kremlin"]
    assert html.index("The talks took place") < html.index("It is all untrue"), "newest first"


async def test_syndicated_copies_of_the_same_words_fold_under_their_first_appearance(repo: Repository) -> None:
    desk = await Newsdesk(repo).start()
    words = "“We never spoke about a merger.”"
    await desk.say(Said("Acme", "denies", words, T0, outlet="Wire"),
                   Said("Acme", "denies", words, T0 + DAY, outlet="Daily Copy"),
                   Said("Globex", "confirms", "“We did.”", T0 + 2 * DAY))
    async with desk_server(repo) as base:
        _, html = await get(f"{base}/claims/{CLAIM_ID}")
    assert statements(html) == ["Globex", "Acme"]
    details = html[html.index('<details class="copies">'):]
    assert "1 more copy of these words" in details and "Daily Copy" in details
    assert html.index("Wire") < html.index('<details class="copies">'), "the first outlet stays on top"


async def test_the_timeline_filters_by_party_and_by_stance_and_folds_discussions_away(repo: Repository) -> None:
    desk = await Newsdesk(repo).start()
    await desk.say(Said("Acme", "denies", "“No.”", T0), Said("Globex", "confirms", "“Yes.”", T0 + DAY),
                   Said("Initech", "discusses", "Initech weighed in on the merger talk.", T0 + 2 * DAY))
    async with desk_server(repo) as base:
        _, everyone = await get(f"{base}/claims/{CLAIM_ID}")
        _, acme = await get(f"{base}/claims/{CLAIM_ID}", params={"party": "Acme"})
        _, confirms = await get(f"{base}/claims/{CLAIM_ID}", params={"stance": "confirms"})
        status, _ = await get(f"{base}/claims/{CLAIM_ID}", params={"stance": "maybe"})
        bad_page, _ = await get(f"{base}/claims/{CLAIM_ID}", params={"page": "0"})
    assert statements(everyone) == ["Globex", "Acme"]
    folded = everyone[everyone.index('<details class="discusses">'):]
    assert "1 article discusses the claim without a stance" in folded and "Initech weighed in" in folded
    assert '<details class="discusses" open' not in everyone
    assert statements(acme) == ["Acme"] and statements(confirms) == ["Globex"]
    assert status == 400 and bad_page == 400
    assert '<label for="f-party">Party</label>' in everyone and '<label for="f-stance">Stance</label>' in everyone


async def test_hostile_article_text_is_escaped_and_a_script_link_is_not_a_link(repo: Repository) -> None:
    desk = await Newsdesk(repo).start()
    await desk.say(Said("Acme", "denies", "“<img src=x onerror=alert(1)>”", T0,
                        title="<script>alert('headline')</script>", url="javascript:alert(1)//x"))
    async with desk_server(repo) as base:
        _, html = await get(f"{base}/claims/{CLAIM_ID}")
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;headline&#39;)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html


async def test_an_unknown_claim_is_a_404_page(repo: Repository) -> None:
    async with desk_server(repo) as base:
        status, html = await get(f"{base}/claims/no-such-claim")
    assert status == 404 and "No such claim" in html


# -- the claims list -----------------------------------------------------------------------


async def test_the_claims_list_shows_the_standing_and_marks_claims_changed_since_the_last_visit(
    repo: Repository,
) -> None:
    desk = await Newsdesk(repo).start()
    await desk.say(Said("Acme", "denies", "“No.”", T0), Said("Globex", "confirms", "“Yes.”", T0 + DAY))
    wl = watchlist([(CLAIM_ID, "Acme will merge with Globex"), ("quiet", "Initech will open an office")])
    async with desk_server(repo, wl) as base, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{base}/") as r:
            first = await r.text()
        async with http.get(f"{base}/") as r:  # the cookie now says when we were here
            second = await r.text()
        await desk.say(Said("Acme", "confirms", "“Well, yes.”", T0 + 2 * DAY), seen=T0.replace(year=2100))
        async with http.get(f"{base}/") as r:
            third = await r.text()

    def changed(html: str) -> list[str]:
        return re.findall(r'<li class="claim is-changed">.*?<a href="/claims/([^"]+)"', html, re.DOTALL)

    assert changed(first) == [CLAIM_ID] and changed(second) == [] and changed(third) == [CLAIM_ID]
    assert "Confirmed by 1" in first and "Denied by 1" in first
    assert "Initech will open an office" in first and "nobody yet" in first
    assert "Confirmed by 2" in third and "Denied by 0" in third


# -- sources and alerts --------------------------------------------------------------------


async def test_the_sources_page_lists_failing_sources_first_without_their_secrets(repo: Repository) -> None:
    desk = await Newsdesk(repo).start("https://user:hunter2@wire.example/rss?apikey=s3cret")
    await repo.sync_sources([SourceSpec("wire", "feed", "https://user:hunter2@wire.example/rss?apikey=s3cret", 300),
                             SourceSpec("broken", "feed", "https://broken.example/rss?token=abc", 300)], T0)
    broken = next(s for s in await repo.source_states() if s.name == "broken")
    repo.finish_poll(broken.id, now=T0, next_due_at=T0 + DAY, etag=None, last_modified=None, body_hash=None,
                     error="HTTP 500 from https://broken.example/rss?token=abc", error_kind="http")
    await repo.flush_polls()
    await desk.say(Said("Acme", "denies", "“No.”", T0))
    async with desk_server(repo) as base:
        status, html = await get(f"{base}/sources")
    assert status == 200
    assert html.index(">broken<") < html.index(">wire<"), "failing first"
    for secret in ("hunter2", "s3cret", "token=abc"):
        assert secret not in html
    assert "https://***@wire.example/rss?apikey=***" in html
    assert "<th scope=\"col\">Next poll</th>" in html


async def test_the_alerts_page_shows_the_outbox_by_status_and_channel_with_the_last_error(repo: Repository) -> None:
    desk = await Newsdesk(repo).start()
    await desk.say(Said("Acme", "denies", "“No.”", T0), Said("Globex", "confirms", "“Yes.”", T0 + DAY))
    first, second = [d.id for d in await repo.deliveries()]
    await repo.record_attempt(first, now=T0, ok=True, error=None, duration_ms=5, next_attempt_at=None)
    await repo.record_attempt(second, now=T0, ok=False, error="HTTP 503 from json://127.0.0.1/***",
                              duration_ms=5, next_attempt_at=T0 + DAY)
    async with desk_server(repo) as base:
        _, html = await get(f"{base}/alerts")
        _, retrying = await get(f"{base}/alerts", params={"status": "retrying"})
        status, _ = await get(f"{base}/alerts", params={"status": "lost"})
    assert status == 400
    row = re.search(r'<tr><th scope="row"><a href="\?channel=desk">desk</a></th>(.*?)</tr>', html, re.DOTALL)
    assert row is not None
    assert re.findall(r">(\d+)</a></td>", row.group(1)) == ["1", "0", "1", "0"]  # sent pending retrying failed
    assert "HTTP 503 from json://…" in retrying and "Globex confirms" in retrying
    assert "Acme denies" not in retrying


# -- access --------------------------------------------------------------------------------


async def test_with_a_token_the_desk_asks_for_a_login_and_then_serves_with_the_cookie(repo: Repository) -> None:
    settings = Settings(api_token="desk-secret-token")
    async with desk_server(repo, settings=settings) as base, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{base}/sources", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"].startswith("/login?next=/sources")
        async with http.post(f"{base}/login", data={"token": "wrong", "next": "/sources"}) as r:
            assert r.status == 401 and "That is not the token." in await r.text()
        async with http.post(f"{base}/login", data={"token": "desk-secret-token", "next": "//evil.example/"},
                             allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/", "no open redirect"
            cookie = r.cookies["claimwatch_desk"]
            assert cookie["httponly"] and cookie["samesite"] == "Strict"
            assert "desk-secret-token" not in cookie.value
        async with http.get(f"{base}/sources") as r:
            assert r.status == 200 and "<h1>Sources</h1>" in await r.text()
        status, _ = await get(f"{base}/sources", headers={"Authorization": "Bearer desk-secret-token"})
        assert status == 200, "the API's Bearer header also opens the desk"

