"""Per-host politeness: at most N requests at once to one host, and a minimum gap between the
starts of two requests to it. Shared by every poll of the daemon (one `HostLimiter` per Fetcher).

A host is its name and port (`host:port`). Its limits are the defaults (`FetchSettings.per_host`
connections, `Settings.host_gap_seconds`) unless a source on that host sets `host_connections:` or
`host_gap:` in the watchlist; several sources on one host that set them: the strictest wins. The
default gap is not applied to loopback hosts (127.0.0.0/8, ::1, localhost): a server on this very
machine needs no protection from us. A source on it that sets `host_gap:` still gets it.
"""
from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from yarl import URL


@dataclass(frozen=True)
class HostLimits:
    connections: int | None = None  # None: the default
    gap_seconds: float | None = None


def host_key(url: URL | str) -> str:
    u = URL(url) if isinstance(url, str) else url
    return f"{(u.host or '').lower()}:{u.port or ''}"


def _loopback(key: str) -> bool:
    host = key.rsplit(":", 1)[0].strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def limits_by_host(sources: list[tuple[str, int | None, float | None]]) -> dict[str, HostLimits]:
    """(source URL, host_connections, host_gap) per source → the host's limits; strictest wins."""
    out: dict[str, HostLimits] = {}
    for url, connections, gap in sources:
        if connections is None and gap is None:
            continue
        key = host_key(url)
        old = out.get(key, HostLimits())
        out[key] = HostLimits(
            connections if old.connections is None else min(old.connections, connections or old.connections),
            gap if old.gap_seconds is None else max(old.gap_seconds, gap if gap is not None else 0.0),
        )
    return out


class _Host:
    __slots__ = ("active", "freed", "gate", "next_start")

    def __init__(self) -> None:
        self.active = 0
        self.next_start = 0.0  # loop time before which no request to the host may start
        self.gate = asyncio.Lock()  # one admission at a time, in arrival order (the lock is fair)
        self.freed = asyncio.Event()


class HostLimiter:
    """Admits requests to each host within its connection limit and start gap, first come first
    served."""

    def __init__(self, connections: int = 2, gap_seconds: float = 1.0,
                 overrides: Mapping[str, HostLimits] | None = None) -> None:
        self.connections, self.gap_seconds = max(1, connections), max(0.0, gap_seconds)
        self.overrides: Mapping[str, HostLimits] = overrides or {}
        self._hosts: dict[str, _Host] = {}

    def limits(self, key: str) -> tuple[int, float]:
        """(connections, gap in seconds) for a host key."""
        o = self.overrides.get(key, HostLimits())
        connections = o.connections if o.connections is not None else self.connections
        if o.gap_seconds is not None:
            gap = o.gap_seconds
        else:
            gap = 0.0 if _loopback(key) else self.gap_seconds
        return max(1, connections), max(0.0, gap)

    @asynccontextmanager
    async def slot(self, url: URL | str) -> AsyncIterator[None]:
        """Hold one of the host's connections for a request."""
        key = host_key(url)
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host()
        loop = asyncio.get_running_loop()
        async with host.gate:
            while True:
                connections, gap = self.limits(key)
                if host.active >= connections:
                    host.freed.clear()
                    await host.freed.wait()
                    continue
                wait = host.next_start - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                break
            host.active += 1
            host.next_start = loop.time() + gap
        try:
            yield
        finally:
            host.active -= 1
            host.freed.set()
