"""The daemon: owns the shared resources, runs polls and deliveries, reloads the watchlist.

One aiohttp session, one repository, one current watchlist. `run --once` polls every source once
and delivers what is pending. The long-running daemon is a dispatcher: while a poll slot is free
it leases the sources due soonest and starts one task per source, each with its own deadline;
it wakes when a poll ends or the next due time comes, never waiting for a batch. SIGTERM stops
taking work, lets running polls and deliveries finish within a grace period, hands back the
leases still held and exits 0. Each process is a replica with an id and a heartbeat
(monitor/replicas.py): a dead one's leases are reclaimed at once.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
import uuid
from collections import deque
from collections.abc import Awaitable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from aiohttp import web

from alerts.deliver import (
    DeliveryReport,
    channel_targets,
    configured_targets,
    deliver_due,
)
from alerts.notices import deliver_notices, merged
from monitor import ops
from monitor.cycles import CycleTally
from monitor.fetch import Fetcher, make_session
from monitor.pipeline import Context, PollResult, refresh_source
from monitor.politeness import HostLimiter, limits_by_host
from monitor.redact import safe_url
from monitor.replicas import AlreadyRunning, SqliteLock, sqlite_path
from monitor.schedule import Schedule, next_due
from monitor.settings import Settings
from monitor.watchlist import (
    OPS_CHANNEL,
    ClaimOptions,
    Source,
    Watchlist,
    WatchlistError,
    load_watchlists,
    reload_problems,
    watchlist_files,
)
from storage.records import ClaimRouting, SourceSpec, SourceState
from storage.repository import Repository
from storage.retention import drop_old
from web.metrics import Metrics

log = logging.getLogger("claimwatch.daemon")
_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=timezone.utc)
OVERDUE_AFTER_SECONDS = 30.0  # `claimwatch status` counts sources this far past due
CYCLE_LINE_SECONDS = 60.0  # one INFO line about the polls of the last minute


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def routing(watchlist: Watchlist) -> dict[str, ClaimRouting]:
    """Each claim's statement and targets, each target addressed by the key of its URL (never
    its position: reordering a channel's list cannot misroute); a switched-off (empty) target
    gets no deliveries."""
    per_channel = {channel: channel_targets(channel, urls) for channel, urls in watchlist.channels.items()}
    out = {}
    for claim in watchlist.claims:
        targets = tuple(t for channel in dict.fromkeys(watchlist.notify.get(claim.id, ()))
                        for t in per_channel.get(channel, ()))
        options = watchlist.claim_options.get(claim.id, ClaimOptions())
        out[claim.id] = ClaimRouting(claim.statement, targets, options.since, options.stale_after_seconds)
    return out


def source_specs(watchlist: Watchlist) -> list[SourceSpec]:
    return [SourceSpec(s.name, s.kind, s.url, s.every_seconds) for s in watchlist.sources]


@dataclass
class _Loaded:
    """The watchlist in force, the file stamps it was read at, its alert routing and its
    sources by name (built once per load: routing asks apprise to mask every target URL, and a
    dispatcher of 10,000 sources must not rebuild either per poll)."""

    watchlist: Watchlist
    stamp: tuple[tuple[str, float], ...]
    routing: dict[str, ClaimRouting] = field(init=False)

    by_name: dict[str, Source] = field(init=False)

    def __post_init__(self) -> None:
        self.routing = routing(self.watchlist)
        self.by_name = {s.name: s for s in self.watchlist.sources}


def _stamp(directory: Path) -> tuple[tuple[str, float], ...]:
    try:
        return tuple((str(p), p.stat().st_mtime) for p in watchlist_files(directory))
    except OSError:
        return ()


class Daemon:
    def __init__(self, settings: Settings, watchlist: Watchlist, repo: Repository, fetcher: Fetcher,
                 *, replica_id: str | None = None, metrics: Metrics | None = None,
                 cpu: Executor | None = None) -> None:
        self.settings, self.repo, self.fetcher = settings, repo, fetcher
        self.cpu = cpu  # where polls parse, extract and match (monitor/pipeline.py Context.cpu)
        self.metrics = metrics or Metrics()  # web/metrics.py; the web app serves the same one
        self.cycle = CycleTally()  # polls since the last "polled N source(s)" line
        self.replica_id = replica_id or uuid.uuid4().hex
        if repo.holder is None:
            repo.holder = self.replica_id  # every lease this process takes names it
        self._loaded = _Loaded(watchlist, _stamp(settings.watchlists))
        self._wake = asyncio.Event()  # set when a poll commits alerts: deliver them now
        self._polls: set[asyncio.Task[PollResult]] = set()
        self._poll_ended = asyncio.Event()
        self._beaten = 0.0
        self._apply_politeness()

    @property
    def watchlist(self) -> Watchlist:
        return self._loaded.watchlist

    def context(self, *, unbounded: bool = False) -> Context:
        """The poll context; `unbounded` takes in every new item at once (`run --once`) instead of
        `articles_per_poll`, which keeps one poll of a huge backlog from holding the tick."""
        wl = self.watchlist
        per_poll = None if unbounded else self.settings.articles_per_poll
        return Context(self.repo, self.fetcher, wl.claims, wl.entities, self._loaded.routing,
                       articles_per_poll=per_poll, clock=utcnow, alerted=self.wake,
                       sources=self._loaded.by_name,  # allow_private, backfill
                       metrics=self.metrics, cpu=self.cpu)

    def _apply_politeness(self) -> None:
        """Per-host limits from the watchlist's sources (`host_connections:`, `host_gap:`)."""
        hosts = getattr(self.fetcher, "hosts", None)
        if isinstance(hosts, HostLimiter):
            hosts.gap_seconds = max(0.0, self.settings.host_gap_seconds)
            hosts.overrides = limits_by_host(
                [(s.url, s.host_connections, s.host_gap_seconds) for s in self.watchlist.sources])

    async def sync_sources(self) -> None:
        await self.repo.sync_sources(source_specs(self.watchlist), utcnow())

    async def poll(self, *, everything: bool = False) -> list[PollResult]:
        """Lease due sources (all of them with `everything`: `run --once`) and poll each as its
        own task with its own deadline, `concurrency` at a time; return when all are done."""
        due = await self.repo.lease_due_sources(
            utcnow(), limit=10_000 if everything else self.settings.concurrency,
            lease_seconds=self.settings.lease_seconds, due_by=_FAR_FUTURE if everything else None,
        )
        ctx = self.context(unbounded=everything)
        slots = asyncio.Semaphore(max(1, self.settings.concurrency))

        async def one(source: SourceState) -> PollResult:
            async with slots:
                return await self.poll_source(ctx, source)

        results = list(await asyncio.gather(*(one(s) for s in due)))
        await self.repo.flush_polls()  # every outcome is in the database when this returns
        self._beat()
        return results

    async def poll_source(self, ctx: Context, source: SourceState) -> PollResult:
        """One poll (`_poll_source`), counted in the metrics and the cycle line."""
        result = await self._poll_source(ctx, source)
        self.metrics.observe_poll(outcome="failed" if result.error else result.outcome,
                                  kind=result.error_kind, fetch_seconds=result.fetch_seconds)
        self.cycle.add(result)
        return result

    async def _poll_source(self, ctx: Context, source: SourceState) -> PollResult:
        """One poll under its deadline (feed and articles together). Past it the poll is
        cancelled and recorded on the source as a timeout; a crash is recorded as internal.
        Either way the source backs off like any failing source."""
        deadline = self.settings.poll_deadline_seconds
        try:
            async with asyncio.timeout(deadline):
                return await refresh_source(ctx, source)
        except TimeoutError:
            message = (f"poll did not finish within its {deadline:g}s deadline (feed and articles "
                       "together) and was cancelled")
            log.warning("source %r (%s): %s", source.name, safe_url(source.url), message)
            self._failed(source, message, "timeout")
            return PollResult(source.name, error=message, complete=False, outcome="failed", error_kind="timeout")
        except Exception as err:  # one broken source never stops the others
            log.exception("source %r: poll failed unexpectedly", source.name)
            self._failed(source, f"internal error: {err!r}", "internal")
            return PollResult(source.name, error=repr(err), outcome="failed", error_kind="internal")

    def _failed(self, source: SourceState, error: str, kind: str) -> None:
        failed_at = utcnow()  # backed off like any failing source, not retried at once
        self.repo.finish_poll(
            source.id, now=failed_at,
            next_due_at=next_due(failed_at, source.every_seconds, error_count=source.error_count + 1),
            etag=None, last_modified=None, body_hash=None, error=error, error_kind=kind,
        )

    # -- the dispatcher ------------------------------------------------------------------

    @property
    def polls_running(self) -> int:
        return len(self._polls)

    async def dispatch(self, stop: asyncio.Event) -> None:
        """Keep every source on time: lease the sources due now (oldest first) in batches of
        `2 × concurrency`, start a task per source as slots free up, and look for more at once
        while a batch comes back full (a backlog), else within a second. A poll that ends
        starts the next leased source without a database round trip. Writes the heartbeat as it
        goes. Once `stop` is set, takes no more work and waits up to `shutdown_grace_seconds`
        for the running polls, then cancels the rest; leased sources not started are handed
        back with the others by `retire`."""
        slots, batch = max(1, self.settings.concurrency), 2 * max(1, self.settings.concurrency)
        look_every = min(1.0, self.settings.tick_seconds)
        queue: deque[SourceState] = deque()  # leased, waiting for a free slot, due order
        look_at = 0.0  # monotonic time of the next lease query
        while not stop.is_set():
            self._poll_ended.clear()
            if len(queue) < slots and time.monotonic() >= look_at:
                try:
                    leased = await self.repo.lease_due_sources(
                        utcnow(), limit=batch, lease_seconds=self.settings.lease_seconds)
                except Exception:  # the database is down, say: logged, tried again shortly
                    log.exception("leasing due sources failed; trying again in %gs", self.settings.tick_seconds)
                    leased = []
                    look_at = time.monotonic() + self.settings.tick_seconds
                else:
                    queue.extend(leased)
                    look_at = time.monotonic() + (0.0 if len(leased) == batch else look_every)
            if queue:
                ctx = self.context()
                while queue and len(self._polls) < slots:
                    self._start(ctx, queue.popleft())
            self._beat(every=1.0)
            # Full: a poll ending wakes us. Otherwise the next lease query is due at `look_at`.
            wait = self.settings.tick_seconds if queue else max(0.0, look_at - time.monotonic())
            if wait > 0:
                await _first(stop.wait(), self._poll_ended.wait(), timeout=min(wait, self.settings.tick_seconds))
        await self._drain()

    def _start(self, ctx: Context, source: SourceState) -> None:
        task = asyncio.create_task(self.poll_source(ctx, source), name=f"poll {source.name}")
        self._polls.add(task)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[PollResult]) -> None:
        self._polls.discard(task)
        self._poll_ended.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("poll task %s failed: %r", task.get_name(), task.exception())

    async def _drain(self) -> None:
        if not self._polls:
            return
        grace = self.settings.shutdown_grace_seconds
        log.info("waiting up to %gs for %d running poll(s) to finish", grace, len(self._polls))
        _, pending = await asyncio.wait(set(self._polls), timeout=grace)
        for task in pending:
            log.warning("%s did not finish within the %gs grace period: cancelled, its lease handed back",
                        task.get_name(), grace)
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)

    async def keep_alive(self) -> None:
        """The replica's heartbeat in the database, and the takeover of dead replicas' leases."""
        now = utcnow()
        await self.repo.beat_replica(self.replica_id, now)
        sources, deliveries = await self.repo.reclaim_leases(
            now, me=self.replica_id, takeover_seconds=self.settings.takeover_seconds)
        if sources or deliveries:
            log.warning("took over %d source and %d delivery lease(s) from replicas that stopped beating",
                        sources, deliveries)
            self._poll_ended.set()  # the dispatcher looks again now
            self.wake()

    async def start_replica(self, *, sole: bool) -> None:
        """Register this process and reclaim dead replicas' leases at once (every lease but
        ours when `sole`: SQLite, where this process holds the database's lock)."""
        now, host = utcnow(), socket.gethostname()
        await self.repo.register_replica(self.replica_id, host=host, pid=os.getpid(), now=now)
        sources, deliveries = await self.repo.reclaim_leases(
            now, me=self.replica_id, takeover_seconds=self.settings.takeover_seconds, everyone_else=sole)
        # A replica of this host whose process is gone (killed, and we are its restart) need not
        # wait out the takeover window: its leases are ours to reclaim now.
        for replica_id, its_host, pid, _ in await self.repo.replicas():
            if replica_id != self.replica_id and its_host == host and not _alive(pid):
                s, d = await self.repo.retire_replica(replica_id)
                sources, deliveries = sources + s, deliveries + d
        if sources or deliveries:
            log.warning("reclaimed %d source and %d delivery lease(s) left by a process that is gone",
                        sources, deliveries)

    async def retire(self) -> None:
        """A clean stop: record the polls' outcomes, hand back every lease still held, deregister."""
        try:
            await self.repo.flush_polls()
            sources, deliveries = await self.repo.retire_replica(self.replica_id)
        except Exception:
            log.exception("could not hand back our leases; they are reclaimed when we are seen dead")
            return
        if sources or deliveries:
            log.info("handed back %d source and %d delivery lease(s)", sources, deliveries)

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

    async def reconcile_targets(self) -> None:
        """Fail the pending deliveries of targets the watchlist no longer lists (and adopt
        those queued before target keys); at start and after each accepted reload."""
        try:
            adopted, failed = await self.repo.reconcile_targets(
                configured_targets(self.watchlist.channels), list(self.watchlist.channels), utcnow())
        except Exception:  # the deliverer fails them one by one anyway
            log.exception("could not reconcile the outbox with the watchlist's targets")
            return
        if adopted:
            log.info("%d delivery(ies) queued before target keys now addressed by key", adopted)
        if failed:
            log.warning("%d pending delivery(ies) failed: their target was removed from its channel", failed)

    async def reload_if_changed(self) -> bool:
        """Pick up edited YAML; a broken edit keeps the last good watchlist and says so loudly.
        So does an edit that leaves no source or an empty file (a save in progress, a truncated
        copy): only a first load may start with nothing to poll."""
        stamp = _stamp(self.settings.watchlists)
        if stamp == self._loaded.stamp:
            return False
        try:
            watchlist = await asyncio.to_thread(load_watchlists, self.settings.watchlists)
            problems = await asyncio.to_thread(reload_problems, watchlist, self.settings.watchlists)
            if problems:
                raise WatchlistError(problems)
        except WatchlistError as err:
            log.error("watchlist change REJECTED, still running on the last good one:\n%s", err)
            self._loaded = _Loaded(self.watchlist, stamp)  # the same files are not re-read each tick
            self.metrics.observe_reload(False)
            await self._ops_watchlist(err)
            return False
        self._loaded = _Loaded(watchlist, stamp)
        self._apply_politeness()
        self.metrics.observe_reload(True)
        await self._ops_watchlist(None)
        await self.sync_sources()
        await self.reconcile_targets()
        log.info("watchlist reloaded: %d source(s), %d claim(s)", len(watchlist.sources), len(watchlist.claims))
        return True

    async def tick(self) -> None:
        """Reload an edited watchlist (polls are the dispatcher's)."""
        await self.reload_if_changed()

    async def log_cycle(self) -> None:
        """The INFO line of the polls since the last one (monitor/cycles.py)."""
        if not self.cycle.lines and not self.cycle.polled:  # the job's first run, at start
            self.cycle.take()
            return
        now = utcnow()
        outlook = await self.repo.schedule_outlook(now, OVERDUE_AFTER_SECONDS)
        log.info("%s", self.cycle.take().line(outlook.next_due_at, now))

    async def retain(self) -> None:
        """Drop what the retention window lets go (storage/retention.py); daily."""
        days = self.settings.retention_days
        if days <= 0:
            return
        done = await drop_old(self.repo.engine, utcnow() - timedelta(days=days))
        if done.texts_dropped or done.attempts_deleted:
            log.info("retention (%g days): dropped the text of %d article(s) backing no finding, "
                     "deleted %d delivery attempt(s)", days, done.texts_dropped, done.attempts_deleted)

    def _beat(self, every: float = 0.0) -> None:
        if every and time.monotonic() - self._beaten < every:
            return
        self._beaten = time.monotonic()
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
    db_file = sqlite_path(settings.db_url)
    lock = SqliteLock(db_file) if db_file is not None else None
    try:
        if lock is not None:
            lock.acquire()
    except AlreadyRunning as err:
        log.error("refusing to start: %s", err)
        return 2
    try:
        return await _run(settings, watchlist, once=once, sole=lock is not None)
    finally:
        if lock is not None:
            lock.release()


async def _run(settings: Settings, watchlist: Watchlist, *, once: bool, sole: bool) -> int:
    # Polls hold a connection only briefly (network time dominates), so a pool of half the poll
    # slots (at most 10) plus the deliverer's 2, and 5 more under a burst: several replicas stay
    # well within PostgreSQL's default 100 connections.
    repo = await Repository.open(settings.db_url, pool_size=min(settings.concurrency // 2, 10) + 2)
    cpu = ThreadPoolExecutor(2, thread_name_prefix="claimwatch-cpu")  # see pipeline.Context.cpu
    try:
        async with make_session(settings.fetch) as session:
            hosts = HostLimiter(settings.fetch.per_host, settings.host_gap_seconds)
            daemon = Daemon(settings, watchlist, repo, Fetcher(session, settings.fetch, hosts), cpu=cpu)
            web_runner = None if once else await _start_web(daemon, settings)  # no page for cron
            if web_runner is False:
                return 2
            await daemon.start_replica(sole=sole)
            await daemon.sync_sources()
            log.info("claimwatch started: %d source(s), %d claim(s), database %s",
                     len(watchlist.sources), len(watchlist.claims), _safe_db(settings.db_url))
            await daemon.reconcile_targets()
            for problem in reload_problems(watchlist, settings.watchlists):  # a reload would be refused
                log.warning("watchlist: %s", problem)
            for claim_id, route in daemon._loaded.routing.items():
                if not route.targets:
                    log.warning("claim %r: no alert target is switched on (its channels' URLs are empty); "
                                "findings are recorded, alerts are not sent", claim_id)
            try:
                if once:
                    return await _once(daemon)
                await _run_until_signalled(daemon, settings)
                return 0
            finally:
                await daemon.retire()
                if isinstance(web_runner, web.AppRunner):
                    await web_runner.cleanup()
    finally:
        cpu.shutdown(wait=False, cancel_futures=True)
        await repo.close()


async def _once(daemon: Daemon) -> int:
    """`run --once`: every source, then every pending alert; 3 when every source failed, so a
    cron job notices."""
    results = await daemon.poll(everything=True)
    await daemon.check_ops()
    report = await daemon.deliver_all(everything=True)
    log.info("run --once done: %s; %s", report, daemon.cycle.take().line(None, utcnow()).rsplit(";", 1)[0])
    if results and all(r.error for r in results):
        log.error("run --once: every source failed (%d); exit 3", len(results))
        return 3
    return 0


async def _run_until_signalled(daemon: Daemon, settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    beat_every = max(0.5, min(10.0, settings.takeover_seconds / 3))
    schedule = Schedule({"reload": (daemon.tick, settings.tick_seconds),
                         "ops": (daemon.check_ops, settings.ops_every_seconds),
                         "replica": (daemon.keep_alive, beat_every),
                         "cycle": (daemon.log_cycle, CYCLE_LINE_SECONDS),
                         "retention": (daemon.retain, 86_400.0)})
    schedule.start()
    dispatcher = asyncio.create_task(daemon.dispatch(stop), name="dispatcher")
    deliverer = asyncio.create_task(daemon.deliverer(stop), name="deliverer")
    grace = settings.shutdown_grace_seconds
    try:
        await _first(stop.wait(), asyncio.shield(dispatcher))
        log.info("signal received: finishing running work, then stopping")
    finally:
        stop.set()
        daemon.wake()  # the deliverer sees `stop` at once instead of at its next sweep
        # The dispatcher takes no more work and waits `grace` for running polls; the deliverer
        # finishes the run in hand (its sends are bounded by their own timeout).
        _, pending = await asyncio.wait({dispatcher, deliverer}, timeout=grace + 10)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)
        for task in (dispatcher, deliverer):
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.error("%s stopped on an error: %r", task.get_name(), task.exception())
        await schedule.stop(grace_seconds=5)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def _start_web(daemon: Daemon, settings: Settings) -> web.AppRunner | None | bool:
    """The desk page, API, /metrics and /healthz on CLAIMWATCH_HTTP, in this loop (web/app.py);
    None when switched off, False (after a one-line error) when it cannot be served."""
    if not settings.http_bind:
        log.info("web server off (CLAIMWATCH_HTTP is empty)")
        return None
    from web.app import BindError, WebState, make_app, start

    state = WebState(daemon.repo, lambda: daemon.watchlist, settings, utcnow(), daemon.metrics)
    try:
        runner, url = await start(make_app(state), settings.http_bind)
    except BindError as err:
        log.error("refusing to start: %s", err)
        return False
    log.info("desk page: %s (API %sapi/v1/, metrics %smetrics)", url, url, url)
    return runner


async def _first(*waits: Awaitable[object], timeout: float | None = None) -> None:
    """Return when the first of `waits` is done (or after `timeout`); the others are cancelled."""
    tasks = {asyncio.ensure_future(w) for w in waits}
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def _alive(pid: int) -> bool:
    """Whether process `pid` of this host is running and not us (a container restarted as
    pid 1 again is a new process: the old replica of that pid is gone)."""
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _safe_db(url: str) -> str:
    """The database URL without its password, for logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]

