"""One aiohttp application in the daemon's event loop: the desk page (web/desk.py), the REST API
(web/api.py), metrics and health (web/health.py, web/metrics.py).

Every handler reads what it needs from `app[STATE]`, so the same application runs in the daemon
(`claimwatch run`, on CLAIMWATCH_HTTP) and in tests on any repository.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

from monitor.settings import Settings
from monitor.watchlist import Watchlist
from storage.repository import Repository
from web import health
from web.metrics import METRICS, Metrics, metrics_handler

log = logging.getLogger("claimwatch.web")


@dataclass
class WebState:
    """What the web application reads: the daemon's repository and its current watchlist (a
    callable: a reload swaps it), the settings, when the process started, and the daemon's
    metrics (a fresh set when the application runs without a daemon, as in tests)."""

    repo: Repository
    watchlist: Callable[[], Watchlist]
    settings: Settings
    started_at: datetime
    metrics: Metrics = field(default_factory=Metrics)


STATE: web.AppKey[WebState] = web.AppKey("state", WebState)


def make_app(state: WebState) -> web.Application:
    app = web.Application()
    app[STATE] = state
    # Each part adds its routes here: desk pages, API, health, metrics.
    app[METRICS] = state.metrics
    health.add_routes(app)
    app.router.add_get("/metrics", metrics_handler)
    from web import api, desk, explain  # here: they import STATE from this module

    desk.add_routes(app)
    api.add_routes(app)
    explain.add_routes(app)
    return app


class BindError(Exception):
    """CLAIMWATCH_HTTP is malformed, or its address cannot be bound (in use, not ours)."""


def parse_bind(bind: str) -> tuple[str, int]:
    """`host:port` (IPv6 as `[::1]:8080`) into its parts; a clear error for anything else."""
    host, sep, port = bind.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise BindError(f"CLAIMWATCH_HTTP={bind!r} is not host:port (e.g. 127.0.0.1:8080; empty switches "
                        "the web server off)")
    return host, int(port)


async def start(app: web.Application, bind: str) -> tuple[web.AppRunner, str]:
    """Serve `app` on `bind` in the running loop; the runner (to `cleanup`) and the desk page's URL
    (with the port actually bound: `:0` picks a free one, as the tests do)."""
    host, port = parse_bind(bind)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as err:
        await runner.cleanup()
        reason = os.strerror(err.errno) if err.errno else str(err)
        raise BindError(f"cannot serve the desk page on {bind}: {reason.lower()} (set CLAIMWATCH_HTTP "
                        "to another host:port, or to empty to switch the web server off)") from None
    server = site._server
    sockets = getattr(server, "sockets", None) or ()
    bound = sockets[0].getsockname()[1] if sockets else port
    shown = f"[{host}]" if ":" in host else host
    return runner, f"http://{shown}:{bound}/"
