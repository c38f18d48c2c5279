"""Engines for SQLite (embedded default) and PostgreSQL (shared by replicas), migrated on open."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import await_only

from storage.sqlite_driver import OneHopDBAPI

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
# Arbitrary constant: serialises concurrent migrations of replicas opening one PostgreSQL.
_PG_MIGRATION_LOCK = 0x636C61696D77


def normalize_url(url: str) -> URL:
    """Map plain `sqlite://` / `postgresql://` URLs to the async drivers we ship."""
    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        return u.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return u.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database URL {u.render_as_string(hide_password=True)!r}")


SQLITE_POOL = 4


def create_engine_for(url: str, pool_size: int | None = None) -> AsyncEngine:
    """An engine with the per-connection settings; no migration (see `open_engine`).

    `pool_size`: connections kept open (the daemon sizes it to its poll concurrency, so polls
    do not queue long for a connection); 5 more may open under a burst. SQLite keeps at most
    `SQLITE_POOL` (+2): it has one writer whatever the pool, and every aiosqlite connection is
    a thread with its own page cache and malloc arena, ~7 MB each once the database is big
    (17 of them were a quarter of the daemon's memory at 10,000 sources)."""
    u = normalize_url(url)
    if pool_size and u.get_backend_name() == "sqlite":
        pool: dict[str, int] = {"pool_size": min(pool_size, SQLITE_POOL), "max_overflow": 2}
    else:
        pool = {"pool_size": pool_size, "max_overflow": 5} if pool_size else {}
    if u.get_backend_name() == "sqlite":
        # No rollback on every return to the pool: each is a hop to the driver's thread, and
        # every transaction here already ends in COMMIT or ROLLBACK (see `_configure_sqlite`).
        # One trip to the driver's thread per statement, not four (storage/sqlite_driver.py).
        engine = create_async_engine(u, pool_reset_on_return=None, module=OneHopDBAPI(), **pool)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(u, pool_pre_ping=True, **pool)


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, FKs, busy timeout; and `BEGIN IMMEDIATE` so SQLite savepoints work and writers queue.

    The driver's own lazy BEGIN breaks SAVEPOINT, and a deferred transaction that reads then
    writes fails with SQLITE_BUSY instead of waiting when another writer got there first.
    Taking the write lock up front makes every writing transaction wait its turn (single
    writer). Connections of `readonly(engine)` begin deferred instead: under WAL they read
    beside the writer and never queue for its lock.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute("PRAGMA synchronous = NORMAL")
        finally:
            cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # On aiosqlite's connection itself: one hop to its thread, where a DBAPI cursor's
        # create, execute and close are three (a first poll of 2,000 feeds opens ~6,000).
        sql = "BEGIN" if conn.get_execution_options().get(_READ_ONLY) else "BEGIN IMMEDIATE"
        driver: Any = conn.connection.driver_connection
        await_only(driver._execute(_begin_afresh, driver._conn, sql))

    @event.listens_for(engine.sync_engine.pool, "reset")
    def _on_reset(dbapi_connection: Any, record: Any, _state: Any) -> None:
        # The safety net of the pool's reset, without its hop when there is nothing to undo:
        # a transaction left open (a task cancelled mid-way) is rolled back before reuse.
        driver = record.driver_connection
        if driver is not None and driver.in_transaction:
            dbapi_connection.rollback()


def _begin_afresh(db: Any, sql: str) -> None:
    """BEGIN, on the driver's thread, after undoing a transaction nobody owns any more.

    A task cancelled while its statement waits in aiosqlite's queue gives the connection back to
    the pool before that statement runs: the pool's reset saw no transaction, then the abandoned
    BEGIN (and its write lock) arrives on the driver's thread. Only that thread knows, so the next
    user checks there, in the same hop as its own BEGIN.
    """
    if db.in_transaction:
        db.rollback()
    db.execute(sql).close()


_READ_ONLY = "claimwatch_read_only"


def readonly(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool for sessions that only read (on SQLite: no write lock taken)."""
    return engine.execution_options(**{_READ_ONLY: True})


def alembic_config(connection: Connection | None = None) -> Config:
    """Programmatic alembic config: no alembic.ini needed in an installed package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
    command.upgrade(alembic_config(connection), "head")


async def migrate(engine: AsyncEngine) -> None:
    """Upgrade the schema to head in one transaction."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def open_engine(url: str, pool_size: int | None = None) -> AsyncEngine:
    """An engine for `url` (sqlite[+aiosqlite]:///path or postgresql[+asyncpg]://…), at head."""
    engine = create_engine_for(url, pool_size)
    try:
        await migrate(engine)
    except BaseException:
        await engine.dispose()
        raise
    return engine
