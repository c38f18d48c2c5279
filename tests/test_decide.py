"""Which findings alert: a new stance by a party, or a switch; never a repeat."""
from __future__ import annotations

from matcher.match import Finding, Stance
from monitor.decide import to_alert, verdicts

CLAIM = "musk-putin-talks"


def finding(party: str, stance: Stance, claim: str = CLAIM) -> Finding:
    return Finding(claim, stance, party, "entity", f"{party} says so", "cue", 1)


def test_a_party_that_first_takes_a_side_alerts() -> None:
    found = verdicts([finding("Kremlin", Stance.DENIES)])
    assert [(v.party, v.stance) for v in to_alert({}, found)] == [("Kremlin", Stance.DENIES)]


def test_the_same_stance_seen_again_does_not_alert() -> None:
    found = verdicts([finding("Kremlin", Stance.DENIES)])
    assert to_alert({(CLAIM, "Kremlin"): Stance.DENIES}, found) == []


def test_a_party_that_switches_stance_alerts_again() -> None:
    found = verdicts([finding("Kremlin", Stance.CONFIRMS)])
    assert [v.stance for v in to_alert({(CLAIM, "Kremlin"): Stance.DENIES}, found)] == [Stance.CONFIRMS]


def test_discussion_and_anonymous_findings_never_alert() -> None:
    assert verdicts([finding("", Stance.DENIES), finding("Reuters", Stance.DISCUSSES)]) == []


def test_a_denial_outranks_a_confirmation_by_the_same_party_in_one_article() -> None:
    [v] = verdicts([finding("Elon Musk", Stance.CONFIRMS), finding("Elon Musk", Stance.DENIES)])
    assert v.stance is Stance.DENIES


def test_stances_are_kept_per_claim() -> None:
    found = verdicts([finding("Kremlin", Stance.DENIES, "a"), finding("Kremlin", Stance.CONFIRMS, "b")])
    assert {(v.claim_id, v.stance) for v in found} == {("a", Stance.DENIES), ("b", Stance.CONFIRMS)}
