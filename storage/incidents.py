"""Incidents about claimwatch itself, and their ops notices in the delivery outbox.

An incident opens once per (kind, subject) and closes once; each change writes its notice and one
pending delivery per ops target in the same transaction, so whether to tell ops is decided once,
persisted, and the notice is retried and never sent twice like any alert. Notice deliveries are
rows of `deliveries` without an alert (`notice_id` set), leased only by `lease_notices`, addressed
like alert deliveries by channel ("ops") and `target_key`.

Also the health reads the checks in monitor/ops.py decide from. Session-level functions used by
`Repository`, like storage/alerting.py.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.alerting import lease_due
from storage.models import Delivery, DeliveryAttempt, Incident, Notice, Source
from storage.records import IncidentRecord, PendingNotice, Target


@dataclass(frozen=True)
class NoticeText:
    title: str
    body: str
    severity: str  # warning | failure | success


def _key(kind: str, subject: str) -> str:
    return f"{kind}:{subject}"


def _record(i: Incident) -> IncidentRecord:
    return IncidentRecord(id=i.id, kind=i.kind, subject=i.subject, opened_at=i.opened_at,
                          closed_at=i.closed_at, detail=i.detail)


async def _notify(s: AsyncSession, incident_id: int, event: str, text: NoticeText,
                  targets: Sequence[Target], now: datetime) -> None:
    notice_id = await s.scalar(
        insert(Notice).values(incident_id=incident_id, event=event, severity=text.severity,
                              title=text.title, body=text.body, created_at=now)
        .returning(Notice.id)
    )
    if targets:
        await s.execute(insert(Delivery), [
            {"alert_id": None, "notice_id": notice_id, "channel": t.channel, "target_key": t.key, "target_index": None,
             "target_label": t.label, "status": "pending", "attempts": 0, "next_attempt_at": now,
             "leased_until": None, "sent_at": None, "last_error": None}
            for t in targets
        ])


async def open_incident(s: AsyncSession, kind: str, subject: str, text: NoticeText,
                        targets: Sequence[Target], now: datetime) -> bool:
    """Open the incident unless it is open already; True if this call opened it (and queued
    its notice). A replica racing us hits the unique open key and, retried, sees it open."""
    held = await s.scalar(select(Incident.id).where(Incident.open_key == _key(kind, subject)))
    if held is not None:
        return False
    incident_id = await s.scalar(
        insert(Incident).values(kind=kind, subject=subject, open_key=_key(kind, subject),
                                opened_at=now, closed_at=None, detail=text.body)
        .returning(Incident.id)
    )
    assert incident_id is not None
    await _notify(s, incident_id, "opened", text, targets, now)
    return True


async def close_incident(s: AsyncSession, kind: str, subject: str, text: NoticeText,
                         targets: Sequence[Target], now: datetime) -> bool:
    """Close the open incident, if any; True if this call closed it (and queued its notice)."""
    closed = await s.execute(
        update(Incident)
        .where(Incident.open_key == _key(kind, subject))
        .values(open_key=None, closed_at=now)
        .returning(Incident.id)
        .execution_options(synchronize_session=False)
    )
    incident_id = closed.scalar()
    if incident_id is None:
        return False
    await _notify(s, incident_id, "recovered", text, targets, now)
    return True


async def incidents(s: AsyncSession, *, open_only: bool = False) -> list[IncidentRecord]:
    q = select(Incident).order_by(Incident.id)
    if open_only:
        q = q.where(Incident.open_key.is_not(None))
    return [_record(i) for i in (await s.scalars(q)).all()]


async def lease_notices(s: AsyncSession, now: datetime, limit: int, lease_seconds: float,
                        due_by: datetime | None = None) -> list[PendingNotice]:
    """Take up to `limit` due notice deliveries for `lease_seconds` (as alerting.lease_deliveries)."""
    def due(t: Any) -> Any:
        return and_(
            t.status == "pending",
            t.notice_id.is_not(None),
            t.next_attempt_at <= (due_by or now),
            or_(t.leased_until.is_(None), t.leased_until < now),
        )

    ids = await lease_due(s, due, now, limit, lease_seconds)
    if not ids:
        return []
    rows = await s.execute(
        select(Delivery, Notice).join(Notice, Delivery.notice_id == Notice.id)
        .where(Delivery.id.in_(ids)).order_by(Delivery.next_attempt_at, Delivery.id)
    )
    return [
        PendingNotice(id=dl.id, notice_id=n.id, target_key=dl.target_key,
                      target_label=dl.target_label, attempts=dl.attempts, event=n.event,
                      severity=n.severity, title=n.title, body=n.body, created_at=n.created_at)
        for dl, n in rows.all()
    ]


# --- health, read by monitor/ops.py ------------------------------------------------------------


@dataclass(frozen=True)
class SourceHealth:
    name: str
    enabled: bool
    error: str | None
    error_kind: str | None
    last_success_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class TargetHealth:
    """Alert deliveries to one target: the last one failed for good, the last one sent."""

    channel: str
    target_key: str  # or, for a row queued before target keys, its label
    label: str
    last_failed_at: datetime | None
    last_error: str | None
    failed: int
    last_sent_at: datetime | None


@dataclass(frozen=True)
class ChannelHealth:
    """A channel's alert delivery attempts since some time: the last good one, the first
    failure after it, and whether the latest attempt was good."""

    channel: str
    last_ok_at: datetime | None
    first_failure_after_ok: datetime | None
    latest_ok: bool | None  # None: no attempt in the window
    labels: tuple[str, ...]


async def source_health(s: AsyncSession) -> list[SourceHealth]:
    rows = await s.execute(select(Source.name, Source.enabled, Source.last_error, Source.last_error_kind,
                                  Source.last_success_at, Source.created_at).order_by(Source.name))
    return [SourceHealth(*r) for r in rows.all()]


async def target_health(s: AsyncSession, exclude_channel: str) -> list[TargetHealth]:
    alert = and_(Delivery.alert_id.is_not(None), Delivery.channel != exclude_channel)
    target = func.coalesce(Delivery.target_key, Delivery.target_label)  # old rows: by their label
    failed = await s.execute(
        select(Delivery.channel, target, func.max(Delivery.target_label),
               func.max(DeliveryAttempt.at), func.count(func.distinct(Delivery.id)))
        .join(DeliveryAttempt, DeliveryAttempt.delivery_id == Delivery.id)
        .where(alert, Delivery.status == "failed")
        .group_by(Delivery.channel, target)
    )
    out = []
    for channel, key, label, last_failed_at, count in failed.all():
        last_error = await s.scalar(
            select(Delivery.last_error).where(alert, Delivery.status == "failed", Delivery.channel == channel,
                                              target == key)
            .order_by(Delivery.id.desc()).limit(1)
        )
        last_sent = await s.scalar(
            select(func.max(Delivery.sent_at))
            .where(alert, Delivery.channel == channel, target == key, Delivery.status == "sent")
        )
        out.append(TargetHealth(channel, key, label, last_failed_at, last_error, int(count), last_sent))
    return out


async def channel_health(s: AsyncSession, since: datetime, exclude_channel: str) -> list[ChannelHealth]:
    rows = await s.execute(
        select(Delivery.channel, Delivery.target_label, DeliveryAttempt.at, DeliveryAttempt.ok)
        .join(DeliveryAttempt, DeliveryAttempt.delivery_id == Delivery.id)
        .where(Delivery.alert_id.is_not(None), Delivery.channel != exclude_channel, DeliveryAttempt.at >= since)
        .order_by(DeliveryAttempt.at, DeliveryAttempt.id)
    )
    by_channel: dict[str, list[tuple[str, datetime, bool]]] = {}
    for channel, label, at, ok in rows.all():
        by_channel.setdefault(channel, []).append((label, at, bool(ok)))
    out = []
    for channel, attempts in sorted(by_channel.items()):
        oks = [at for _, at, ok in attempts if ok]
        last_ok = max(oks) if oks else None
        after = [(label, at) for label, at, ok in attempts if not ok and (last_ok is None or at > last_ok)]
        out.append(ChannelHealth(
            channel, last_ok, min((at for _, at in after), default=None), attempts[-1][2],
            tuple(dict.fromkeys(label for label, _ in after)),
        ))
    return out
