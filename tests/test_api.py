"""The REST API under /api/v1 over real HTTP, on SQLite and PostgreSQL: answers, errors as JSON,
who may call it, and its OpenAPI document checked against the running server by schemathesis.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from monitor.settings import Settings
from storage.repository import Repository
from tests.desk_data import CLAIM_ID, T0, Newsdesk, Said, desk_server, fill, watchlist
from web.app import WebState, make_app

DAY = timedelta(days=1)


@pytest.fixture
async def sqlite_repo(sqlite_url: str) -> AsyncIterator[Repository]:
    """For what does not depend on the backend; the queries themselves run on both (`repo`)."""
    r = await Repository.open(sqlite_url)
    try:
        yield r
    finally:
        await r.close()


async def call(url: str, **kw: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url, **kw) as r:
        assert r.content_type == "application/json", (r.status, await r.text())
        return r.status, await r.json()


async def story(repo: Repository) -> list[int]:
    """Kremlin denies then confirms; Acme denies in two outlets; a party that only discusses it."""
    desk = await Newsdesk(repo).start()
    return await desk.say(
        Said("Kremlin", "denies", "“It is all untrue.”", T0),
        Said("Acme", "denies", "“No merger.”", T0 + DAY, outlet="Daily"),
        Said("Initech", "discusses", "Initech weighed in.", T0 + 2 * DAY),
        Said("Kremlin", "confirms", "“The talks took place.”", T0 + 39 * DAY),
    )


async def test_a_claim_answers_with_its_standing_and_its_timeline_pages_newest_first(repo: Repository) -> None:
    await story(repo)
    async with desk_server(repo) as base:
        status, claims = await call(f"{base}/api/v1/claims")
        assert status == 200
        [claim] = claims["claims"]
        assert (claim["id"], claim["confirms"], claim["denies"], claim["statements"]) == (CLAIM_ID, 1, 1, 4)
        assert [(e["party"], e["stance"]) for e in claim["standing"]] == [("Kremlin", "confirms"), ("Acme", "denies")]
        status, one = await call(f"{base}/api/v1/claims/{CLAIM_ID}")
        assert status == 200 and one == claim

        _, page1 = await call(f"{base}/api/v1/claims/{CLAIM_ID}/timeline", params={"limit": "2"})
        assert page1["total"] == 4 and [i["party"] for i in page1["items"]] == ["Kremlin", "Initech"]
        switch = page1["items"][0]
        assert switch["switched_from"] == {"stance": "denies", "since": "2024-10-25T09:00:00Z"}
        assert switch["alerted"] and switch["article"]["published_at"] == "2024-12-03T09:00:00Z"
        _, page2 = await call(base + page1["next"])
        assert [i["party"] for i in page2["items"]] == ["Acme", "Kremlin"] and page2["next"] is None

        _, kremlin = await call(f"{base}/api/v1/claims/{CLAIM_ID}/timeline", params={"party": "Kremlin"})
        assert [i["stance"] for i in kremlin["items"]] == ["confirms", "denies"]
        _, denials = await call(f"{base}/api/v1/claims/{CLAIM_ID}/timeline", params={"stance": "denies"})
        assert [i["party"] for i in denials["items"]] == ["Acme", "Kremlin"]
        _, recent = await call(f"{base}/api/v1/claims/{CLAIM_ID}/timeline",
                               params={"since": "2024-10-26T09:00:00+00:00"})
        assert [i["party"] for i in recent["items"]] == ["Kremlin", "Initech", "Acme"]


async def test_an_article_answers_with_its_stored_text_and_every_finding_with_its_sentence_and_cue(
    sqlite_repo: Repository,
) -> None:
    repo = sqlite_repo
    ids = await story(repo)
    async with desk_server(repo) as base:
        status, article = await call(f"{base}/api/v1/articles/{ids[0]}")
    assert status == 200
    assert article["text"] == "Body. “It is all untrue.”" and article["source"] == "wire"
    [finding] = article["findings"]
    assert (finding["party"], finding["stance"], finding["sentence"], finding["cue"]) == \
        ("Kremlin", "denies", "“It is all untrue.”", "said")


async def test_unknown_ids_are_json_404s_and_bad_query_values_json_400s(repo: Repository) -> None:
    await story(repo)
    async with desk_server(repo) as base:
        for path in ("/api/v1/claims/no-such-claim", "/api/v1/claims/no-such-claim/timeline",
                     "/api/v1/articles/999999", "/api/v1/articles/abc", "/api/v1/nothing-here"):
            status, body = await call(base + path)
            assert status == 404 and set(body) == {"error"} and body["error"], (path, body)
        for query in ({"stance": "maybe"}, {"since": "last tuesday"}, {"limit": "0"}, {"limit": "x"},
                      {"offset": "-1"}, {"party": "a\x00b"}):
            status, body = await call(f"{base}/api/v1/claims/{CLAIM_ID}/timeline", params=query)
            assert status == 400 and set(body) == {"error"}, (query, body)
        status, body = await call(f"{base}/api/v1/alerts", params={"status": "lost"})
        assert status == 400 and "status must be one of" in body["error"]
        async with aiohttp.ClientSession() as http, http.post(f"{base}/api/v1/claims") as r:
            assert r.status == 405 and "error" in await r.json() and "GET" in r.headers["Allow"]


async def test_sources_and_the_outbox_never_show_a_secret(sqlite_repo: Repository) -> None:
    repo = sqlite_repo
    desk = await Newsdesk(repo).start("https://user:hunter2@wire.example/rss?apikey=s3cret")
    await desk.say(Said("Acme", "denies", "“No.”", T0))
    [delivery] = await repo.deliveries()
    await repo.record_attempt(delivery.id, now=T0, ok=False, duration_ms=3, next_attempt_at=None,
                              error="refused by https://hooks.example/T000?token=abc")
    async with desk_server(repo) as base:
        _, sources = await call(f"{base}/api/v1/sources")
        _, alerts = await call(f"{base}/api/v1/alerts", params={"status": "failed"})
    text = json.dumps([sources, alerts])
    for secret in ("hunter2", "s3cret", "token=abc"):
        assert secret not in text
    assert sources["sources"][0]["url"] == "https://***@wire.example/rss?apikey=***"
    assert alerts["channels"] == [{"channel": "desk", "sent": 0, "pending": 0, "retrying": 0, "failed": 1}]
    [item] = alerts["items"]
    assert item["last_error"] == "refused by https://hooks.example/T000?token=***"
    assert item["alert"]["party"] == "Acme" and item["target"] == "json://127.0.0.1/***"


async def test_the_desk_standing_is_the_standing_the_alerts_carry(repo: Repository) -> None:
    """The desk's standing (storage/reading.py) and an alert's snapshot of it (storage/alerting.py,
    when every party fits in the alert) name the same parties, statements and order."""
    from storage.alerting import standing_snapshot
    from storage.db import readonly
    from storage.reading import current_standing

    await fill(repo, 60, parties=5)
    desk = await Newsdesk(repo).start()
    await desk.say(Said("Late", "denies", "“No.”", None), Said("Late", "denies", "“Still no.”", T0))
    async with repo._sessions() as s, readonly(repo.engine).connect() as c:
        assert await current_standing(c, CLAIM_ID) == (await standing_snapshot(s, CLAIM_ID))[0]


# -- who may call it (Done when 5) ---------------------------------------------------------


def app_seen_from(repo: Repository, remote: str, settings: Settings) -> web.Application:
    """The web app behind a middleware that makes every request come from `remote`."""
    @web.middleware
    async def from_afar(request: web.Request,
                        handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        return await handler(request.clone(remote=remote))

    app = make_app(WebState(repo, watchlist, settings, T0))
    app.middlewares.insert(0, from_afar)
    return app


@pytest.mark.parametrize("remote", ["203.0.113.7", "10.0.0.2", "2001:db8::1"])
async def test_without_a_token_the_api_refuses_a_caller_that_is_not_on_loopback(
    sqlite_url: str, remote: str,
) -> None:
    repo = await Repository.open(sqlite_url)
    try:
        async with TestClient(TestServer(app_seen_from(repo, remote, Settings()))) as client:
            r = await client.get("/api/v1/claims")
            assert r.status == 403 and "loopback" in (await r.json())["error"]
            r = await client.get("/")
            assert r.status == 403
        async with TestClient(TestServer(app_seen_from(repo, "::ffff:127.0.0.1", Settings()))) as client:
            assert (await client.get("/api/v1/claims")).status == 200
    finally:
        await repo.close()


async def test_with_a_token_every_caller_needs_it_as_a_bearer_header(sqlite_url: str) -> None:
    repo = await Repository.open(sqlite_url)
    settings = Settings(api_token="s3cret-token")
    try:
        for remote in ("203.0.113.7", "127.0.0.1"):
            async with TestClient(TestServer(app_seen_from(repo, remote, settings))) as client:
                r = await client.get("/api/v1/claims")
                assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
                r = await client.get("/api/v1/claims", headers={"Authorization": "Bearer wrong"})
                assert r.status == 401
                r = await client.get("/api/v1/claims", headers={"Authorization": "Bearer s3cret-token"})
                assert r.status == 200 and "claims" in await r.json()
    finally:
        await repo.close()


def own_address() -> str | None:
    """An address of this host that is not loopback (the route out), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET: nothing is sent, only a route is chosen
            address = str(s.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


async def test_a_server_bound_on_the_hosts_own_address_refuses_the_api_without_a_token(sqlite_url: str) -> None:
    address = own_address()
    if address is None:
        pytest.skip("!!! this host has no non-loopback address: tested through the remote-address logic only !!!")
    repo = await Repository.open(sqlite_url)
    try:
        async with desk_server(repo, host=address) as base:
            status, body = await call(f"{base}/api/v1/claims")
            assert status == 403 and "CLAIMWATCH_API_TOKEN" in body["error"]
        async with desk_server(repo, host=address, settings=Settings(api_token="tok")) as base:
            status, _ = await call(f"{base}/api/v1/claims", headers={"Authorization": "Bearer tok"})
            assert status == 200
    finally:
        await repo.close()


# -- the OpenAPI document (Done when 2) ----------------------------------------------------


async def test_the_openapi_document_describes_every_api_route(sqlite_url: str) -> None:
    repo = await Repository.open(sqlite_url)
    try:
        app = make_app(WebState(repo, watchlist, Settings(), T0))
        async with TestClient(TestServer(app)) as client:
            doc = await (await client.get("/api/v1/openapi.json")).json()
        routes = {r.resource.canonical for r in app.router.routes()
                  if r.resource is not None and r.resource.canonical.startswith("/api/") and r.method == "GET"}
    finally:
        await repo.close()
    assert doc["openapi"].startswith("3.1")
    assert routes == set(doc["paths"]), "every route documented, nothing documented that is not served"


async def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    tmp_path: Path, repo: Repository,
) -> None:
    """Property-based, against the running server: every documented shape and status holds."""
    await story(repo)
    await fill(repo, 12)
    # /explain needs one of article= and url=, which OpenAPI cannot say of query parameters: its
    # 400 for neither is right, so a 400 there is an accepted answer to a schema-valid request.
    (tmp_path / "schemathesis.toml").write_text(
        '[[operations]]\ninclude-path = "/api/v1/explain"\n'
        'checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "404"]\n')
    async with desk_server(repo) as base:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "schemathesis.cli", "--config-file", str(tmp_path / "schemathesis.toml"), "run", f"{base}/api/v1/openapi.json",
            "--checks", "all", "--exclude-checks", "ignored_auth,use_after_free,ensure_resource_availability",
            "--max-examples", os.environ.get("CLAIMWATCH_SCHEMATHESIS_EXAMPLES", "12"),
            "--phases", "examples,coverage,fuzzing", "--workers", "2", "--seed", "9",
            "--request-timeout", "10", "--no-color",
            cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
    report = out.decode()
    assert proc.returncode == 0, report
    assert re.search(r"Operations:\s+(\d+) selected / \1 total", report), report
