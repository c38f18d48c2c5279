"""Schedule: when each source is next due (pure arithmetic), and the APScheduler jobs beside it.

The due times live in the database, not in the scheduler: the daemon's dispatcher
(monitor/daemon.py) leases whatever is due as slots free up; APScheduler only drives
housekeeping (watchlist reloads, ops checks, the replica heartbeat). That is what lets several
replicas share one PostgreSQL, and what makes a restart lose nothing.

Sources spread over their interval: each has a stable *phase* in it, from a hash of its name,
and a healthy poll's next due time is the first point of that phase at least ¾ of an interval
on (so two polls are never much closer than the interval). A new
source is polled at once; from its second poll on, 1,000 sources of one interval are spread
evenly across it instead of polling in lockstep.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger("claimwatch.schedule")

MAX_ERROR_BACKOFF = timedelta(hours=6)
MAX_HONOURED_CACHE = timedelta(hours=24)


def next_due(
    now: datetime,
    every_seconds: int,
    *,
    error_count: int = 0,
    retry_after: float | None = None,
    max_age: float | None = None,
    jitter: float = 0.0,
    name: str | None = None,
) -> datetime:
    """The next poll time of a source.

    Healthy: the configured interval, stretched to the server's Cache-Control/Expires (capped at a
    day). Failing: the interval doubles with each consecutive error, up to six hours, and never
    earlier than a Retry-After. `jitter` in [-1, 1] spreads polls by up to ±10% of the interval so
    sources configured alike do not hit the network in lockstep. With the source's `name`, a
    healthy interval lands on the source's phase (`on_phase`), so sources spread over it.
    """
    # Server-given delays are clamped first (absurd, negative, NaN or infinite values included):
    # timedelta() of 1e20 seconds would raise OverflowError.
    retry_after, max_age = _honoured(retry_after), _honoured(max_age)
    interval = timedelta(seconds=every_seconds)
    stretched = bool(error_count or max_age and max_age > every_seconds or retry_after and retry_after > every_seconds)
    if name is not None and not stretched:
        return on_phase(now + interval * 0.75, name, every_seconds) + timedelta(
            seconds=every_seconds * 0.1 * max(-1.0, min(1.0, jitter)))
    if error_count:
        interval = min(interval * (2 ** min(error_count - 1, 16)), max(MAX_ERROR_BACKOFF, interval))
    if max_age:
        interval = max(interval, min(timedelta(seconds=max_age), MAX_HONOURED_CACHE))
    if retry_after:
        interval = max(interval, min(timedelta(seconds=retry_after), MAX_HONOURED_CACHE))
    return now + interval + timedelta(seconds=every_seconds * 0.1 * max(-1.0, min(1.0, jitter)))


def _honoured(seconds: float | None) -> float | None:
    """A server-given delay as a number of seconds in [0, MAX_HONOURED_CACHE], or None."""
    if seconds is None or math.isnan(seconds):
        return None
    return min(max(0.0, float(seconds)), MAX_HONOURED_CACHE.total_seconds())


def phase(name: str, every_seconds: int) -> float:
    """A source's stable offset in its interval, in seconds in [0, every_seconds): from a hash of
    its name, so it is the same in every process and after every restart."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 * every_seconds


def on_phase(at: datetime, name: str, every_seconds: int) -> datetime:
    """The first time at or after `at` on the source's phase (epoch + phase + k × interval)."""
    offset = phase(name, every_seconds)
    k = math.ceil((at.timestamp() - offset) / every_seconds)
    return datetime.fromtimestamp(k * every_seconds + offset, tz=UTC)


Job = Callable[[], Awaitable[object]]


class Schedule:
    """Runs the tick and housekeeping jobs; each job never overlaps itself, and stop() lets a
    running job finish its work before returning (SIGTERM must not cut a poll in half)."""

    def __init__(self, jobs: dict[str, tuple[Job, float]]) -> None:
        self._jobs = jobs
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._running: set[asyncio.Task[object]] = set()

    def start(self) -> None:
        now = datetime.now().astimezone()
        for name, (job, seconds) in self._jobs.items():
            self._scheduler.add_job(
                self._guard(name, job), "interval", seconds=seconds, id=name, name=name,
                max_instances=1, coalesce=True, next_run_time=now, misfire_grace_time=None,
            )
        self._scheduler.start()

    def _guard(self, name: str, job: Job) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._running.add(task)
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failing job is logged and runs again at its next turn
                log.exception("job %s failed; it runs again at its next turn", name)
            finally:
                self._running.discard(task)

        return run

    async def stop(self, grace_seconds: float = 30.0) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._running:
            log.info("waiting up to %.0fs for %d running job(s) to finish", grace_seconds, len(self._running))
            _, pending = await asyncio.wait(set(self._running), timeout=grace_seconds)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
