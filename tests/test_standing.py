"""What an alert knows beyond its title, decided with it in one transaction: whether the party is
new or switched (and from what, since when), the claim's standing after it, an old-story mark,
and articles older than the claim's `since` kept as evidence without alerting.

Run on SQLite and PostgreSQL (the `repo` fixture).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from matcher.match import Finding, Stance
from monitor.decide import before_since, is_stale
from storage.alerting import STANDING_SHOWN, _load_standing
from storage.records import (
    ArticleRecord,
    ClaimRouting,
    PendingDelivery,
    SourceSpec,
    Target,
)
from storage.repository import Repository

T0 = datetime(2024, 10, 25, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
STATEMENT = "Acme will merge with Globex"
DESK = (Target("desk", "k0", "json://127.0.0.1/hook"),)


def routing(**kw: object) -> dict[str, ClaimRouting]:
    return {"merger": ClaimRouting(STATEMENT, DESK, **kw)}  # type: ignore[arg-type]


def said(party: str, stance: Stance) -> Finding:
    return Finding("merger", stance, party, "entity", f"“{party} said so.”", "said", 1)


class Desk:
    """Articles arriving from one source, each with what its parties say."""

    def __init__(self, repo: Repository) -> None:
        self.repo, self.n, self.source_id = repo, 0, 0

    async def start(self) -> Desk:
        await self.repo.sync_sources([SourceSpec("wire", "feed", "https://wire.example/rss", 300)], T0)
        self.source_id = (await self.repo.source_states())[0].id
        return self

    async def article(self, outlet: str, *findings: Finding, published: datetime | None, seen: datetime,
                      claims: dict[str, ClaimRouting] | None = None) -> list[PendingDelivery]:
        """Store one article; the deliveries its alerts created, as the deliverer will read them."""
        self.n += 1
        rec = ArticleRecord(self.source_id, f"https://{outlet.lower().replace(' ', '')}.example/{self.n}",
                            f"hash{self.n}", f"Headline {self.n}", "body", outlet, published, seen)
        stored = await self.repo.store_article(rec, list(findings), claims or routing(), seen)
        assert stored is not None
        return await self.repo.lease_deliveries(seen, 50, 10**8)  # leased for good: each once


async def test_a_first_stance_is_new_and_the_standing_lists_the_party_with_its_outlet_and_date(repo: Repository) -> None:
    desk = await Desk(repo).start()
    [d] = await desk.article("Wire", said("Acme", Stance.CONFIRMS), published=T0, seen=T0 + timedelta(hours=1))
    assert (d.generation, d.previous_stance, d.previous_since) == (1, None, None)
    assert [(e.party, e.stance, e.outlet, e.at) for e in d.standing] == [("Acme", "confirms", "Wire", T0)]
    assert d.seen_at == T0 + timedelta(hours=1) and not d.stale


async def test_the_standing_after_an_alert_counts_every_party_that_confirmed_or_denied_so_far(repo: Repository) -> None:
    desk = await Desk(repo).start()
    await desk.article("Wire", said("Acme", Stance.CONFIRMS), published=T0, seen=T0)
    await desk.article("Daily", said("Globex", Stance.DENIES), published=T0 + DAY, seen=T0 + DAY)
    [d] = await desk.article("Herald", said("Regulator", Stance.DENIES), published=T0 + 2 * DAY,
                             seen=T0 + 2 * DAY)
    tally = [(e.party, e.stance, e.outlet) for e in d.standing]
    assert tally == [("Acme", "confirms", "Wire"), ("Globex", "denies", "Daily"), ("Regulator", "denies", "Herald")]


async def test_a_story_with_many_parties_names_the_latest_of_each_side_and_counts_them_all(repo: Repository) -> None:
    desk = await Desk(repo).start()
    for i in range(12):
        await desk.article("Wire", said(f"Official {i:02}", Stance.CONFIRMS), published=T0 + i * DAY, seen=T0 + i * DAY)
    [d] = await desk.article("Daily", said("Globex", Stance.DENIES), published=T0 + 20 * DAY, seen=T0 + 20 * DAY)
    confirming = [e.party for e in d.standing if e.stance == "confirms"]
    assert confirming == [f"Official {i:02}" for i in range(12 - STANDING_SHOWN, 12)]  # the latest, oldest first
    assert [e.party for e in d.standing if e.stance == "denies"] == ["Globex"]
    assert dict(d.standing_total) == {"confirms": 12, "denies": 1}


async def test_the_standing_dates_a_party_by_its_latest_statement_of_that_stance(repo: Repository) -> None:
    desk = await Desk(repo).start()
    await desk.article("Wire", said("Acme", Stance.CONFIRMS), published=T0, seen=T0)
    assert await desk.article("Daily", said("Acme", Stance.CONFIRMS), published=T0 + DAY, seen=T0 + DAY) == []
    [d] = await desk.article("Herald", said("Globex", Stance.DENIES), published=T0 + 2 * DAY, seen=T0 + 2 * DAY)
    acme = next(e for e in d.standing if e.party == "Acme")
    assert (acme.outlet, acme.at) == ("Daily", T0 + DAY)


async def test_a_switch_says_what_the_party_held_before_and_since_when(repo: Repository) -> None:
    desk = await Desk(repo).start()
    await desk.article("Wire", said("Acme", Stance.DENIES), published=T0, seen=T0)
    [d] = await desk.article("Daily", said("Acme", Stance.CONFIRMS), published=T0 + 3 * DAY, seen=T0 + 3 * DAY)
    assert (d.generation, d.previous_stance, d.previous_since) == (2, "denies", T0)
    assert [(e.party, e.stance) for e in d.standing] == [("Acme", "confirms")], "the tally is after the switch"


async def test_an_article_published_long_before_it_was_seen_is_marked_as_an_old_story(repo: Repository) -> None:
    desk = await Desk(repo).start()
    claims = routing(stale_after_seconds=7 * 86400)
    [old] = await desk.article("Wire", said("Acme", Stance.CONFIRMS), published=T0 - 8 * DAY, seen=T0, claims=claims)
    [fresh] = await desk.article("Daily", said("Globex", Stance.DENIES), published=T0 - 6 * DAY, seen=T0, claims=claims)
    assert old.stale and not fresh.stale


async def test_an_article_older_than_the_claims_since_is_evidence_and_never_alerts(repo: Repository) -> None:
    desk = await Desk(repo).start()
    claims = routing(since=datetime(2024, 10, 1, tzinfo=UTC))
    assert await desk.article("Wire", said("Acme", Stance.CONFIRMS), published=datetime(2024, 9, 30, tzinfo=UTC),
                              seen=T0, claims=claims) == []
    assert [(e.party, e.stance) for e in await repo.evidence()] == [("Acme", "confirms")]
    [d] = await desk.article("Daily", said("Acme", Stance.CONFIRMS), published=datetime(2024, 10, 2, tzinfo=UTC),
                             seen=T0, claims=claims)
    assert (d.party, d.generation) == ("Acme", 1), "the old article set no stance: the new one is the first"


def test_an_undated_article_is_neither_before_since_nor_stale() -> None:
    assert not before_since(None, T0)
    assert not is_stale(None, T0, 60)
    assert before_since(T0 - DAY, T0) and not before_since(T0, T0)


def test_an_alert_stored_before_the_standing_was_counted_still_shows_its_parties() -> None:
    legacy = '[{"party": "Acme", "stance": "confirms", "outlet": "Wire", "at": "2024-10-25T09:00:00+00:00"}]'
    entries, totals = _load_standing(legacy)
    assert [(e.party, e.at) for e in entries] == [("Acme", T0)] and totals == {"confirms": 1}
