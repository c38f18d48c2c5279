"""The daemon: owns the shared resources, runs polls and deliveries, reloads the watchlist.

One aiohttp session, one repository, one current watchlist. `run_once` polls every source once
and delivers what is pending (`claimwatch run --once`); `run_forever` hands the same steps to the
schedule until SIGTERM/SIGINT, then lets running work finish.
"""
from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from alerts.deliver import DeliveryReport, deliver_due, privacy_label
from alerts.notices import deliver_notices, merged
from monitor import ops
from monitor.fetch import Fetcher, make_session
from monitor.pipeline import Context, PollResult, refresh_source
from monitor.schedule import Schedule, next_due
from monitor.settings import Settings
from monitor.watchlist import OPS_CHANNEL, ClaimOptions, Watchlist, WatchlistError, load_watchlists, watchlist_files
from storage.records import ClaimRouting, SourceSpec, SourceState, Target
from storage.repository import Repository

log = logging.getLogger("claimwatch.daemon")
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def routing(watchlist: Watchlist) -> dict[str, ClaimRouting]:
    """Each claim's statement and targets; a switched-off (empty) target gets no deliveries."""
    out = {}
    for claim in watchlist.claims:
        targets = tuple(
            Target(channel, i, privacy_label(url))
            for channel in watchlist.notify.get(claim.id, ())
            for i, url in enumerate(watchlist.channels.get(channel, ()))
            if url
        )
        options = watchlist.claim_options.get(claim.id, ClaimOptions())
        out[claim.id] = ClaimRouting(claim.statement, targets, options.since, options.stale_after_seconds)
    return out


def source_specs(watchlist: Watchlist) -> list[SourceSpec]:
    return [SourceSpec(s.name, s.kind, s.url, s.every_seconds) for s in watchlist.sources]


@dataclass
class _Loaded:
    """The watchlist in force, the file stamps it was read at, and its alert routing (built
    once per load: it asks apprise to mask every target URL)."""

    watchlist: Watchlist
    stamp: tuple[tuple[str, float], ...]
    routing: dict[str, ClaimRouting] = field(init=False)

    def __post_init__(self) -> None:
        self.routing = routing(self.watchlist)


def _stamp(directory: Path) -> tuple[tuple[str, float], ...]:
    try:
        return tuple((str(p), p.stat().st_mtime) for p in watchlist_files(directory))
    except OSError:
        return ()


class Daemon:
    def __init__(self, settings: Settings, watchlist: Watchlist, repo: Repository, fetcher: Fetcher) -> None:
        self.settings, self.repo, self.fetcher = settings, repo, fetcher
        self._loaded = _Loaded(watchlist, _stamp(settings.watchlists))
        self._polling = asyncio.Semaphore(settings.concurrency)
        self._wake = asyncio.Event()  # set when a poll commits alerts: deliver them now

    @property
    def watchlist(self) -> Watchlist:
        return self._loaded.watchlist

    def context(self, *, unbounded: bool = False) -> Context:
        """The poll context; `unbounded` takes in every new item at once (`run --once`) instead of
        `articles_per_poll`, which keeps one poll of a huge backlog from holding the tick."""
        wl = self.watchlist
        per_poll = None if unbounded else self.settings.articles_per_poll
        return Context(self.repo, self.fetcher, wl.claims, wl.entities, self._loaded.routing,
                       articles_per_poll=per_poll, clock=utcnow, alerted=self.wake)

    async def sync_sources(self) -> None:
        await self.repo.sync_sources(source_specs(self.watchlist), utcnow())

    async def poll(self, *, everything: bool = False) -> list[PollResult]:
        """Lease due sources (all of them with `everything`) and refresh them, bounded."""
        now = utcnow()
        due = await self.repo.lease_due_sources(
            now, limit=10_000 if everything else self.settings.concurrency * 4,
            lease_seconds=self.settings.lease_seconds, due_by=_FAR_FUTURE if everything else None,
        )
        ctx = self.context(unbounded=everything)

        async def one(source: SourceState) -> PollResult:
            async with self._polling:
                try:
                    return await refresh_source(ctx, source)
                except Exception as err:  # one broken source never stops the others
                    log.exception("source %r: poll failed unexpectedly", source.name)
                    failed_at = utcnow()  # backed off like any failing source, not retried every tick
                    await self.repo.finish_poll(
                        source.id, now=failed_at,
                        next_due_at=next_due(failed_at, source.every_seconds, error_count=source.error_count + 1),
                        etag=None, last_modified=None,
                        body_hash=None, error=f"internal error: {err!r}", error_kind="internal",
                    )
                    return PollResult(source.name, error=repr(err))

        results = list(await asyncio.gather(*(one(s) for s in due)))
        self._beat()
        return results

    async def deliver(self, *, everything: bool = False) -> DeliveryReport:
        """Send due alerts; with `everything`, also those waiting out a retry backoff."""
        return await deliver_due(self.repo, self.watchlist.channels, self.settings.delivery, now=utcnow,
                                 due_by=_FAR_FUTURE if everything else None,
                                 options=self.watchlist.channel_options)

    async def deliver_all(self, *, everything: bool = False) -> DeliveryReport:
        """Alerts, then ops notices (monitor/ops.py), from the one outbox."""
        report = await self.deliver(everything=everything)
        notices = await deliver_notices(self.repo, self.watchlist.channels.get(OPS_CHANNEL, ()),
                                        self.settings.delivery, now=utcnow,
                                        due_by=_FAR_FUTURE if everything else None)
        return merged(report, notices)

    async def check_ops(self) -> None:
        """Open and close incidents about claimwatch itself; their notices leave at once."""
        if await ops.check(self.repo, self.watchlist, utcnow()):
            self.wake()

    async def _ops_watchlist(self, error: WatchlistError | None) -> None:
        """A rejected reload opens an ops incident, the next good load closes it; never fatal."""
        try:
            if error is not None:
                changed = await ops.watchlist_rejected(self.repo, self.watchlist, error, utcnow())
            else:
                changed = await ops.watchlist_accepted(self.repo, self.watchlist, utcnow())
        except Exception:
            log.exception("could not record the watchlist incident for ops")
            return
        if changed:
            self.wake()

    def wake(self) -> None:
        """Have the deliverer run now (alerts were committed, or it should see a stop)."""
        self._wake.set()

    async def deliverer(self, stop: asyncio.Event) -> None:
        """Deliver as soon as a poll commits alerts, and sweep every `deliver_every_seconds`
        for retries and held deliveries; returns once `stop` is set and the run in hand is done."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(self._wake.wait(), self.settings.deliver_every_seconds)
            except TimeoutError:
                pass
            self._wake.clear()
            if stop.is_set():
                return
            try:
                await self.deliver_all()
            except Exception:  # storage down, say: logged, and the next wake or sweep tries again
                log.exception("delivering alerts failed; trying again at the next wake or sweep")

    async def reload_if_changed(self) -> bool:
        """Pick up edited YAML; a broken edit keeps the last good watchlist and says so loudly."""
        stamp = _stamp(self.settings.watchlists)
        if stamp == self._loaded.stamp:
            return False
        try:
            watchlist = await asyncio.to_thread(load_watchlists, self.settings.watchlists)
        except WatchlistError as err:
            log.error("watchlist change REJECTED, still running on the last good one:\n%s", err)
            self._loaded = _Loaded(self.watchlist, stamp)  # the same files are not re-read each tick
            await self._ops_watchlist(err)
            return False
        self._loaded = _Loaded(watchlist, stamp)
        await self._ops_watchlist(None)
        await self.sync_sources()
        log.info("watchlist reloaded: %d source(s), %d claim(s)", len(watchlist.sources), len(watchlist.claims))
        return True

    async def tick(self) -> None:
        await self.reload_if_changed()
        await self.poll()

    def _beat(self) -> None:
        if self.settings.heartbeat_file:
            try:
                self.settings.heartbeat_file.write_text(utcnow().isoformat())
            except OSError as err:
                log.warning("cannot write heartbeat %s: %s", self.settings.heartbeat_file, err)


async def run(settings: Settings, *, once: bool) -> int:
    """Start the daemon on the watchlist of `settings`; a bad watchlist at start refuses to start."""
    try:
        watchlist = await asyncio.to_thread(load_watchlists, settings.watchlists)
    except WatchlistError as err:
        log.error("refusing to start, the watchlist has problems:\n%s", err)
        return 2
    repo = await Repository.open(settings.db_url)
    try:
        async with make_session(settings.fetch) as session:
            daemon = Daemon(settings, watchlist, repo, Fetcher(session, settings.fetch))
            await daemon.sync_sources()
            log.info("claimwatch started: %d source(s), %d claim(s), database %s",
                     len(watchlist.sources), len(watchlist.claims), _safe_db(settings.db_url))
            for claim_id, route in routing(watchlist).items():
                if not route.targets:
                    log.warning("claim %r: no alert target is switched on (its channels' URLs are empty); "
                                "findings are recorded, alerts are not sent", claim_id)
            if once:
                await daemon.poll(everything=True)
                await daemon.check_ops()
                report = await daemon.deliver_all(everything=True)
                log.info("run --once done: %s", report)
                return 0
            await _run_until_signalled(daemon, settings)
            return 0
    finally:
        await repo.close()


async def _run_until_signalled(daemon: Daemon, settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    schedule = Schedule({"tick": (daemon.tick, settings.tick_seconds),
                         "ops": (daemon.check_ops, settings.ops_every_seconds)})
    schedule.start()
    deliverer = asyncio.create_task(daemon.deliverer(stop), name="deliverer")
    try:
        await stop.wait()
        log.info("signal received: finishing running work, then stopping")
    finally:
        stop.set()
        await schedule.stop()
        daemon.wake()  # the deliverer sees `stop` at once instead of at its next sweep
        _, pending = await asyncio.wait({deliverer}, timeout=30)
        for task in pending:
            task.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def _safe_db(url: str) -> str:
    """The database URL without its password, for logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]

