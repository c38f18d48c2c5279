"""Plain records crossing the storage boundary: no SQLAlchemy objects leak out of `storage`."""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class SourceSpec:
    """A source as the watchlist configures it."""

    name: str
    kind: str  # "feed" | "page"
    url: str
    every_seconds: int


@dataclass(frozen=True)
class SourceState:
    """A source with its fetch state, as leased for one poll."""

    id: int
    name: str
    kind: str
    url: str
    every_seconds: int
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    error_count: int
    last_error: str | None
    last_error_kind: str | None
    next_due_at: datetime
    last_success_at: datetime | None
    # Added for status views; defaults keep positional construction working.
    enabled: bool = True
    leased_until: datetime | None = None
    last_fetched_at: datetime | None = None


@dataclass(frozen=True)
class ScheduleOutlook:
    """The schedule at a glance: the next due time of a source nobody is polling, and the backlog
    (enabled sources more than the overdue threshold past due, and the oldest due time)."""

    next_due_at: datetime | None
    overdue: int
    oldest_due_at: datetime | None


@dataclass(frozen=True)
class ArticleRecord:
    """An extracted article ready to store (unique by canonical URL and by content hash)."""

    source_id: int
    url: str  # canonical URL
    content_hash: str  # hash of the normalised text
    title: str
    text: str
    outlet: str
    published_at: datetime | None
    fetched_at: datetime


@dataclass(frozen=True)
class SeenLink:
    """A link that gave no new article, remembered so it is not fetched again: "backfill" (older
    than the source's first poll), "not-article", "redirected", "error:KIND", "duplicate-content"."""

    url: str
    source_id: int | None
    outcome: str


@dataclass(frozen=True)
class Target:
    """One apprise URL of a channel, addressed by a hash of the URL so secrets never enter the
    database and reordering the channel's list cannot send its deliveries elsewhere."""

    channel: str
    key: str  # alerts/deliver.py `target_key(url)`
    label: str  # the URL with secrets masked (`privacy_label`), for logs and the desk


@dataclass(frozen=True)
class ConfiguredTarget:
    """A switched-on target as the watchlist now lists it, for `reconcile_targets`: its key and
    label, and what identified it before target keys (its position and apprise's own label)."""

    channel: str
    key: str
    label: str
    index: int
    legacy_label: str


def removed_reason(channel: str, channels: Collection[str], key: str | None = "") -> str:
    """Why a delivery has no target any more: the error it is failed with."""
    if key is None:
        return (f"target removed from channel {channel!r}: queued before target keys, and its "
                "position no longer holds the same target")
    if channel not in channels:
        return f"target removed from channel {channel!r} (the channel is no longer in the watchlist)"
    return f"target removed from channel {channel!r}"


@dataclass(frozen=True)
class ClaimRouting:
    """What an alert about a claim needs from the watchlist: its words, where it goes, and
    which articles may alert at all (`since`) or are marked as an old story (`stale_after`)."""

    statement: str
    targets: tuple[Target, ...] = field(default_factory=tuple)
    since: datetime | None = None
    stale_after_seconds: int = 7 * 86400


@dataclass(frozen=True)
class StandingEntry:
    """One party's current decisive stance on a claim, with their latest statement's origin."""

    party: str
    stance: str  # "confirms" | "denies"
    outlet: str
    at: datetime | None  # the statement's publication time (else when claimwatch saw it)
    url: str = ""


@dataclass(frozen=True)
class PendingDelivery:
    """One alert to one target, with everything needed to render it."""

    id: int
    alert_id: int
    channel: str
    target_key: str | None  # None only for a row queued before migration 0006 and not adopted
    target_label: str
    attempts: int
    claim_id: str
    statement: str
    party: str
    stance: str  # "confirms" | "denies"
    quote: str
    cue: str
    outlet: str
    article_title: str
    article_url: str
    published_at: datetime | None
    alerted_at: datetime
    context: str = ""  # the sentence reporting the stance when `quote` is the party's own words
    seen_at: datetime | None = None  # when claimwatch fetched the article
    generation: int = 1  # 1: the party's first stance on the claim; more: a switch
    previous_stance: str | None = None  # what the party held before a switch
    previous_since: datetime | None = None  # since when it held it
    stale: bool = False  # published more than the claim's stale_after before it was seen
    # The claim's standing right after this alert: the latest parties of each stance (at most
    # storage.alerting.STANDING_SHOWN per stance) and how many parties hold each stance.
    standing: tuple[StandingEntry, ...] = ()
    standing_total: Mapping[str, int] = field(default_factory=dict, hash=False)
    hold: str | None = None  # "digest" | "fold": waits for its channel's grouped message
    hold_until: datetime | None = None  # when that message goes out


@dataclass(frozen=True)
class EvidenceRecord:
    """One stored finding: who took which stance on a claim in which article."""

    id: int
    article_id: int
    claim_id: str
    stance: str  # "confirms" | "denies" | "discusses" | "unrelated"
    party: str
    party_kind: str
    quote: str
    cue: str
    created_at: datetime
    context: str = ""


@dataclass(frozen=True)
class AssessmentRecord:
    """One article's stance on one claim as a whole (`matcher.assess`), with who holds it.

    Stored only for claims the article is related to; `evidence` is the sentence that shows the
    stance, `cue` the words that decided it, `score` the confidence (0..1).
    """

    id: int
    article_id: int
    claim_id: str
    stance: str  # "confirms" | "denies" | "discusses"
    party: str  # "" when nobody is named
    party_kind: str
    evidence: str
    cue: str
    score: float
    created_at: datetime


@dataclass(frozen=True)
class AlertRecord:
    """A decided alert; generation counts the party's stance changes on the claim (1 = first)."""

    id: int
    claim_id: str
    party: str
    stance: str  # "confirms" | "denies"
    statement: str
    evidence_id: int
    generation: int
    created_at: datetime


@dataclass(frozen=True)
class DeliveryRecord:
    """The state of one alert's (or ops notice's) delivery to one target, for status views and tests."""

    id: int
    alert_id: int | None  # None for an ops notice (`notice_id`)
    channel: str
    target_key: str | None
    target_label: str
    status: str  # "pending" | "sent" | "failed"
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    hold: str | None = None  # "digest" | "fold" while held for a grouped message
    hold_until: datetime | None = None
    batch_id: int | None = None  # sent in one message with others: its first delivery's id
    notice_id: int | None = None


@dataclass(frozen=True)
class AttemptRecord:
    """One try at sending a delivery."""

    id: int
    delivery_id: int
    at: datetime
    ok: bool
    error: str | None
    duration_ms: int


@dataclass(frozen=True)
class PendingNotice:
    """One ops notice (an incident opened or recovered) to one ops target, ready to send."""

    id: int  # the delivery's id
    notice_id: int
    target_key: str | None
    target_label: str
    attempts: int
    event: str  # "opened" | "recovered"
    severity: str  # "warning" | "failure" | "success"
    title: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class IncidentRecord:
    """Something wrong with claimwatch itself, open (closed_at None) or recovered."""

    id: int
    kind: str
    subject: str
    opened_at: datetime
    closed_at: datetime | None
    detail: str
