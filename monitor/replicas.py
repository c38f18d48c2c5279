"""Who is running: one id per daemon process, and the SQLite single-process lock.

Every `claimwatch run` gets a fresh id (uuid4), registered in the `replicas` table with a
heartbeat; every source and delivery lease records its holder (`leased_by`). At start and then
every few seconds, leases whose holder's heartbeat is older than the takeover window are
released, so a killed replica's work is picked up at once instead of after its full lease. On
SQLite only one process may run (the lock below), so at start every lease is released.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url


class AlreadyRunning(Exception):
    """Another claimwatch holds the SQLite database's lock."""


def sqlite_path(db_url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL or an in-memory SQLite."""
    u = make_url(db_url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database).resolve()


class SqliteLock:
    """An exclusive lock on `<db>.lock`, held for the process lifetime (the kernel drops it when
    the process dies, even on kill -9): a second daemon on the same file is refused."""

    def __init__(self, db: Path) -> None:
        self.db, self.path = db, db.with_name(db.name + ".lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = self.path.open("a+")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip()
            f.close()
            raise AlreadyRunning(
                f"another claimwatch is already running on {self.db}"
                f"{f' (pid {holder})' if holder else ''}: only one process may use a SQLite database "
                f"(lock {self.path}); stop it, or share a PostgreSQL between replicas"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._file = f

    def release(self) -> None:
        if self._file is not None:
            f, self._file = self._file, None
            try:
                f.truncate(0)
            finally:
                f.close()  # closing drops the lock
