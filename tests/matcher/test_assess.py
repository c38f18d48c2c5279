"""Specification of the article-level decision (`matcher.assess.assess`).

One stance per (claim, article): what `claimwatch stance` prints and the daemon stores beside
each party's findings.  The articles are invented and about other stories than the seeds, in
the shapes news takes: an official confirmation, a debunk in the outlet's own voice, a rumour
relayed, an article about the same people but not the claim.
"""
from __future__ import annotations

import json

import pytest

from matcher import features as ft
from matcher.assess import MODEL_PATH, StanceModel, assess, default_engine
from matcher.match import Claim, Stance, match_article
from tests.support import seed

OLYMPICS = Claim("lyon-2030", "Lyon will host the 2030 Winter Olympics", ())

CONFIRMED = """\
The International Olympic Committee confirmed on Tuesday that Lyon will host the 2030 Winter
Olympics, ending a two-year race that also involved Sapporo and Salt Lake City.
IOC president Kirsty Coventry announced the result in Lausanne after members voted 61 to 22.
"Lyon offered the most sustainable plan, with venues that already exist," Coventry said.
The French city will stage the skating and hockey events in its renovated arena, while the
Alpine events will be held in the nearby resorts of Val d'Isere and Courchevel.
The mayor of Lyon called the vote a historic day for the region and thanked the volunteers
who had campaigned for the bid. Construction of the athletes' village begins next spring.
"""

DEBUNKED = """\
A widely shared post claiming that Lyon will host the 2030 Winter Olympics is false.
The image, made to look like an official IOC announcement, was fabricated: the committee has
not voted on the 2030 Games and no such decision was taken, a spokesperson said.
Fact-checkers traced the fake graphic to a satirical account that posts invented sports news.
Lyon is not even among the candidate cities, the city council confirmed, and it has never
submitted a bid. The hoax was shared more than 40,000 times before it was taken down.
Readers should treat such screenshots with caution, the fact-checkers added.
"""

RUMOUR = """\
Lyon could reportedly host the 2030 Winter Olympics, according to people familiar with the
talks, although no decision has been announced.
The city is said to be in early discussions with the International Olympic Committee, sources
told a regional newspaper. Neither the committee nor the mayor's office would comment.
Several other cities are believed to be interested, and a decision is not expected until
next year. Local business groups said a bid might bring investment to the region, while
environmental campaigners warned about the cost of new venues.
"""

UNRELATED = """\
A new bakery opened in the old town of Lyon on Monday, selling bread made with rye and spelt
flour from farms in the Beaujolais. The owners, two former engineers, said they had trained
for three years before opening. Queues formed before dawn on the first morning. The bakery
plans to add a small cafe in the spring and to hire four more staff.
"""


def one(text: str, claim: Claim = OLYMPICS, title: str = "") -> object:
    (a,) = assess(title, text, [claim])
    return a


def test_an_official_confirmation_confirms_and_names_who_confirmed() -> None:
    a = one(CONFIRMED)
    assert a.stance is Stance.CONFIRMS
    assert a.party in ("International Olympic Committee", "Kirsty Coventry")
    assert "confirmed" in a.evidence or "announced" in a.evidence


def test_an_article_that_calls_the_claim_a_fabrication_denies_it() -> None:
    a = one(DEBUNKED)
    assert a.stance is Stance.DENIES
    assert a.evidence and a.why


def test_a_relayed_rumour_only_discusses_the_claim() -> None:
    assert one(RUMOUR).stance is Stance.DISCUSSES


def test_an_article_about_the_same_place_but_not_the_claim_is_unrelated() -> None:
    a = one(UNRELATED)
    assert a.stance is Stance.UNRELATED
    assert (a.party, a.evidence) == ("", "")


def test_a_text_with_none_of_the_claims_words_is_unrelated_whatever_its_length() -> None:
    for text in ("nothing", "", "Rain is expected across the north on Sunday."):
        assert one(text).stance is Stance.UNRELATED


def test_a_headline_length_denial_is_a_denial_by_the_denier() -> None:
    a = one("IOC denies that Lyon will host the 2030 Winter Olympics")
    assert (a.stance, a.party) == (Stance.DENIES, "IOC")


def test_a_headline_stating_a_named_partys_denial_is_the_articles_verdict() -> None:
    title = "IOC denies Lyon will host the 2030 Winter Olympics"
    a = one(RUMOUR, title=title)
    assert (a.stance, a.evidence) == (Stance.DENIES, title)
    assert a.party in ("IOC", "International Olympic Committee"), "the acronym, or its full name"
    assert one(RUMOUR).stance is Stance.DISCUSSES, "the same body without that headline"


def test_a_headline_that_only_asks_discusses() -> None:
    assert one("Will Lyon host the 2030 Winter Olympics?").stance is Stance.DISCUSSES


@pytest.mark.parametrize("text", [
    "Lyon chosen to host 2030 Winter Olympics",
    "Lyon will host the 2030 Winter Olympics, organisers announce",
])
def test_a_headline_restating_the_claim_in_its_own_words_confirms_it(text: str) -> None:
    """The reader reads a headline-length text; the rules alone see no cue of a stance."""
    assert one(text).stance is Stance.CONFIRMS
    (fast,) = assess("", text, [OLYMPICS], engine=default_engine(True))
    assert fast.stance is Stance.DISCUSSES, "without the reader: mentions the claim"


def test_each_assessment_carries_exactly_the_findings_the_daemon_records() -> None:
    claims = [OLYMPICS, Claim("other", "Paris will host the 2036 Summer Olympics", ())]
    found = match_article("", DEBUNKED, claims)
    for a, claim in zip(assess("", DEBUNKED, claims), claims):
        assert list(a.findings) == [f for f in found if f.claim_id == claim.id]


def test_a_decision_of_the_model_is_explained_by_named_features_with_their_weight() -> None:
    a = one(CONFIRMED)
    assert a.why and {k for k in a.why if not k.startswith("reader: ")} <= set(ft.NAMES)
    assert a.why.get("reader: agree", 0) > 0.5, "the reader's odds for the decided class"
    assert all(w > 0 for w in a.why.values())
    assert 0.0 < a.score <= 1.0
    fast = assess("", CONFIRMED, [OLYMPICS], engine=default_engine(fast=True))[0]
    assert fast.why and set(fast.why) <= set(ft.NAMES), "no reader in the fast engine"


def test_the_model_ships_with_the_package_loads_offline_and_is_small() -> None:
    assert MODEL_PATH.stat().st_size < 2_000_000
    data = json.loads(MODEL_PATH.read_text())
    assert data["names"] == list(ft.NAMES)
    model = StanceModel.load()
    x = ft.features(OLYMPICS.statement, ft.body_of("", CONFIRMED), [], model.idf,
                    model.default_idf)
    assert len(x) == len(ft.NAMES)
    assert model.predict_proba(x).sum() == pytest.approx(1.0)


def test_a_model_trained_on_other_features_is_refused_with_the_fix() -> None:
    data = json.loads(MODEL_PATH.read_text())
    data["names"] = data["names"][:-1]
    with pytest.raises(ValueError, match="train_stance.py"):
        StanceModel.from_dict(data)


# --------------------------------------------------------------------------- hard cases, whole

MEETING = Claim("vogt-rydell", "Lena Vogt secretly met Tomas Rydell", ())


@pytest.mark.parametrize(("text", "stance", "party"), [
    pytest.param("Asked whether Lena Vogt had secretly met Tomas Rydell, a Hexacorp spokesman "
                 "did not deny it. The company declined to comment further.",
                 Stance.DISCUSSES, None, id="not denying is no denial"),
    pytest.param("Did Lena Vogt secretly meet Tomas Rydell?", Stance.DISCUSSES, "",
                 id="a question only asks"),
    pytest.param("Lena Vogt reportedly met Tomas Rydell in secret last month, according to "
                 "people familiar with the matter. Neither side would comment.",
                 Stance.DISCUSSES, "", id="a rumour relayed"),
    pytest.param("Hexacorp spokeswoman Mia Holm told the Daily Ledger that Lena Vogt never met "
                 "Tomas Rydell.", Stance.DENIES, "Mia Holm", id="the speaker, not the listener"),
    pytest.param("Lena Vogt said she met Tomas Rydell only once, and it was about the budget.",
                 Stance.DENIES, "Lena Vogt", id="a partial denial"),
    pytest.param("The Daily Ledger has retracted its report that Lena Vogt secretly met Tomas "
                 "Rydell.", Stance.DENIES, "The Daily Ledger", id="a retraction"),
])
def test_the_hard_cases_hold_for_the_article_as_a_whole(text: str, stance: Stance,
                                                        party: str | None) -> None:
    a = one(text, MEETING)
    assert a.stance is stance, a
    if party is not None:
        assert a.party == party, a


@pytest.mark.parametrize("text", [
    "MOSCOW (Reuters) — The Kremlin said on Friday that Lyon will host nothing.\n\nIt went on.",
    "Read [the IOC's statement](https://ioc.example/lyon-2030) on **Lyon**'s bid.\n# Winter",
    "“Lyon will not host,\n\n“the 2030 Games,” she said. Mr. Dupont didn't deny it.",
    "The bid of [Ly](https://ioc.example/a)on__s__ rivals, a link split mid-word by an extractor.",
    "seed:000_dc5f693ac2a40a9e.txt",
    "seed:004_2444ca2dfe6ef90e.txt",
])
def test_the_quick_unrelated_test_sees_every_word_the_features_see(text: str) -> None:
    """`stems_anywhere` decides an article is about no claim before its sentences are split:
    it must hold every stem the features would (a superset), or an article would be dropped."""
    from matcher import features as ft

    if text.startswith("seed:"):
        text = seed(text[5:]).read_text()
    assert ft.body_of("A title", text).every <= ft.stems_anywhere("A title", text)
