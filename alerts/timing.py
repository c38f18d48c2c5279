"""When held alerts go out: the end of a digest period and the time of a fold message.

Pure arithmetic on aware datetimes (no clock reads), so it is tested with fixed times. A digest
period ends at the first scheduled send time strictly after an alert; every alert of the period
shares that time, which is what groups them into one message.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.watchlist import Digest

HOUR = timedelta(hours=1)


def digest_due(after: datetime, digest: Digest) -> datetime:
    """The first send time of `digest` strictly after `after` (aware), in UTC.

    Hourly: the next full hour of the digest's zone (whole-hour offsets make that the next full
    UTC hour; a half-hour zone such as Asia/Kolkata keeps its own :30). Daily: the next `at` on
    the zone's wall clock, DST-safe: a wall time skipped by a spring-forward gap is sent at the
    same distance after the gap (02:30 in a 02:00→03:00 jump is 03:30), a time that happens twice
    in an autumn fall-back is sent at its first occurrence. Periods are consecutive: every alert
    belongs to exactly one of them.
    """
    if after.tzinfo is None:
        raise ValueError("digest_due needs an aware datetime")
    zone = digest.zone
    if digest.period == "hourly":
        local = after.astimezone(zone)
        top = local.replace(minute=0, second=0, microsecond=0)
        # step in absolute time, so an hour repeated or skipped by DST is still one hour
        return (top.astimezone(UTC) + HOUR).astimezone(UTC)
    day = after.astimezone(zone).date()
    for offset in range(3):  # today, tomorrow; a third day only if a gap ate tomorrow's time
        wall = datetime.combine(day + timedelta(days=offset), digest.at, tzinfo=zone)
        # fold=0 resolves an ambiguous time to its first occurrence and a skipped one to the
        # offset before the gap; the UTC round trip normalises it to a real instant
        at = wall.astimezone(UTC)
        if at > after:
            return at
    raise AssertionError("unreachable: a daily time occurs within three days")


def digest_period(due: datetime, digest: Digest) -> tuple[datetime, datetime]:
    """The (start, end) of the period that ends at `due` (for a digest's heading)."""
    if digest.period == "hourly":
        return due - HOUR, due
    start = due - timedelta(days=1)
    # the previous send time: the latest due time ≤ start+margin whose successor is `due`
    probe = start - timedelta(hours=3)
    prev = digest_due(probe, digest)
    while (nxt := digest_due(prev, digest)) < due:
        prev = nxt
    return prev, due


def fold_due(now: datetime, fold_every_seconds: int, pending: datetime | None) -> datetime:
    """When an alert over a channel's hourly limit goes out: with the fold message already
    waiting for that target (`pending`), else one `fold_every` from now; so fold messages to
    one target are at least `fold_every` apart and an alert waits at most that long."""
    if pending is not None:
        return pending
    return now + timedelta(seconds=fold_every_seconds)


def over_limit(sent_last_hour: int, max_per_hour: int | None) -> bool:
    """True when a target already received its `max_per_hour` messages in the last hour."""
    return max_per_hour is not None and sent_last_hour >= max_per_hour
