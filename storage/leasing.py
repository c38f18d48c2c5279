"""The one lease mechanism of sources and deliveries: pick, then mark, in the caller's transaction.

The pick is a SELECT … ORDER BY … LIMIT n FOR UPDATE SKIP LOCKED, and the mark a separate
UPDATE of exactly the picked ids. One `UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP
LOCKED)` looks equivalent but is not: when PostgreSQL rechecks a row another replica changed
under it, it may run the subquery again, so one replica can take more than n rows (seen: 10
deliveries leased with a limit of 7, the other replica none). On PostgreSQL replicas skip each
other's locked rows; on SQLite the transaction holds the single write lock (BEGIN IMMEDIATE),
so a racing lease waits and then sees the new `leased_until`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession


async def lease(
    s: AsyncSession, model: Any, due: Callable[[Any], Any], order: Sequence[Any], limit: int,
    values: dict[str, Any],
) -> list[int]:
    """Set `values` (a lease) on up to `limit` rows of `model` matching `due(model)`, first by
    `order`; the ids taken, in that order."""
    ids = list((await s.scalars(
        select(model.id).where(due(model)).order_by(*order).limit(limit).with_for_update(skip_locked=True)
    )).all())
    if ids:
        await s.execute(update(model).where(model.id.in_(ids)).values(values)
                        .execution_options(synchronize_session=False))
    return ids
