"""Small pieces the integration tests share: a local web server, and the command line as a user runs it."""
from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
import os
import sys
from pathlib import Path
from typing import Self

import pytest
from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
# The seeds and data live beside the clone (../shared); CLAIMWATCH_SHARED points elsewhere.
SEEDS = Path(os.environ.get("CLAIMWATCH_SHARED") or REPO.parent / "shared") / "seeds"
SEED_NAMES = ("000_dc5f693ac2a40a9e.txt", "004_2444ca2dfe6ef90e.txt")


def seed(name: str) -> Path:
    """A seed article from ../shared/seeds. Missing: a failure under CI (CI=true), where it is
    always beside the clone; elsewhere a loud skip, since the seeds are not part of the repo."""
    path = SEEDS / name
    if not path.is_file():
        reason = f"seed article {path} is missing: the acceptance tests need ../shared/seeds (or set CLAIMWATCH_SHARED)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(f"!!! {reason} !!!")
    return path


class LocalServer(ABC):
    """A local web app as an async context manager: subclasses add their routes."""

    base: str = ""
    _runner: web.AppRunner | None = None

    @abstractmethod
    def routes(self, app: web.Application) -> None:
        """Add this server's handlers to `app`."""

    async def __aenter__(self) -> Self:
        app = web.Application()
        self.routes(app)
        self._runner, self.base = await serve(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Start `app` on a free port of 127.0.0.1; returns the runner (to clean up) and the base URL.

    Handlers are cancelled when the client goes away, so a deliberately slow page does not hold
    up the test's teardown."""
    runner = web.AppRunner(app, handle_signals=False, handler_cancellation=True, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def claimwatch(*args: str, env: dict[str, str], timeout: float = 90) -> tuple[int, str]:
    """Run `claimwatch ARGS` in a real process without blocking the local servers of the test."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", *args, env={**os.environ, **env}, cwd=str(REPO),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode()
