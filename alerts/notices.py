"""Delivery of ops notices (monitor/ops.py) from the same persisted outbox as alerts.

A notice's deliveries are leased, sent, recorded and retried exactly like an alert's
(alerts/deliver.py): every attempt recorded, capped backoff, failed for good after
`max_attempts` or on a configuration error, never sent twice. Only the rendering differs:
`render.notice_message(title, body, url, severity)`.
"""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Protocol

from alerts import render
from alerts.deliver import (
    DeliveryReport,
    DeliverySettings,
    _quiet_apprise,
    attempt,
    removed_reason,
    resolve,
)
from monitor.watchlist import OPS_CHANNEL
from storage.records import PendingNotice

log = logging.getLogger("claimwatch.alerts.ops")

class NoticeOutbox(Protocol):
    async def lease_notices(self, now: datetime, limit: int, lease_seconds: float,
                            due_by: datetime | None = None) -> list[PendingNotice]: ...

    async def record_attempt(self, delivery_id: int, *, now: datetime, ok: bool, error: str | None,
                             duration_ms: int, next_attempt_at: datetime | None) -> None: ...


def notice(n: PendingNotice, url: str) -> render.Message:
    """The message for one notice, in the ops target's dialect."""
    return render.notice_message(n.title, n.body, url, n.severity)


def merged(a: DeliveryReport, b: DeliveryReport) -> DeliveryReport:
    return DeliveryReport(**{f.name: getattr(a, f.name) + getattr(b, f.name) for f in fields(DeliveryReport)})


async def deliver_notices(
    outbox: NoticeOutbox,
    urls: Sequence[str],
    settings: DeliverySettings,
    *,
    now: Callable[[], datetime],
    rng: Callable[[], float] = random.random,
    due_by: datetime | None = None,
) -> DeliveryReport:
    """Send every due ops notice to its ops target (`urls`: the watchlist's ops channel)."""
    _quiet_apprise()
    report = DeliveryReport()
    seen: set[int] = set()
    while True:
        batch = await outbox.lease_notices(now(), settings.batch, settings.lease_seconds, due_by)
        fresh = [n for n in batch if n.id not in seen]
        if not fresh:
            return report
        seen.update(n.id for n in fresh)
        for n in fresh:  # a handful at most: one at a time, in order
            await _one(outbox, n, urls, settings, now, rng, report)
        if len(batch) < settings.batch:
            return report


async def _one(outbox: NoticeOutbox, n: PendingNotice, urls: Sequence[str], settings: DeliverySettings,
               now: Callable[[], datetime], rng: Callable[[], float], report: DeliveryReport) -> None:
    url = resolve(OPS_CHANNEL, n.target_key, {OPS_CHANNEL: urls})
    missing = removed_reason(OPS_CHANNEL, {OPS_CHANNEL: urls}, n.target_key) if url is None else ""
    a = await attempt(url, missing, n.target_label, lambda u: notice(n, u), n.attempts, settings, now, rng)
    a.report(report, f"ops notice {n.title!r} via {a.label}", settings)
    await asyncio.shield(outbox.record_attempt(
        n.id, now=a.at, ok=a.state == "sent", error=a.error, duration_ms=a.duration_ms,
        next_attempt_at=a.next_attempt_at,
    ))
