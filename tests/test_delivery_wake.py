"""Alerts leave as soon as they are committed: the poll wakes the deliverer (an event, not a timer);
the periodic sweep stays for retries. Real local newsroom and receiver, SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from monitor.daemon import Daemon
from monitor.fetch import Fetcher, make_session
from monitor.settings import Settings
from monitor.watchlist import load_watchlists
from storage.repository import Repository
from tests.newsroom import Newsroom
from tests.receivers import JsonReceiver
from tests.test_daemon import FAST_FETCH, SEED_ALERTS, desk, watchlist_dir  # noqa: F401, F811  (desk: fixture)


async def test_alerts_committed_by_a_poll_are_delivered_at_once_not_at_the_next_sweep(
    tmp_path: Path, repo: Repository, desk: Callable[[JsonReceiver | None], dict[str, str]]
) -> None:
    async with Newsroom() as news, JsonReceiver() as slack:
        env = desk(slack)
        directory = watchlist_dir(tmp_path, [("Local Wire", "feed", f"{news.base}/feed.xml")])
        # A sweep once an hour: only the wake-up can deliver within the test.
        settings = Settings(db_url="unused://", watchlists=directory, fetch=FAST_FETCH, deliver_every_seconds=3600)
        async with make_session(settings.fetch) as session:
            daemon = Daemon(settings, load_watchlists(directory, env=env), repo, Fetcher(session, settings.fetch))
            await daemon.sync_sources()
            stop = asyncio.Event()
            deliverer = asyncio.create_task(daemon.deliverer(stop))
            try:
                await asyncio.sleep(0.2)  # the deliverer is waiting for its wake-up
                await daemon.poll()
                committed = time.monotonic()
                while len(slack.received) < 4 and time.monotonic() - committed < 10:
                    await asyncio.sleep(0.02)
                assert sorted(m["title"] for m in slack.received) == sorted(SEED_ALERTS)
            finally:
                stop.set()
                daemon.wake()
                await asyncio.wait_for(deliverer, 10)
        assert deliverer.done() and deliverer.exception() is None, "a stop ends the deliverer cleanly"
