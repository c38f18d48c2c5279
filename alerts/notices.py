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
import time
from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Protocol

from alerts import render
from alerts.deliver import (
    _ERROR_CHARS,
    DeliveryReport,
    DeliverySettings,
    _instantiate,
    _label,
    _Outcome,
    _quiet_apprise,
    _send,
    backoff,
    removed_reason,
    resolve,
    target_error,
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
    started = time.monotonic()
    if url is None:
        label = n.target_label
        outcome = _Outcome("config", removed_reason(OPS_CHANNEL, {OPS_CHANNEL: urls}, n.target_key))
    else:
        plugin = _instantiate(url) if url and "${" not in url else None
        label = _label(plugin, url)
        if plugin is None:
            outcome = _Outcome("config", target_error(url) or "apprise could not load the URL")
        else:
            outcome = await _send(plugin, notice(n, url), settings)
    duration_ms = int((time.monotonic() - started) * 1000)
    error = outcome.error[:_ERROR_CHARS] if outcome.error else None
    at = now()
    attempts = n.attempts + 1
    next_at: datetime | None = None
    if outcome.kind == "sent":
        report.sent += 1
        log.info("ops notice %r sent via %s (%d ms)", n.title, label, duration_ms)
    elif outcome.kind == "retry" and attempts < settings.max_attempts:
        next_at = at + backoff(attempts, settings, rng())
        report.retrying += 1
        log.warning("ops notice %r via %s: attempt %d/%d failed (%s); retrying at %s", n.title, label,
                    attempts, settings.max_attempts, error, next_at.isoformat(timespec="seconds"))
    else:
        if outcome.kind == "retry":
            error = f"gave up after {attempts} attempts; last: {error}"
        report.failed += 1
        log.error("ops notice %r via %s failed for good: %s", n.title, label, error)
    await asyncio.shield(outbox.record_attempt(
        n.id, now=at, ok=outcome.kind == "sent", error=error, duration_ms=duration_ms, next_attempt_at=next_at,
    ))
