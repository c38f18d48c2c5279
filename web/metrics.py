"""Prometheus metrics: what the daemon counts as it works, and what `/metrics` reads at scrape.

One `Metrics` per daemon, with its own registry (never prometheus-client's global one: tests
run several daemons in one process). The daemon hands it to its polls (`Context.metrics`) and to
the web application; nothing reads it from a global. Labels are bounded: poll outcome and error
kind, finding stance, channel and delivery status; never a URL or a source name (a watchlist of
10,000 sources would be 10,000 series per metric).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from storage.gauges import outbox_gauges

log = logging.getLogger("claimwatch.metrics")
disable_created_metrics()  # no `_created` twin of every counter: half the series, no use to us

# Poll outcomes: the feed or page was new, answered 304, came back byte-identical, or failed.
OUTCOMES = ("changed", "not_modified", "unchanged", "failed")
_DELIVERY_STATUSES = ("pending", "sent", "failed")


class Metrics:
    """The daemon's series; `observe_*` are its only writers (a handful of call sites)."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.polls = Counter("claimwatch_polls", "Source polls by outcome; `kind` is the error kind of a "
                             "failed poll (timeout, http, dns, ...), else empty", ["outcome", "kind"], registry=r)
        self.fetch_seconds = Histogram(
            "claimwatch_fetch_duration_seconds", "Time to fetch a source's feed or page (failures included)",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60), registry=r)
        self.unchanged_share = Gauge(
            "claimwatch_polls_unchanged_ratio",
            "Share of successful polls that were a 304 or an unchanged body, since start", registry=r)
        self.articles = Counter("claimwatch_articles_taken_in", "New articles stored", registry=r)
        self.findings = Counter("claimwatch_findings", "Findings stored, by stance", ["stance"], registry=r)
        self.alerts_created = Counter("claimwatch_alerts_created", "Alerts decided (stance changes)", registry=r)
        self.deliveries = Gauge("claimwatch_deliveries", "Deliveries in the outbox, by channel and status "
                                "(read from the database at scrape)", ["channel", "status"], registry=r)
        self.outbox_depth = Gauge("claimwatch_outbox_pending", "Deliveries not yet sent or failed", registry=r)
        self.outbox_age = Gauge("claimwatch_outbox_oldest_pending_age_seconds",
                                "Age of the oldest pending delivery's alert (0: none pending)", registry=r)
        self.reloads = Counter("claimwatch_watchlist_reloads", "Watchlist reloads, by result (ok, rejected)",
                               ["result"], registry=r)
        self.last_poll = Gauge("claimwatch_last_poll_timestamp_seconds", "When the last poll ended (Unix time)",
                               registry=r)
        self.loop_lag = Gauge("claimwatch_event_loop_lag_seconds", "How late the event loop last ran a timer",
                              registry=r)
        self.scrape_errors = Counter("claimwatch_scrape_errors", "Scrapes whose database part failed", registry=r)
        for outcome in OUTCOMES[:3]:
            self.polls.labels(outcome, "")
        for result in ("ok", "rejected"):
            self.reloads.labels(result)
        self._ok = self._same = 0

    def observe_poll(self, *, outcome: str, kind: str | None, fetch_seconds: float | None) -> None:
        """One poll of one source ended (`outcome` one of OUTCOMES)."""
        self.polls.labels(outcome, kind or "").inc()
        if fetch_seconds is not None:
            self.fetch_seconds.observe(fetch_seconds)
        if outcome != "failed":
            self._ok += 1
            self._same += outcome != "changed"
            self.unchanged_share.set(self._same / self._ok)
        self.last_poll.set(time.time())

    def observe_article(self, stances: Iterable[str], alerts: int) -> None:
        """A new article was stored with findings of these stances and `alerts` new alerts."""
        self.articles.inc()
        for stance in stances:
            self.findings.labels(str(stance)).inc()
        if alerts:
            self.alerts_created.inc(alerts)

    def observe_reload(self, ok: bool) -> None:
        self.reloads.labels("ok" if ok else "rejected").inc()


METRICS: web.AppKey[Metrics] = web.AppKey("metrics", Metrics)


async def metrics_handler(request: web.Request) -> web.Response:
    """The registry in Prometheus text format, the outbox gauges refreshed from the database
    first (bounded by a short timeout: a scrape must not hang on a stuck database)."""
    from web.app import STATE  # web.app imports this module

    metrics = request.app[METRICS]
    state = request.app[STATE]
    try:
        async with asyncio.timeout(3.0):
            outbox = await outbox_gauges(state.repo.engine)
    except Exception as err:  # noqa: BLE001 - the process series are still worth serving
        log.warning("metrics: the outbox could not be read: %r", err)
        metrics.scrape_errors.inc()
    else:
        metrics.deliveries.clear()
        for channel, status in {(c, s) for c, _ in outbox.by_channel for s in _DELIVERY_STATUSES}:
            metrics.deliveries.labels(channel, status).set(outbox.by_channel.get((channel, status), 0))
        metrics.outbox_depth.set(outbox.pending)
        oldest = outbox.oldest_pending_at
        metrics.outbox_age.set(max(0.0, (datetime.now(UTC) - oldest).total_seconds()) if oldest else 0.0)
    body = generate_latest(metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

