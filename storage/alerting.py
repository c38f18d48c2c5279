"""Findings → evidence, stances, alerts and deliveries; and the delivery queue.

Session-level functions used by `Repository`; each runs inside the caller's transaction so the
evidence, the stance change, the alert and its deliveries commit together or not at all.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, false, func, insert, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from matcher.match import Finding, Stance
from monitor.decide import before_since, is_stale, to_alert, verdicts
from storage import leasing
from storage.models import (
    Alert,
    Article,
    Delivery,
    DeliveryAttempt,
    Evidence,
    PartyStance,
    UTCDateTime,
)
from storage.records import (
    ClaimRouting,
    ConfiguredTarget,
    PendingDelivery,
    StandingEntry,
    removed_reason,
)


class StanceConflict(Exception):
    """Another transaction changed a party's stance between our read and our write."""


async def record_findings(
    s: AsyncSession,
    article_id: int,
    findings: Sequence[Finding],
    claims: Mapping[str, ClaimRouting],
    now: datetime,
) -> list[int]:
    """Store every finding; alert (with one pending delivery per target) on stance changes.

    Findings about claims missing from `claims` (e.g. dropped from the watchlist) are kept as
    evidence only: without a statement there is nothing to alert, and not recording the stance
    means the party alerts normally if the claim is tracked again.
    Raises `StanceConflict` or IntegrityError when a concurrent writer raced us; the caller
    retries the whole transaction, which then sees the winner's stance.
    """
    if not findings:
        return []
    rows = [
        {
            "article_id": article_id,
            "claim_id": f.claim_id,
            "stance": str(f.stance),
            "party": f.party,
            "party_kind": f.party_kind,
            "quote": f.quote,
            "cue": f.cue,
            "context": f.context,
            "created_at": now,
        }
        for f in findings
    ]
    result = await s.execute(
        insert(Evidence).returning(Evidence.id, sort_by_parameter_order=True), rows
    )
    evidence_ids = {id(f): eid for f, eid in zip(findings, result.scalars().all(), strict=True)}

    published, seen = (await s.execute(
        select(Article.published_at, Article.fetched_at).where(Article.id == article_id)
    )).one()
    found = [v for v in verdicts(findings)
             if v.claim_id in claims and not before_since(published, claims[v.claim_id].since)]
    if not found:
        return []
    pairs = {(v.claim_id, v.party) for v in found}
    held = await s.execute(
        select(PartyStance.claim_id, PartyStance.party, PartyStance.stance,
               func.coalesce(Article.published_at, Article.fetched_at, type_=UTCDateTime))
        .join(Evidence, PartyStance.evidence_id == Evidence.id)
        .join(Article, Evidence.article_id == Article.id)
        .where(or_(*(and_(PartyStance.claim_id == c, PartyStance.party == p) for c, p in pairs)))
        .with_for_update(of=PartyStance)  # PostgreSQL: serialise replicas deciding on the same party
    )
    held_rows = held.all()
    current = {(c, p): Stance(st) for c, p, st, _ in held_rows}
    held_since = {(c, p): at for c, p, _, at in held_rows}

    alert_ids: list[int] = []
    for v in to_alert(current, found):
        evidence_id = evidence_ids[id(v.finding)]
        before = current.get((v.claim_id, v.party))
        if before is None:
            await s.execute(
                insert(PartyStance).values(
                    claim_id=v.claim_id, party=v.party, stance=str(v.stance),
                    evidence_id=evidence_id, updated_at=now,
                )
            )
        else:
            changed = await s.execute(
                update(PartyStance)
                .where(
                    PartyStance.claim_id == v.claim_id,
                    PartyStance.party == v.party,
                    PartyStance.stance == str(before),
                )
                .values(stance=str(v.stance), evidence_id=evidence_id, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if changed.rowcount != 1:  # type: ignore[attr-defined]
                raise StanceConflict(f"{v.claim_id}/{v.party} changed concurrently")
        last = await s.scalar(
            select(func.max(Alert.generation)).where(
                Alert.claim_id == v.claim_id, Alert.party == v.party
            )
        )
        routing = claims[v.claim_id]
        alert_id = await s.scalar(
            insert(Alert)
            .values(
                claim_id=v.claim_id, party=v.party, stance=str(v.stance),
                statement=routing.statement, evidence_id=evidence_id,
                generation=(last or 0) + 1, created_at=now,
                previous_stance=str(before) if before else None,
                previous_since=held_since.get((v.claim_id, v.party)),
                stale=is_stale(published, seen, routing.stale_after_seconds),
                standing=_dump_standing(*await standing_snapshot(s, v.claim_id)),
            )
            .returning(Alert.id)
        )
        assert alert_id is not None
        await insert_deliveries(s, alert_id, routing, now)
        alert_ids.append(alert_id)
    return alert_ids


def in_standing_order(entries: Iterable[StandingEntry]) -> list[StandingEntry]:
    """Confirmations first, then denials; within each, oldest statement first."""
    return sorted(entries, key=lambda e: (e.stance != "confirms", e.at or datetime.min, e.party))


# The parties an alert names per side ("Confirmed so far by: …"), the latest ones; the rest
# are counted. A story hundreds of people comment on would otherwise make every alert list, store
# and read them all (each alert costing more than the one before).
STANDING_SHOWN = 8


def latest_per_party(claim_id: str) -> Any:
    """Each party's current decisive stance on the claim with its latest statement of it
    (party, stance, outlet, at, url), picked by the database (ROW_NUMBER), as a subquery."""
    at = func.coalesce(Article.published_at, Article.fetched_at, type_=UTCDateTime)
    per_party = (
        select(PartyStance.party, PartyStance.stance, Article.outlet, at.label("at"), Article.url,
               func.row_number().over(partition_by=PartyStance.party,
                                      order_by=(at.desc(), Evidence.id.desc())).label("n"))
        .join(Evidence, and_(Evidence.claim_id == PartyStance.claim_id, Evidence.party == PartyStance.party,
                             Evidence.stance == PartyStance.stance))
        .join(Article, Evidence.article_id == Article.id)
        .where(PartyStance.claim_id == claim_id)
        .subquery()
    )
    return select(per_party.c.party, per_party.c.stance, per_party.c.outlet, per_party.c.at,
                  per_party.c.url).where(per_party.c.n == 1).subquery()


async def standing_snapshot(s: AsyncSession, claim_id: str,
                            shown: int = STANDING_SHOWN) -> tuple[list[StandingEntry], dict[str, int]]:
    """The claim's standing as an alert shows it: per stance, the `shown` parties whose latest
    statement of it is the most recent (`in_standing_order`), and how many parties hold each
    stance. The database ranks and counts, so the cost does not grow with the parties."""
    latest = latest_per_party(claim_id)
    ranked = select(latest, func.row_number().over(
        partition_by=latest.c.stance, order_by=(latest.c.at.desc(), latest.c.party)).label("m")).subquery()
    rows = await s.execute(select(ranked.c.party, ranked.c.stance, ranked.c.outlet, ranked.c.at, ranked.c.url)
                           .where(ranked.c.m <= shown))
    entries = [StandingEntry(party, stance, outlet, at_, url) for party, stance, outlet, at_, url in rows.all()]
    totals = dict((await s.execute(select(PartyStance.stance, func.count()).where(
        PartyStance.claim_id == claim_id).group_by(PartyStance.stance))).all())
    return in_standing_order(entries), {str(k): int(v) for k, v in totals.items()}


def _dump_standing(entries: Sequence[StandingEntry], totals: Mapping[str, int]) -> str:
    return json.dumps({"shown": [{"party": e.party, "stance": e.stance, "outlet": e.outlet,
                                  "at": e.at.isoformat() if e.at else None, "url": e.url} for e in entries],
                       "total": dict(totals)})


def _load_standing(text: str | None) -> tuple[tuple[StandingEntry, ...], dict[str, int]]:
    """The shown entries and the totals per stance; an alert stored before totals were kept (a
    bare list of every party) counts its own entries."""
    try:
        data = json.loads(text or "[]")
        items = data["shown"] if isinstance(data, dict) else data
        entries = tuple(StandingEntry(i["party"], i["stance"], i["outlet"],
                                      datetime.fromisoformat(i["at"]) if i.get("at") else None, i.get("url", ""))
                        for i in items)
        stored = data.get("total") if isinstance(data, dict) else None
        totals = Counter(e.stance for e in entries) if stored is None else stored
        return entries, {str(k): int(v) for k, v in totals.items()}
    except (ValueError, KeyError, TypeError, AttributeError):  # a snapshot is informative, never fatal
        return (), {}


def _standing_fields(text: str | None) -> dict[str, Any]:
    entries, totals = _load_standing(text)
    return {"standing": entries, "standing_total": totals}


async def insert_deliveries(
    s: AsyncSession, alert_id: int, routing: ClaimRouting, now: datetime
) -> None:
    """One pending delivery per target of the claim, due at once."""
    if not routing.targets:
        return
    await s.execute(
        insert(Delivery),
        [
            {
                "alert_id": alert_id, "channel": t.channel, "target_key": t.key, "target_index": None,
                "target_label": t.label, "status": "pending", "attempts": 0,
                "next_attempt_at": now, "leased_until": None, "sent_at": None,
                "last_error": None,
            }
            for t in routing.targets
        ],
    )


async def lease_due(
    s: AsyncSession, due: Callable[[Any], Any], now: datetime, limit: int, lease_seconds: float
) -> list[int]:
    """Lease up to `limit` deliveries matching `due(table)`, oldest due first; their ids
    (storage/leasing.py)."""
    return await leasing.lease(s, Delivery, due, (Delivery.next_attempt_at, Delivery.id), limit,
                               {"leased_until": now + timedelta(seconds=lease_seconds)})


async def lease_deliveries(
    s: AsyncSession, now: datetime, limit: int, lease_seconds: float, due_by: datetime | None = None,
    *, only: Callable[[Any], Any] | None = None,
) -> list[PendingDelivery]:
    """Take up to `limit` due alert deliveries for `lease_seconds` (`lease_due`), ready to render."""
    def due(t: Any) -> Any:
        return and_(
            t.status == "pending",
            t.alert_id.is_not(None),  # ops notices have their own deliverer (storage/incidents.py)
            t.next_attempt_at <= (due_by or now),
            or_(t.leased_until.is_(None), t.leased_until < now),
            or_(t.hold_until.is_(None), t.hold_until <= now),  # a digest's time is never brought forward
            *((only(t),) if only is not None else ()),  # e.g. one target's held deliveries (storage/holding.py)
        )

    ids = await lease_due(s, due, now, limit, lease_seconds)
    if not ids:
        return []
    rows = await s.execute(
        select(Delivery, Alert, Evidence, Article)
        .join(Alert, Delivery.alert_id == Alert.id)
        .join(Evidence, Alert.evidence_id == Evidence.id)
        .join(Article, Evidence.article_id == Article.id)
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.next_attempt_at, Delivery.id)
    )
    return [
        PendingDelivery(
            id=dl.id, alert_id=al.id, channel=dl.channel, target_key=dl.target_key,
            target_label=dl.target_label, attempts=dl.attempts, claim_id=al.claim_id,
            statement=al.statement, party=al.party, stance=al.stance, quote=ev.quote,
            cue=ev.cue, outlet=ar.outlet, article_title=ar.title, article_url=ar.url,
            published_at=ar.published_at, alerted_at=al.created_at, context=ev.context,
            seen_at=ar.fetched_at, generation=al.generation, previous_stance=al.previous_stance,
            previous_since=al.previous_since, stale=al.stale, **_standing_fields(al.standing),
            hold=dl.hold, hold_until=dl.hold_until,
        )
        for dl, al, ev, ar in rows.all()
    ]


async def record_attempt(
    s: AsyncSession,
    delivery_id: int,
    *,
    now: datetime,
    ok: bool,
    error: str | None,
    duration_ms: int,
    next_attempt_at: datetime | None,
) -> None:
    """Log the attempt and move the delivery on: sent, retry at `next_attempt_at`, or failed.

    Only a pending delivery changes state: a late report from a worker whose lease expired
    must not turn a delivery another worker already sent back into pending or failed.
    """
    await s.execute(
        insert(DeliveryAttempt).values(
            delivery_id=delivery_id, at=now, ok=ok, error=error, duration_ms=duration_ms
        )
    )
    values: dict[str, object] = {"attempts": Delivery.attempts + 1, "leased_until": None}
    if ok:
        values |= {"status": "sent", "sent_at": now, "last_error": None}
    elif next_attempt_at is not None:
        values |= {"status": "pending", "next_attempt_at": next_attempt_at, "last_error": error}
    else:
        values |= {"status": "failed", "last_error": error}
    await s.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == "pending")
        .values(values)
        .execution_options(synchronize_session=False)
    )


async def reconcile_targets(
    s: AsyncSession, targets: Sequence[ConfiguredTarget], channels: Collection[str], now: datetime
) -> tuple[int, int]:
    """Make the outbox agree with the watchlist's targets (at start and after each reload):
    adopt rows queued before target keys (migration 0006) and fail pending deliveries whose
    target is gone. Returns (adopted, failed).

    A pre-0006 row knows only its position and apprise's label: it gets the key of the target
    now at that position if that target has the same label and no other target of the channel
    shares it (its stored label is also replaced by the fully masked one); either way its
    position is then cleared, so this happens once. A pending delivery
    not leased by anyone whose (channel, key) the watchlist no longer lists, or that could not
    be adopted, is failed with `removed_reason`: reordering never misroutes, removing never
    leaves alerts pending for ever.
    """
    adopted = await _adopt_legacy(s, targets)
    keys: dict[str, set[str]] = {}
    for t in targets:
        keys.setdefault(t.channel, set()).add(t.key)
    known = or_(*(and_(Delivery.channel == c, Delivery.target_key.in_(sorted(k))) for c, k in keys.items())) \
        if keys else false()
    gone = and_(
        Delivery.status == "pending",
        or_(Delivery.leased_until.is_(None), Delivery.leased_until < now),  # never one being sent
        or_(Delivery.target_key.is_(None), not_(known)),
    )
    rows = (await s.execute(
        select(Delivery.channel, Delivery.target_key.is_(None)).where(gone).distinct()
    )).all()
    failed = 0
    for channel, legacy_row in rows:
        which = Delivery.target_key.is_(None) if legacy_row else Delivery.target_key.is_not(None)
        done = await s.execute(
            update(Delivery).where(gone, Delivery.channel == channel, which)
            .values(status="failed", last_error=removed_reason(channel, channels, None if legacy_row else ""),
                    leased_until=None)
            .execution_options(synchronize_session=False)
        )
        failed += int(done.rowcount or 0)  # type: ignore[attr-defined]
    return adopted, failed


async def _adopt_legacy(s: AsyncSession, targets: Sequence[ConfiguredTarget]) -> int:
    """Give rows queued before target keys the key of their target, where it is unambiguous.

    Compared here rather than in SQL: an old label may hold what apprise left unmasked, and
    must not become a bound parameter that a SQL debug log prints."""
    rows = (await s.execute(
        select(Delivery.id, Delivery.channel, Delivery.target_index, Delivery.target_label)
        .where(Delivery.target_key.is_(None), Delivery.target_index.is_not(None))
    )).all()
    if not rows:
        return 0
    alike: dict[tuple[str, str], list[ConfiguredTarget]] = {}
    for configured in targets:
        alike.setdefault((configured.channel, configured.legacy_label), []).append(configured)
    changes: dict[tuple[str | None, str | None], list[int]] = {}
    adopted = 0
    for row_id, channel, index, old_label in rows:
        same = alike.get((channel, old_label), [])
        t = same[0] if len(same) == 1 else None  # two targets that look alike cannot be told apart
        if t is not None and t.index == index:
            changes.setdefault((t.key, t.label), []).append(row_id)
            adopted += 1
        else:  # left unaddressed (a pending one is failed below); the old label goes if we can
            changes.setdefault((None, t.label if t is not None else None), []).append(row_id)
    for (key, label), ids in changes.items():
        values: dict[str, object] = {"target_index": None}
        if key is not None:
            values["target_key"] = key
        if label is not None:
            values["target_label"] = label
        for i in range(0, len(ids), 500):
            await s.execute(update(Delivery).where(Delivery.id.in_(ids[i:i + 500])).values(values)
                            .execution_options(synchronize_session=False))
    return adopted
