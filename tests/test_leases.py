"""Lease holders and replicas in storage: a replica that stopped beating loses its leases at once,
a live one keeps them, a clean stop hands them back. SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.records import SourceSpec
from storage.repository import Repository

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LEASE = 300


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def sources(repo: Repository, *names: str) -> None:
    await repo.sync_sources([SourceSpec(n, "feed", f"https://{n}.example/rss", 300) for n in names], T0)


async def test_a_replica_that_stopped_beating_loses_its_leases_at_once_and_a_live_one_keeps_its(
    repo: Repository,
) -> None:
    await sources(repo, "a1", "a2", "b1")
    await repo.register_replica("dead", host="h", pid=1, now=T0)
    await repo.register_replica("live", host="h", pid=2, now=T0)
    assert len(await repo.lease_due_sources(T0, 2, LEASE, holder="dead")) == 2
    assert len(await repo.lease_due_sources(T0, 2, LEASE, holder="live")) == 1
    assert set((await repo.lease_holders()).values()) == {"dead", "live"}

    await repo.beat_replica("live", at(40))
    assert await repo.reclaim_leases(at(40), me="live", takeover_seconds=30) == (2, 0)
    holders = await repo.lease_holders()
    assert sorted(n for n, h in holders.items() if h is None) == ["a1", "a2"], holders
    assert [r[0] for r in await repo.replicas()] == ["live"]
    # the dead replica's sources are due again at once, well before their lease would end
    assert sorted(s.name for s in await repo.lease_due_sources(at(41), 10, LEASE, holder="live")) == ["a1", "a2"]

    assert await repo.retire_replica("live") == (3, 0)
    assert set((await repo.lease_holders()).values()) == {None}
    assert await repo.replicas() == []


async def test_a_sole_replica_reclaims_every_lease_but_its_own_and_leases_of_no_known_holder(
    repo: Repository,
) -> None:
    await sources(repo, "old", "fresh", "mine")
    await repo.lease_due_sources(T0, 1, LEASE)  # a lease from before replicas: no holder
    await repo.register_replica("other", host="h", pid=1, now=at(5))
    await repo.lease_due_sources(T0, 1, LEASE, holder="other")  # beating, but on SQLite it cannot be
    await repo.register_replica("me", host="h", pid=2, now=at(5))
    await repo.lease_due_sources(T0, 1, LEASE, holder="me")
    assert await repo.reclaim_leases(at(6), me="me", takeover_seconds=30) == (1, 0)  # only the holderless
    assert await repo.reclaim_leases(at(6), me="me", takeover_seconds=30, everyone_else=True) == (1, 0)
    assert [h for h in (await repo.lease_holders()).values() if h] == ["me"]
    assert [r[0] for r in await repo.replicas()] == ["me"]


async def test_the_schedule_outlook_counts_sources_more_than_30s_past_due_and_the_oldest(
    repo: Repository,
) -> None:
    await sources(repo, "late", "later", "busy")
    await repo.lease_due_sources(T0, 1, LEASE)  # being polled: not counted as waiting
    outlook = await repo.schedule_outlook(at(20), 30)
    assert outlook.overdue == 0 and outlook.next_due_at == T0
    outlook = await repo.schedule_outlook(at(31), 30)
    assert (outlook.overdue, outlook.oldest_due_at) == (2, T0)


async def test_a_restart_on_the_same_host_reclaims_its_killed_predecessors_leases_without_waiting(
    repo: Repository,
) -> None:
    import socket
    import subprocess
    import sys

    from monitor.daemon import Daemon
    from monitor.settings import Settings
    from monitor.watchlist import load_watchlists
    from tests.support import REPO

    await sources(repo, "a", "b")
    now = datetime.now(UTC)
    gone = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],  # noqa: ASYNC221
                              capture_output=True, text=True, check=True).stdout)  # a pid now dead
    await repo.register_replica("killed", host=socket.gethostname(), pid=gone, now=now)  # beat just now
    await repo.register_replica("elsewhere", host="other-host", pid=gone, now=now)
    await repo.lease_due_sources(now, 1, LEASE, holder="killed")
    await repo.lease_due_sources(now, 1, LEASE, holder="elsewhere")
    daemon = Daemon(Settings(db_url="unused://"), load_watchlists(REPO / "watchlists", env={}), repo,
                    None)  # type: ignore[arg-type]
    await daemon.start_replica(sole=False)
    assert sorted(h for h in (await repo.lease_holders()).values() if h) == ["elsewhere"], \
        "another host's replica is alive until its heartbeat is older than the takeover window"
    assert sorted(r[0] for r in await repo.replicas()) == sorted(["elsewhere", daemon.replica_id])
