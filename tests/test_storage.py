"""Storage behaviour, run on SQLite and on PostgreSQL (see the `db_url` fixture)."""
from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from matcher.assess import Assessment
from matcher.match import Finding, Stance
from storage import alerting
from storage.db import alembic_config, create_engine_for, open_engine
from storage.models import Base, PartyStance, Source
from storage.records import ArticleRecord, ClaimRouting, SeenLink, SourceSpec, Target
from storage.repository import Repository

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LEASE = 60

CLAIMS = {
    "merger": ClaimRouting(
        statement="Acme will merge with Globex",
        targets=(Target("slack", "k-slack", "slack://T***/B***"), Target("email", "k-email", "mailto://desk@…")),
    )
}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def finding(party: str = "Acme", stance: Stance | str = Stance.CONFIRMS,
            claim: str = "merger") -> Finding:
    return Finding(claim_id=claim, stance=stance, party=party, party_kind="entity",  # type: ignore[arg-type]
                   quote=f"{party} said so.", cue="said", sentence=1)


def assessment(stance: Stance | str = Stance.CONFIRMS, claim: str = "merger",
               findings: tuple[Finding, ...] = ()) -> Assessment:
    """The article-level decision on `claim`, held by Acme (a party-less one when unrelated)."""
    if stance == Stance.UNRELATED:
        return Assessment(claim, Stance.UNRELATED, "", "unknown", "", "", 0.9, findings)
    return Assessment(claim, stance, "Acme", "entity", "Acme said so.", "said", 0.8,  # type: ignore[arg-type]
                      findings)


async def insert(repo: Repository, rec: ArticleRecord) -> int | None:
    """Store an article that says nothing about any claim; its id, or None if already known."""
    stored = await repo.store_article(rec, [], {}, rec.fetched_at)
    return stored[0] if stored else None


async def add_source(repo: Repository, name: str = "wire") -> int:
    await repo.sync_sources([SourceSpec(name, "feed", f"https://{name}.example/rss", 300)], T0)
    return next(s.id for s in await repo.source_states() if s.name == name)


async def add_article(repo: Repository, n: int = 1, source_id: int | None = None) -> int:
    sid = source_id if source_id is not None else await add_source(repo)
    aid = await insert(repo, ArticleRecord(
        source_id=sid, url=f"https://news.example/{n}", content_hash=f"h{n}", title=f"T{n}",
        text="body", outlet="News", published_at=T0, fetched_at=T0,
    ))
    assert aid is not None
    return aid


# -- schedule -----------------------------------------------------------------------------

async def test_new_source_is_due_at_once(repo: Repository) -> None:
    await add_source(repo)
    [leased] = await repo.lease_due_sources(T0, 10, LEASE)
    assert leased.name == "wire" and leased.next_due_at == T0 and leased.next_due_at.tzinfo


async def test_leased_source_is_not_leased_again_until_lease_expires(repo: Repository) -> None:
    await add_source(repo)
    assert len(await repo.lease_due_sources(T0, 10, LEASE)) == 1
    assert await repo.lease_due_sources(at(LEASE - 1), 10, LEASE) == []
    assert len(await repo.lease_due_sources(at(LEASE + 1), 10, LEASE)) == 1


async def test_finished_poll_is_due_at_its_next_time(repo: Repository) -> None:
    sid = await add_source(repo)
    await repo.lease_due_sources(T0, 10, LEASE)
    repo.finish_poll(sid, now=at(1), next_due_at=at(300), etag='"e1"',
                     last_modified=None, body_hash="b1", error=None, error_kind=None)
    await repo.flush_polls()
    assert await repo.lease_due_sources(at(299), 10, LEASE) == []
    [s] = await repo.lease_due_sources(at(300), 10, LEASE)
    assert (s.etag, s.body_hash, s.last_success_at) == ('"e1"', "b1", at(1))


async def test_disabled_source_is_not_polled_and_relisting_enables_it(repo: Repository) -> None:
    await add_source(repo, "gone")
    await repo.sync_sources([SourceSpec("kept", "page", "https://kept.example/", 60)], T0)
    states = {s.name: s for s in await repo.source_states()}
    assert not states["gone"].enabled and states["kept"].enabled
    assert [s.name for s in await repo.lease_due_sources(T0, 10, LEASE)] == ["kept"]
    await repo.sync_sources([SourceSpec("gone", "feed", "https://gone.example/rss", 300)], at(1))
    assert [s.name for s in await repo.lease_due_sources(at(1), 10, LEASE)] == ["gone"]


async def test_changed_url_resets_conditional_get_state(repo: Repository) -> None:
    sid = await add_source(repo)
    repo.finish_poll(sid, now=T0, next_due_at=at(300), etag="e", last_modified="lm",
                     body_hash="b", error=None, error_kind=None)
    await repo.flush_polls()
    await repo.sync_sources([SourceSpec("wire", "feed", "https://wire.example/rss", 600)], at(1))
    [s] = await repo.source_states()
    assert (s.etag, s.every_seconds) == ("e", 600)  # same URL: fetch state kept
    await repo.sync_sources([SourceSpec("wire", "feed", "https://new.example/rss", 600)], at(2))
    [s] = await repo.source_states()
    assert (s.url, s.etag, s.last_modified, s.body_hash) == ("https://new.example/rss",) + (None,) * 3
    assert s.next_due_at == at(2)


async def test_two_concurrent_leases_never_return_the_same_source(db_url: str) -> None:
    a, b = await Repository.open(db_url), await Repository.open(db_url)
    try:
        await a.sync_sources(
            [SourceSpec(f"s{i:02}", "feed", f"https://s{i}.example/", 60) for i in range(30)], T0
        )
        for _ in range(3):
            got_a, got_b = await asyncio.gather(
                a.lease_due_sources(T0, 20, LEASE), b.lease_due_sources(T0, 20, LEASE)
            )
            ids_a, ids_b = {s.id for s in got_a}, {s.id for s in got_b}
            assert not ids_a & ids_b
            assert len(ids_a | ids_b) == 30
            for s in got_a + got_b:  # release so the next round races again
                a.finish_poll(s.id, now=T0, next_due_at=T0, etag=None, last_modified=None,
                              body_hash=None, error=None, error_kind=None)
                await a.flush_polls()
    finally:
        await a.close()
        await b.close()


async def test_fetch_errors_are_counted_and_cleared_by_a_success(repo: Repository) -> None:
    sid = await add_source(repo)
    repo.finish_poll(sid, now=T0, next_due_at=at(10), etag="e", last_modified=None,
                     body_hash=None, error=None, error_kind=None)
    await repo.flush_polls()
    for i in range(2):
        repo.finish_poll(sid, now=at(i), next_due_at=at(10), etag="ignored",
                         last_modified=None, body_hash=None, error="HTTP 503",
                         error_kind="http")
        await repo.flush_polls()
    [s] = await repo.source_states()
    assert (s.error_count, s.last_error, s.last_error_kind, s.etag) == (2, "HTTP 503", "http", "e")
    repo.finish_poll(sid, now=at(5), next_due_at=at(10), etag=None, last_modified=None,
                     body_hash=None, error=None, error_kind=None)
    await repo.flush_polls()
    [s] = await repo.source_states()
    assert (s.error_count, s.last_error, s.last_error_kind) == (0, None, None)
    assert (s.etag, s.last_success_at, s.leased_until) == ("e", at(5), None)


def succeeded(repo: Repository, sid: int, when: float, etag: str | None = None) -> None:
    repo.finish_poll(sid, now=at(when), next_due_at=at(when + 300), etag=etag, last_modified=None,
                     body_hash=None, error=None, error_kind=None)


def failed(repo: Repository, sid: int, when: float) -> None:
    repo.finish_poll(sid, now=at(when), next_due_at=at(when + 300), etag=None, last_modified=None,
                     body_hash=None, error="HTTP 503", error_kind="http")


async def test_a_polls_outcome_is_written_shortly_without_anyone_waiting_for_it(repo: Repository) -> None:
    sid = await add_source(repo)
    await repo.lease_due_sources(T0, 10, LEASE)
    succeeded(repo, sid, 1, etag='"e1"')  # returns at once: the poll is over
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        [s] = await repo.source_states()
        if s.etag == '"e1"':
            break
        await asyncio.sleep(0.05)
    assert (s.etag, s.leased_until, s.next_due_at) == ('"e1"', None, at(301))


async def test_outcomes_written_together_apply_in_the_order_the_polls_ended(repo: Repository) -> None:
    sid = await add_source(repo)
    succeeded(repo, sid, 0, etag="e")
    failed(repo, sid, 1)
    failed(repo, sid, 2)
    await repo.flush_polls()  # one transaction for the three
    [s] = await repo.source_states()
    assert (s.error_count, s.etag, s.last_success_at, s.last_fetched_at) == (2, "e", at(0), at(2))
    failed(repo, sid, 3)
    succeeded(repo, sid, 4)
    await repo.flush_polls()
    [s] = await repo.source_states()
    assert (s.error_count, s.last_error, s.last_success_at) == (0, None, at(4))


async def test_outcomes_the_database_refused_are_written_once_it_takes_them(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = await add_source(repo)
    await repo.lease_due_sources(T0, 10, LEASE)
    real, refusals = repo._transaction, [0]

    async def refuse_once(work):  # type: ignore[no-untyped-def]
        if not refusals[0]:
            refusals[0] += 1
            raise sa.exc.OperationalError("UPDATE sources", {}, Exception("database is locked"))
        return await real(work)

    monkeypatch.setattr(repo, "_transaction", refuse_once)
    succeeded(repo, sid, 1, etag='"kept"')
    deadline = time.monotonic() + 10  # the writer backs off (1 s), then writes it
    while time.monotonic() < deadline:
        [s] = await repo.source_states()
        if s.etag == '"kept"':
            break
        await asyncio.sleep(0.1)
    assert refusals == [1] and (s.etag, s.leased_until) == ('"kept"', None)


async def test_closing_the_repository_writes_the_outcomes_still_queued(db_url: str) -> None:
    repo = await Repository.open(db_url)
    sid = await add_source(repo)
    await repo.lease_due_sources(T0, 10, LEASE)
    succeeded(repo, sid, 1, etag='"last"')
    await repo.close()
    again = await Repository.open(db_url)
    try:
        [s] = await again.source_states()
        assert (s.etag, s.leased_until) == ('"last"', None)
    finally:
        await again.close()


# -- articles -----------------------------------------------------------------------------

async def test_article_is_unique_by_canonical_url_and_by_content_hash(repo: Repository) -> None:
    sid = await add_source(repo)

    def rec(url: str, h: str) -> ArticleRecord:
        return ArticleRecord(sid, url, h, "t", "x", "o", None, T0)

    assert await insert(repo, rec("https://n.example/a", "h1")) is not None
    assert await insert(repo, rec("https://n.example/a", "h2")) is None
    assert await insert(repo, rec("https://n.example/b", "h1")) is None
    assert await repo.known_urls(["https://n.example/a", "https://n.example/b", "https://x"]) == {
        "https://n.example/a", "https://n.example/b"
    }
    assert await insert(repo, rec("https://n.example/c", "h3")) is not None  # session fine


async def test_concurrent_duplicate_articles_store_one(db_url: str) -> None:
    a, b = await Repository.open(db_url), await Repository.open(db_url)
    try:
        sid = await add_source(a)
        got = await asyncio.gather(*(
            insert(r, ArticleRecord(sid, "https://n.example/x", "same", "t", "x", "o", None, T0))
            for r in (a, b, a, b)
        ))
        assert sum(g is not None for g in got) == 1
    finally:
        await a.close()
        await b.close()


async def test_mark_seen_is_idempotent(repo: Repository) -> None:
    sid = await add_source(repo)
    await repo.mark_seen("https://n.example/about", sid, "not-article", T0)
    await repo.mark_seen("https://n.example/about", sid, "not-article", at(5))
    assert await repo.known_urls(["https://n.example/about"]) == {"https://n.example/about"}


# -- findings and alerts ------------------------------------------------------------------

async def test_first_stance_alerts_with_one_delivery_per_target(repo: Repository) -> None:
    aid = await add_article(repo)
    findings = [finding(), finding("Bystander", Stance.DISCUSSES)]
    [alert_id] = await repo.record_findings(aid, findings, CLAIMS, T0)
    assert len(await repo.evidence(aid)) == 2
    [alert] = await repo.alerts()
    assert (alert.id, alert.party, alert.stance, alert.generation) == (alert_id, "Acme", "confirms", 1)
    assert alert.statement == CLAIMS["merger"].statement
    assert await repo.delivery_counts() == {"pending": 2, "sent": 0, "failed": 0}


async def test_evidence_and_alerts_are_written_together(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    aid = await add_article(repo)
    # A stance the schema rejects, after a valid one: the valid evidence must not stay.
    with pytest.raises(IntegrityError):
        await repo.record_findings(aid, [finding(), finding("X", "bogus")], CLAIMS, T0)
    assert await repo.evidence() == [] and await repo.alerts() == []

    async def boom(*args: object) -> None:
        raise RuntimeError("crash after the alert insert")

    monkeypatch.setattr(alerting, "insert_deliveries", boom)
    with pytest.raises(RuntimeError):
        await repo.record_findings(aid, [finding()], CLAIMS, T0)
    assert await repo.evidence() == [] and await repo.alerts() == []
    assert await repo.delivery_counts() == {"pending": 0, "sent": 0, "failed": 0}
    monkeypatch.undo()
    assert len(await repo.record_findings(aid, [finding()], CLAIMS, T0)) == 1  # stance unset


async def test_same_party_and_stance_again_creates_no_alert(repo: Repository) -> None:
    a1, a2 = await add_article(repo, 1), await add_article(repo, 2, source_id=1)
    assert len(await repo.record_findings(a1, [finding()], CLAIMS, T0)) == 1
    assert await repo.record_findings(a2, [finding()], CLAIMS, at(60)) == []
    assert len(await repo.evidence()) == 2 and len(await repo.alerts()) == 1


async def test_stance_switch_creates_alert_generation_2(repo: Repository) -> None:
    a1, a2 = await add_article(repo, 1), await add_article(repo, 2, source_id=1)
    await repo.record_findings(a1, [finding()], CLAIMS, T0)
    [new] = await repo.record_findings(a2, [finding(stance=Stance.DENIES)], CLAIMS, at(60))
    alerts = await repo.alerts("merger")
    assert [(a.stance, a.generation) for a in alerts] == [("confirms", 1), ("denies", 2)]
    assert alerts[-1].id == new


async def test_unknown_claim_keeps_evidence_without_alert(repo: Repository) -> None:
    aid = await add_article(repo)
    assert await repo.record_findings(aid, [finding(claim="retired")], CLAIMS, T0) == []
    assert [e.claim_id for e in await repo.evidence()] == ["retired"]
    assert await repo.delivery_counts() == {"pending": 0, "sent": 0, "failed": 0}


async def test_racing_replicas_create_one_alert(db_url: str) -> None:
    a, b = await Repository.open(db_url), await Repository.open(db_url)
    try:
        art1, art2 = await add_article(a, 1), await add_article(a, 2, source_id=1)
        got = await asyncio.gather(
            a.record_findings(art1, [finding()], CLAIMS, T0),
            b.record_findings(art2, [finding()], CLAIMS, T0),
        )
        assert sorted(len(g) for g in got) == [0, 1]
        assert len(await a.alerts()) == 1 and len(await a.evidence()) == 2
        async with a.engine.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(PartyStance)) == 1
    finally:
        await a.close()
        await b.close()


# -- deliveries ---------------------------------------------------------------------------

async def test_delivery_carries_everything_to_render(repo: Repository) -> None:
    aid = await add_article(repo)
    await repo.record_findings(aid, [finding()], CLAIMS, T0)
    got = await repo.lease_deliveries(T0, 10, LEASE)
    assert {(d.channel, d.target_key) for d in got} == {("slack", "k-slack"), ("email", "k-email")}
    d = got[0]
    assert (d.claim_id, d.party, d.stance, d.quote, d.cue) == (
        "merger", "Acme", "confirms", "Acme said so.", "said")
    assert (d.article_url, d.article_title, d.outlet) == ("https://news.example/1", "T1", "News")
    assert (d.published_at, d.alerted_at, d.attempts) == (T0, T0, 0)
    assert d.statement == CLAIMS["merger"].statement


async def test_delivery_retries_at_given_time_and_is_never_leased_twice(db_url: str) -> None:
    a, b = await Repository.open(db_url), await Repository.open(db_url)
    try:
        aid = await add_article(a)
        for n in range(5):  # 5 parties × 2 targets = 10 deliveries
            await a.record_findings(aid, [finding(f"P{n}")], CLAIMS, T0)
        got_a, got_b = await asyncio.gather(
            a.lease_deliveries(T0, 7, 3600), b.lease_deliveries(T0, 7, 3600)
        )
        ids_a, ids_b = {d.id for d in got_a}, {d.id for d in got_b}
        assert not ids_a & ids_b and len(ids_a | ids_b) == 10
        assert await a.lease_deliveries(at(1), 10, LEASE) == []  # all still leased
        assert await b.lease_deliveries(at(3599), 10, LEASE) == []

        d = got_a[0]
        await a.record_attempt(d.id, now=at(2), ok=False, error="timeout", duration_ms=5000,
                               next_attempt_at=at(120))
        assert await a.lease_deliveries(at(119), 10, LEASE) == []
        [again] = await a.lease_deliveries(at(120), 10, LEASE)  # only the retried one
        assert again.id == d.id
        assert again.attempts == 1
    finally:
        await a.close()
        await b.close()


async def test_sent_delivery_is_never_leased_again(repo: Repository) -> None:
    aid = await add_article(repo)
    await repo.record_findings(aid, [finding()], CLAIMS, T0)
    for d in await repo.lease_deliveries(T0, 10, LEASE):
        await repo.record_attempt(d.id, now=at(1), ok=True, error=None, duration_ms=80,
                                  next_attempt_at=None)
    assert await repo.lease_deliveries(at(10_000), 10, LEASE) == []
    assert await repo.delivery_counts() == {"pending": 0, "sent": 2, "failed": 0}
    assert all(d.sent_at == at(1) for d in await repo.deliveries())


async def test_attempts_are_recorded_and_give_up_marks_failed(repo: Repository) -> None:
    aid = await add_article(repo)
    await repo.record_findings(aid, [finding()], CLAIMS, T0)
    d, *_ = await repo.lease_deliveries(T0, 1, LEASE)
    await repo.record_attempt(d.id, now=at(1), ok=False, error="502", duration_ms=30,
                              next_attempt_at=at(60))
    await repo.lease_deliveries(at(60), 1, LEASE)
    await repo.record_attempt(d.id, now=at(61), ok=False, error="502 again", duration_ms=40,
                              next_attempt_at=None)
    attempts = await repo.attempts(d.id)
    assert [(x.at, x.ok, x.error, x.duration_ms) for x in attempts] == [
        (at(1), False, "502", 30), (at(61), False, "502 again", 40)]
    [rec] = [x for x in await repo.deliveries() if x.id == d.id]
    assert (rec.status, rec.attempts, rec.last_error) == ("failed", 2, "502 again")
    assert await repo.lease_deliveries(at(10_000), 10, LEASE) != []  # only the other target


# -- schema -------------------------------------------------------------------------------

async def test_migrated_schema_matches_models(db_url: str) -> None:
    engine = await open_engine(db_url)
    try:
        async with engine.connect() as conn:
            def diff(sync: Connection) -> list[object]:
                ctx = MigrationContext.configure(sync, opts={"compare_type": True})
                return list(compare_metadata(ctx, Base.metadata))

            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()


async def test_reopening_is_a_no_op_migration(db_url: str) -> None:
    for _ in range(2):
        engine = await open_engine(db_url)
        await engine.dispose()


async def test_naive_datetimes_are_refused(repo: Repository) -> None:
    with pytest.raises(Exception, match="naive"):
        await repo.sync_sources([SourceSpec("x", "feed", "https://x/", 1)], datetime(2025, 1, 1))


# -- what the daemon relies on besides -------------------------------------------------------

async def test_a_statement_is_one_trip_to_sqlites_thread(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """storage/sqlite_driver.py: a statement, its rows, rowcount and errors, in one call on the
    driver's thread (SQLAlchemy's own adapter makes four: cursor, execute, fetch, close)."""
    import aiosqlite

    repo = await Repository.open(sqlite_url)
    try:
        await repo.sync_sources([SourceSpec(f"s{i}", "feed", f"https://s{i}.example/", 60) for i in range(3)], T0)
        real, trips = aiosqlite.Connection._execute, []

        async def counted(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
            trips.append(getattr(fn, "__name__", repr(fn)))
            return await real(self, fn, *args, **kwargs)

        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        async with repo.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))  # the transaction's BEGIN is its own hop
            trips.clear()
            rows = (await conn.execute(select(Source.name).order_by(Source.name))).all()
            assert [r.name for r in rows] == ["s0", "s1", "s2"]
            assert trips == ["_run"], "one hop for execute, rows and close"
            trips.clear()
            changed = await conn.execute(sa.update(Source).where(Source.name != "s0").values(every_seconds=5))
            assert changed.rowcount == 2 and trips == ["_run"]
            trips.clear()
            await conn.execute(sa.insert(Source), [  # executemany: one hop too
                {"name": f"n{i}", "kind": "feed", "url": f"https://n{i}.example/", "every_seconds": 60,
                 "enabled": True, "next_due_at": T0, "error_count": 0, "created_at": T0} for i in range(4)])
            assert trips == ["_run"]
            with pytest.raises(IntegrityError):  # the driver's errors keep their DBAPI type
                await conn.execute(sa.insert(Source).values(name="s0", kind="feed", url="u", every_seconds=1,
                                                            enabled=True, next_due_at=T0, error_count=0,
                                                            created_at=T0))
            await conn.rollback()
    finally:
        await repo.close()


def record(n: int, source_id: int, content: str | None = None) -> ArticleRecord:
    return ArticleRecord(source_id=source_id, url=f"https://news.example/{n}", content_hash=content or f"h{n}",
                         title=f"T{n}", text="body", outlet="News", published_at=T0, fetched_at=T0)


async def test_an_article_and_what_it_says_are_stored_together_or_not_at_all(repo: Repository) -> None:
    sid = await add_source(repo)
    with pytest.raises(IntegrityError):
        await repo.store_article(record(1, sid), [finding(), finding("X", "bogus")], CLAIMS, T0)
    assert await repo.known_urls(["https://news.example/1"]) == set(), "no article without its evidence"
    stored = await repo.store_article(record(1, sid), [finding()], CLAIMS, T0)
    assert stored is not None and len(stored[1]) == 1
    assert [e.article_id for e in await repo.evidence()] == [stored[0]]


async def test_a_syndicated_copy_is_not_stored_and_says_nothing_new(repo: Repository) -> None:
    sid = await add_source(repo)
    assert await repo.store_article(record(1, sid, "same"), [finding()], CLAIMS, T0) is not None
    assert await repo.store_article(record(2, sid, "same"), [finding()], CLAIMS, at(60)) is None
    assert len(await repo.evidence()) == 1 and len(await repo.alerts()) == 1
    assert await repo.known_urls(["https://news.example/2"]) == {"https://news.example/2"}


async def test_a_poll_with_two_copies_of_one_story_stores_the_first_and_remembers_the_second(
    repo: Repository,
) -> None:
    sid = await add_source(repo)
    stored = await repo.store_articles(
        [(record(1, sid, "same"), [finding()], []), (record(2, sid, "same"), [finding()], []),
         (record(3, sid, "other"), [], [])],
        CLAIMS, T0, seen=[SeenLink("https://news.example/old", sid, "backfill")],
    )
    assert [s is not None for s in stored] == [True, False, True]
    assert len(await repo.evidence()) == 1 and len(await repo.alerts()) == 1
    urls = [f"https://news.example/{n}" for n in (1, 2, 3, "old")]
    assert await repo.known_urls(urls) == set(urls), "the copy and the back catalogue are remembered"


async def test_a_poll_that_fails_to_store_remembers_none_of_its_links(repo: Repository) -> None:
    sid = await add_source(repo)
    with pytest.raises(IntegrityError):
        await repo.store_articles(
            [(record(1, sid), [finding(), finding("X", "bogus")], [])], CLAIMS, T0,
            seen=[SeenLink("https://news.example/old", sid, "backfill")],
        )
    assert await repo.known_urls(["https://news.example/old", "https://news.example/1"]) == set(), \
        "the next poll takes them in again"


async def test_a_transaction_left_open_on_a_pooled_sqlite_connection_is_undone_before_reuse(
    tmp_path: Path,
) -> None:
    """SQLite's pool does not roll back every returned connection (a hop to the driver's thread
    each time): only one whose driver is still inside a transaction."""
    engine = create_engine_for(f"sqlite:///{tmp_path}/cw.db", pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
        async with engine.connect() as conn:  # behind SQLAlchemy's back, as a cancelled task may
            driver = (await conn.get_raw_connection()).driver_connection
            await driver.execute("BEGIN IMMEDIATE")
            await driver.execute("INSERT INTO probe VALUES (1)")
        async with engine.begin() as conn:  # the same connection: BEGIN works, nothing was kept
            assert (await conn.exec_driver_sql("SELECT count(*) FROM probe")).scalar() == 0
    finally:
        await engine.dispose()


async def test_a_statement_cancelled_mid_hop_leaves_no_transaction_for_the_next_user(tmp_path: Path) -> None:
    """A poll cancelled at its deadline while its BEGIN waits in the driver's queue: the pool takes
    the connection back before the BEGIN runs on the driver's thread, so the next user must not
    find itself 'within a transaction' (nor its writes locked out by the abandoned one)."""
    engine = create_engine_for(f"sqlite:///{tmp_path}/cw.db", pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
        ran = asyncio.Event()
        async with engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            loop = asyncio.get_running_loop()
            stall = asyncio.ensure_future(driver._execute(time.sleep, 0.2))  # the queue is busy
            late = asyncio.ensure_future(driver.execute("BEGIN IMMEDIATE"))  # queued behind it
            late.add_done_callback(lambda _f: loop.call_soon(ran.set))
            await asyncio.sleep(0)
        await stall
        await ran.wait()  # the abandoned BEGIN has now run, after the connection went back
        async with engine.begin() as conn:
            await conn.exec_driver_sql("INSERT INTO probe VALUES (1)")
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("SELECT count(*) FROM probe")).scalar() == 1
    finally:
        await engine.dispose()


async def test_run_once_leases_every_source_whatever_its_due_time(repo: Repository) -> None:
    sid = await add_source(repo)
    await repo.lease_due_sources(T0, 10, LEASE)
    repo.finish_poll(sid, now=at(1), next_due_at=at(3600), etag=None, last_modified=None,
                     body_hash=None, error=None, error_kind=None)
    await repo.flush_polls()
    assert await repo.lease_due_sources(at(2), 10, LEASE) == []
    [s] = await repo.lease_due_sources(at(2), 10, LEASE, due_by=at(10**6))
    assert s.id == sid


async def test_released_deliveries_can_be_taken_again_at_once_or_from_a_given_time(repo: Repository) -> None:
    aid = await add_article(repo)
    await repo.record_findings(aid, [finding()], CLAIMS, T0)
    first, second = await repo.lease_deliveries(T0, 10, LEASE)
    await repo.release_deliveries([first.id])
    await repo.release_deliveries([second.id], next_attempt_at=at(600))
    [again] = await repo.lease_deliveries(at(1), 10, 3600)
    assert again.id == first.id and again.attempts == 0, "a release is not an attempt"
    assert [d.id for d in await repo.lease_deliveries(at(600), 10, LEASE)] == [second.id]
    assert await repo.lease_deliveries(at(600), 10, LEASE, due_by=at(10**6)) == [], "still leased"


# -- article-level assessments ----------------------------------------------------------------

async def test_an_article_referencing_a_claim_stores_its_stance_with_party_and_evidence(
    repo: Repository,
) -> None:
    sid = await add_source(repo)
    said = finding()
    stored = await repo.store_article(record(1, sid), [said], CLAIMS, T0,
                                      [assessment(findings=(said,))])
    assert stored is not None and len(stored[1]) == 1, "alerts are decided on the findings as before"
    [a] = await repo.assessments()
    assert (a.article_id, a.claim_id, a.stance, a.party, a.party_kind) == (
        stored[0], "merger", "confirms", "Acme", "entity")
    assert (a.evidence, a.cue, a.score, a.created_at) == ("Acme said so.", "said", 0.8, T0)
    assert [e.article_id for e in await repo.evidence()] == [stored[0]]
    assert await repo.assessments("merger") == [a] and await repo.assessments("other") == []


async def test_an_article_stance_and_the_evidence_are_stored_together_or_not_at_all(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = await add_source(repo)
    # A stance the schema rejects in the assessment: the article and its evidence go too.
    with pytest.raises(IntegrityError):
        await repo.store_article(record(1, sid), [finding()], CLAIMS, T0, [assessment("bogus")])
    # ... and in the evidence: the assessment goes too.
    with pytest.raises(IntegrityError):
        await repo.store_article(record(1, sid), [finding(), finding("X", "bogus")], CLAIMS, T0,
                                 [assessment()])

    async def boom(*args: object) -> None:
        raise RuntimeError("crash after the alert insert")

    monkeypatch.setattr(alerting, "insert_deliveries", boom)
    with pytest.raises(RuntimeError):
        await repo.store_article(record(1, sid), [finding()], CLAIMS, T0, [assessment()])
    monkeypatch.undo()
    assert await repo.known_urls(["https://news.example/1"]) == set()
    assert await repo.assessments() == [] and await repo.evidence() == [] and await repo.alerts() == []

    stored = await repo.store_article(record(1, sid), [finding()], CLAIMS, T0, [assessment()])
    assert stored is not None and len(stored[1]) == 1
    assert [a.article_id for a in await repo.assessments()] == [stored[0]]


async def test_unrelated_claims_store_no_article_stance(repo: Repository) -> None:
    sid = await add_source(repo)
    stored = await repo.store_article(
        record(1, sid), [], CLAIMS, T0,
        [assessment(Stance.UNRELATED), assessment(Stance.UNRELATED, claim="other")],
    )
    assert stored is not None and stored[1] == []
    assert await repo.assessments() == [] and await repo.evidence() == []
    stored = await repo.store_article(
        record(2, sid), [], CLAIMS, at(60),
        [assessment(Stance.UNRELATED), assessment(Stance.DISCUSSES, claim="other")],
    )
    assert stored is not None
    assert [(a.claim_id, a.stance) for a in await repo.assessments()] == [("other", "discusses")]


async def test_a_syndicated_copy_stores_no_second_article_stance(repo: Repository) -> None:
    sid = await add_source(repo)
    assert await repo.store_article(record(1, sid, "same"), [finding()], CLAIMS, T0, [assessment()])
    assert await repo.store_article(record(2, sid, "same"), [finding()], CLAIMS, at(60),
                                    [assessment()]) is None
    assert len(await repo.assessments()) == 1


async def test_two_article_stances_on_one_claim_are_refused_before_anything_is_stored(
    repo: Repository,
) -> None:
    sid = await add_source(repo)
    with pytest.raises(ValueError, match="merger"):
        await repo.store_article(record(1, sid), [finding()], CLAIMS, T0,
                                 [assessment(), assessment(Stance.DENIES)])
    assert await repo.known_urls(["https://news.example/1"]) == set()


async def test_a_database_at_the_first_schema_upgrades_to_head_keeping_its_data(db_url: str) -> None:
    engine = create_engine_for(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0001"))
            assert "assessments" not in await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            await conn.execute(sa.insert(Source).values(
                name="wire", kind="feed", url="https://wire.example/rss", every_seconds=300,
                enabled=True, next_due_at=T0, error_count=0, created_at=T0,
            ))
    finally:
        await engine.dispose()
    repo = await Repository.open(db_url)  # migrates to head
    try:
        [wire] = await repo.source_states()
        assert (wire.name, wire.next_due_at) == ("wire", T0)
        sid = wire.id
        stored = await repo.store_article(record(1, sid), [finding()], CLAIMS, T0, [assessment()])
        assert stored is not None and len(await repo.assessments()) == 1
    finally:
        await repo.close()
