"""What `claimwatch explain` reads: a stored article, the alerts it raised, and the stances held.

Read-only. An article is found by its id or its URL (the canonical one it was stored under);
its alerts are those whose evidence is in it; the held stances are every party's current
decisive stance on the claims asked about, with the time of the article that set it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import Alert, Article, Evidence, PartyStance, UTCDateTime


@dataclass(frozen=True)
class StoredArticle:
    id: int
    url: str
    title: str
    text: str  # "" once retention dropped it
    outlet: str
    published_at: datetime | None
    seen_at: datetime


@dataclass(frozen=True)
class RaisedAlert:
    id: int
    claim_id: str
    party: str
    stance: str
    previous_stance: str | None
    stale: bool


@dataclass(frozen=True)
class HeldStance:
    stance: str
    since: datetime  # the deciding article's publication time, else when it was seen
    article_id: int


async def stored_article(engine: AsyncEngine, *, article_id: int | None = None,
                         url: str | None = None) -> StoredArticle | None:
    q = select(Article.id, Article.url, Article.title, Article.text, Article.outlet, Article.published_at,
               Article.fetched_at)
    q = q.where(Article.id == article_id) if article_id is not None else q.where(Article.url == url)
    async with engine.connect() as conn:
        row = (await conn.execute(q)).first()
    return StoredArticle(*row) if row else None


async def raised_alerts(engine: AsyncEngine, article_id: int) -> list[RaisedAlert]:
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(Alert.id, Alert.claim_id, Alert.party, Alert.stance, Alert.previous_stance, Alert.stale)
            .join(Evidence, Alert.evidence_id == Evidence.id)
            .where(Evidence.article_id == article_id).order_by(Alert.id))).all()
    return [RaisedAlert(*r) for r in rows]


async def held_stances(engine: AsyncEngine, claim_ids: Sequence[str]) -> dict[tuple[str, str], HeldStance]:
    if not claim_ids:
        return {}
    at = func.coalesce(Article.published_at, Article.fetched_at, type_=UTCDateTime)
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(PartyStance.claim_id, PartyStance.party, PartyStance.stance, at, Article.id)
            .join(Evidence, PartyStance.evidence_id == Evidence.id)
            .join(Article, Evidence.article_id == Article.id)
            .where(PartyStance.claim_id.in_(list(claim_ids))))).all()
    return {(c, p): HeldStance(st, since, aid) for c, p, st, since, aid in rows}
