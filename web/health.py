"""`/healthz` and `/readyz`: what an orchestrator asks before it restarts or routes to us.

`/healthz` is liveness: the process answers and its event loop is not stuck (a timer that
should fire every half second is measured for how late it runs: a blocking call or a CPU-bound
loop shows up there long before anything else does). `/readyz` is readiness: the database
answers a trivial query within a short timeout and a watchlist is loaded. Both are JSON and
need no token: they tell nothing about the claims.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import text

INTERVAL = 0.5  # seconds between two loop-lag probes
MAX_LAG = 5.0  # a loop this late is not serving polls, deliveries or pages: unhealthy
DB_TIMEOUT = 2.0  # /readyz waits this long for the database


class LoopWatch:
    """The event loop's lag: how much later than asked a sleep of `INTERVAL` woke up, the worst
    of the last probe and of the one running now (a loop blocked right now counts too)."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self.lag = 0.0
        self._probe_started = time.monotonic()

    @property
    def current(self) -> float:
        running = time.monotonic() - self._probe_started - self.interval
        return max(self.lag, running, 0.0)

    async def run(self) -> None:
        while True:
            self._probe_started = time.monotonic()
            await asyncio.sleep(self.interval)
            self.lag = max(0.0, time.monotonic() - self._probe_started - self.interval)


LOOP: web.AppKey[LoopWatch] = web.AppKey("loop", LoopWatch)


async def watch_loop(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup context: the lag probe runs for as long as the application does."""
    watch = app[LOOP]
    task = asyncio.create_task(watch.run(), name="loop lag probe")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def healthz(request: web.Request) -> web.Response:
    from web.app import STATE
    from web.metrics import METRICS

    lag = request.app[LOOP].current
    if METRICS in request.app:
        request.app[METRICS].loop_lag.set(lag)
    started = request.app[STATE].started_at
    body = {"status": "ok" if lag <= MAX_LAG else "unhealthy", "loop_lag_seconds": round(lag, 3),
            "uptime_seconds": round((datetime.now(UTC) - started).total_seconds(), 1)}
    return web.json_response(body, status=200 if lag <= MAX_LAG else 503)


async def readyz(request: web.Request) -> web.Response:
    from web.app import STATE

    state = request.app[STATE]
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(DB_TIMEOUT):
            async with state.repo.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except TimeoutError:
        checks["database"] = f"no answer within {DB_TIMEOUT:g}s"
    except Exception as err:  # noqa: BLE001 - unreachable, bad credentials, dropped: all not ready
        checks["database"] = f"unreachable: {type(err).__name__}"
    try:
        watchlist = state.watchlist()
        checks["watchlist"] = "ok" if watchlist is not None else "not loaded"
    except Exception as err:  # noqa: BLE001 - a broken watchlist callable: not ready
        checks["watchlist"] = f"not loaded: {type(err).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return web.json_response({"status": "ready" if ready else "not ready", "checks": checks},
                             status=200 if ready else 503)


def add_routes(app: web.Application) -> None:
    app[LOOP] = LoopWatch()
    app.cleanup_ctx.append(watch_loop)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
