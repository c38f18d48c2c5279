"""What `/metrics` reads from the database at scrape time: the outbox, per channel and status.

Computed from the rows rather than counted in the process, so every replica, and a restarted
daemon, reports the same truth about the shared outbox.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import Alert, Delivery, Notice, UTCDateTime


@dataclass(frozen=True)
class OutboxGauges:
    by_channel: dict[tuple[str, str], int]  # (channel, status) -> deliveries
    pending: int
    oldest_pending_at: datetime | None  # when the oldest pending delivery's alert/notice was made


async def outbox_gauges(engine: AsyncEngine) -> OutboxGauges:
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(Delivery.channel, Delivery.status, func.count()).group_by(Delivery.channel, Delivery.status)
        )).all()
        made = func.coalesce(Alert.created_at, Notice.created_at, type_=UTCDateTime)
        oldest = (await conn.execute(
            select(func.min(made))
            .select_from(Delivery)
            .outerjoin(Alert, Delivery.alert_id == Alert.id)
            .outerjoin(Notice, Delivery.notice_id == Notice.id)
            .where(Delivery.status == "pending")
        )).scalar()
    by_channel = {(channel, status): int(n) for channel, status, n in rows}
    pending = sum(n for (_, status), n in by_channel.items() if status == "pending")
    if isinstance(oldest, str):  # SQLite's MIN over a COALESCE loses the column type
        oldest = UTCDateTime().process_result_value(datetime.fromisoformat(oldest), conn.dialect)
    return OutboxGauges(by_channel, pending, oldest)
