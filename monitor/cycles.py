"""The daemon's "still alive" line: one INFO summary per cycle of polls.

The dispatcher polls each source on its own schedule, so there is no batch to report on; a
cycle is the polls that ended since the last line (once a minute), and the line says what
they did and when the next source is due, so a newcomer watching the log sees it working.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from monitor.pipeline import PollResult

log = logging.getLogger("claimwatch.daemon")


@dataclass
class CycleTally:
    """Polls ended since the last line."""

    polled: int = 0
    changed: int = 0
    failed: int = 0
    new_articles: int = 0
    alerts: int = 0
    lines: int = 0  # lines logged so far

    def add(self, result: PollResult) -> None:
        self.polled += 1
        self.changed += result.outcome == "changed" and result.error is None
        self.failed += result.error is not None
        self.new_articles += result.new_articles
        self.alerts += result.alerts

    def line(self, next_due_at: datetime | None, now: datetime) -> str:
        if next_due_at is None:
            due = "every source is being polled"
        elif next_due_at <= now:
            due = "next poll due now"
        else:
            due = f"next poll due in {_span((next_due_at - now).total_seconds())}"
        failed = f", {self.failed} failed" if self.failed else ""
        return (f"polled {self.polled} source(s): {self.changed} changed{failed}, "
                f"{self.new_articles} new article(s), {self.alerts} alert(s); {due}")

    def take(self) -> CycleTally:
        """This tally, and a fresh one in its place for the next cycle."""
        done = CycleTally(self.polled, self.changed, self.failed, self.new_articles, self.alerts, self.lines)
        self.lines += 1
        self.polled = self.changed = self.failed = self.new_articles = self.alerts = 0
        return done


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"
