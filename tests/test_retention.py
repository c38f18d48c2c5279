"""Retention (storage/retention.py): old text backing nothing and old attempts go; the story stays."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from matcher.match import Finding, Stance
from monitor.settings import Settings
from storage.models import Article
from storage.records import ArticleRecord, ClaimRouting, SourceSpec, Target
from storage.repository import Repository
from storage.retention import drop_old

NOW = datetime(2026, 12, 1, tzinfo=UTC)
OLD = NOW - timedelta(days=120)
ROUTE = {"c": ClaimRouting("A met B", (Target("desk", "k1", "json://…"),))}


async def test_old_text_backing_no_finding_and_old_attempts_go_while_findings_and_alerts_stay(repo: Repository) -> None:
    await repo.sync_sources([SourceSpec("wire", "feed", "https://wire.example/rss", 300)], OLD)
    [source] = await repo.source_states()

    def record(slug: str, at: datetime) -> ArticleRecord:
        return ArticleRecord(source.id, f"https://wire.example/{slug}", slug, slug.title(), f"text of {slug}",
                             "wire", at, at)

    finding = Finding("c", Stance.DENIES, "B", "entity", "B denied it.", "denied", 1, 3.0)
    backing = await repo.store_article(record("backing", OLD), [finding], ROUTE, OLD)
    await repo.store_article(record("idle-old", OLD), [], ROUTE, OLD)
    await repo.store_article(record("idle-new", NOW), [], ROUTE, NOW)
    assert backing is not None and backing[1]
    [delivery] = await repo.deliveries()
    await repo.record_attempt(delivery.id, now=OLD, ok=False, error="down", duration_ms=5,
                              next_attempt_at=OLD + timedelta(minutes=1))
    await repo.record_attempt(delivery.id, now=NOW, ok=True, error=None, duration_ms=5, next_attempt_at=None)

    cutoff = NOW - timedelta(days=Settings().retention_days)
    done = await drop_old(repo.engine, cutoff)
    assert (done.texts_dropped, done.attempts_deleted) == (1, 1)
    async with repo.engine.connect() as conn:
        texts = dict((await conn.execute(select(Article.url, Article.text))).all())
    assert texts == {"https://wire.example/backing": "text of backing", "https://wire.example/idle-old": "",
                     "https://wire.example/idle-new": "text of idle-new"}
    assert [a.ok for a in await repo.attempts()] == [True]
    assert len(await repo.alerts()) == 1 and len(await repo.evidence()) == 1
    assert (await repo.deliveries())[0].status == "sent"
    # The article is still known: its URL is never fetched, its content never taken in again.
    assert await repo.known_urls(["https://wire.example/idle-old"]) == {"https://wire.example/idle-old"}
    assert await drop_old(repo.engine, cutoff) == type(done)(0, 0)  # a second run finds nothing
