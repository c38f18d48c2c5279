"""Retention: what old data may go without losing the story of any claim.

The text of an article backing no finding and no assessment is the bulk of the database and
tells nobody anything once it is old: it goes (the row, its URL and content hash stay, so the
article is still recognised and never fetched or alerted again). Delivery attempts older than
the window go too; the deliveries, alerts, findings and the timeline are kept for good.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import Article, Assessment, DeliveryAttempt, Evidence


@dataclass(frozen=True)
class Retained:
    texts_dropped: int
    attempts_deleted: int


async def drop_old(engine: AsyncEngine, before: datetime) -> Retained:
    """Drop the text of articles seen before `before` that back no finding or assessment, and
    delivery attempts made before it; one transaction, safe to run again (and by replicas)."""
    unused = ~exists(select(Evidence.id).where(Evidence.article_id == Article.id)) & \
        ~exists(select(Assessment.id).where(Assessment.article_id == Article.id))
    async with engine.begin() as conn:
        texts = await conn.execute(
            update(Article).where(Article.fetched_at < before, Article.text != "", unused)
            .values(text="").execution_options(synchronize_session=False))
        attempts = await conn.execute(delete(DeliveryAttempt).where(DeliveryAttempt.at < before))
    return Retained(int(texts.rowcount or 0), int(attempts.rowcount or 0))
