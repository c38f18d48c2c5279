"""Alert text: what the desk reads in Slack or an email, built from a PendingDelivery alone.

Pure functions, plain text (no markup), so every apprise target renders it the same way.
"""
from __future__ import annotations

from datetime import datetime, timezone

from storage.records import PendingDelivery

_MAX_QUOTE = 600  # a sentence, not an article: long quotes are cut, the link has the rest


def title(d: PendingDelivery) -> str:
    """The headline, exactly "<party> <stance>: <statement>" so the desk can scan a channel."""
    return f"{d.party} {d.stance}: {d.statement}"


def body(d: PendingDelivery) -> str:
    """The evidence: quote and deciding cue, source, link, publication time and claim id."""
    lines = [f"“{_clean_quote(d.quote)}”"]
    cue = " ".join(d.cue.split())
    if cue:
        lines.append(f"(decided by: “{cue}”)")
    lines.append(f"— {d.outlet}: {' '.join(d.article_title.split())}")
    lines.append(d.article_url)
    lines.append(published(d.published_at))
    lines.append(f"claim: {d.claim_id}")
    return "\n".join(lines)


def published(at: datetime | None) -> str:
    """'published 2024-10-25 10:00 UTC'; naive times are taken as UTC (how storage keeps them)."""
    if at is None:
        return "publication time unknown"
    if at.tzinfo is not None:
        at = at.astimezone(timezone.utc)
    return f"published {at:%Y-%m-%d %H:%M} UTC"


def _clean_quote(quote: str) -> str:
    """One line, without its own outer quote marks (we add ours), capped in length."""
    text = " ".join(quote.split()).strip("\"'“”‘’«»„ ")
    if len(text) > _MAX_QUOTE:
        text = text[: _MAX_QUOTE - 1].rstrip() + "…"
    return text
