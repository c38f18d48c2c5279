"""A digest channel across kill -9: the real daemon process, a local feed, a real receiver.

The daemon holds each alert of an hourly digest channel in the outbox until the hour is over;
it is killed (SIGKILL, no clean-up) twice in the middle of the period, with new alerts coming in
between. The end of the period is brought about in the database (every stored time moved two
hours back, as if the clock had moved on), then the daemon is started once more: every alert
arrives exactly once, in one message per period.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from storage.models import Alert, Delivery
from storage.records import DeliveryRecord
from storage.repository import Repository
from tests.newsroom import seed_stories
from tests.outlet import Outlet
from tests.receivers import JsonReceiver
from tests.support import REPO
from tests.test_daemon import outlet_with_stories

CHANNELS = """
channels:
  desk:
    targets: ["${NIGHT_URL}"]
    digest: hourly
"""


def watchlist(tmp_path: Path, feed_url: str) -> Path:
    directory = tmp_path / "watchlists"
    directory.mkdir(exist_ok=True)
    bundled = (REPO / "watchlists" / "musk-putin.yaml").read_text()
    (directory / "musk-putin.yaml").write_text(bundled.split("\nchannels:")[0] + CHANNELS)
    (directory / "sources.yaml").write_text(f"sources:\n  - name: Wire\n    feed: {feed_url}\n    every: 5m\n"
                                             "    allow_private: true\n    backfill: all\n")
    return directory


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float, log: Path) -> None:
    for _ in range(int(seconds * 5)):
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {seconds}s; the daemon said:\n{log.read_text()}")


async def test_a_digest_period_survives_kill_9_twice_and_every_alert_arrives_exactly_once(
    tmp_path: Path, sqlite_url: str
) -> None:
    first, second = seed_stories()
    async with Outlet() as wire, JsonReceiver() as night:
        outlet_with_stories(wire, [first], feed="/one.xml")
        outlet_with_stories(wire, [second, first], feed="/both.xml")
        env = {**os.environ, "NIGHT_URL": night.url, "CLAIMWATCH_TICK_SECONDS": "0.5",
               "CLAIMWATCH_LOG_LEVEL": "INFO"}
        log_path = tmp_path / "daemon.log"
        repo = await Repository.open(sqlite_url)

        async def deliveries() -> list[DeliveryRecord]:
            return await repo.deliveries()

        async def start(directory: Path) -> asyncio.subprocess.Process:
            with log_path.open("ab") as log_file:
                return await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "monitor", "run", "--watchlists", str(directory),
                    "--db", sqlite_url, env=env, cwd=str(tmp_path), stdout=log_file,
                    stderr=asyncio.subprocess.STDOUT,
                )

        async def held(more_than: int = 0) -> bool:
            rows = await deliveries()
            return len(rows) > more_than and all(d.hold == "digest" and d.status == "pending" for d in rows)

        procs: list[asyncio.subprocess.Process] = []
        try:
            # 1. the first story's alerts are held for the hour; then kill -9
            procs.append(proc := await start(watchlist(tmp_path, wire.url("/one.xml"))))
            await eventually(held, 30, log_path)
            held_first = len(await deliveries())
            proc.send_signal(signal.SIGKILL)
            assert await proc.wait() == -signal.SIGKILL

            # 2. restarted in the same period, the second story alerts too (a changed feed URL is
            #    polled at once); held with the first ones; kill -9 again
            procs.append(proc := await start(watchlist(tmp_path, wire.url("/both.xml"))))
            await eventually(lambda: held(held_first), 30, log_path)
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            assert night.received == [], "nothing is sent before the period is over"

            # 3. the hour is over: every stored time moves two hours back
            async with repo._sessions.begin() as s:
                for d in (await s.scalars(select(Delivery))).all():
                    d.next_attempt_at -= timedelta(hours=2)
                    d.hold_until = d.hold_until - timedelta(hours=2) if d.hold_until else None
                for a in (await s.scalars(select(Alert))).all():
                    a.created_at -= timedelta(hours=2)
            periods = {d.hold_until for d in await deliveries()}

            procs.append(proc := await start(watchlist(tmp_path, wire.url("/both.xml"))))

            async def all_sent() -> bool:
                return all(d.status == "sent" for d in await deliveries())

            await eventually(all_sent, 30, log_path)
            await asyncio.sleep(2.0)  # more sweeps: nothing is sent again
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 15) == 0, log_path.read_text()
        finally:
            for p in procs:
                if p.returncode is None:
                    p.kill()
                    await p.wait()

        rows = await deliveries()
        try:
            assert len(rows) > held_first >= 1, "both stories alerted"
            assert len(night.received) == len(periods) == len({d.batch_id for d in rows}), night.received
            for d in rows:
                assert [a.ok for a in await repo.attempts(d.id)] == [True], "each alert sent exactly once"
            alerts = {a.id: a for a in await repo.alerts()}
            for batch in {d.batch_id for d in rows}:
                parties = {f"{alerts[d.alert_id].party} {alerts[d.alert_id].stance}" for d in rows
                           if d.batch_id == batch}
                assert any(all(p in f"{m['title']}\n{m['message']}" for p in parties) for m in night.received), \
                    (parties, night.received)
        finally:
            await repo.close()
