"""Configuration that cannot misroute, and secrets that never leave (issue 8).

A delivery is addressed by its target's key (a hash of the URL), not its position in the
channel's list; a removed target's pending deliveries fail with the reason; an empty or
source-less reload is refused. Notification URLs are shown by their masked label everywhere,
source URLs without credentials or query values. Real local receivers and outlets throughout.
"""
from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from alerts.deliver import DeliverySettings, privacy_label, target_key
from matcher.match import Finding, Stance
from monitor import cli
from monitor.daemon import Daemon
from monitor.fetch import Fetcher, FetchSettings, make_session
from monitor.redact import redact, safe_url
from monitor.settings import Settings
from monitor.watchlist import load_watchlists, reload_problems
from storage.records import ArticleRecord
from storage.repository import Repository
from tests.outlet import Outlet
from tests.receivers import JsonReceiver

FAST = DeliverySettings(timeout_seconds=5.0, max_attempts=5)

CLAIMS = """\
entities:
  - name: Acme
claims:
  - id: merger
    statement: Acme will merge with Globex
    notify: [desk]
"""


def bump(path: Path) -> None:
    """Move the file's mtime on, so a reload always sees the edit."""
    later = path.stat().st_mtime + 2
    os.utime(path, (later, later))


def write(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    existed = path.exists()
    path.write_text(body)
    if existed:
        bump(path)
    return path


def sources(feed: str = "https://wire.example/rss", *, local: bool = False) -> str:
    extra = "    allow_private: true\n" if local else ""
    return f"sources:\n  - name: Wire\n    feed: {feed}\n    every: 5m\n{extra}"


def channels(*urls: str, ops: str | None = None) -> str:
    body = "channels:\n  desk: [" + ", ".join(f'"{u}"' for u in urls) + "]\n"
    return body + (f'ops: ["{ops}"]\n' if ops else "")


def watchlist(tmp_path: Path, *urls: str, ops: str | None = None) -> Path:
    directory = tmp_path / "watchlists"
    directory.mkdir()
    write(directory, "sources.yaml", sources())
    write(directory, "desk.yaml", CLAIMS + channels(*urls, ops=ops))
    return directory


@asynccontextmanager
async def daemon_for(directory: Path, repo: Repository) -> AsyncIterator[Daemon]:
    settings = Settings(db_url="unused://", watchlists=directory, delivery=FAST,
                        fetch=FetchSettings(timeout_total=5.0, connect_timeout=2.0))
    async with make_session(settings.fetch) as session:
        daemon = Daemon(settings, load_watchlists(directory), repo, Fetcher(session, settings.fetch))
        await daemon.sync_sources()
        await daemon.reconcile_targets()
        yield daemon


async def alert(daemon: Daemon, n: int, party: str) -> None:
    """Store an article whose finding alerts `party`'s new stance, with the daemon's routing."""
    [source] = [s for s in await daemon.repo.source_states() if s.enabled]
    now = datetime.now(UTC)
    stored = await daemon.repo.store_article(
        ArticleRecord(source.id, f"https://news.example/{n}", f"hash-{n}", f"Story {n}", "body", "News", now, now),
        [Finding(claim_id="merger", stance=Stance.CONFIRMS, party=party, party_kind="entity",
                 quote=f"{party} said so.", cue="said", sentence=1)],
        daemon._loaded.routing, now)
    assert stored is not None and len(stored[1]) == 1


def parties(receiver: JsonReceiver) -> list[str]:
    return sorted(m["title"].split(" confirms")[0] for m in receiver.received)


@pytest.fixture
async def receivers() -> AsyncIterator[tuple[JsonReceiver, JsonReceiver]]:
    async with JsonReceiver("/a") as a, JsonReceiver("/b") as b:
        yield a, b


# --- configuration that cannot misroute -----------------------------------------------------------


async def test_reordering_a_channels_targets_delivers_each_pending_alert_to_its_own_target(
    tmp_path: Path, repo: Repository, receivers: tuple[JsonReceiver, JsonReceiver]
) -> None:
    a, b = receivers
    directory = watchlist(tmp_path, a.url, b.url)
    async with daemon_for(directory, repo) as daemon:
        a.down()  # A's deliveries stay pending; B's go out
        await alert(daemon, 1, "Acme")
        await alert(daemon, 2, "Globex")
        report = await daemon.deliver(everything=True)
        assert report.sent == 2 and report.retrying == 1, report
        assert parties(b) == ["Acme", "Globex"] and parties(a) == []

        write(directory, "desk.yaml", CLAIMS + channels(b.url, a.url))  # the desk swaps the list
        assert await daemon.reload_if_changed()
        a.up()
        report = await daemon.deliver(everything=True)

    assert report.sent == 2 and report.failed == 0, report
    assert parties(a) == ["Acme", "Globex"], "A gets what was pending for A"
    assert parties(b) == ["Acme", "Globex"], "B gets nothing twice"
    deliveries = await repo.deliveries()
    assert {d.status for d in deliveries} == {"sent"}
    assert {d.target_key for d in deliveries} == {target_key(a.url), target_key(b.url)}


async def test_a_removed_targets_pending_deliveries_are_failed_with_the_reason(
    tmp_path: Path, repo: Repository, receivers: tuple[JsonReceiver, JsonReceiver]
) -> None:
    a, b = receivers
    directory = watchlist(tmp_path, a.url, b.url)
    async with daemon_for(directory, repo) as daemon:
        a.down()
        await alert(daemon, 1, "Acme")
        await daemon.deliver(everything=True)
        write(directory, "desk.yaml", CLAIMS + channels(b.url))  # A leaves the channel
        assert await daemon.reload_if_changed()
        a.up()
        await daemon.deliver(everything=True)

    assert a.received == [] and parties(b) == ["Acme"]
    by_key = {d.target_key: d for d in await repo.deliveries()}
    gone = by_key[target_key(a.url)]
    assert gone.status == "failed" and gone.last_error == "target removed from channel 'desk'"
    assert by_key[target_key(b.url)].status == "sent"


@pytest.mark.parametrize("emptied", [("sources.yaml",), ("sources.yaml", "desk.yaml")],
                         ids=["the-only-sources-file-0-bytes", "every-file-emptied"])
async def test_an_empty_watchlist_reload_is_rejected_and_the_last_good_one_kept(
    tmp_path: Path, repo: Repository, caplog: pytest.LogCaptureFixture, emptied: tuple[str, ...]
) -> None:
    directory = watchlist(tmp_path, "json://127.0.0.1:9/hook", ops="json://127.0.0.1:9/ops")
    async with daemon_for(directory, repo) as daemon:
        for name in emptied:
            write(directory, name, "")
        with caplog.at_level(logging.ERROR, logger="claimwatch.daemon"):
            assert not await daemon.reload_if_changed()
        assert [s.name for s in daemon.watchlist.sources] == ["Wire"]
        assert not await daemon.reload_if_changed(), "reported once, not every tick"

    errors = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert "REJECTED" in errors and f"{directory / 'sources.yaml'}:1: the file is empty" in errors
    assert "no sources: every source would stop being polled" in errors
    assert [s.name for s in await repo.source_states() if s.enabled] == ["Wire"]
    assert [i.kind for i in await repo.incidents(open_only=True)] == ["watchlist_rejected"]


def test_an_empty_watchlist_still_loads_at_start_and_only_a_reload_refuses_it(tmp_path: Path) -> None:
    directory = tmp_path / "watchlists"
    directory.mkdir()
    (directory / "empty.yaml").write_bytes(b"")
    wl = load_watchlists(directory)  # a first load may start with nothing (the daemon warns)
    assert wl.sources == ()
    assert [p.message.split(":")[0] for p in reload_problems(wl, directory)] == [
        "the file is empty (a save in progress?); delete it to drop it from the watchlist", "no sources"]
    write(directory, "empty.yaml", "# nothing here yet\n" + sources())
    assert reload_problems(load_watchlists(directory), directory) == []


# --- secrets never leave --------------------------------------------------------------------------

SECRETS = ("PASSWORDSECRET", "PATHTOKENSECRET", "HEADERSECRET", "PARAMSECRET")


def ours(caplog: pytest.LogCaptureFixture) -> str:
    """Every log record of this process at any level, but the local test servers' access logs
    (they are the receiving end, not claimwatch)."""
    records = [r for r in caplog.records if not r.name.startswith("aiohttp.access")]
    return "\n".join(f"{r.name} {r.levelname} {r.getMessage()}" for r in records)


async def table_text(repo: Repository) -> str:
    """Every value of every row of every table, as text."""
    out = []
    async with repo.engine.connect() as c:
        names = await c.run_sync(lambda sync: inspect(sync).get_table_names())
        for name in names:
            for row in (await c.execute(text(f'SELECT * FROM "{name}"'))).all():
                out.append(f"{name}: " + " | ".join(map(str, row)))
    return "\n".join(out)


async def test_a_json_targets_secrets_never_appear_in_the_log_or_any_table(
    tmp_path: Path, repo: Repository, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with JsonReceiver("/hook/PATHTOKENSECRET") as desk, JsonReceiver("/ops/PATHTOKENSECRET") as opsr:
        def secret(r: JsonReceiver) -> str:
            return (r.url.replace("json://", "json://hookuser:PASSWORDSECRET@")
                    + "?+X-Token=HEADERSECRET&-apikey=PARAMSECRET")

        directory = watchlist(tmp_path, secret(desk), ops=secret(opsr))
        async with daemon_for(directory, repo) as daemon:
            desk.down()
            await alert(daemon, 1, "Acme")
            assert (await daemon.deliver(everything=True)).retrying == 1  # an error is recorded
            desk.up()
            write(directory, "desk.yaml", "claims: [")  # a rejected reload: an ops notice
            assert not await daemon.reload_if_changed()
            report = await daemon.deliver_all(everything=True)
            assert report.sent == 2, report
        assert len(desk.received) == 1 and len(opsr.received) == 1
        assert desk.headers[0].get("X-Token") == "HEADERSECRET", "the URL itself was used"

    label = privacy_label(secret(desk))
    assert label.startswith("json://hookuser:****@127.0.0.1:") and "X-Token=****" in label
    logged = ours(caplog)
    assert label in logged, "the log names the target by its masked label"
    stored = await table_text(repo)
    assert label in stored
    for secret_word in SECRETS:
        assert secret_word not in logged, secret_word
        assert secret_word not in stored, secret_word


async def test_a_keyed_feed_url_never_appears_in_the_log_status_or_the_stored_error(
    tmp_path: Path, db_url: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.WARNING, logger="aiosqlite")  # as `claimwatch` sets it (monitor/cli.py)
    async with Outlet() as outlet:  # nothing served: the feed answers 404
        feed = outlet.url("/feed.xml").replace("http://", "http://reader:FEEDPASS@") + "?apikey=FEEDSECRET&page=1"
        directory = tmp_path / "watchlists"
        directory.mkdir()
        write(directory, "sources.yaml", sources(feed, local=True))
        repo = await Repository.open(db_url)
        try:
            async with daemon_for(directory, repo) as daemon:
                [result] = await daemon.poll(everything=True)
            assert result.error is not None
            [state] = await repo.source_states()
        finally:
            await repo.close()
        assert outlet.statuses("/feed.xml") == [404], "the keyed URL was fetched"

    assert await cli.status(Settings(db_url=db_url, watchlists=directory)) == 1
    shown = capsys.readouterr().out
    masked = safe_url(feed)
    assert masked.endswith("/feed.xml?apikey=***&page=***") and "***@127.0.0.1" in masked
    assert f"Wire <{masked}>: FAILING x1 [http] HTTP 404" in shown
    assert state.last_error is not None and masked in state.last_error
    logged = ours(caplog)
    for text_ in (logged, shown, state.last_error):
        assert "FEEDSECRET" not in text_ and "FEEDPASS" not in text_


def test_safe_url_keeps_what_names_the_resource_and_masks_every_credential_and_query_value() -> None:
    assert safe_url("https://u:p@wire.example/rss?key=K1&token=T1&page=2#frag") == (
        "https://***@wire.example/rss?key=***&token=***&page=***#***")
    assert safe_url("https://wire.example/rss") == "https://wire.example/rss"
    assert safe_url("https://wire.example/rss?SECRETALONE") == "https://wire.example/rss?***"
    assert redact("HTTP 403 from https://wire.example/rss?api_key=K1; retrying, 'json://a:b@c/d'.") == (
        "HTTP 403 from https://wire.example/rss?api_key=***; retrying, 'json://…'.")


@pytest.mark.parametrize("url", [
    "json://u:PASSWORDSECRET@h:1/hook/PATHTOKENSECRET?+X-Token=HEADERSECRET&-apikey=PARAMSECRET",
    "xmls://h/PATHTOKENSECRET?+Authorization=HEADERSECRET",
    "form://h/x/PATHTOKENSECRET?-sig=PARAMSECRET&:field=HEADERSECRET",
])
def test_the_privacy_label_of_a_webhook_masks_its_path_headers_and_parameters(url: str) -> None:
    label = privacy_label(url)
    assert label.split("://")[0] == url.split("://")[0]
    for secret_word in SECRETS:
        assert secret_word not in label, label


def test_a_target_key_is_stable_short_and_never_the_url() -> None:
    url = "json://u:PASSWORDSECRET@h:1/hook"
    assert target_key(url) == target_key("  JSON://u:PASSWORDSECRET@h:1/hook ")
    assert target_key(url) != target_key("json://u:PASSWORDSECRET@h:1/hook2")
    assert len(target_key(url)) == 20 and "SECRET" not in target_key(url)


async def test_a_delivery_queued_before_target_keys_is_adopted_where_its_position_still_holds_its_target(
    db_url: str,
) -> None:
    """Upgrading (migration 0006): the old rows know a position and apprise's label only."""
    import sqlalchemy as sa
    from alembic import command

    from alerts.deliver import apprise_label, configured_targets
    from storage.db import alembic_config, create_engine_for

    a, b = "json://127.0.0.1:9/hook/ATOKENSECRET", "json://127.0.0.1:9/hook/BTOKENSECRET"
    now = datetime.now(UTC)
    engine = create_engine_for(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0005"))
            for index, url, status in ((0, a, "pending"), (0, a, "sent"), (0, b, "pending")):
                # the list was [B, A] when the last row was queued; it is [A, B] now
                await conn.execute(sa.text(
                    "INSERT INTO deliveries (channel, target_index, target_label, status, attempts, "
                    "next_attempt_at) VALUES ('desk', :i, :label, :status, 0, :at)"),
                    {"i": index, "label": apprise_label(url), "status": status, "at": now})
    finally:
        await engine.dispose()
    repo = await Repository.open(db_url)  # migrates to head
    try:
        assert await repo.reconcile_targets(configured_targets({"desk": (a, b)}), ["desk"], now) == (2, 1)
        first, sent, moved = await repo.deliveries()
        assert (first.target_key, first.status) == (target_key(a), "pending")
        assert (sent.target_key, sent.status) == (target_key(a), "sent")
        assert moved.status == "failed" and moved.target_key is None, "never sent to A in B's place"
        assert moved.last_error is not None and moved.last_error.startswith("target removed from channel 'desk'")
        assert "TOKENSECRET" not in await table_text(repo), "the old labels are masked too"
        assert await repo.reconcile_targets(configured_targets({"desk": (a, b)}), ["desk"], now) == (0, 0)
    finally:
        await repo.close()


def test_the_process_log_masks_a_web_url_that_a_log_line_or_traceback_still_carries() -> None:
    from monitor.redact import RedactingFormatter

    try:
        raise ValueError("cannot fetch https://u:FEEDPASS@wire.example/rss?apikey=FEEDSECRET")
    except ValueError:
        record = logging.LogRecord("claimwatch.x", logging.WARNING, __file__, 1,
                                   "source %s via %s", ("https://wire.example/rss?token=FEEDSECRET",
                                                        "json://u:****@h/****"), None)
        import sys
        record.exc_info = sys.exc_info()
    line = RedactingFormatter("%(message)s").format(record)
    assert "FEEDSECRET" not in line and "FEEDPASS" not in line
    assert "https://wire.example/rss?token=***" in line and "json://u:****@h/****" in line
