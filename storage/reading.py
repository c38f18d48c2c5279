"""Read-only queries for the desk page and the REST API (web/desk.py, web/api.py).

Nothing here writes: the daemon owns the database, the web side only looks. Every function
returns plain records (no SQLAlchemy object leaves `storage`), and the time of a statement is
its article's publication time, else when claimwatch saw it (as in the alerts' standing).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.alerting import in_standing_order, latest_per_party
from storage.db import readonly
from storage.models import (
    Alert,
    Article,
    Assessment,
    Delivery,
    Evidence,
    Incident,
    Notice,
    PartyStance,
    Source,
    UTCDateTime,
)
from storage.records import StandingEntry
from storage.repository import Repository

# What the outbox views call a delivery: a pending one that has been tried is retrying.
OUTBOX_STATUSES = ("sent", "pending", "retrying", "failed")
TIMELINE_STANCES = ("confirms", "denies", "discusses", "unrelated")


@dataclass(frozen=True)
class ClaimSummary:
    """A claim as the claims list shows it: its standing and when it last changed."""

    id: str
    statement: str
    tracked: bool  # in the current watchlist (else only its stored history remains)
    standing: tuple[StandingEntry, ...]
    statements: int  # stored findings that are not unrelated
    latest_change: datetime | None  # when a party's stance last changed (claimwatch's time)
    latest_statement: datetime | None  # when the last finding was stored

    @property
    def confirms(self) -> tuple[StandingEntry, ...]:
        return tuple(e for e in self.standing if e.stance == "confirms")

    @property
    def denies(self) -> tuple[StandingEntry, ...]:
        return tuple(e for e in self.standing if e.stance == "denies")


@dataclass(frozen=True)
class Switch:
    """A party's stance change as its alert recorded it: from what, held since when."""

    stance: str
    since: datetime | None


@dataclass(frozen=True)
class Statement:
    """One finding on the timeline, with its article."""

    evidence_id: int
    claim_id: str
    party: str
    party_kind: str
    stance: str
    quote: str
    context: str
    cue: str
    article_id: int
    outlet: str
    title: str
    url: str
    published_at: datetime | None
    seen_at: datetime
    at: datetime  # published_at, else seen_at
    alerted: bool  # this statement raised an alert (a new party or a switch)
    switched_from: Switch | None  # the stance it replaced, when it was a switch


@dataclass(frozen=True)
class Timeline:
    total: int  # matching statements, all pages
    items: tuple[Statement, ...]
    parties: tuple[str, ...]  # every party with a finding on the claim, for the filter


@dataclass(frozen=True)
class Discussion:
    """An article about the claim in which nobody confirms or denies it."""

    article_id: int
    outlet: str
    title: str
    url: str
    published_at: datetime | None
    seen_at: datetime
    at: datetime
    sentence: str  # the passage that ties it to the claim


@dataclass(frozen=True)
class SourceRow:
    """A source for the sources view: its last success or error and what it took in."""

    id: int
    name: str
    kind: str
    url: str  # as configured: pass it through monitor.redact.safe_url before showing it
    enabled: bool
    every_seconds: int
    last_fetched_at: datetime | None
    last_success_at: datetime | None
    next_due_at: datetime
    error: str | None
    error_kind: str | None
    error_count: int
    failing_since: datetime | None  # the open source_failing incident, if one was opened
    articles: int

    @property
    def failing(self) -> bool:
        return self.enabled and self.error is not None


@dataclass(frozen=True)
class ChannelCounts:
    channel: str
    sent: int = 0
    pending: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True)
class OutboxRow:
    """One delivery: to which target (its privacy label, never its URL) and how it went."""

    id: int
    channel: str
    target: str
    status: str  # one of OUTBOX_STATUSES
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    hold: str | None
    hold_until: datetime | None
    alert_id: int | None
    claim_id: str | None
    party: str | None
    stance: str | None
    created_at: datetime | None  # the alert's or notice's
    notice_title: str | None


@dataclass(frozen=True)
class Outbox:
    channels: tuple[ChannelCounts, ...]
    total: int
    items: tuple[OutboxRow, ...]


@dataclass(frozen=True)
class Finding:
    """A stored finding of an article: the sentence (`quote`) and the cue that decided it."""

    id: int
    claim_id: str
    party: str
    party_kind: str
    stance: str
    quote: str
    context: str
    cue: str
    created_at: datetime


@dataclass(frozen=True)
class ArticleAssessment:
    claim_id: str
    stance: str
    party: str
    party_kind: str
    evidence: str
    cue: str
    score: float


@dataclass(frozen=True)
class ArticleDetail:
    id: int
    url: str
    title: str
    outlet: str
    source: str
    text: str
    published_at: datetime | None
    seen_at: datetime
    findings: tuple[Finding, ...]
    assessments: tuple[ArticleAssessment, ...]


def _at() -> Any:
    return func.coalesce(Article.published_at, Article.fetched_at, type_=UTCDateTime)


async def current_standing(s: AsyncConnection, claim_id: str) -> list[StandingEntry]:
    """Every party's current decisive stance on the claim with its latest statement, picked by
    the database (`latest_per_party`, shared with the alerts' snapshot) rather than by reading
    every one: a claim with thousands of statements is read on every page view."""
    latest = latest_per_party(claim_id)
    rows = await s.execute(select(latest.c.party, latest.c.stance, latest.c.outlet, latest.c.at, latest.c.url))
    return in_standing_order(StandingEntry(party, stance, outlet, at, url) for party, stance, outlet, at, url in rows.all())


class Reader:
    """Read-only views over a Repository's database; shares its engine and pool, but its
    transactions never take SQLite's write lock (`storage.db.readonly`): the desk reads beside
    the daemon's writer instead of queueing behind it."""

    def __init__(self, repo: Repository) -> None:
        self._engine = readonly(repo.engine)

    async def claims(self, tracked: Sequence[tuple[str, str]], only: str | None = None) -> list[ClaimSummary]:
        """The watchlist's claims (id, statement) in its order, then claims that are no longer
        tracked but have stored findings (their statement from their latest alert); `only`:
        just that claim (an empty list if nothing is known about it)."""
        ev_where = [Evidence.stance != "unrelated"]
        ps_where = []
        if only is not None:
            tracked = [(cid, text) for cid, text in tracked if cid == only]
            ev_where.append(Evidence.claim_id == only)
            ps_where.append(PartyStance.claim_id == only)
        async with self._engine.connect() as s:
            stored = {cid: (n, last) for cid, n, last in (await s.execute(
                select(Evidence.claim_id, func.count(), func.max(Evidence.created_at))
                .where(*ev_where).group_by(Evidence.claim_id)
            )).all()}
            changed = dict((await s.execute(
                select(PartyStance.claim_id, func.max(PartyStance.updated_at)).where(*ps_where)
                .group_by(PartyStance.claim_id)
            )).all())
            wanted = dict(tracked)
            untracked = sorted(set(stored) - set(wanted))
            statements: dict[str, str] = {}
            if untracked:
                rows = await s.execute(
                    select(Alert.claim_id, Alert.statement).where(Alert.claim_id.in_(untracked)).order_by(Alert.id))
                statements = dict(rows.all())
            out = []
            for cid in [*wanted, *untracked]:
                n, last = stored.get(cid, (0, None))
                out.append(ClaimSummary(
                    id=cid, statement=wanted.get(cid) or statements.get(cid, ""), tracked=cid in wanted,
                    standing=tuple(await current_standing(s, cid)) if cid in changed else (),
                    statements=int(n), latest_change=changed.get(cid), latest_statement=last,
                ))
            return out

    async def known_claim(self, claim_id: str) -> bool:
        """True if anything is stored about the claim (an untracked claim is still readable)."""
        async with self._engine.connect() as s:
            return await s.scalar(select(Evidence.id).where(Evidence.claim_id == claim_id).limit(1)) is not None

    async def timeline(
        self, claim_id: str, *, party: str | None = None, stance: str | None = None,
        since: datetime | None = None, limit: int | None = None, offset: int = 0,
        include_unrelated: bool = False,
    ) -> Timeline:
        """The claim's statements, newest first; `limit=None` returns them all (the desk page)."""
        where = [Evidence.claim_id == claim_id]
        if party is not None:
            where.append(Evidence.party == party)
        if stance is not None:
            where.append(Evidence.stance == stance)
        elif not include_unrelated:
            where.append(Evidence.stance != "unrelated")
        if since is not None:
            where.append(_at() >= since)
        async with self._engine.connect() as s:
            total = await s.scalar(
                select(func.count()).select_from(Evidence).join(Article, Evidence.article_id == Article.id)
                .where(*where)) or 0
            q = (
                select(Evidence.id, Evidence.claim_id, Evidence.party, Evidence.party_kind, Evidence.stance,
                       Evidence.quote, Evidence.context, Evidence.cue, Evidence.article_id, Article.outlet,
                       Article.title, Article.url, Article.published_at, Article.fetched_at, _at())
                .join(Article, Evidence.article_id == Article.id)
                .where(*where)
                .order_by(_at().desc(), Evidence.id.desc())
                .offset(offset)
            )
            if limit is not None:
                q = q.limit(limit)
            rows = (await s.execute(q)).all()
            ids = [r[0] for r in rows]
            alerts: dict[int, tuple[str | None, datetime | None]] = {}
            for i in range(0, len(ids), 500):
                found = await s.execute(
                    select(Alert.evidence_id, Alert.previous_stance, Alert.previous_since)
                    .where(Alert.claim_id == claim_id, Alert.evidence_id.in_(ids[i:i + 500])))
                alerts.update({eid: (prev, since_) for eid, prev, since_ in found.all()})
            parties = tuple((await s.scalars(
                select(Evidence.party).where(Evidence.claim_id == claim_id, Evidence.party != "")
                .distinct().order_by(Evidence.party))).all())
        items = []
        for (eid, cid, party_, kind, stance_, quote, context, cue, article_id, outlet, title, url, published,
             fetched, at) in rows:
            alert = alerts.get(eid)
            switched = Switch(alert[0], alert[1]) if alert is not None and alert[0] else None
            items.append(Statement(
                evidence_id=eid, claim_id=cid, party=party_, party_kind=kind, stance=stance_, quote=quote,
                context=context, cue=cue, article_id=article_id, outlet=outlet, title=title, url=url,
                published_at=published, seen_at=fetched, at=at, alerted=alert is not None, switched_from=switched,
            ))
        return Timeline(int(total), tuple(items), parties)

    async def discussing(self, claim_id: str) -> list[Discussion]:
        """Articles that discuss the claim (as a whole, or a party does) with no confirmation or
        denial on it, newest first: context for the desk, folded away by default."""
        decisive = select(Evidence.article_id).where(
            Evidence.claim_id == claim_id, Evidence.stance.in_(("confirms", "denies")))
        async with self._engine.connect() as s:
            assessed = (await s.execute(
                select(Article.id, Article.outlet, Article.title, Article.url, Article.published_at,
                       Article.fetched_at, _at(), Assessment.evidence)
                .join(Assessment, Assessment.article_id == Article.id)
                .where(Assessment.claim_id == claim_id, Assessment.stance == "discusses",
                       Article.id.not_in(decisive)))).all()
            found = (await s.execute(
                select(Article.id, Article.outlet, Article.title, Article.url, Article.published_at,
                       Article.fetched_at, _at(), Evidence.quote)
                .join(Evidence, Evidence.article_id == Article.id)
                .where(Evidence.claim_id == claim_id, Evidence.stance == "discusses",
                       Article.id.not_in(decisive)).order_by(Evidence.id))).all()
        out: dict[int, Discussion] = {}
        for row in [*assessed, *found]:
            out.setdefault(row[0], Discussion(*row))
        return sorted(out.values(), key=lambda d: (d.at, d.article_id), reverse=True)

    async def sources(self) -> list[SourceRow]:
        """Every source, failing ones first (most failures first), then healthy, then disabled."""
        async with self._engine.connect() as s:
            counts = dict((await s.execute(
                select(Article.source_id, func.count()).group_by(Article.source_id))).all())
            opened = dict((await s.execute(
                select(Incident.subject, Incident.opened_at)
                .where(Incident.kind == "source_failing", Incident.closed_at.is_(None)))).all())
            rows = (await s.execute(select(Source))).all()
            out = [
                SourceRow(
                    id=r.id, name=r.name, kind=r.kind, url=r.url, enabled=r.enabled,
                    every_seconds=r.every_seconds, last_fetched_at=r.last_fetched_at,
                    last_success_at=r.last_success_at, next_due_at=r.next_due_at, error=r.last_error,
                    error_kind=r.last_error_kind, error_count=r.error_count,
                    failing_since=opened.get(r.name) if r.last_error else None,
                    articles=int(counts.get(r.id, 0)),
                )
                for r in rows
            ]
        return sorted(out, key=lambda r: (not r.failing, not r.enabled, -r.error_count, r.name))

    async def outbox(
        self, *, status: str | None = None, channel: str | None = None, limit: int = 100, offset: int = 0,
    ) -> Outbox:
        """Counts per channel and status, and the deliveries (newest first) matching the filters."""
        derived = case(
            (and_(Delivery.status == "pending", Delivery.attempts > 0), "retrying"), else_=Delivery.status)
        where = []
        if status is not None:
            where.append(derived == status)
        if channel is not None:
            where.append(Delivery.channel == channel)
        async with self._engine.connect() as s:
            tally: dict[str, dict[str, int]] = {}
            for ch, st, n in (await s.execute(
                select(Delivery.channel, derived, func.count()).group_by(Delivery.channel, derived)
            )).all():
                tally.setdefault(ch, {})[st] = int(n)
            total = await s.scalar(select(func.count()).select_from(Delivery).where(*where)) or 0
            rows = (await s.execute(
                select(Delivery.id, Delivery.channel, Delivery.target_label, derived, Delivery.attempts,
                       Delivery.next_attempt_at, Delivery.sent_at, Delivery.last_error, Delivery.hold,
                       Delivery.hold_until, Delivery.alert_id, Alert.claim_id, Alert.party, Alert.stance, Alert.created_at,
                       Notice.title, Notice.created_at)
                .outerjoin(Alert, Delivery.alert_id == Alert.id)
                .outerjoin(Notice, Delivery.notice_id == Notice.id)
                .where(*where).order_by(Delivery.id.desc()).limit(limit).offset(offset)
            )).all()
        channels = tuple(
            ChannelCounts(ch, **{k: v for k, v in t.items() if k in OUTBOX_STATUSES})
            for ch, t in sorted(tally.items()))
        items = tuple(
            OutboxRow(
                id=did, channel=ch, target=label, status=st, attempts=attempts, next_attempt_at=next_at,
                sent_at=sent, last_error=err, hold=hold, hold_until=hold_until, alert_id=alert_id,
                claim_id=claim, party=party, stance=stance, created_at=alerted or noticed, notice_title=title,
            )
            for (did, ch, label, st, attempts, next_at, sent, err, hold, hold_until, alert_id, claim, party, stance,
                 alerted, title, noticed) in rows
        )
        return Outbox(channels, int(total), items)

    async def article(self, article_id: int) -> ArticleDetail | None:
        """An article's stored text with every finding and assessment, or None if unknown."""
        async with self._engine.connect() as s:
            row = (await s.execute(
                select(Article.id, Article.url, Article.title, Article.outlet, Article.text, Article.published_at,
                       Article.fetched_at, Source.name.label("source")).join(Source, Article.source_id == Source.id)
                .where(Article.id == article_id))).first()
            if row is None:
                return None
            a = row
            evidence = (await s.execute(
                select(Evidence).where(Evidence.article_id == article_id).order_by(Evidence.id))).all()
            assessed = (await s.execute(
                select(Assessment).where(Assessment.article_id == article_id).order_by(Assessment.id))).all()
        return ArticleDetail(
            id=a.id, url=a.url, title=a.title, outlet=a.outlet, source=a.source, text=a.text,
            published_at=a.published_at, seen_at=a.fetched_at,
            findings=tuple(Finding(e.id, e.claim_id, e.party, e.party_kind, e.stance, e.quote, e.context,
                                   e.cue, e.created_at) for e in evidence),
            assessments=tuple(ArticleAssessment(x.claim_id, x.stance, x.party, x.party_kind, x.evidence,
                                                x.cue, x.score) for x in assessed),
        )
