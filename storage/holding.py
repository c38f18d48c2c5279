"""Held deliveries: digests, folds and the per-hour limit, all in the persisted outbox.

A delivery stays one row per (alert, target). A digest or fold channel *holds* it: `hold` says
how it goes out and `hold_until` when (alerts/timing.py); at that time every held delivery of
the target is leased together, sent as one message and marked sent in one transaction with an
attempt recorded for each, so a restart loses nothing and sends nothing twice. Which deliveries
went out together is kept (`batch_id`), so the per-hour limit counts messages, not alerts, from
the database: it survives restarts and is shared by replicas.

Session-level functions used by `Repository`, like storage/alerting.py.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import alerting
from storage.models import Delivery, DeliveryAttempt
from storage.records import PendingDelivery

HOLDS = ("digest", "fold")
MAX_GROUP = 500  # deliveries in one message; a bigger backlog goes out in several


async def lease_held(
    s: AsyncSession, channel: str, target_key: str, now: datetime, lease_seconds: float
) -> list[PendingDelivery]:
    """Lease every held delivery of one target (by key) whose time has come (oldest first)."""
    return await alerting.lease_deliveries(
        s, now, MAX_GROUP, lease_seconds,
        only=lambda t: and_(t.channel == channel, t.target_key == target_key, t.hold.is_not(None)),
    )


async def hold(s: AsyncSession, delivery_ids: Sequence[int], kind: str, until: datetime) -> None:
    """Hold leased pending deliveries for the `kind` message sent at `until`; lease released."""
    if kind not in HOLDS:
        raise ValueError(f"hold must be one of {HOLDS}, not {kind!r}")
    if not delivery_ids:
        return
    await s.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(delivery_ids)), Delivery.status == "pending")
        .values(hold=kind, hold_until=until, next_attempt_at=until, leased_until=None)
        .execution_options(synchronize_session=False)
    )


async def target_rate(
    s: AsyncSession, channel: str, target_key: str, since: datetime
) -> tuple[int, datetime | None]:
    """Messages sent to the target since `since` (a grouped message counts once), and when its
    waiting fold message goes out (None if none is waiting)."""
    target = and_(Delivery.channel == channel, Delivery.target_key == target_key)
    sent = await s.scalar(
        select(func.count(func.distinct(func.coalesce(Delivery.batch_id, Delivery.id))))
        .where(target, Delivery.status == "sent", Delivery.sent_at > since)
    )
    fold_at = await s.scalar(
        select(func.min(Delivery.hold_until))
        .where(target, Delivery.status == "pending", Delivery.hold == "fold")
    )
    return int(sent or 0), fold_at


async def record_group_attempt(
    s: AsyncSession,
    delivery_ids: Sequence[int],
    *,
    now: datetime,
    ok: bool,
    error: str | None,
    duration_ms: int,
    next_attempt_at: datetime | None,
) -> None:
    """One message carried these deliveries: an attempt for each, and all move on together
    (sent with a shared `batch_id`, retry at `next_attempt_at`, or failed). As in
    `alerting.record_attempt`, only deliveries still pending change state."""
    ids = sorted(delivery_ids)
    if not ids:
        return
    await s.execute(insert(DeliveryAttempt), [
        {"delivery_id": i, "at": now, "ok": ok, "error": error, "duration_ms": duration_ms} for i in ids
    ])
    values: dict[str, object] = {"attempts": Delivery.attempts + 1, "leased_until": None}
    if ok:
        values |= {"status": "sent", "sent_at": now, "last_error": None, "batch_id": ids[0]}
    elif next_attempt_at is not None:
        values |= {"status": "pending", "next_attempt_at": next_attempt_at, "last_error": error}
    else:
        values |= {"status": "failed", "last_error": error}
    await s.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == "pending")
        .values(values)
        .execution_options(synchronize_session=False)
    )
