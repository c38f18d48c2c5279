"""SQLAlchemy 2 declarative models; `migrations/versions` must build exactly this schema.

A test compares the migrated database with `Base.metadata` on SQLite and PostgreSQL, so any
change here needs a migration.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Explicit constraint names: identical on both backends and stable for migrations.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

STANCES = ("confirms", "denies", "discusses", "unrelated")
DELIVERY_STATUSES = ("pending", "sent", "failed")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, also on SQLite (which stores naive text).

    Naive datetimes are refused: every time comes from the caller, and a naive one would be
    silently misread as UTC on one backend and local time on another.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) datetime")
        value = value.astimezone(UTC)
        # SQLite compares the stored text, so store one canonical naive-UTC form.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, str: Text}


class Source(Base):
    __tablename__ = "sources"
    __table_args__ = (Index("ix_sources_due", "enabled", "next_due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(unique=True)
    kind: Mapped[str]
    url: Mapped[str]
    every_seconds: Mapped[int]
    enabled: Mapped[bool] = mapped_column(Boolean)
    next_due_at: Mapped[datetime]
    leased_until: Mapped[datetime | None]
    leased_by: Mapped[str | None]  # the replica (replicas.id) holding the lease
    etag: Mapped[str | None]
    last_modified: Mapped[str | None]
    body_hash: Mapped[str | None]
    last_fetched_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None]
    last_error_kind: Mapped[str | None]
    error_count: Mapped[int]
    created_at: Mapped[datetime]


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    url: Mapped[str] = mapped_column(unique=True)
    content_hash: Mapped[str] = mapped_column(unique=True)
    title: Mapped[str]
    text: Mapped[str]
    outlet: Mapped[str]
    published_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime]


class SeenUrl(Base):
    """A link that yielded no new article, so page sources skip it on later polls."""

    __tablename__ = "seen_urls"

    url: Mapped[str] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    first_seen_at: Mapped[datetime]
    outcome: Mapped[str]


class Evidence(Base):
    __tablename__ = "evidence"
    __table_args__ = (
        CheckConstraint(f"stance IN {STANCES!r}", name="stance"),
        Index("ix_evidence_claim_party", "claim_id", "party"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    claim_id: Mapped[str]
    stance: Mapped[str]
    party: Mapped[str]
    party_kind: Mapped[str]
    quote: Mapped[str]
    cue: Mapped[str]
    created_at: Mapped[datetime]
    context: Mapped[str] = mapped_column(server_default="")  # the reporting sentence, if not `quote`


class Assessment(Base):
    """The article-level decision on one claim (`matcher.assess`): one row per (article, claim).

    Only claims the article is not unrelated to are stored. The per-party stances stay in
    `evidence`, which alone drives alerts.
    """

    __tablename__ = "assessments"
    __table_args__ = (
        UniqueConstraint("article_id", "claim_id"),
        CheckConstraint(f"stance IN {STANCES!r}", name="stance"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    claim_id: Mapped[str] = mapped_column(index=True)
    stance: Mapped[str]
    party: Mapped[str]
    party_kind: Mapped[str]
    evidence: Mapped[str]
    cue: Mapped[str]
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime]


class PartyStance(Base):
    """The current decisive stance of a party on a claim: what the next alert is compared to."""

    __tablename__ = "party_stances"
    __table_args__ = (CheckConstraint("stance IN ('confirms', 'denies')", name="stance"),)

    claim_id: Mapped[str] = mapped_column(primary_key=True)
    party: Mapped[str] = mapped_column(primary_key=True)
    stance: Mapped[str]
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id"))
    updated_at: Mapped[datetime]


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("claim_id", "party", "generation"),
        CheckConstraint("stance IN ('confirms', 'denies')", name="stance"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    claim_id: Mapped[str]
    party: Mapped[str]
    stance: Mapped[str]
    statement: Mapped[str]
    evidence_id: Mapped[int] = mapped_column(ForeignKey("evidence.id"))
    generation: Mapped[int]
    created_at: Mapped[datetime]
    # Snapshots taken when the alert is decided, so every later rendering says the same thing.
    previous_stance: Mapped[str | None]  # the stance this alert switches from
    previous_since: Mapped[datetime | None]
    stale: Mapped[bool] = mapped_column(Boolean, server_default=sa_false())
    standing: Mapped[str] = mapped_column(server_default="[]")  # JSON: the claim's tally after it


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel", "target_key"),
        CheckConstraint(f"status IN {DELIVERY_STATUSES!r}", name="status"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_target", "channel", "target_key", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))  # None: an ops notice
    channel: Mapped[str]
    # The target: alerts/deliver.py `target_key(url)`, a hash of its URL (never the URL), so a
    # reordered channel still sends each delivery to its own target. NULL only on rows queued
    # before migration 0006, which have their position in `target_index` instead (adopted or
    # failed at start: storage/alerting.py `reconcile_targets`).
    target_key: Mapped[str | None]
    target_index: Mapped[int | None]
    target_label: Mapped[str]  # the URL's masked form (alerts/deliver.py `privacy_label`)
    status: Mapped[str]
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime]
    leased_until: Mapped[datetime | None]
    leased_by: Mapped[str | None]  # the replica (replicas.id) holding the lease
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None]
    # A digest or fold channel holds the delivery until its message goes out (alerts/timing.py);
    # `hold_until` is never brought forward, not even by `run --once`.
    hold: Mapped[str | None]  # None: sent on its own | "digest" | "fold": one message per target
    hold_until: Mapped[datetime | None]
    batch_id: Mapped[int | None]  # sent in one message with others: that message's first delivery
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), index=True)  # ops notice


class Incident(Base):
    """Something wrong with claimwatch itself (monitor/ops.py): open until it recovers.

    `open_key` is "kind:subject" while open and NULL once closed, so one (kind, subject) has at
    most one open incident, also with replicas deciding at the same time.
    """

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str]  # source_failing | delivery_failed | channel_failing | watchlist_rejected
    subject: Mapped[str]  # a source name, a channel (or channel and target label), "watchlist"
    open_key: Mapped[str | None] = mapped_column(unique=True)
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    detail: Mapped[str]


class Notice(Base):
    """One ops message (an incident opened or recovered), sent through the outbox like an alert."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    event: Mapped[str]  # opened | recovered
    severity: Mapped[str]  # warning | failure | success
    title: Mapped[str]
    body: Mapped[str]
    created_at: Mapped[datetime]


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    at: Mapped[datetime] = mapped_column(index=True)  # the ops checks read the last hours
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None]
    duration_ms: Mapped[int]


class Replica(Base):
    """One running daemon process: its leases (`leased_by`) are reclaimed at once when its
    heartbeat is older than the takeover window (monitor/replicas.py)."""

    __tablename__ = "replicas"

    id: Mapped[str] = mapped_column(primary_key=True)  # a uuid4, new at each start
    host: Mapped[str]
    pid: Mapped[int]
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
