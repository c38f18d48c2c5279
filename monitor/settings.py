"""Settings: read once at the edge (environment, then flags) and passed down, never global."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from alerts.deliver import DeliverySettings
from monitor.fetch import FetchSettings

DEFAULT_DB = "sqlite+aiosqlite:///claimwatch.db"


@dataclass(frozen=True)
class Settings:
    db_url: str = DEFAULT_DB
    watchlists: Path = Path("watchlists")
    # How many sources are polled at once (each its own task), and how many new articles one
    # poll may take in.
    concurrency: int = 32
    articles_per_poll: int = 40
    # One poll of one source, feed and articles together: past it the poll is cancelled and
    # recorded as a timeout on the source (retried with backoff).
    poll_deadline_seconds: float = 60.0
    # Per-host politeness (monitor/politeness.py): the minimum time between the starts of two
    # requests to one host (FetchSettings.per_host bounds the connections); watchlist sources
    # may set `host_connections:` and `host_gap:` for their host.
    host_gap_seconds: float = 1.0
    # The longest the dispatcher sleeps: how often the watchlist files are checked, and the
    # longest a source can wait past its due time when nothing else wakes the dispatcher.
    tick_seconds: float = 5.0
    deliver_every_seconds: float = 15.0
    ops_every_seconds: float = 30.0  # how often claimwatch checks itself for the ops channel
    lease_seconds: int = 300
    # SIGTERM: running polls and deliveries get this long to finish before they are cancelled.
    shutdown_grace_seconds: float = 30.0
    # A replica whose heartbeat is older than this is dead: its leases are reclaimed.
    takeover_seconds: float = 30.0
    heartbeat_file: Path | None = None
    # The web server (desk page, API, /metrics, /healthz) as host:port; "" switches it off.
    http_bind: str = "127.0.0.1:8080"
    # Stored text of articles backing no finding, and delivery attempts, older than this go.
    retention_days: float = 90.0
    api_token: str | None = field(default=None, repr=False)  # CLAIMWATCH_API_TOKEN (web/auth.py)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Environment first (CLAIMWATCH_*), then explicit overrides (CLI flags) that are not None."""
        env = os.environ if env is None else env
        base = cls()
        values: dict[str, object] = {
            "db_url": env.get("CLAIMWATCH_DB") or base.db_url,
            "watchlists": Path(env.get("CLAIMWATCH_WATCHLISTS") or base.watchlists),
            "api_token": env.get("CLAIMWATCH_API_TOKEN") or None,
        }
        if env.get("CLAIMWATCH_FETCH_TIMEOUT"):
            values["fetch"] = replace(base.fetch, timeout_total=float(env["CLAIMWATCH_FETCH_TIMEOUT"]))
        if env.get("CLAIMWATCH_TICK_SECONDS"):
            values["tick_seconds"] = float(env["CLAIMWATCH_TICK_SECONDS"])
            values["deliver_every_seconds"] = 3 * float(env["CLAIMWATCH_TICK_SECONDS"])
            values["ops_every_seconds"] = 6 * float(env["CLAIMWATCH_TICK_SECONDS"])
        for var, key in (("CLAIMWATCH_CONCURRENCY", "concurrency"),):
            if env.get(var):
                values[key] = int(env[var])
        for var, key in (("CLAIMWATCH_POLL_DEADLINE", "poll_deadline_seconds"),
                         ("CLAIMWATCH_HOST_GAP", "host_gap_seconds"),
                         ("CLAIMWATCH_SHUTDOWN_GRACE", "shutdown_grace_seconds"),
                         ("CLAIMWATCH_TAKEOVER_SECONDS", "takeover_seconds")):
            if env.get(var):
                values[key] = float(env[var])
        if "CLAIMWATCH_HTTP" in env:  # set but empty: no web server
            values["http_bind"] = env["CLAIMWATCH_HTTP"].strip()
        if env.get("CLAIMWATCH_RETENTION_DAYS"):
            values["retention_days"] = float(env["CLAIMWATCH_RETENTION_DAYS"])
        if env.get("CLAIMWATCH_HEARTBEAT"):
            values["heartbeat_file"] = Path(env["CLAIMWATCH_HEARTBEAT"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "watchlists" in values:
            values["watchlists"] = Path(str(values["watchlists"]))
        return replace(base, **values)  # type: ignore[arg-type]
