"""Specification of the matcher (`matcher.match.match_article`).

Each test name is a sentence about the behaviour.  Examples are invented (a CEO and a minister,
a footballer and a club) so the rules are shown to be general; the two seed articles are the
acceptance test.
"""
from __future__ import annotations

import timeit

import pytest

from matcher.match import Claim, Entity, Finding, Stance, match_article
from tests.support import seed

# --------------------------------------------------------------------------- fixtures

VOGT = Entity("Lena Vogt", ("Vogt", "Hexacorp CEO"))
RYDELL = Entity("Tomas Rydell", ("Rydell", "finance minister"))
MINISTRY = Entity("Finance Ministry", ("Ministry of Finance", "Anna Kessel", "Kessel"))
MEETING = Claim(
    "vogt-rydell-meeting",
    "Lena Vogt secretly met Tomas Rydell",
    (VOGT, RYDELL),
    ("meet", "talks", "conversation", "call"),
)

BRANDT = Entity("Kai Brandt", ("Brandt",))
NORDEN = Entity("FC Norden", ("Norden",))
TRANSFER = Claim(
    "brandt-norden-deal",
    "Kai Brandt has agreed a contract with FC Norden",
    (BRANDT, NORDEN),
    ("agree", "contract", "deal", "signing"),
)

MUSK = Entity("Elon Musk", ("Musk", "Tesla CEO"))
PUTIN = Entity("Vladimir Putin", ("Putin",))
KREMLIN = Entity("Kremlin", ("Dmitry Peskov", "Peskov"))
MUSK_PUTIN = Claim(
    "musk-putin-talks",
    "Elon Musk has held private talks with Vladimir Putin",
    (MUSK, PUTIN),
    ("talks", "spoke", "conversation", "call"),
)



def stances(findings: list[Finding]) -> dict[str, Stance]:
    """party -> stance, for the parties that confirm or deny."""
    return {f.party: f.stance for f in findings
            if f.stance in (Stance.CONFIRMS, Stance.DENIES)}


def run(text: str, title: str = "", claim: Claim = MEETING, outlet: str | None = "Daily Ledger",
        entities: tuple[Entity, ...] = (MINISTRY,)) -> list[Finding]:
    return match_article(title, text, [claim], entities, outlet)


# --------------------------------------------------------------------------- reference

def test_an_alias_a_possessive_and_lowercase_writing_all_count_as_mentions() -> None:
    text = ("vogt’s team said the talks with rydell went well. "
            "Hexacorp CEO's office confirmed Rydell's meeting.")
    assert run(text), "lowercase tweet-style alias, curly possessive and alias possessive match"


def test_an_all_caps_headline_mentions_the_entities() -> None:
    findings = run("", title="VOGT AND RYDELL HELD SECRET TALKS")
    assert [f.stance for f in findings] == [Stance.DISCUSSES]


def test_a_capitalised_alias_is_not_matched_by_a_common_lowercase_word_in_normal_text() -> None:
    apple = Entity("Apple", ())
    claim = Claim("apple-rydell", "Apple met Tomas Rydell", (apple, RYDELL), ("meet",))
    text = "Rydell met voters at a fair. He praised the apple pie and the cider."
    assert run(text, claim=claim) == []
    assert run("Rydell met Apple executives at a fair.", claim=claim)


def test_there_is_no_reference_when_a_claim_entity_is_missing() -> None:
    assert run("Lena Vogt held talks with bankers on Tuesday, officials said.") == []


def test_there_is_no_reference_when_the_entities_are_outside_the_sentence_window() -> None:
    text = ("Lena Vogt opened a plant on Monday. The weather was fine. Sales rose. "
            "Analysts were upbeat. Tomas Rydell held talks in Brussels.")
    assert run(text) == []


@pytest.mark.parametrize("verb", ["met", "meets", "meeting", "talked", "talking", "talks",
                                  "called", "calls", "conversations"])
def test_keyword_inflections_reference_the_claim(verb: str) -> None:
    assert run(f"Vogt and Rydell {verb} in Oslo last spring.")


def test_irregular_forms_of_a_keyword_match() -> None:
    claim = Claim("c", "Vogt spoke to Rydell", (VOGT, RYDELL), ("spoke",))
    for form in ("speak", "speaks", "speaking", "spoken"):
        assert run(f"Vogt has {form} to Rydell.", claim=claim), form


def test_a_claim_without_keywords_uses_predicate_words_from_its_statement() -> None:
    claim = Claim("c", "Lena Vogt negotiated a merger with Tomas Rydell", (VOGT, RYDELL))
    assert run("Vogt denied negotiating any merger with Rydell.", claim=claim)
    assert run("Vogt and Rydell attended a concert.", claim=claim) == []


def test_a_claim_without_entities_uses_the_capitalised_words_of_its_statement() -> None:
    claim = Claim("c", "Police say Marta Lindqvist fled to Portugal", ())
    text = "Marta Lindqvist never fled to Portugal, her lawyer Jonas Ek said on Monday."
    assert stances(run(text, claim=claim, entities=())) == {"Jonas Ek": Stance.DENIES}


# --------------------------------------------------------------------------- stance

def test_an_explicit_denial_is_attributed_to_its_subject() -> None:
    findings = run("Lena Vogt on Tuesday denied meeting Tomas Rydell.")
    assert stances(findings) == {"Lena Vogt": Stance.DENIES}


def test_never_with_the_claim_verb_is_a_denial() -> None:
    text = "“I have never met Tomas Rydell in private,” Vogt told reporters."
    assert stances(run(text)) == {"Lena Vogt": Stance.DENIES}


def test_did_not_deny_is_not_a_denial() -> None:
    findings = run("Lena Vogt did not deny meeting Tomas Rydell last month.")
    assert stances(findings) == {}
    assert {f.party: f.stance for f in findings}["Lena Vogt"] == Stance.DISCUSSES


def test_no_longer_denying_is_not_a_denial_but_only_discusses() -> None:
    """Documented choice: 'no longer denies'/'stopped denying' is not an explicit confirmation,
    so it yields `discusses` for the party rather than a (possibly bogus) confirm alert."""
    for text in ("Lena Vogt no longer denies meeting Tomas Rydell.",
                 "Lena Vogt has stopped denying that she met Tomas Rydell."):
        findings = run(text)
        assert stances(findings) == {}, text
        assert {f.party: f.stance for f in findings}.get("Lena Vogt") == Stance.DISCUSSES


def test_a_partial_denial_such_as_only_one_call_counts_as_a_denial() -> None:
    text = ("Vogt and Rydell held secret talks, the Daily Courier reported. "
            "Anna Kessel told reporters that Vogt and Rydell had only one phone call.")
    findings = run(text)
    assert stances(findings) == {"The Daily Courier": Stance.CONFIRMS,
                                 "Finance Ministry": Stance.DENIES}
    deny = next(f for f in findings if f.stance == Stance.DENIES)
    assert "only one" in deny.cue


def test_only_once_after_the_claim_verb_is_a_partial_denial() -> None:
    text = "“I have met Rydell only once, at a conference,” Vogt said."
    assert stances(run(text)) == {"Lena Vogt": Stance.DENIES}


def test_a_hedged_sentence_by_the_outlet_only_discusses() -> None:
    findings = run("Vogt reportedly held secret talks with Rydell in March.")
    assert [(f.stance, f.party, f.party_kind) for f in findings] == \
        [(Stance.DISCUSSES, "", "unknown")]
    assert findings[0].cue == "reportedly"


def test_the_party_that_first_reported_a_rumour_still_confirms() -> None:
    text = ("The rumoured meeting between Vogt and Rydell was first reported by "
            "the Nordic Herald.")
    assert stances(run(text)) == {"The Nordic Herald": Stance.CONFIRMS}


def test_a_question_headline_only_discusses() -> None:
    findings = run("", title="Did Vogt meet Rydell? Hexacorp denies it")
    assert all(f.stance == Stance.DISCUSSES for f in findings) and findings
    findings = run("", title="Did Lena Vogt secretly meet Tomas Rydell?")
    assert [f.stance for f in findings] == [Stance.DISCUSSES]


def test_did_not_back_down_means_the_party_stands_by_its_report() -> None:
    text = ("Vogt denied meeting Rydell. Journalist Sara Lind didn’t back down from her "
            "report, saying the two had met twice in Oslo.")
    assert stances(run(text)) == {"Lena Vogt": Stance.DENIES, "Sara Lind": Stance.CONFIRMS}


def test_an_explicit_denial_outranks_a_weaker_confirmation_by_the_same_party() -> None:
    text = ("“We talked about the budget,” Rydell said. "
            "Rydell later denied any meeting with Vogt about the merger.")
    findings = run(text)
    assert stances(findings)["Tomas Rydell"] == Stance.DENIES


def test_a_denial_of_a_different_claim_about_the_same_people_is_not_a_denial() -> None:
    text = ("Vogt and Rydell met in Oslo, the Nordic Herald reported. "
            "Vogt denied that Hexacorp would move its headquarters to Oslo.")
    assert stances(run(text)) == {"The Nordic Herald": Stance.CONFIRMS}


def test_a_denial_of_a_report_about_another_topic_is_not_a_denial() -> None:
    text = ("Brandt has agreed a contract with FC Norden, according to Reuters. "
            "Brandt dismissed reports that he had bought a house in Spain.")
    findings = run(text, claim=TRANSFER, entities=())
    assert stances(findings) == {"Reuters": Stance.CONFIRMS}


# --------------------------------------------------------------------------- attribution

def test_reported_speech_is_attributed_to_the_speaker_not_the_addressee() -> None:
    text = ("Ministry spokeswoman Anna Kessel told the Daily Courier that Vogt and Rydell "
            "never met.")
    findings = run(text)
    assert stances(findings) == {"Finance Ministry": Stance.DENIES}
    assert findings[0].party_kind == "entity"


def test_a_reporter_chain_is_attributed_to_the_outer_writer() -> None:
    text = "Sara Lind wrote that Vogt told her she had met Rydell twice in Oslo."
    assert stances(run(text)) == {"Sara Lind": Stance.CONFIRMS}


def test_according_to_an_outlet_makes_that_outlet_confirm() -> None:
    findings = run("Kai Brandt has agreed a contract with FC Norden, according to Reuters.",
                   claim=TRANSFER, entities=())
    assert stances(findings) == {"Reuters": Stance.CONFIRMS}
    assert findings[0].party_kind == "outlet"


def test_a_denial_quoted_inside_a_confirming_article_yields_both_parties() -> None:
    text = ("Kai Brandt has agreed a five-year contract with FC Norden, the Evening Post "
            "reported on Sunday. “There is no deal. It is fake news,” Brandt’s agent Luca "
            "Moretti said.")
    assert stances(run(text, claim=TRANSFER, entities=())) == {
        "The Evening Post": Stance.CONFIRMS, "Luca Moretti": Stance.DENIES}


def test_a_club_denial_is_reported_under_the_entity_name() -> None:
    text = "Norden rejected reports of a deal with Brandt, calling them baseless."
    findings = run(text, claim=TRANSFER, entities=())
    assert stances(findings) == {"FC Norden": Stance.DENIES}
    assert findings[0].party_kind == "entity"


def test_an_alias_speaker_is_reported_under_the_entity_name() -> None:
    text = "“I never had a conversation with Rydell,” the Hexacorp CEO said."
    assert stances(run(text)) == {"Lena Vogt": Stance.DENIES}


def test_the_publishing_outlet_is_never_the_party() -> None:
    text = "Vogt met Rydell in a hotel in Oslo last month."
    findings = run(text, outlet="Daily Ledger")
    assert [(f.party, f.stance) for f in findings] == [("", Stance.DISCUSSES)]
    text = "“Vogt and Rydell held talks,” the Daily Ledger said in an editorial."
    findings = run(text, outlet="The Daily Ledger")
    assert stances(findings) == {} and [f.party for f in findings] == [""]


def test_the_publishing_outlet_is_a_party_where_the_text_names_it_as_the_reporter() -> None:
    text = "Vogt held talks with Rydell in Oslo, the Daily Ledger reported last week."
    assert stances(run(text, outlet="Daily Ledger")) == {"The Daily Ledger": Stance.CONFIRMS}


def test_anonymous_sources_are_not_parties() -> None:
    text = ("Vogt and Rydell held talks in Oslo, two officials said. One source was quoted "
            "as saying the meeting was secret.")
    findings = run(text)
    assert stances(findings) == {}
    assert all(f.party != "" or f.stance == Stance.DISCUSSES for f in findings)


def test_a_descriptive_subject_is_not_turned_into_the_company_it_mentions() -> None:
    text = "“I met Rydell only once,” the Hexacorp and Ventra founder, who is 52, said."
    assert stances(run(text)) == {}


def test_short_names_resolve_to_the_full_name_given_earlier() -> None:
    text = ("Vogt met Rydell in May, according to journalist Sara Lind. "
            "Lind stands by her report that the two held talks.")
    findings = run(text)
    assert stances(findings) == {"Sara Lind": Stance.CONFIRMS}
    assert len([f for f in findings if f.party]) == 1


def test_an_acronym_resolves_to_the_outlet_named_in_full() -> None:
    text = ("Vogt held talks with Rydell, the Nordic Business Journal reported. "
            "NBJ reported that the talks lasted three hours.")
    parties = [f.party for f in run(text) if f.party]
    assert parties == ["The Nordic Business Journal"]


def test_a_one_letter_typo_of_a_known_surname_merges_into_it() -> None:
    text = ("Vogt met Rydell in secret, Sara Lindholm reported. "
            "Lindhulm said the meeting lasted an hour.")
    assert [f.party for f in run(text) if f.party] == ["Sara Lindholm"]


def test_a_reporter_who_relays_a_denial_does_not_confirm() -> None:
    text = "Reuters reported that Rydell denied meeting Vogt."
    findings = run(text)
    assert stances(findings) == {"Tomas Rydell": Stance.DENIES}


def test_a_spokesperson_for_an_organisation_speaks_for_it() -> None:
    text = ("Vogt met Rydell, the Nordic Herald reported. A spokesperson for Hexacorp said "
            "the report was false.")
    assert stances(run(text)) == {"The Nordic Herald": Stance.CONFIRMS,
                                  "Hexacorp": Stance.DENIES}


def test_a_denial_in_a_relative_clause_belongs_to_the_named_person() -> None:
    text = "Vogt, who has denied meeting Rydell, said on Monday that sales were strong."
    assert stances(run(text)) == {"Lena Vogt": Stance.DENIES}


def test_calling_the_report_fiction_is_a_denial_by_the_caller() -> None:
    text = ("Vogt met Rydell, Bloomberg reported, citing people familiar with the matter. "
            "Hexacorp called the report “pure fiction”.")
    assert stances(run(text)) == {"Bloomberg": Stance.CONFIRMS, "Hexacorp": Stance.DENIES}


def test_a_pronoun_speaker_is_the_person_the_previous_sentence_was_about() -> None:
    text = "Vogt has been accused of meeting Rydell in secret. “I never met him,” she said."
    assert stances(run(text)) == {"Lena Vogt": Stance.DENIES}


def test_the_addressee_of_told_is_never_the_speaker() -> None:
    text = "“Vogt and Rydell never met,” she told the Nordic Herald."
    assert stances(run(text)) == {}


def test_a_partial_denial_may_put_the_verb_between_only_and_once() -> None:
    text = ("Rydell met Vogt in Oslo, the Nordic Herald reported. “We only talked once,” "
            "Rydell told reporters.")
    findings = run(text)
    assert stances(findings) == {"The Nordic Herald": Stance.CONFIRMS,
                                 "Tomas Rydell": Stance.DENIES}
    assert next(f.cue for f in findings if f.party == "Tomas Rydell") == "only talked once"


def test_neither_confirming_nor_denying_only_discusses() -> None:
    text = ("Vogt and Rydell met last week. Hexacorp neither confirmed nor denied the "
            "meeting.")
    findings = run(text)
    assert stances(findings) == {}
    assert {f.party: f.stance for f in findings}["Hexacorp"] == Stance.DISCUSSES


def test_an_outlet_voice_debunk_is_flagged_but_never_becomes_a_party() -> None:
    text = "Claims that Vogt met Rydell in secret are false."
    findings = run(text)
    assert [(f.party, f.stance, f.unattributed) for f in findings] == \
        [("", Stance.DISCUSSES, Stance.DENIES)]


def test_a_comment_that_presupposes_the_claim_does_not_confirm_it() -> None:
    text = ("Senator Jane Holt said the reported talks between Vogt and Rydell were deeply "
            "troubling.")
    assert stances(run(text)) == {}


def test_a_hypothetical_does_not_confirm_the_claim() -> None:
    text = "If Vogt met Rydell, it would be a scandal, Senator Jane Holt said."
    assert stances(run(text)) == {}


def test_a_coordinated_verb_shares_the_subject_of_its_clause() -> None:
    text = "Vogt has repeatedly denied wrongdoing, but said she had met Rydell about taxes."
    assert stances(run(text)) == {"Lena Vogt": Stance.CONFIRMS}


def test_a_quote_introduced_by_an_attribution_belongs_to_its_speaker() -> None:
    assert stances(run("Vogt tweeted: “I never met Rydell.”")) == {"Lena Vogt": Stance.DENIES}
    text = "Rydell told reporters: “Vogt and I have never had a conversation.”"
    assert stances(run(text)) == {"Tomas Rydell": Stance.DENIES}


def test_every_finding_carries_a_quote_a_cue_and_a_sentence_index() -> None:
    text = ("Hexacorp said nothing. Vogt denied meeting Rydell, calling the report "
            "nonsense.")
    findings = run(text, title="Hexacorp chief in row")
    assert findings
    for f in findings:
        assert f.quote and f.cue and f.sentence >= 0
        assert f.cue.lower() in f.quote.lower()
    assert findings[0].sentence == 2 and findings[0].cue == "denied"


def test_an_article_about_nothing_tracked_yields_nothing() -> None:
    assert run("The central bank left rates unchanged on Thursday.") == []


# --------------------------------------------------------------------------- acceptance

def _seed(name: str) -> tuple[str, str]:
    raw = seed(name).read_text(encoding="utf-8").lstrip("\n")
    title, _, body = raw.partition("\n")
    return title.removeprefix("# ").strip(), body


def test_seed_huffpost_musk_denies_and_bremmer_stands_by_his_report() -> None:
    title, body = _seed("000_dc5f693ac2a40a9e.txt")
    findings = match_article(title, body, [MUSK_PUTIN], [KREMLIN], "HuffPost World")
    assert stances(findings) == {"Elon Musk": Stance.DENIES, "Ian Bremmer": Stance.CONFIRMS}
    assert all(f.quote and f.cue for f in findings)


def test_seed_moscow_times_wsj_reports_talks_and_the_kremlin_denies() -> None:
    title, body = _seed("004_2444ca2dfe6ef90e.txt")
    findings = match_article(title, body, [MUSK_PUTIN], [KREMLIN], "The Moscow Times")
    assert stances(findings) == {"The Wall Street Journal": Stance.CONFIRMS,
                                 "Kremlin": Stance.DENIES}


def test_matching_a_seed_article_takes_well_under_five_milliseconds() -> None:
    title, body = _seed("004_2444ca2dfe6ef90e.txt")
    n = 20
    best = min(timeit.repeat(lambda: match_article(title, body, [MUSK_PUTIN], [KREMLIN]),
                             number=n, repeat=3)) / n
    assert best < 0.025  # generous bound for slow CI machines; typically a few ms


# --------------------------------------------------------------------------- speed-ups stay exact

def test_alias_scan_finds_what_the_alias_regex_finds() -> None:
    """`Watch` scans a few aliases with `str.find` instead of compiling their regex."""
    import random

    from matcher.parties import _alias_re, _scan_aliases

    rng = random.Random(3)
    alphabet = ["a", "b", "A", "'", "s", " ", "_", "é", "1", "’", "-", "\n", "B"]
    for _ in range(20000):
        forms = sorted({"".join(rng.choice(alphabet[:8]) for _ in range(rng.randint(1, 4)))
                        for _ in range(rng.randint(1, 5))}, key=len, reverse=True)
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        want = [(m.start(), m.end(), m.group(0)) for m in _alias_re(forms).finditer(text)]
        assert _scan_aliases(text, forms) == want, (forms, text)


def test_stem_matcher_agrees_with_stem_hit() -> None:
    import random

    from matcher.claims import _stem_hit, _stem_matcher

    rng = random.Random(1)
    for _ in range(5000):
        stems = tuple("".join(rng.choice("abcde") for _ in range(rng.randint(1, 9)))
                      for _ in range(rng.randint(0, 6)))
        hit = _stem_matcher(stems)
        for _ in range(10):
            w = "".join(rng.choice("abcde") for _ in range(rng.randint(0, 10)))
            if stems and rng.random() < 0.3:
                k = rng.choice(stems)
                w = k[:rng.randint(0, len(k))] + w[:rng.randint(0, 3)]
            assert hit(w) == _stem_hit(w, stems), (w, stems)


def test_capital_form_fast_path_agrees_with_the_regex() -> None:
    import random
    import re

    from matcher.claims import _capital_form

    def regex(lw: str, body: str) -> str:
        m = re.search(rf"(?<=[a-z,;] ){re.escape(lw)}\b", body, re.IGNORECASE)
        return m.group(0) if m and m.group(0)[0].isupper() else ""

    rng = random.Random(5)
    for _ in range(20000):
        body = "".join(rng.choice("abAB ,;.'-_1") for _ in range(rng.randint(0, 25)))
        lw = "".join(rng.choice("ab'-") for _ in range(rng.randint(1, 3)))
        assert _capital_form(lw, body, frozenset()) == regex(lw, body), (lw, body)


def test_split_sentences_is_cached_but_returns_a_fresh_list() -> None:
    from matcher import text as tx

    text = "Officials met on Monday. They talked for an hour."
    first = tx.split_sentences(text)
    first.append("mutated")
    assert tx.split_sentences(text) == ["Officials met on Monday.", "They talked for an hour."]
