"""The CPU of a 304 poll in isolation, and where it goes.

    .venv/bin/python bench/poll_cost.py [--feeds 1000] [--rounds 3] [--db sqlite|postgres] [--profile]
    .venv/bin/python bench/poll_cost.py --changed 0.1    # 10% of feeds gain an item before each round

An in-process daemon (the real Daemon, Fetcher, Repository and dispatcher) on a fresh database
and bench/farm.py's farm. A first pass takes every feed in; then, `--rounds` times, every
source is made due at once and the dispatcher drains that backlog at full speed: every poll is
a conditional GET answered 304. Prints polls/s and CPU per poll (process CPU time: the loop,
the database driver's threads, everything), and with `--profile` the main thread's cProfile by
step: lease, fetch, finish (the one batched UPDATE), the dispatcher itself. With `--changed`,
that share of the feeds gains one item before each round, so those polls fetch, read, store and
alert on one article each: the steady state of a daemon, per 1,000 checks.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import asyncpg  # noqa: E402
from farm import Farm  # noqa: E402
from sqlalchemy import update  # noqa: E402

from monitor.daemon import Daemon  # noqa: E402
from monitor.fetch import Fetcher, make_session  # noqa: E402
from monitor.politeness import HostLimiter  # noqa: E402
from monitor.settings import Settings  # noqa: E402
from monitor.watchlist import load_watchlists  # noqa: E402
from storage.models import Source  # noqa: E402
from storage.repository import Repository  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


async def drain(daemon: Daemon, repo: Repository, farm: Farm, feeds: int,
                changed: float = 0.0) -> tuple[float, float, int]:
    """Make every source due now and let the dispatcher poll them all: (wall, CPU, checks)."""
    if changed:
        farm.advance(changed)
    async with repo._sessions.begin() as s:
        await s.execute(update(Source).values(next_due_at=datetime.now(UTC), leased_until=None))
    before = sum(farm.requests)
    stop = asyncio.Event()
    t0, c0 = time.perf_counter(), time.process_time()
    task = asyncio.create_task(daemon.dispatch(stop))
    while sum(farm.requests) - before < feeds:
        await asyncio.sleep(0.01)
    while daemon.polls_running:
        await asyncio.sleep(0.001)
    await repo.flush_polls()  # the last outcomes, written behind, count too
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    stop.set()
    await task
    return wall, cpu, sum(farm.requests) - before


async def main(args: argparse.Namespace) -> None:
    farm = Farm(feeds=args.feeds, items=3)
    await farm.start()
    tmp = tempfile.TemporaryDirectory(prefix="cw_poll_")
    pg_name = None
    if args.db == "postgres":
        pg_name = f"cw_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'CREATE DATABASE "{pg_name}"')
        await admin.close()
        db = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{pg_name}"
    else:
        db = f"sqlite+aiosqlite:///{tmp.name}/cw.db"
    wl = Path(tmp.name) / "watchlists"
    wl.mkdir()
    (wl / "musk-putin.yaml").write_text((REPO / "watchlists" / "musk-putin.yaml").read_text())
    lines = ["sources:"]
    for k in range(args.feeds):
        lines += [f"  - name: Farm Wire {k}", f"    feed: {farm.feed_url(k)}", "    every: 5m", "    allow_private: true"]
    (wl / "sources.yaml").write_text("\n".join(lines) + "\n")
    settings = Settings.from_env({}, db_url=db, watchlists=wl)
    repo = await Repository.open(db, pool_size=12)
    try:
        async with make_session(settings.fetch) as session:
            daemon = Daemon(settings, load_watchlists(wl), repo,
                            Fetcher(session, settings.fetch, HostLimiter(settings.fetch.per_host, 0.0)))
            await daemon.sync_sources()
            await daemon.poll(everything=True)  # the first pass: every feed and article taken in
            results = []
            profile = cProfile.Profile() if args.profile else None
            for _ in range(args.rounds):
                if profile:
                    profile.enable()
                results.append(await drain(daemon, repo, farm, args.feeds, args.changed))
                if profile:
                    profile.disable()
            not_modified = sum(farm.not_modified)
            per_poll = [cpu / n * 1000 for _, cpu, n in results]
            rate = [n / wall for wall, _, n in results]
            print(f"claimwatch polls: {args.feeds} feeds, {args.db}, {args.rounds} round(s), "
                  f"{args.changed:.0%} changed per round, {not_modified} answers 304 in all")
            print(f"  polls/s (median): {statistics.median(rate):.0f}")
            print(f"  CPU per poll (median): {statistics.median(per_poll):.2f} ms  "
                  f"= {statistics.median(per_poll):.2f} CPU-s per 1,000 checks")
            if profile:
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(
                    r"daemon.py|pipeline.py|repository.py|fetch.py|politeness.py|leasing.py")
                print(out.getvalue()[:6000])
                out = io.StringIO()  # where the main thread's own CPU goes, whatever the module
                pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(25)
                print(out.getvalue())
    finally:
        await repo.close()
        await farm.stop()
        if pg_name:
            admin = await asyncpg.connect(PG_ADMIN)
            await admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await admin.close()
        tmp.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--changed", type=float, default=0.0, help="share of feeds changed before each round")
    asyncio.run(main(parser.parse_args()))
