"""Alerts about claimwatch itself, to the watchlist's optional `ops:` channel.

Checked periodically by the daemon from what storage already knows: a source failing for longer
than `ops.source_failing_after`, alert deliveries to a target failed for good, a channel whose
every attempt failed for `ops.channel_failing_after`; and, raised by the daemon itself, a
watchlist reload rejected. Each is an incident (storage/incidents.py): one notice when it opens,
one when it recovers, none in between, decided in the database so a restart or a second replica
does not repeat it. Notices name targets by their privacy label and sources by name; any URL in
an error is shown by monitor/redact.py (no credentials, no query value).

The decisions are pure functions of the health rows and `now`, tested with fixed times.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from alerts.deliver import _secrets, channel_targets
from monitor.redact import redact
from monitor.watchlist import (
    OPS_CHANNEL,
    ChannelOptions,
    Ops,
    Watchlist,
    WatchlistError,
)
from storage.incidents import ChannelHealth, NoticeText, SourceHealth, TargetHealth
from storage.records import IncidentRecord, Target
from storage.repository import Repository

log = logging.getLogger("claimwatch.ops")

SOURCE_FAILING = "source_failing"
DELIVERY_FAILED = "delivery_failed"
CHANNEL_FAILING = "channel_failing"
WATCHLIST_REJECTED = "watchlist_rejected"
_MAX_BODY = 1500


@dataclass(frozen=True)
class Verdict:
    """One subject's state: `failing` opens an incident (with `text`), not failing closes one
    (with `recovery`); subjects in between (failing, but not for long enough) give no verdict."""

    kind: str
    subject: str
    failing: bool
    text: NoticeText


def ops_targets(watchlist: Watchlist) -> tuple[Target, ...]:
    """The ops channel's switched-on targets, by key, with their privacy labels."""
    return channel_targets(OPS_CHANNEL, watchlist.channels.get(OPS_CHANNEL, ()))


def thresholds(watchlist: Watchlist) -> Ops:
    return watchlist.ops or Ops(ChannelOptions())


def safe(text: str | None) -> str:
    """Error text fit for the ops channel: URLs as monitor/redact.py shows them (credentials
    and query values masked; a notification target cut to its scheme), known secrets
    scrubbed; bounded."""
    out = _secrets.scrub(redact(text or ""))
    return out if len(out) <= _MAX_BODY else out[: _MAX_BODY - 1] + "…"


def _ago(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d"] if days else []
    parts += [f"{hours}h"] if hours else []
    parts += [f"{minutes}m"] if minutes and not days else []
    return "".join(parts) or f"{seconds}s"


def _at(t: datetime) -> str:
    return f"{t:%Y-%m-%d %H:%M} UTC"


def source_verdicts(sources: Sequence[SourceHealth], now: datetime, after_seconds: int) -> list[Verdict]:
    out = []
    for src in sources:
        if not src.enabled or src.error is None:
            why = "is no longer in the watchlist" if not src.enabled else "is polled successfully again"
            at = f" (last success {_at(src.last_success_at)})" if src.last_success_at else ""
            out.append(Verdict(SOURCE_FAILING, src.name, False, NoticeText(
                f"Source recovered: {src.name}", f"Source {src.name!r} {why}{at}.", "success")))
            continue
        since = src.last_success_at or src.created_at
        if now - since >= timedelta(seconds=after_seconds):
            last = "no poll has ever succeeded" if src.last_success_at is None else f"last success {_at(since)}"
            kind = f" ({src.error_kind})" if src.error_kind else ""
            out.append(Verdict(SOURCE_FAILING, src.name, True, NoticeText(
                f"Source failing: {src.name}",
                f"Source {src.name!r} has been failing for {_ago(now - since)} ({last}).\n"
                f"Last error{kind}: {safe(src.error)}", "warning")))
    return out


def target_verdicts(targets: Sequence[TargetHealth]) -> list[Verdict]:
    out = []
    for t in targets:
        subject = f"{t.channel} via {t.label}"
        if t.last_failed_at is None:
            continue
        if t.last_sent_at is not None and t.last_sent_at > t.last_failed_at:
            out.append(Verdict(DELIVERY_FAILED, subject, False, NoticeText(
                f"Alert delivery recovered: channel {t.channel!r} via {t.label}",
                f"An alert reached {t.label} again at {_at(t.last_sent_at)}.", "success")))
        else:
            out.append(Verdict(DELIVERY_FAILED, subject, True, NoticeText(
                f"Alert delivery failed for good: channel {t.channel!r} via {t.label}",
                f"{t.failed} alert(s) to {t.label} could not be delivered and will not be retried "
                f"(the last at {_at(t.last_failed_at)}).\nLast error: {safe(t.last_error)}", "failure")))
    return out


def channel_verdicts(channels: Sequence[ChannelHealth], now: datetime, after_seconds: int) -> list[Verdict]:
    out = []
    for c in channels:
        if c.latest_ok:
            out.append(Verdict(CHANNEL_FAILING, c.channel, False, NoticeText(
                f"Channel recovered: {c.channel}",
                f"Alerts reach channel {c.channel!r} again (last success {_at(c.last_ok_at or now)}).", "success")))
        elif c.first_failure_after_ok is not None and now - c.first_failure_after_ok >= timedelta(seconds=after_seconds):
            via = ", ".join(c.labels)
            out.append(Verdict(CHANNEL_FAILING, c.channel, True, NoticeText(
                f"Channel failing: {c.channel}",
                f"Every delivery attempt to channel {c.channel!r} has failed for "
                f"{_ago(now - c.first_failure_after_ok)} (since {_at(c.first_failure_after_ok)}), via {via}.",
                "failure")))
    return out


async def apply(repo: Repository, verdicts: Sequence[Verdict], open_: dict[tuple[str, str], IncidentRecord],
                targets: Sequence[Target], now: datetime) -> list[str]:
    """Open or close incidents as the verdicts say; what changed, as log lines."""
    changed = []
    for v in verdicts:
        key = (v.kind, v.subject)
        if v.failing and key not in open_:
            if await repo.open_incident(v.kind, v.subject, v.text, targets, now):
                changed.append(f"opened: {v.text.title}")
        elif not v.failing and key in open_:
            opened = open_[key].opened_at
            text = NoticeText(v.text.title, f"{v.text.body}\nThe incident was open {_ago(now - opened)}, "
                                            f"since {_at(opened)}.", v.text.severity)
            if await repo.close_incident(v.kind, v.subject, text, targets, now):
                changed.append(f"recovered: {v.text.title}")
    return changed


async def check(repo: Repository, watchlist: Watchlist, now: datetime,
                targets: Sequence[Target] | None = None) -> list[str]:
    """Run every periodic check once; open and close incidents, queue their notices."""
    limits = thresholds(watchlist)
    targets = ops_targets(watchlist) if targets is None else targets
    open_ = {(i.kind, i.subject): i for i in await repo.incidents(open_only=True)}
    channel_window = now - timedelta(seconds=2 * limits.channel_failing_after_seconds)
    verdicts = [
        *source_verdicts(await repo.source_health(), now, limits.source_failing_after_seconds),
        *target_verdicts(await repo.target_health(OPS_CHANNEL)),
        *channel_verdicts(await repo.channel_health(channel_window, OPS_CHANNEL), now,
                          limits.channel_failing_after_seconds),
    ]
    changed = await apply(repo, verdicts, open_, targets, now)
    for line in changed:
        log.warning("ops incident %s", line)
    return changed


async def watchlist_rejected(repo: Repository, watchlist: Watchlist, error: WatchlistError, now: datetime) -> bool:
    """A reload was rejected (the daemon keeps `watchlist`, the last good one): open the incident."""
    problems = "\n".join(safe(str(p)) for p in error.problems[:20])
    more = f"\n… and {len(error.problems) - 20} more" if len(error.problems) > 20 else ""
    text = NoticeText("Watchlist change rejected",
                      "A watchlist edit was rejected; claimwatch keeps running on the last good one.\n"
                      f"{problems}{more}", "warning")
    return await repo.open_incident(WATCHLIST_REJECTED, "watchlist", text, ops_targets(watchlist), now)


async def watchlist_accepted(repo: Repository, watchlist: Watchlist, now: datetime) -> bool:
    """A good load after a rejected one: close the incident."""
    open_ = {(i.kind, i.subject): i for i in await repo.incidents(open_only=True)}
    verdict = Verdict(WATCHLIST_REJECTED, "watchlist", False, NoticeText(
        "Watchlist accepted again", "The edited watchlist loads cleanly and is in force.", "success"))
    return bool(await apply(repo, [verdict], open_, ops_targets(watchlist), now))
