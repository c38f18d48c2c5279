"""/metrics, /healthz and /readyz, served by a real `claimwatch run` on the local PostgreSQL.

One daemon polls the seed newsroom and alerts a local Slack-like receiver; its own HTTP server
(on a free port, which its log names) then shows plausible numbers for that cycle, and /readyz
turns 503 once its database is dropped under it.
"""
from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from monitor.settings import Settings
from monitor.watchlist import load_watchlists
from storage.db import create_engine_for
from storage.repository import Repository
from tests.conftest import _asyncpg_dsn, pg_admin_url
from tests.newsroom import Newsroom
from tests.receivers import JsonReceiver
from tests.support import REPO
from tests.test_daemon import watchlist_dir
from web.app import BindError, WebState, make_app, parse_bind, start

DESK = re.compile(r"desk page: (http://127\.0\.0\.1:\d+/)")


async def desk_url(log: Path, proc: asyncio.subprocess.Process, seconds: float = 20) -> str:
    """The desk page's URL, from the daemon's log line at start."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = DESK.search(log.read_text()) if log.exists() else None
        if found:
            return found.group(1)
        assert proc.returncode is None, log.read_text()
        await asyncio.sleep(0.1)
    raise AssertionError(f"no desk page line in the log:\n{log.read_text()}")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, by (name, sorted labels)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.mark.postgres
async def test_metrics_show_one_cycle_and_readyz_turns_503_when_the_database_goes(
    tmp_path: Path, pg_url: str
) -> None:
    async with Newsroom() as news, JsonReceiver() as slack, aiohttp.ClientSession() as http:
        directory = watchlist_dir(tmp_path, [("Local Wire", "feed", f"{news.base}/feed.xml")])
        env = {**os.environ, "SLACK_DESK_URL": slack.url, "CLAIMWATCH_TICK_SECONDS": "0.5",
               "CLAIMWATCH_LOG_LEVEL": "INFO", "CLAIMWATCH_HTTP": "127.0.0.1:0"}
        env.pop("DESK_EMAIL_URL", None)
        log_path = tmp_path / "daemon.log"
        with log_path.open("wb") as log_file:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "monitor", "run", "--watchlists", str(directory), "--db", pg_url,
                env=env, cwd=str(tmp_path), stdout=log_file, stderr=asyncio.subprocess.STDOUT)
            try:
                base = await desk_url(log_path, proc)
                # The README's first command promises this line, as it is logged.
                logged = next(ln for ln in log_path.read_text().splitlines() if "desk page:" in ln)
                shown = next(ln for ln in (REPO / "README.md").read_text().splitlines() if "desk page:" in ln)
                port = base.rsplit(":", 1)[1].strip("/")
                assert logged.split("claimwatch.daemon: ")[1].replace(f":{port}/", ":8080/") == \
                    shown.split("claimwatch.daemon: ")[1]
                deadline = time.monotonic() + 20
                while len(slack.received) < 4 and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                assert len(slack.received) == 4, log_path.read_text()
                await asyncio.sleep(0.3)  # the deliverer commits its attempts

                async with http.get(f"{base}metrics") as r:
                    assert r.status == 200 and r.content_type == "text/plain"
                    m = samples(await r.text())
                assert m[("claimwatch_polls_total", (("kind", ""), ("outcome", "changed")))] >= 1
                assert m[("claimwatch_fetch_duration_seconds_count", ())] >= 1
                assert m[("claimwatch_articles_taken_in_total", ())] == 2
                assert m[("claimwatch_findings_total", (("stance", "confirms"),))] >= 2
                assert m[("claimwatch_findings_total", (("stance", "denies"),))] >= 2
                assert m[("claimwatch_alerts_created_total", ())] == 4
                assert m[("claimwatch_deliveries", (("channel", "desk"), ("status", "sent")))] == 4
                assert m[("claimwatch_outbox_pending", ())] == 0
                assert m[("claimwatch_outbox_oldest_pending_age_seconds", ())] == 0
                assert 0 <= time.time() - m[("claimwatch_last_poll_timestamp_seconds", ())] < 60
                assert not any("url" in k or "source" in k for _, labels in m for k, _ in labels), m

                async with http.get(f"{base}healthz") as r:
                    assert r.status == 200, await r.text()
                async with http.get(f"{base}readyz") as r:
                    assert r.status == 200, await r.text()

                admin = await asyncpg.connect(_asyncpg_dsn(pg_admin_url()), timeout=5)
                try:
                    await admin.execute(f'DROP DATABASE "{make_url(pg_url).database}" WITH (FORCE)')
                finally:
                    await admin.close()
                async with http.get(f"{base}readyz") as r:
                    assert r.status == 503
                    body = await r.json()
                assert body["checks"]["database"].startswith("unreachable"), body
                async with http.get(f"{base}healthz") as r:  # alive all the same
                    assert r.status == 200
                proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(proc.wait(), 15)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()


async def test_readyz_is_503_on_a_database_that_cannot_be_reached(tmp_path: Path, sqlite_url: str) -> None:
    """No server listens on port 1: the check fails fast, naming no URL or password."""
    repo = Repository(create_engine_for("postgresql+asyncpg://postgres:s3cret@127.0.0.1:1/nowhere"))
    wl = load_watchlists(REPO / "watchlists", env={})
    app = make_app(WebState(repo, lambda: wl, Settings(), _now()))
    runner, url = await start(app, "127.0.0.1:0")
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{url}readyz") as r:
            assert r.status == 503
            text = await r.text()
        assert "unreachable" in text and "s3cret" not in text, text
    finally:
        await runner.cleanup()
        await repo.close()


async def test_a_busy_port_is_a_one_line_error_and_a_bad_bind_is_refused(sqlite_url: str) -> None:
    repo = await Repository.open(sqlite_url)
    try:
        wl = load_watchlists(REPO / "watchlists", env={})
        first, url = await start(make_app(WebState(repo, lambda: wl, Settings(), _now())), "127.0.0.1:0")
        try:
            port = url.rsplit(":", 1)[1].strip("/")
            with pytest.raises(BindError, match=rf"cannot serve the desk page on 127.0.0.1:{port}: .*CLAIMWATCH_HTTP"):
                await start(make_app(WebState(repo, lambda: wl, Settings(), _now())), f"127.0.0.1:{port}")
        finally:
            await first.cleanup()
    finally:
        await repo.close()
    for bad in ("8080", "localhost:", "host:port", "127.0.0.1:70000"):
        with pytest.raises(BindError, match="is not host:port"):
            parse_bind(bad)
    assert parse_bind("[::1]:8081") == ("::1", 8081)


def _now() -> datetime:
    return datetime.now(UTC)
