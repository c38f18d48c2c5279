"""The storage API the daemon uses: schedule, articles, findings, assessments and the delivery queue.

Every time is passed in by the caller (aware datetimes; no clock reads here) so behaviour is
reproducible in tests. Results are plain records from `storage.records`.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Table, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from matcher.match import Finding, Stance
from monitor.redact import redact
from storage import alerting, holding, incidents, leasing
from storage.db import open_engine, readonly
from storage.incidents import ChannelHealth, SourceHealth, TargetHealth
from storage.models import (
    Alert,
    Article,
    Assessment,
    Delivery,
    DeliveryAttempt,
    Evidence,
    Replica,
    SeenUrl,
    Source,
)
from storage.records import (
    AlertRecord,
    ArticleRecord,
    AssessmentRecord,
    AttemptRecord,
    ClaimRouting,
    ConfiguredTarget,
    DeliveryRecord,
    EvidenceRecord,
    IncidentRecord,
    PendingDelivery,
    PendingNotice,
    ScheduleOutlook,
    SeenLink,
    SourceSpec,
    SourceState,
    Target,
)

if TYPE_CHECKING:
    import matcher.assess

T = TypeVar("T")
log = logging.getLogger("claimwatch.storage")
_RETRIES = 5
_CHUNK = 500  # bound parameters per IN (...) list, well under both backends' limits
# Poll outcomes are written behind (see Repository.finish_poll): at most this long after the
# first of a batch, or at once when this many wait; a failed write is retried, backing off.
_WRITE_BEHIND_SECONDS = 0.5
_WRITE_BEHIND_ROWS = 500
_WRITE_RETRY_MAX_SECONDS = 30.0
_SOURCES = cast(Table, Source.__table__)
_SUCCEEDED = update(_SOURCES).where(_SOURCES.c.id == bindparam("p_id")).values(
    leased_until=None, leased_by=None, next_due_at=bindparam("p_due"), last_fetched_at=bindparam("p_now"),
    error_count=0, last_success_at=bindparam("p_now"), last_error=None, last_error_kind=None,
    etag=func.coalesce(bindparam("p_etag"), _SOURCES.c.etag),
    last_modified=func.coalesce(bindparam("p_lm"), _SOURCES.c.last_modified),
    body_hash=func.coalesce(bindparam("p_hash"), _SOURCES.c.body_hash),
)
_FAILED = update(_SOURCES).where(_SOURCES.c.id == bindparam("p_id")).values(
    leased_until=None, leased_by=None, next_due_at=bindparam("p_due"), last_fetched_at=bindparam("p_now"),
    error_count=_SOURCES.c.error_count + 1, last_error=bindparam("p_error"), last_error_kind=bindparam("p_kind"),
)

# A source whose URL changed is a different resource: conditional-GET state reset, due at once.
_MOVED = update(_SOURCES).where(_SOURCES.c.id == bindparam("s_id")).values(
    kind=bindparam("s_kind"), url=bindparam("s_url"), every_seconds=bindparam("s_every"), enabled=True,
    etag=None, last_modified=None, body_hash=None, next_due_at=bindparam("s_due"))
_ARTICLES = cast(Table, Article.__table__)
_SEEN = cast(Table, SeenUrl.__table__)
_RESET = update(_SOURCES).where(_SOURCES.c.id == bindparam("s_id")).values(
    kind=bindparam("s_kind"), every_seconds=bindparam("s_every"), enabled=True)


async def _record_outcomes(s: AsyncSession, outcomes: Sequence[dict[str, Any]]) -> None:
    """The polls' outcomes (see Repository.finish_poll), in order: one executemany per run of
    one kind (a source's failures count up one by one, whatever else shares the batch)."""
    for failed, rows in itertools.groupby(outcomes, key=lambda o: o["p_error"] is not None):
        await s.execute(_FAILED if failed else _SUCCEEDED, list(rows))


def _raced(exc: BaseException) -> bool:
    """True for a unique-key clash or stance conflict: another writer won; retrying is right."""
    if isinstance(exc, alerting.StanceConflict):
        return True
    if isinstance(exc, IntegrityError):
        orig = exc.orig
        return getattr(orig, "sqlstate", None) == "23505" or "UNIQUE constraint" in str(orig)
    return False


def _source_state(s: Source) -> SourceState:
    return SourceState(
        id=s.id, name=s.name, kind=s.kind, url=s.url, every_seconds=s.every_seconds,
        etag=s.etag, last_modified=s.last_modified, body_hash=s.body_hash,
        error_count=s.error_count, last_error=s.last_error, last_error_kind=s.last_error_kind,
        next_due_at=s.next_due_at, last_success_at=s.last_success_at, enabled=s.enabled,
        leased_until=s.leased_until, last_fetched_at=s.last_fetched_at,
    )


async def _insert_assessments(
    s: AsyncSession,
    article_id: int,
    assessments: Sequence[matcher.assess.Assessment],
    now: datetime,
) -> None:
    """One row per assessment, in the caller's transaction (the article's and its evidence's)."""
    if not assessments:
        return
    await s.execute(insert(Assessment), [
        {
            "article_id": article_id, "claim_id": a.claim_id, "stance": str(a.stance),
            "party": a.party, "party_kind": a.party_kind, "evidence": a.evidence, "cue": a.cue,
            "score": float(a.score), "created_at": now,
        }
        for a in assessments
    ])


class Repository:
    """One engine and session factory; safe to share by many tasks and by several replicas."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._reads = async_sessionmaker(readonly(engine), expire_on_commit=False)  # no write lock
        self._pg = engine.dialect.name == "postgresql"
        # The replica (daemon process) this repository leases for; recorded as `leased_by`.
        self.holder: str | None = None
        # Poll outcomes not yet written (see finish_poll), the task writing them, and the lock
        # that keeps it and `flush_polls` from writing one outcome twice.
        self._outcomes: list[dict[str, Any]] = []
        self._full = asyncio.Event()
        self._writing = asyncio.Lock()
        self._writer: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, *, pool_size: int | None = None) -> Repository:
        """Open (and migrate to head) the database at `url`; `pool_size` connections kept open."""
        return cls(await open_engine(url, pool_size))

    async def close(self) -> None:
        """Write the queued poll outcomes (bounded: a database that is gone does not hold up
        the exit; those sources are polled again), then close every connection."""
        try:
            await asyncio.wait_for(self.flush_polls(), _WRITE_RETRY_MAX_SECONDS)
        except Exception as exc:
            log.error("closing: %d poll outcome(s) not recorded (those sources are polled again): %r",
                      len(self._outcomes), exc)
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        await self.engine.dispose()

    async def _transaction(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in one transaction, retried from scratch when a concurrent writer won."""
        for attempt in range(_RETRIES):
            try:
                async with self._sessions.begin() as s:
                    return await work(s)
            except (IntegrityError, alerting.StanceConflict) as exc:
                if not _raced(exc) or attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _insert(self, table: Any) -> Any:
        return (pg_insert if self._pg else sqlite_insert)(table)

    # -- schedule ---------------------------------------------------------------------------

    async def sync_sources(self, specs: Sequence[SourceSpec], now: datetime) -> None:
        """Make the table match the watchlist; unlisted sources are disabled, never deleted.

        A changed URL is a different resource: its conditional-GET state is reset and it is
        polled at once. New sources are due at `now`.
        """
        names = [sp.name for sp in specs]
        if len(set(names)) != len(names):
            raise ValueError("duplicate source names in specs")

        async def work(s: AsyncSession) -> None:
            t = _SOURCES
            rows = {r.name: r for r in await s.execute(select(
                t.c.id, t.c.name, t.c.kind, t.c.url, t.c.every_seconds, t.c.enabled, t.c.next_due_at))}
            new: list[dict[str, Any]] = []
            moved: list[dict[str, Any]] = []
            kept: list[dict[str, Any]] = []
            for sp in specs:
                row = rows.get(sp.name)
                if row is None:
                    new.append({
                        "name": sp.name, "kind": sp.kind, "url": sp.url, "every_seconds": sp.every_seconds,
                        "enabled": True, "next_due_at": now, "leased_until": None, "etag": None,
                        "last_modified": None, "body_hash": None, "last_fetched_at": None,
                        "last_success_at": None, "last_error": None, "last_error_kind": None,
                        "error_count": 0, "created_at": now})
                elif row.url != sp.url:
                    moved.append({"s_id": row.id, "s_kind": sp.kind, "s_url": sp.url,
                                  "s_every": sp.every_seconds, "s_due": min(row.next_due_at, now)})
                elif (row.kind, row.every_seconds, row.enabled) != (sp.kind, sp.every_seconds, True):
                    kept.append({"s_id": row.id, "s_kind": sp.kind, "s_every": sp.every_seconds})
            listed = set(names)
            gone = [row.id for name, row in rows.items() if name not in listed and row.enabled]
            # one executemany per kind of change: a 10,000-source watchlist syncs in about a second
            if new:
                await s.execute(insert(t), new)
            if moved:
                await s.execute(_MOVED, moved)
            if kept:
                await s.execute(_RESET, kept)
            for i in range(0, len(gone), _CHUNK):
                await s.execute(update(t).where(t.c.id.in_(gone[i:i + _CHUNK])).values(enabled=False))

        await self._transaction(work)

    async def lease_due_sources(
        self, now: datetime, limit: int, lease_seconds: float, due_by: datetime | None = None,
        *, holder: str | None = None,
    ) -> list[SourceState]:
        """Take up to `limit` due sources (oldest due first) for `lease_seconds`.

        `due_by` later than `now` takes sources due before then too (`run --once` polls all).
        Picked FOR UPDATE SKIP LOCKED, then marked (storage/leasing.py): PostgreSQL replicas
        skip rows another one holds, and on SQLite the transaction holds the one write lock, so
        no source is ever handed out twice at once.
        The lease records its `holder` (default `self.holder`), so a dead replica's leases can be
        reclaimed at once (`reclaim_leases`).
        """
        def due(t: Any) -> Any:
            return and_(
                t.enabled.is_(True),
                t.next_due_at <= (due_by or now),
                or_(t.leased_until.is_(None), t.leased_until < now),
            )

        async def work(s: AsyncSession) -> list[SourceState]:
            ids = await leasing.lease(s, Source, due, (Source.next_due_at, Source.id), limit, {
                "leased_until": now + timedelta(seconds=lease_seconds), "leased_by": holder or self.holder})
            if not ids:
                return []
            rows = (await s.scalars(select(Source).where(Source.id.in_(ids)))).all()
            return [_source_state(r) for r in sorted(rows, key=lambda r: (r.next_due_at, r.id))]

        return await self._transaction(work)

    def finish_poll(
        self,
        source_id: int,
        *,
        now: datetime,
        next_due_at: datetime,
        etag: str | None,
        last_modified: str | None,
        body_hash: str | None,
        error: str | None,
        error_kind: str | None,
    ) -> None:
        """Record a poll's outcome and release its lease; `error` set means the poll failed.

        On success the conditional-GET fields only move forward (None keeps the old value,
        e.g. a 304 that sent no new ETag); on failure they are left alone.

        Written behind: the outcome is queued and committed with the others of the next
        `_WRITE_BEHIND_SECONDS` (sooner when `_WRITE_BEHIND_ROWS` wait), in order, one
        executemany per kind. A transaction per poll was most of a 304 poll's CPU (~3 ms:
        begin, a one-row UPDATE, commit; a daemon doing 17 polls a second commits ~2 a second
        instead). Until it is written the source stays leased, so no one polls it again early;
        an outcome lost with the process (kill -9) only means its source is polled once more,
        its items already known. `flush_polls` writes the queue now; `close` does too.
        """
        self._outcomes.append({
            "p_id": source_id, "p_now": now, "p_due": next_due_at, "p_etag": etag,
            "p_lm": last_modified, "p_hash": body_hash,
            "p_error": None if error is None else redact(error),  # no URL secret stored
            "p_kind": error_kind})
        if len(self._outcomes) >= _WRITE_BEHIND_ROWS:
            self._full.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_behind(), name="poll outcomes")

    async def flush_polls(self) -> None:
        """Commit every queued poll outcome now; raises if the database refuses (they stay
        queued, and the writer tries again)."""
        async with self._writing:
            batch = self._outcomes[:]
            if batch:
                await self._transaction(lambda s: _record_outcomes(s, batch))
                del self._outcomes[:len(batch)]  # outcomes queued meanwhile stay

    async def _write_behind(self) -> None:
        wait = _WRITE_BEHIND_SECONDS
        while self._outcomes:
            with contextlib.suppress(TimeoutError):  # the usual case: the half second is up
                await asyncio.wait_for(self._full.wait(), wait)
            self._full.clear()
            try:
                await self.flush_polls()
            except Exception as exc:
                wait = min(2 * wait, _WRITE_RETRY_MAX_SECONDS)
                log.error("could not record %d poll outcome(s); trying again in %gs: %r",
                          len(self._outcomes), wait, exc)
            else:
                wait = _WRITE_BEHIND_SECONDS

    async def source_states(self) -> list[SourceState]:
        """Every source (disabled ones too, see `enabled`), by name."""
        async with self._reads() as s:
            rows = await s.scalars(select(Source).order_by(Source.name))
            return [_source_state(r) for r in rows.all()]

    async def schedule_outlook(self, now: datetime, overdue_after: float) -> ScheduleOutlook:
        """When the next unleased enabled source is due, and the backlog: how many are more than
        `overdue_after` seconds past due (not counting those being polled) and the oldest due time."""
        free = and_(Source.enabled.is_(True), or_(Source.leased_until.is_(None), Source.leased_until < now))
        late = and_(free, Source.next_due_at < now - timedelta(seconds=overdue_after))
        async with self._reads() as s:
            next_due = await s.scalar(select(func.min(Source.next_due_at)).where(free))
            n, oldest = (await s.execute(select(func.count(), func.min(Source.next_due_at)).where(late))).one()
        return ScheduleOutlook(next_due, int(n or 0), oldest)

    # -- replicas: who holds which lease (monitor/daemon.py) ------------------------------

    async def register_replica(self, replica_id: str, *, host: str, pid: int, now: datetime) -> None:
        """Announce a daemon process; its heartbeat starts now."""
        async def work(s: AsyncSession) -> None:
            s.add(Replica(id=replica_id, host=host, pid=pid, started_at=now, heartbeat_at=now))

        await self._transaction(work)

    async def beat_replica(self, replica_id: str, now: datetime) -> None:
        """Refresh a replica's heartbeat (registering it again if a peer took it for dead)."""
        async def work(s: AsyncSession) -> None:
            done = await s.execute(update(Replica).where(Replica.id == replica_id).values(heartbeat_at=now))
            if not done.rowcount:  # type: ignore[attr-defined]
                s.add(Replica(id=replica_id, host="", pid=0, started_at=now, heartbeat_at=now))

        await self._transaction(work)

    async def reclaim_leases(
        self, now: datetime, *, me: str, takeover_seconds: float, everyone_else: bool = False
    ) -> tuple[int, int]:
        """Release the leases of replicas that are gone: whose heartbeat is older than
        `takeover_seconds`, or that are not registered at all (a lease from before replicas
        existed). `everyone_else` releases every lease not held by `me` (SQLite, where only one
        process may run). The dead replicas' rows are deleted. Returns (sources, deliveries)
        released."""
        async def work(s: AsyncSession) -> tuple[int, int]:
            stale = now - timedelta(seconds=takeover_seconds)
            dead = select(Replica.id).where(Replica.id != me)
            if not everyone_else:
                dead = dead.where(Replica.heartbeat_at < stale)
            dead_ids = list((await s.scalars(dead)).all())
            alive = select(Replica.id).where(Replica.heartbeat_at >= stale, Replica.id.not_in(dead_ids))

            def gone(t: Any) -> Any:
                not_mine = or_(t.leased_by.is_(None), t.leased_by != me)
                if everyone_else:
                    return and_(t.leased_until.is_not(None), not_mine)
                return and_(t.leased_until.is_not(None), not_mine,
                            or_(t.leased_by.is_(None), t.leased_by.not_in(alive)))

            sources = await s.execute(
                update(Source).where(gone(Source))
                .values(leased_until=None, leased_by=None).execution_options(synchronize_session=False))
            deliveries = await s.execute(
                update(Delivery).where(gone(Delivery), Delivery.status == "pending")
                .values(leased_until=None, leased_by=None).execution_options(synchronize_session=False))
            if dead_ids:
                await s.execute(delete(Replica).where(Replica.id.in_(dead_ids)))
            return int(sources.rowcount or 0), int(deliveries.rowcount or 0)  # type: ignore[attr-defined]

        return await self._transaction(work)

    async def retire_replica(self, replica_id: str) -> tuple[int, int]:
        """A clean stop: hand back every lease `replica_id` still holds and deregister it.
        Returns (sources, deliveries) released."""
        async def work(s: AsyncSession) -> tuple[int, int]:
            sources = await s.execute(
                update(Source).where(Source.leased_by == replica_id, Source.leased_until.is_not(None))
                .values(leased_until=None, leased_by=None).execution_options(synchronize_session=False))
            deliveries = await s.execute(
                update(Delivery).where(Delivery.leased_by == replica_id, Delivery.leased_until.is_not(None),
                                       Delivery.status == "pending")
                .values(leased_until=None, leased_by=None).execution_options(synchronize_session=False))
            await s.execute(delete(Replica).where(Replica.id == replica_id))
            return int(sources.rowcount or 0), int(deliveries.rowcount or 0)  # type: ignore[attr-defined]

        return await self._transaction(work)

    async def replicas(self) -> list[tuple[str, str, int, datetime]]:
        """(id, host, pid, heartbeat) of every registered replica, oldest heartbeat first."""
        async with self._reads() as s:
            rows = await s.execute(select(Replica.id, Replica.host, Replica.pid, Replica.heartbeat_at)
                                   .order_by(Replica.heartbeat_at))
            return [(i, h, p, at) for i, h, p, at in rows.all()]

    async def lease_holders(self) -> dict[str, str | None]:
        """Source name → the replica holding its lease (None: not leased), for tests and status."""
        async with self._reads() as s:
            rows = await s.execute(select(Source.name, Source.leased_by, Source.leased_until))
            return {n: (by if until is not None else None) for n, by, until in rows.all()}

    # -- articles ---------------------------------------------------------------------------

    async def known_urls(self, urls: Sequence[str]) -> set[str]:
        """The URLs already stored as articles or remembered as seen (one query per _CHUNK)."""
        wanted = list(dict.fromkeys(urls))
        found: set[str] = set()
        async with self._reads() as s:
            for i in range(0, len(wanted), _CHUNK):
                part = wanted[i:i + _CHUNK]
                found.update((await s.scalars(
                    select(_ARTICLES.c.url).where(_ARTICLES.c.url.in_(part))
                    .union_all(select(_SEEN.c.url).where(_SEEN.c.url.in_(part)))
                )).all())
        return found

    async def mark_seen(self, url: str, source_id: int | None, outcome: str, now: datetime) -> None:
        """Remember a link that gave no new article; the first outcome and time are kept."""
        await self.mark_seen_many([url], source_id, outcome, now)

    async def mark_seen_many(
        self, urls: Sequence[str], source_id: int | None, outcome: str, now: datetime
    ) -> None:
        """`mark_seen` for many links at once, in one transaction; known ones are kept."""
        links = [SeenLink(u, source_id, outcome) for u in dict.fromkeys(urls)]
        if links:
            async with self._sessions.begin() as s:
                await self._mark_seen(s, links, now)

    async def _mark_seen(self, s: AsyncSession, links: Sequence[SeenLink], now: datetime) -> None:
        """One executemany of a one-row INSERT … ON CONFLICT DO NOTHING: compiled once, whatever
        the number of links (a multi-row VALUES is a new statement for every length)."""
        if links:
            await s.execute(self._insert(_SEEN).on_conflict_do_nothing(index_elements=["url"]), [
                {"url": ln.url, "source_id": ln.source_id, "first_seen_at": now, "outcome": ln.outcome}
                for ln in links
            ])

    async def _insert_articles(self, s: AsyncSession, recs: Sequence[ArticleRecord]) -> list[int | None]:
        """Insert a poll's articles in one statement; a URL or content already known (perhaps
        by a concurrent writer, or earlier in the same poll) is skipped by ON CONFLICT DO NOTHING
        (no SAVEPOINT per article) and its URL remembered as "duplicate-content"."""
        if not recs:
            return []
        rows = await s.execute(
            self._insert(_ARTICLES).on_conflict_do_nothing().returning(_ARTICLES.c.id, _ARTICLES.c.url),
            [{"source_id": r.source_id, "url": r.url, "content_hash": r.content_hash, "title": r.title,
              "text": r.text, "outlet": r.outlet, "published_at": r.published_at, "fetched_at": r.fetched_at}
             for r in recs],
        )
        ids: dict[str, int] = {url: id_ for id_, url in rows.all()}
        out: list[int | None] = []
        dupes: list[SeenLink] = []
        for r in recs:
            out.append(ids.pop(r.url, None))  # pop: a second record of one URL is a copy
            if out[-1] is None:
                dupes.append(SeenLink(r.url, r.source_id, "duplicate-content"))
        await self._mark_seen(s, dupes, recs[0].fetched_at)
        return out

    async def store_article(
        self,
        rec: ArticleRecord,
        findings: Sequence[Finding],
        claims: Mapping[str, ClaimRouting],
        now: datetime,
        assessments: Sequence[matcher.assess.Assessment] = (),
    ) -> tuple[int, list[int]] | None:
        """Store an article with its evidence, alerts, deliveries and assessments in ONE
        transaction.

        `findings` are every party's stances (evidence; they alone decide alerts);
        `assessments` the article-level stance per claim (`matcher.assess`), of which only
        those not unrelated are stored, one row per (article, claim).
        Returns (article id, new alert ids), or None for a known URL or content (a syndicated
        copy). A crash can never leave an article stored without what it said, which would
        otherwise be lost: the next poll sees its URL as known and never matches it again.
        """
        return (await self.store_articles([(rec, findings, assessments)], claims, now))[0]

    async def store_articles(
        self,
        articles: Sequence[tuple[ArticleRecord, Sequence[Finding], Sequence[matcher.assess.Assessment]]],
        claims: Mapping[str, ClaimRouting],
        now: datetime,
        seen: Sequence[SeenLink] = (),
    ) -> list[tuple[int, list[int]] | None]:
        """`store_article` for the new articles of one poll, in order, in one transaction: all
        of them are stored with what they say, or none (and the poll takes them in again).
        `seen` are the poll's links that gave no article (back catalogue, errors, redirects),
        remembered in the same transaction."""
        for _, _, assessments in articles:
            claim_ids = [a.claim_id for a in assessments if a.stance != Stance.UNRELATED]
            if len(set(claim_ids)) != len(claim_ids):
                raise ValueError(f"more than one assessment of a claim: {sorted(claim_ids)}")

        async def work(s: AsyncSession) -> list[tuple[int, list[int]] | None]:
            await self._mark_seen(s, seen, now)
            ids = await self._insert_articles(s, [rec for rec, _, _ in articles])
            out: list[tuple[int, list[int]] | None] = []
            for article_id, (_, findings, assessments) in zip(ids, articles, strict=True):
                if article_id is None:
                    out.append(None)
                    continue
                alert_ids = await alerting.record_findings(s, article_id, findings, claims, now)
                await _insert_assessments(s, article_id, [a for a in assessments if a.stance != Stance.UNRELATED], now)
                out.append((article_id, alert_ids))
            return out

        return await self._transaction(work) if articles or seen else []

    # -- findings and deliveries ----------------------------------------------------------

    async def record_findings(
        self,
        article_id: int,
        findings: Sequence[Finding],
        claims: Mapping[str, ClaimRouting],
        now: datetime,
    ) -> list[int]:
        """Store evidence and any new alerts with their deliveries, atomically; new alert ids."""
        return await self._transaction(
            lambda s: alerting.record_findings(s, article_id, findings, claims, now)
        )

    async def lease_deliveries(
        self, now: datetime, limit: int, lease_seconds: float, due_by: datetime | None = None
    ) -> list[PendingDelivery]:
        """Take up to `limit` due pending deliveries for `lease_seconds`, ready to render.

        `due_by` later than `now` also takes those waiting out a backoff (`run --once`)."""
        return await self._transaction(
            lambda s: self._held_by_me(s, alerting.lease_deliveries(s, now, limit, lease_seconds, due_by))
        )

    async def _held_by_me(self, s: AsyncSession, leasing: Awaitable[list[T]]) -> list[T]:
        """Record this replica as the holder of deliveries just leased in `s`'s transaction."""
        leased = await leasing
        if leased and self.holder is not None:
            await s.execute(
                update(Delivery).where(Delivery.id.in_([d.id for d in leased]))  # type: ignore[attr-defined]
                .values(leased_by=self.holder).execution_options(synchronize_session=False)
            )
        return leased

    async def record_attempt(
        self,
        delivery_id: int,
        *,
        now: datetime,
        ok: bool,
        error: str | None,
        duration_ms: int,
        next_attempt_at: datetime | None,
    ) -> None:
        """Log one send attempt: ok → sent; else retry at `next_attempt_at`, or failed if None."""
        await self._transaction(
            lambda s: alerting.record_attempt(
                s, delivery_id, now=now, ok=ok, error=error, duration_ms=duration_ms,
                next_attempt_at=next_attempt_at,
            )
        )

    async def release_deliveries(
        self, delivery_ids: Sequence[int], *, next_attempt_at: datetime | None = None
    ) -> None:
        """Hand back leased, unattempted deliveries (their target is down, or our lease ran
        short): another run may take them at once, or from `next_attempt_at` if given."""
        if not delivery_ids:
            return
        values: dict[str, Any] = {"leased_until": None}
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at

        async def work(s: AsyncSession) -> None:
            await s.execute(
                update(Delivery)
                .where(Delivery.id.in_(list(delivery_ids)), Delivery.status == "pending")
                .values(values)
                .execution_options(synchronize_session=False)
            )

        await self._transaction(work)

    async def reconcile_targets(
        self, targets: Sequence[ConfiguredTarget], channels: Sequence[str], now: datetime
    ) -> tuple[int, int]:
        """Adopt deliveries queued before target keys and fail those whose target the watchlist
        no longer lists (storage/alerting.py); (adopted, failed)."""
        return await self._transaction(
            lambda s: alerting.reconcile_targets(s, targets, channels, now))

    # -- held deliveries: digests, folds, the per-hour limit (storage/holding.py) ---------

    async def lease_held(
        self, channel: str, target_key: str, now: datetime, lease_seconds: float
    ) -> list[PendingDelivery]:
        """Lease every held delivery of one target whose message is due, to send as one."""
        return await self._transaction(
            lambda s: self._held_by_me(s, holding.lease_held(s, channel, target_key, now, lease_seconds))
        )

    async def hold_deliveries(self, delivery_ids: Sequence[int], kind: str, until: datetime) -> None:
        """Hold leased deliveries for the grouped `kind` ("digest" | "fold") message at `until`."""
        await self._transaction(lambda s: holding.hold(s, delivery_ids, kind, until))

    async def target_rate(
        self, channel: str, target_key: str, since: datetime
    ) -> tuple[int, datetime | None]:
        """(messages sent to the target since `since`, when its waiting fold goes out or None)."""
        async with self._reads() as s:
            return await holding.target_rate(s, channel, target_key, since)

    async def record_group_attempt(
        self,
        delivery_ids: Sequence[int],
        *,
        now: datetime,
        ok: bool,
        error: str | None,
        duration_ms: int,
        next_attempt_at: datetime | None,
    ) -> None:
        """One message carried these deliveries: record an attempt for each, in one transaction."""
        await self._transaction(
            lambda s: holding.record_group_attempt(
                s, delivery_ids, now=now, ok=ok, error=error, duration_ms=duration_ms,
                next_attempt_at=next_attempt_at,
            )
        )

    # -- incidents and ops notices (storage/incidents.py) ---------------------------------

    async def open_incident(self, kind: str, subject: str, text: incidents.NoticeText,
                            targets: Sequence[Target], now: datetime) -> bool:
        """Open an incident with its notice to every ops target, unless it is open; True if opened."""
        return await self._transaction(
            lambda s: incidents.open_incident(s, kind, subject, text, targets, now))

    async def close_incident(self, kind: str, subject: str, text: incidents.NoticeText,
                             targets: Sequence[Target], now: datetime) -> bool:
        """Close an open incident with its recovery notice; True if this call closed it."""
        return await self._transaction(
            lambda s: incidents.close_incident(s, kind, subject, text, targets, now))

    async def incidents(self, *, open_only: bool = False) -> list[IncidentRecord]:
        async with self._reads() as s:
            return await incidents.incidents(s, open_only=open_only)

    async def lease_notices(self, now: datetime, limit: int, lease_seconds: float,
                            due_by: datetime | None = None) -> list[PendingNotice]:
        """Take up to `limit` due ops notice deliveries for `lease_seconds`."""
        return await self._transaction(
            lambda s: self._held_by_me(s, incidents.lease_notices(s, now, limit, lease_seconds, due_by)))

    async def source_health(self) -> list[SourceHealth]:
        async with self._reads() as s:
            return await incidents.source_health(s)

    async def target_health(self, exclude_channel: str) -> list[TargetHealth]:
        async with self._reads() as s:
            return await incidents.target_health(s, exclude_channel)

    async def channel_health(self, since: datetime, exclude_channel: str) -> list[ChannelHealth]:
        async with self._reads() as s:
            return await incidents.channel_health(s, since, exclude_channel)

    # -- listings for the CLI and tests ---------------------------------------------------

    async def delivery_counts(self) -> dict[str, int]:
        """Deliveries per status (pending/sent/failed), zeros included."""
        async with self._reads() as s:
            rows = await s.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
            counts = {"pending": 0, "sent": 0, "failed": 0}
            counts.update({status: n for status, n in rows.all()})
            return counts

    async def alerts(self, claim_id: str | None = None) -> list[AlertRecord]:
        async with self._reads() as s:
            q = select(Alert).order_by(Alert.id)
            if claim_id is not None:
                q = q.where(Alert.claim_id == claim_id)
            return [
                AlertRecord(
                    id=a.id, claim_id=a.claim_id, party=a.party, stance=a.stance,
                    statement=a.statement, evidence_id=a.evidence_id,
                    generation=a.generation, created_at=a.created_at,
                )
                for a in (await s.scalars(q)).all()
            ]

    async def assessments(self, claim_id: str | None = None) -> list[AssessmentRecord]:
        """The stored article-level stances (never unrelated ones), oldest first."""
        async with self._reads() as s:
            q = select(Assessment).order_by(Assessment.id)
            if claim_id is not None:
                q = q.where(Assessment.claim_id == claim_id)
            return [
                AssessmentRecord(
                    id=a.id, article_id=a.article_id, claim_id=a.claim_id, stance=a.stance,
                    party=a.party, party_kind=a.party_kind, evidence=a.evidence, cue=a.cue,
                    score=a.score, created_at=a.created_at,
                )
                for a in (await s.scalars(q)).all()
            ]

    async def evidence(self, article_id: int | None = None) -> list[EvidenceRecord]:
        async with self._reads() as s:
            q = select(Evidence).order_by(Evidence.id)
            if article_id is not None:
                q = q.where(Evidence.article_id == article_id)
            return [
                EvidenceRecord(
                    id=e.id, article_id=e.article_id, claim_id=e.claim_id, stance=e.stance,
                    party=e.party, party_kind=e.party_kind, quote=e.quote, cue=e.cue,
                    created_at=e.created_at,
                )
                for e in (await s.scalars(q)).all()
            ]

    async def deliveries(self, alert_id: int | None = None) -> list[DeliveryRecord]:
        async with self._reads() as s:
            q = select(Delivery).order_by(Delivery.id)
            if alert_id is not None:
                q = q.where(Delivery.alert_id == alert_id)
            return [
                DeliveryRecord(
                    id=d.id, alert_id=d.alert_id, channel=d.channel,
                    target_key=d.target_key, target_label=d.target_label,
                    status=d.status, attempts=d.attempts, next_attempt_at=d.next_attempt_at,
                    sent_at=d.sent_at, last_error=d.last_error, hold=d.hold,
                    hold_until=d.hold_until, batch_id=d.batch_id, notice_id=d.notice_id,
                )
                for d in (await s.scalars(q)).all()
            ]

    async def attempts(self, delivery_id: int | None = None) -> list[AttemptRecord]:
        async with self._reads() as s:
            q = select(DeliveryAttempt).order_by(DeliveryAttempt.id)
            if delivery_id is not None:
                q = q.where(DeliveryAttempt.delivery_id == delivery_id)
            return [
                AttemptRecord(
                    id=a.id, delivery_id=a.delivery_id, at=a.at, ok=a.ok, error=a.error,
                    duration_ms=a.duration_ms,
                )
                for a in (await s.scalars(q)).all()
            ]
