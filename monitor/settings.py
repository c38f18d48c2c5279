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
    # How many sources are polled at once, and how many new articles one poll may take in.
    concurrency: int = 8
    articles_per_poll: int = 40
    # The scheduler's heartbeat: how often due sources and due alerts are looked for.
    tick_seconds: float = 5.0
    deliver_every_seconds: float = 15.0
    ops_every_seconds: float = 30.0  # how often claimwatch checks itself for the ops channel
    lease_seconds: int = 300
    heartbeat_file: Path | None = None
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
        }
        if env.get("CLAIMWATCH_FETCH_TIMEOUT"):
            values["fetch"] = replace(base.fetch, timeout_total=float(env["CLAIMWATCH_FETCH_TIMEOUT"]))
        if env.get("CLAIMWATCH_TICK_SECONDS"):
            values["tick_seconds"] = float(env["CLAIMWATCH_TICK_SECONDS"])
            values["deliver_every_seconds"] = 3 * float(env["CLAIMWATCH_TICK_SECONDS"])
            values["ops_every_seconds"] = 6 * float(env["CLAIMWATCH_TICK_SECONDS"])
        if env.get("CLAIMWATCH_HEARTBEAT"):
            values["heartbeat_file"] = Path(env["CLAIMWATCH_HEARTBEAT"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "watchlists" in values:
            values["watchlists"] = Path(str(values["watchlists"]))
        return replace(base, **values)  # type: ignore[arg-type]
