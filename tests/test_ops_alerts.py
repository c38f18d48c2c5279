"""Alerts about claimwatch itself: incidents open once and recover once, their notices go through
the outbox to the ops channel, and never carry a secret. Decisions with fixed times; storage on
SQLite and PostgreSQL; the daemon in process and as a real process, with a local failing feed and
a real receiver.
"""
from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from monitor import ops
from monitor.daemon import utcnow
from storage.incidents import ChannelHealth, NoticeText, SourceHealth, TargetHealth
from storage.models import Source
from storage.records import Target
from storage.repository import Repository
from tests.newsroom import seed_stories
from tests.outlet import Outlet
from tests.receivers import JsonReceiver
from tests.test_daemon import (
    daemon_for,
    outlet_with_stories,
    watchlist_dir,
    write_sources,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
OPS = "ops:\n  targets: ['${OPS_URL}']\n  source_failing_after: 30m\n  channel_failing_after: 1h\n"


def at(**delta: float) -> datetime:
    return T0 + timedelta(**delta)


# --- decisions (pure) -----------------------------------------------------------------------


def test_a_failing_source_is_an_incident_only_past_its_threshold_and_recovers_when_it_polls_again() -> None:
    failing = SourceHealth("Wire", True, "HTTP 500", "http", at(hours=-2), at(days=-1))
    assert ops.source_verdicts([failing], at(hours=-1), 6 * 3600) == []
    [v] = ops.source_verdicts([failing], at(hours=4), 6 * 3600)
    assert (v.kind, v.subject, v.failing, v.text.severity) == ("source_failing", "Wire", True, "warning")
    assert "failing for 6h" in v.text.body and "HTTP 500" in v.text.body
    never = SourceHealth("New", True, "timeout", "timeout", None, at(hours=-7))
    [v] = ops.source_verdicts([never], T0, 6 * 3600)
    assert v.failing and "no poll has ever succeeded" in v.text.body
    [v] = ops.source_verdicts([SourceHealth("Wire", True, None, None, T0, at(days=-1))], T0, 6 * 3600)
    assert not v.failing and v.text.severity == "success"


def test_deliveries_failed_for_good_are_an_incident_until_an_alert_reaches_the_target_again() -> None:
    t = TargetHealth("desk", "k0", "json://127.0.0.1/hook", at(minutes=5), "http 503", 2, at(minutes=1))
    [v] = ops.target_verdicts([t])
    assert v.failing and v.subject == "desk via json://127.0.0.1/hook" and v.text.severity == "failure"
    [v] = ops.target_verdicts([TargetHealth("desk", "k0", "json://127.0.0.1/hook", at(minutes=5), "x", 2,
                                            at(minutes=6))])
    assert not v.failing


def test_a_channel_whose_every_attempt_failed_for_an_hour_is_an_incident() -> None:
    recent = ChannelHealth("desk", at(hours=-3), at(minutes=-59), False, ("json://h",))
    assert ops.channel_verdicts([recent], T0, 3600) == []
    long = ChannelHealth("desk", None, at(minutes=-61), False, ("json://h",))
    [v] = ops.channel_verdicts([long], T0, 3600)
    assert v.failing and "json://h" in v.text.body
    [v] = ops.channel_verdicts([ChannelHealth("desk", T0, None, True, ())], T0, 3600)
    assert not v.failing


def test_notices_never_carry_a_query_value_credentials_or_a_notification_url() -> None:
    text = ops.safe("GET https://bob:hunter2@wire.example/rss?key=SECRET123 failed; "
                    "tried slack://T000/B000/XXXXSECRET")
    assert "SECRET" not in text and "hunter2" not in text and "bob" not in text
    assert "https://***@wire.example/rss?key=***" in text and "slack://…" in text


# --- incidents in storage ----------------------------------------------------------------------

TARGETS = (Target("ops", "k0", "json://127.0.0.1/ops"), Target("ops", "k1", "mailto://ops@…"))
WARN = NoticeText("Source failing: Wire", "it fails", "warning")
OK = NoticeText("Source recovered: Wire", "it works", "success")


async def test_an_incident_opens_once_and_closes_once_each_with_one_notice_per_ops_target(repo: Repository) -> None:
    assert await repo.open_incident("source_failing", "Wire", WARN, TARGETS, T0)
    assert not await repo.open_incident("source_failing", "Wire", WARN, TARGETS, at(minutes=1))
    assert await repo.lease_deliveries(at(minutes=2), 10, 60) == [], "notices are not alerts"
    opened = await repo.lease_notices(at(minutes=2), 10, 86400)
    assert [(n.target_key, n.event, n.title) for n in opened] == [("k0", "opened", WARN.title), ("k1", "opened", WARN.title)]
    assert await repo.lease_notices(at(minutes=2), 10, 60) == [], "leased"

    assert await repo.close_incident("source_failing", "Wire", OK, TARGETS, at(hours=1))
    assert not await repo.close_incident("source_failing", "Wire", OK, TARGETS, at(hours=2))
    assert [n.event for n in await repo.lease_notices(at(hours=1), 10, 60)] == ["recovered", "recovered"]
    [incident] = await repo.incidents()
    assert (incident.opened_at, incident.closed_at) == (T0, at(hours=1))
    # the same trouble later is a new incident
    assert await repo.open_incident("source_failing", "Wire", WARN, TARGETS, at(hours=3))
    assert len(await repo.incidents(open_only=True)) == 1 and len(await repo.incidents()) == 2
    counts = await repo.delivery_counts()
    assert counts["pending"] == 6, counts


async def test_two_replicas_checking_at_once_open_one_incident(db_url: str) -> None:
    a, b = await Repository.open(db_url), await Repository.open(db_url)
    try:
        results = await asyncio.gather(*(r.open_incident("source_failing", "Wire", WARN, TARGETS, T0)
                                         for r in (a, b, a, b)))
        assert sorted(results) == [False, False, False, True]
        assert len(await a.incidents()) == 1 and len(await a.lease_notices(T0, 10, 60)) == 2
    finally:
        await a.close()
        await b.close()


# --- the daemon ---------------------------------------------------------------------------------


@pytest.fixture
def ops_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[JsonReceiver], dict[str, str]]:
    def point(receiver: JsonReceiver) -> dict[str, str]:
        monkeypatch.delenv("DESK_EMAIL_URL", raising=False)
        monkeypatch.delenv("SLACK_DESK_URL", raising=False)
        monkeypatch.setenv("OPS_URL", receiver.url)
        return dict(os.environ)

    return point


async def test_a_source_failing_past_the_threshold_raises_one_ops_alert_and_its_recovery_one_more(
    tmp_path: Path, repo: Repository, ops_env: Callable[[JsonReceiver], dict[str, str]]
) -> None:
    async with Outlet() as wire, JsonReceiver() as opsr:
        outlet_with_stories(wire, seed_stories(), fail_with=[500] * 50)
        directory = watchlist_dir(tmp_path, [("Wire", "feed", wire.url("/feed.xml"))])
        write_sources(directory, [("Wire", "feed", wire.url("/feed.xml"))], extra=OPS)
        async with daemon_for(directory, repo, ops_env(opsr)) as daemon:
            [result] = await daemon.poll(everything=True)
            assert result.error is not None
            assert await ops.check(repo, daemon.watchlist, utcnow() + timedelta(minutes=29)) == []
            later = utcnow() + timedelta(minutes=31)
            assert await ops.check(repo, daemon.watchlist, later) == ["opened: Source failing: Wire"]
            await daemon.poll(everything=True)  # still failing: no repeat
            assert await ops.check(repo, daemon.watchlist, later + timedelta(hours=5)) == []
            await daemon.deliver_all(everything=True)
            [opened] = opsr.received
            assert opened["title"] == "Source failing: Wire" and opened["type"] == "warning"
            assert "500" in opened["message"]

            wire.resources["/feed.xml"].fail_with.clear()
            [result] = await daemon.poll(everything=True)
            assert result.error is None, result
            await daemon.check_ops()
            await daemon.check_ops()
            await daemon.deliver_all(everything=True)
            assert [m["title"] for m in opsr.received] == ["Source failing: Wire", "Source recovered: Wire"]
            assert opsr.received[1]["type"] == "success"
            await daemon.deliver_all(everything=True)
            assert len(opsr.received) == 2, "nothing twice"
            assert await repo.delivery_counts() == {"pending": 0, "sent": 2, "failed": 0}


async def test_a_rejected_watchlist_reload_raises_one_ops_alert_without_secrets_and_the_next_good_load_recovers_it(
    tmp_path: Path, repo: Repository, ops_env: Callable[[JsonReceiver], dict[str, str]]
) -> None:
    async with Outlet() as wire, JsonReceiver() as opsr:
        outlet_with_stories(wire, [])
        good = [("Wire", "feed", wire.url("/feed.xml"))]
        directory = watchlist_dir(tmp_path, good)
        write_sources(directory, good, extra=OPS)
        async with daemon_for(directory, repo, ops_env(opsr)) as daemon:
            bad = [*good, ("Leaky", "feed", "ftp://wire.example/rss?token=SECRET123")]
            write_sources(directory, bad, extra=OPS)
            assert not await daemon.reload_if_changed()
            write_sources(directory, bad, extra=OPS + "  evry: 5m\n")
            assert not await daemon.reload_if_changed()  # still broken, differently: no repeat
            await daemon.deliver_all(everything=True)
            [rejected] = opsr.received
            assert rejected["title"] == "Watchlist change rejected"
            assert "sources.yaml" in rejected["message"] and "SECRET123" not in rejected["message"]

            write_sources(directory, good, extra=OPS)
            assert await daemon.reload_if_changed()
            await daemon.deliver_all(everything=True)
            assert [m["title"] for m in opsr.received] == ["Watchlist change rejected", "Watchlist accepted again"]


async def test_alert_deliveries_failing_for_good_and_a_channel_failing_for_an_hour_each_raise_one_ops_alert(
    tmp_path: Path, repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alerts.deliver import DeliverySettings, deliver_due, target_key
    from matcher.match import Finding, Stance
    from monitor.watchlist import load_watchlists
    from storage.records import ArticleRecord, ClaimRouting, SourceSpec

    async with JsonReceiver() as desk, JsonReceiver() as opsr:
        directory = watchlist_dir(tmp_path, [("Wire", "feed", "https://wire.example/rss")])
        write_sources(directory, [("Wire", "feed", "https://wire.example/rss")], extra=OPS)
        monkeypatch.setenv("OPS_URL", opsr.url)
        wl = load_watchlists(directory)
        await repo.sync_sources([SourceSpec("Wire", "feed", "https://wire.example/rss", 300)], T0)
        [source] = await repo.source_states()
        repo.finish_poll(source.id, now=T0, next_due_at=at(hours=1), etag=None, last_modified=None,
                         body_hash=None, error=None, error_kind=None)
        await repo.flush_polls()
        claims = {"c": ClaimRouting("Acme will merge with Globex", (Target("desk", target_key(desk.url), "json://desk"),))}
        await repo.store_article(ArticleRecord(source.id, "https://n.example/1", "h1", "T", "b", "News", T0, T0),
                                 [Finding(claim_id="c", stance=Stance.CONFIRMS, party="Acme", party_kind="entity",
                                          quote="Acme said so.", cue="said", sentence=1)], claims, T0)
        desk.down()
        settings = DeliverySettings(timeout_seconds=5, max_attempts=3, backoff_base_seconds=1800,
                                    backoff_max_seconds=1800, jitter_fraction=0)
        for minutes in (0, 30, 61):
            await deliver_due(repo, {"desk": (desk.url,)}, settings, now=lambda m=minutes: at(minutes=m),
                              due_by=datetime(9999, 1, 1, tzinfo=UTC))
        [d] = await repo.deliveries()
        assert d.status == "failed"
        changed = await ops.check(repo, wl, at(minutes=62))
        assert sorted(changed) == ["opened: Alert delivery failed for good: channel 'desk' via json://desk",
                                   "opened: Channel failing: desk"], changed
        assert await ops.check(repo, wl, at(minutes=70)) == []
        from alerts.notices import deliver_notices
        await deliver_notices(repo, wl.channels["ops"], settings, now=lambda: at(minutes=70))
        assert sorted(m["title"] for m in opsr.received) == [
            "Alert delivery failed for good: channel 'desk' via json://desk", "Channel failing: desk"]
        assert all(m["type"] == "failure" for m in opsr.received)


async def test_the_daemon_process_tells_ops_once_when_a_source_fails_past_the_threshold_and_once_when_it_recovers(
    tmp_path: Path, sqlite_url: str
) -> None:
    import signal

    async with Outlet() as wire, JsonReceiver() as opsr:
        outlet_with_stories(wire, seed_stories()[:1], fail_with=[503] * 1000)
        directory = watchlist_dir(tmp_path, [("Wire", "feed", wire.url("/feed.xml"))])
        write_sources(directory, [("Wire", "feed", wire.url("/feed.xml"))], extra=OPS)
        env = {**os.environ, "OPS_URL": opsr.url, "CLAIMWATCH_TICK_SECONDS": "0.5", "CLAIMWATCH_LOG_LEVEL": "INFO"}
        env.pop("SLACK_DESK_URL", None)
        env.pop("DESK_EMAIL_URL", None)
        log_path = tmp_path / "daemon.log"
        repo = await Repository.open(sqlite_url)

        async def until(check: Callable[[], object], seconds: float) -> None:
            for _ in range(int(seconds * 5)):
                result = check()
                if await result if asyncio.iscoroutine(result) else result:
                    return
                await asyncio.sleep(0.2)
            raise AssertionError(f"not within {seconds}s: {opsr.received}\n{log_path.read_text()}")

        async def failing() -> bool:
            return any(s.last_error for s in await repo.source_states())

        async def move(**values: object) -> None:
            async with repo._sessions.begin() as s:
                await s.execute(update(Source).values(**values))

        with log_path.open("wb") as log_file:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "monitor", "run", "--watchlists", str(directory), "--db", sqlite_url,
                env=env, cwd=str(tmp_path), stdout=log_file, stderr=asyncio.subprocess.STDOUT)
            try:
                await until(failing, 20)
                await asyncio.sleep(4)  # a few checks: failing, but not for 30 minutes yet
                assert opsr.received == []
                await move(created_at=utcnow() - timedelta(hours=1))  # the source has failed for an hour
                await until(lambda: len(opsr.received) >= 1, 20)
                wire.resources["/feed.xml"].fail_with.clear()
                await move(next_due_at=utcnow())  # its error backoff is over
                await until(lambda: len(opsr.received) >= 2, 20)
                await asyncio.sleep(4)  # more checks: nothing repeated
                proc.send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(proc.wait(), 15) == 0
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
                await repo.close()
        assert [m["title"] for m in opsr.received] == ["Source failing: Wire", "Source recovered: Wire"], \
            log_path.read_text()
        assert "503" in opsr.received[0]["message"]
