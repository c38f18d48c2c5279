"""SQLAlchemy's aiosqlite adapter, with one trip to SQLite's thread per statement instead of four.

aiosqlite runs every call on the connection's own thread; SQLAlchemy's adapter makes four such
calls for each statement (create a cursor, execute, fetch the rows, close the cursor), and each
is a queue hand-off, a wake-up of the event loop through its self-pipe and a greenlet switch
(~75 µs of CPU on one core). A daemon polling thousands of sources runs a few thousand
statements a minute: the hops were a fifth of its database time. Here the cursor is created,
executed, read and closed on the driver's thread in one call; what SQLAlchemy asks of the cursor
afterwards (description, rowcount, lastrowid, the rows) was captured in that call.

Built on the internals of aiosqlite (`Connection._execute`, `_conn`, `_thread`) and of
SQLAlchemy's asyncio adapter, hence the narrow version pins in pyproject.toml; the test
`test_a_statement_is_one_trip_to_sqlites_thread` says when an upgrade breaks it.
"""
from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT, await_only


def _run(db: sqlite3.Connection, many: bool, operation: str, parameters: Any) -> tuple[Any, list[Any], int, Any]:
    """On the driver's thread: the whole life of one cursor."""
    cursor = db.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description and not many else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement runs in one call on the driver's thread."""

    __slots__ = ("_description", "_rowcount", "_lastrowid", "_arraysize")

    def __init__(self, adapt_connection: Any) -> None:  # no driver cursor, so no hop here
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: Any = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        return None  # nothing is open on the driver's side

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        return self._one_hop(False, operation, parameters)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        return self._one_hop(True, operation, seq_of_parameters)

    def _one_hop(self, many: bool, operation: Any, parameters: Any) -> None:
        try:
            self._description, rows, self._rowcount, self._lastrowid = await_only(
                self._execute_once(many, operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._rows = collections.deque(rows)

    async def _execute_once(self, many: bool, operation: Any, parameters: Any) -> tuple[Any, list[Any], int, Any]:
        async with self._adapt_connection._execute_mutex:
            driver: Any = self._connection  # an aiosqlite.Connection
            result: tuple[Any, list[Any], int, Any] = await driver._execute(
                _run, driver._conn, many, operation, parameters)
            return result


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module SQLAlchemy is given (`create_async_engine(..., module=...)`)."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        connection = aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy does: a forgotten connection never blocks exit
        return OneHopConnection(self, await_only(connection))  # type: ignore[arg-type]
