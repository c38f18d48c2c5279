"""Digest and rate-limited channels: deliveries held in the outbox, sent as one message.

A channel with `digest:` holds each new delivery until the end of its alert's period
(alerts/timing.py `digest_due`); a channel with `max_per_hour: N` sends alerts one by one until
the target received N messages in the last hour (counted in storage, so it survives restarts),
then holds the rest for one fold message `fold_every` later. When held deliveries come due,
every held delivery of the target is leased at once, rendered as one message (grouped by claim,
in time order) and recorded in one transaction: sent together, retried together, never twice.

Called from alerts/deliver.py `_Run.target` for the targets of such channels, and for any
delivery already held (a channel whose options changed still sends what it holds).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from alerts import render
from alerts.deliver import Outbox, _resolve, attempt, removed_reason
from alerts.timing import HOUR, digest_due, digest_period, fold_due, over_limit
from storage.records import PendingDelivery

if TYPE_CHECKING:
    from alerts.deliver import _Run
    from monitor.watchlist import ChannelOptions

log = logging.getLogger("claimwatch.alerts")


class HoldingOutbox(Outbox, Protocol):
    """The outbox of storage/holding.py (implemented by storage's Repository)."""

    async def lease_held(
        self, channel: str, target_key: str, now: datetime, lease_seconds: float
    ) -> list[PendingDelivery]: ...

    async def hold_deliveries(self, delivery_ids: Sequence[int], kind: str, until: datetime) -> None: ...

    async def target_rate(
        self, channel: str, target_key: str, since: datetime
    ) -> tuple[int, datetime | None]: ...

    async def record_group_attempt(
        self, delivery_ids: Sequence[int], *, now: datetime, ok: bool, error: str | None,
        duration_ms: int, next_attempt_at: datetime | None,
    ) -> None: ...


def applies(options: ChannelOptions | None, deliveries: Sequence[PendingDelivery]) -> bool:
    """Whether this target's deliveries go through holding rather than one by one."""
    if options is not None and (options.digest is not None or options.max_per_hour is not None):
        return True
    return any(d.hold is not None for d in deliveries)


async def serve(run: _Run, deliveries: list[PendingDelivery], options: ChannelOptions | None) -> None:
    """One target's leased deliveries: send the held ones that are due as one message, hold the
    new ones their channel groups, send the rest one by one (stopping at a failure)."""
    outbox: HoldingOutbox = run.outbox  # type: ignore[assignment]
    now = run.now()
    due = [d for d in deliveries if d.hold is not None]  # leased, so their time has come
    fresh = [d for d in deliveries if d.hold is None]
    if options is not None and options.digest is not None:
        later: dict[datetime, list[int]] = {}
        for d in fresh:
            at = digest_due(d.alerted_at, options.digest)
            if at <= now:  # its period is over already (we were down): it goes in this digest
                due.append(d)
            else:
                later.setdefault(at, []).append(d.id)
        for at, ids in sorted(later.items()):
            await asyncio.shield(outbox.hold_deliveries(ids, "digest", at))
            run.report.deferred += len(ids)
            log.info("%d alert(s) to channel %r held for its digest at %s", len(ids),
                     fresh[0].channel, at.isoformat(timespec="seconds"))
        if due:
            await send_group(run, due, options)
        return
    if due:
        await send_group(run, due, options)
    limit = options.max_per_hour if options is not None else None
    for i, d in enumerate(fresh):
        if i and time.monotonic() + run.settings.timeout_seconds > run.lease_ends:
            await run.defer(fresh[i:], None)  # as in _Run.target: never outlive our lease
            return
        if limit is not None and d.target_key is not None:
            sent, fold_at = await outbox.target_rate(d.channel, d.target_key, now - HOUR)
            if fold_at is not None or over_limit(sent, limit):
                assert options is not None
                at = max(fold_due(now, options.fold_every_seconds, fold_at), now)
                rest = [x.id for x in fresh[i:]]
                await asyncio.shield(outbox.hold_deliveries(rest, "fold", at))
                run.report.deferred += len(rest)
                log.info("channel %r via %s: %d message(s) in the last hour (limit %d): %d alert(s) "
                         "folded into one message at %s", d.channel, d.target_label, sent, limit,
                         len(rest), at.isoformat(timespec="seconds"))
                return
        retry_at = await run.one(d)
        if retry_at is not None:  # the target is down: its backlog waits with it
            await run.defer(fresh[i + 1:], retry_at)
            return


def _heading(items: Sequence[PendingDelivery], options: ChannelOptions | None) -> str:
    n = len(items)
    noun = "alert" if n == 1 else "alerts"
    channel = items[0].channel
    if options is not None and options.digest is not None:
        zone = options.digest.zone
        due = max(i.hold_until or digest_due(i.alerted_at, options.digest) for i in items)
        start, end = digest_period(due, options.digest)
        start, end = start.astimezone(zone), end.astimezone(zone)
        if options.digest.period == "hourly":
            return f"{channel} digest: {n} {noun}, {start:%Y-%m-%d %H:%M}–{end:%H:%M} {options.digest.tz}"
        return f"{channel} digest: {n} {noun} since {start:%Y-%m-%d %H:%M} {options.digest.tz}"
    if options is not None and options.max_per_hour is not None:
        return f"{channel}: {n} more {noun} (over {options.max_per_hour} per hour)"
    return f"{channel}: {n} {noun}"


def message(items: Sequence[PendingDelivery], url: str, options: ChannelOptions | None) -> render.Message:
    """The one message for these deliveries: render.digest_message (grouped by claim, in time
    order) under a heading that says which period or which limit."""
    own = options.template if options is not None else None
    return render.digest_message(items, url, _heading(items, options), own)


async def send_group(run: _Run, leased: list[PendingDelivery], options: ChannelOptions | None) -> None:
    """Take every other due held delivery of the target too, and send them all as one message."""
    outbox: HoldingOutbox = run.outbox  # type: ignore[assignment]
    first = leased[0]
    more = (await outbox.lease_held(first.channel, first.target_key, run.now(), run.settings.lease_seconds)
            if first.target_key is not None else [])
    by_id = {d.id: d for d in [*leased, *more]}
    items = sorted(by_id.values(), key=lambda d: (d.alerted_at, d.id))
    ids = [d.id for d in items]
    url = _resolve(first, run.channels)
    a = await attempt(url, removed_reason(first.channel, run.channels, first.target_key) if url is None else "",
                      first.target_label, lambda u: message(items, u, options),
                      max(d.attempts for d in items), run.settings, run.now, run.rng)
    a.report(run.report, f"{len(items)} alert(s) in one message to channel {first.channel!r} via {a.label}",
             run.settings, len(items))
    await asyncio.shield(outbox.record_group_attempt(
        ids, now=a.at, ok=a.state == "sent", error=a.error, duration_ms=a.duration_ms,
        next_attempt_at=a.next_attempt_at,
    ))


__all__ = ["HoldingOutbox", "applies", "message", "send_group", "serve"]
