"""Decide which findings deserve an alert: pure functions, applied by storage in one transaction.

A (claim, party) pair alerts when its stance is new: the first confirmation or denial by that
party, or a switch from one to the other. The same statement republished elsewhere carries the
same (claim, party, stance) and so stays silent.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from matcher.match import Finding, Stance

DECISIVE = frozenset({Stance.CONFIRMS, Stance.DENIES})


@dataclass(frozen=True)
class Verdict:
    """The stance a party takes on a claim in one article, with the finding that carries it."""

    claim_id: str
    party: str
    stance: Stance
    finding: Finding


def verdicts(findings: Iterable[Finding]) -> list[Verdict]:
    """One verdict per (claim, party) among decisive findings; a denial outranks a confirmation.

    The matcher already aggregates per party; this guards the contract for any other caller
    (a party may only alert once per article, and anonymous findings never alert).
    """
    best: dict[tuple[str, str], Finding] = {}
    for f in findings:
        if f.stance not in DECISIVE or not f.party:
            continue
        key = (f.claim_id, f.party)
        held = best.get(key)
        if held is None or (held.stance is Stance.CONFIRMS and f.stance is Stance.DENIES):
            best[key] = f
    return [Verdict(c, p, f.stance, f) for (c, p), f in best.items()]


def to_alert(
    current: Mapping[tuple[str, str], Stance], found: Sequence[Verdict]
) -> list[Verdict]:
    """The verdicts whose stance differs from the party's current stance on the claim."""
    return [v for v in found if current.get((v.claim_id, v.party)) != v.stance]


def before_since(published: datetime | None, since: datetime | None) -> bool:
    """An article published before the claim's `since` is evidence only: it never alerts and
    never sets a party's stance. Undated articles are given the benefit of the doubt."""
    return since is not None and published is not None and published < since


def is_stale(published: datetime | None, seen: datetime, stale_after_seconds: int) -> bool:
    """An "old story": published more than `stale_after` before claimwatch saw it."""
    return published is not None and seen - published > timedelta(seconds=stale_after_seconds)
