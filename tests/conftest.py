"""Database fixtures: every storage-backed test runs on SQLite and on a real PostgreSQL.

`db_url` yields a fresh, empty database URL per test (a temp SQLite file, or a uniquely named
PostgreSQL database created on the server from CLAIMWATCH_TEST_PG and dropped afterwards).
PostgreSQL being down skips loudly locally and fails in CI (CI=true): the scale-out store
must never pass unverified there.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from storage.repository import Repository

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"

# Every daemon a test starts inherits this environment: its web server takes a free port (the
# log's "desk page: http://127.0.0.1:PORT/" line says which), so daemons of parallel tests never
# collide on the default 8080.
os.environ.setdefault("CLAIMWATCH_HTTP", "127.0.0.1:0")


def pg_admin_url() -> str:
    """The configured PostgreSQL URL (its database is only used to create/drop test ones)."""
    return os.environ.get("CLAIMWATCH_TEST_PG", PG_DEFAULT)


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    """A libpq-style DSN asyncpg accepts, optionally pointing at another database."""
    u = make_url(url).set(drivername="postgresql")
    if database is not None:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


async def _admin() -> asyncpg.Connection:
    url = pg_admin_url()
    try:
        return await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        where = make_url(url).render_as_string(hide_password=True)
        reason = (
            f"PostgreSQL at {where} unreachable: {type(exc).__name__}: {exc}; "
            "storage not verified on PostgreSQL"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(f"!!! {reason} !!!")


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database (cw_<uuid>) for one test, dropped with FORCE afterwards."""
    name = f"cw_{uuid.uuid4().hex}"
    admin = await _admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield make_url(pg_admin_url()).set(
            drivername="postgresql+asyncpg", database=name
        ).render_as_string(hide_password=False)
    finally:
        admin = await _admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'claimwatch.db'}"


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database URL, once per backend (test ids end in [sqlite] / [postgres])."""
    name = "pg_url" if request.param == "postgres" else "sqlite_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
async def repo(db_url: str) -> AsyncIterator[Repository]:
    """A migrated Repository on `db_url`, closed after the test."""
    r = await Repository.open(db_url)
    try:
        yield r
    finally:
        await r.close()
