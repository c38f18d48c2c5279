"""The matcher's hard cases, each as a behaviour over several invented articles.

The product runs on claims and articles nobody has seen yet, so every rule is shown on different
people, outlets and predicates (a CEO and a governor, a footballer and a club, a senator and a
donor, Musk and Putin) rather than on the wording of one story.

Semantics chosen here (and why):

* Negation.  "did not deny", "never denied", "refused to deny" are not denials, and "did not
  confirm" is not a confirmation: the party is named in the story, so it `discusses` it.
  "no longer denies" also only discusses (a party that stops denying has not said the claim is
  true; an alert "X confirms" quoting it would overstate).  A denial of the negated claim
  ("denied that she had not met him") is a double negation, and so a confirmation.
* Hedges.  "reportedly", "allegedly", "sources say", "according to people familiar" in the
  article's own voice only discuss.  A named outlet that reports the claim as its own finding
  confirms, even when it cites anonymous sources; a named outlet whose own words hedge it
  ("said X had allegedly …", "reported that X was rumoured to …") only relays a rumour and
  discusses.
* Questions never confirm or deny.  A headline "X denies …" is a denial by X; a wire tag
  ("… – Reuters") on a denial headline makes the wire a relay, not a confirmer.
* Reported speech.  "A told B that …" is A's stance; B only listens.  "B reported that A
  denied …" is A's denial; B only relays it.
* "Only one call" is a (partial) denial by whoever says it.
* A denial of something else about the same people is not a denial of the claim.
* Retractions.  An outlet that retracts, withdraws, walks back or corrects its report denies
  the claim (it disowns its earlier confirmation, so its finding in that article is a denial);
  a correction that restates the claim ("corrected its report to say they met in May")
  still confirms.  "did not retract", "refused to withdraw", "stands by" confirm.
* Claims given only as a sentence.  Their names are the entities: watchlist names and aliases
  in the statement are those entities (so all their aliases count); in a headline-cased
  statement, a word is a name if it is an acronym or the article capitalises it mid-sentence
  and never writes it in lower case.  Half of the names (at least one) must be in the
  article, and the predicate may be a common paraphrase ('held talks' ~ 'spoke').
"""
from __future__ import annotations

import pytest

from matcher.match import Claim, Entity, Finding, Stance, match_article

# --------------------------------------------------------------------------- fixtures

RAMAN = Entity("Priya Raman", ("Raman", "Solvane CEO"))
ELLERY = Entity("Mark Ellery", ("Ellery",))
SOLVANE = Entity("Solvane", ("Tara Quist", "Quist"))  # Quist is the company's spokeswoman
TALKS = Claim("raman-ellery-talks", "Priya Raman held secret talks with Mark Ellery",
              (RAMAN, ELLERY), ("talks", "meet", "call", "conversation", "spoke"))

MENSAH = Entity("Kofi Mensah", ("Mensah",))
VESTA = Entity("Vesta FC", ("Vesta",))
SIGNING = Claim("mensah-vesta", "Kofi Mensah has signed a contract with Vesta FC",
                (MENSAH, VESTA), ("sign", "contract", "deal", "transfer", "agree"))

OKAFOR = Entity("Ruth Okafor", ("Okafor", "Senator Okafor"))
BELLCORE = Entity("Bellcore", ("Bellcore Energy",))
DONATIONS = Claim("okafor-bellcore", "Ruth Okafor accepted donations from Bellcore",
                  (OKAFOR, BELLCORE), ("donation", "accept", "payment", "fund"))

MUSK = Entity("Elon Musk", ("Musk", "Tesla CEO"))
PUTIN = Entity("Vladimir Putin", ("Putin",))
KREMLIN = Entity("Kremlin", ("Dmitry Peskov", "Peskov"))
MUSK_PUTIN = Claim("musk-putin-talks", "Elon Musk has held private talks with Vladimir Putin",
                   (MUSK, PUTIN), ("talks", "spoke", "conversation", "call"))

WATCH = (SOLVANE, KREMLIN)


def run(text: str, claim: Claim, title: str = "", outlet: str | None = "Metro Ledger",
        entities: tuple[Entity, ...] = WATCH) -> list[Finding]:
    return match_article(title, text, [claim], entities, outlet)


def stances(findings: list[Finding]) -> dict[str, Stance]:
    """party -> stance, for the parties that confirm or deny."""
    return {f.party: f.stance for f in findings
            if f.stance in (Stance.CONFIRMS, Stance.DENIES)}


def everyone(findings: list[Finding]) -> dict[str, Stance]:
    """party -> stance for every finding, the anonymous one under ''."""
    return {f.party: f.stance for f in findings}


# --------------------------------------------------------------------------- 1. negation

@pytest.mark.parametrize("text, claim, party", [
    (("A Solvane spokeswoman, Tara Quist, did not deny that Raman had held talks with "
      "Ellery."), TALKS, "Solvane"),
    ("Mensah did not deny the transfer reports when he was asked about Vesta FC on Friday.",
     SIGNING, "Kofi Mensah"),
    ("Okafor's office has not denied that she accepted donations from Bellcore.",
     DONATIONS, "Ruth Okafor"),
    ("Peskov did not deny that Putin and Musk had spoken by phone.", MUSK_PUTIN, "Kremlin"),
])
def test_a_party_that_did_not_deny_the_claim_only_discusses_it(
        text: str, claim: Claim, party: str) -> None:
    findings = run(text, claim)
    assert stances(findings) == {}, findings
    assert everyone(findings).get(party) == Stance.DISCUSSES, findings


@pytest.mark.parametrize("text, claim, party", [
    ("Ellery has never denied that he spoke to Raman about the tender.", TALKS, "Mark Ellery"),
    ("Raman refused to deny that she had spoken with Ellery.", TALKS, "Priya Raman"),
    ("Vesta FC declined to deny a deal with Mensah.", SIGNING, "Vesta FC"),
    ("Bellcore has never denied making payments to Senator Okafor.", DONATIONS, "Bellcore"),
])
def test_never_denying_or_refusing_to_deny_is_not_a_denial(
        text: str, claim: Claim, party: str) -> None:
    findings = run(text, claim)
    assert stances(findings) == {}, findings
    assert everyone(findings).get(party) == Stance.DISCUSSES, findings


@pytest.mark.parametrize("text, claim, party", [
    ("Solvane did not confirm that Raman met Ellery.", TALKS, "Solvane"),
    ("Vesta FC would not confirm the signing of Kofi Mensah.", SIGNING, "Vesta FC"),
    ("Okafor declined to confirm whether she had accepted donations from Bellcore.",
     DONATIONS, "Ruth Okafor"),
    ("The Kremlin has not confirmed that Putin and Musk held talks.", MUSK_PUTIN, "Kremlin"),
])
def test_not_confirming_is_not_a_confirmation_and_not_a_denial(
        text: str, claim: Claim, party: str) -> None:
    findings = run(text, claim)
    assert stances(findings) == {}, findings
    assert everyone(findings).get(party) == Stance.DISCUSSES, findings


@pytest.mark.parametrize("text, claim, party", [
    ("Raman no longer denies that she held talks with Ellery.", TALKS, "Priya Raman"),
    ("Vesta FC has stopped denying the Mensah deal.", SIGNING, "Vesta FC"),
])
def test_no_longer_denying_is_not_a_confirmation_only_discussion(
        text: str, claim: Claim, party: str) -> None:
    """Stopping a denial is not asserting the claim (see the module docstring)."""
    findings = run(text, claim)
    assert stances(findings) == {}, findings
    assert everyone(findings).get(party) == Stance.DISCUSSES, findings


@pytest.mark.parametrize("text, claim, party", [
    ("Raman denied that she had not met Ellery.", TALKS, "Priya Raman"),
    ("Vesta FC rejected claims that no deal had been agreed with Mensah.", SIGNING, "Vesta FC"),
    ("Okafor disputed that she had never accepted donations from Bellcore.", DONATIONS,
     "Ruth Okafor"),
])
def test_denying_that_the_claim_did_not_happen_is_a_confirmation(
        text: str, claim: Claim, party: str) -> None:
    findings = run(text, claim)
    assert stances(findings) == {party: Stance.CONFIRMS}, findings


def test_a_negated_claim_verb_after_a_denial_in_another_clause_stays_a_denial() -> None:
    """The double negation needs the negation inside what was denied, not in a new clause."""
    text = "Raman denied the report, saying she had never met Ellery."
    assert stances(run(text, TALKS)) == {"Priya Raman": Stance.DENIES}
    text = "Ellery denied meeting Raman and said the two had never spoken."
    assert stances(run(text, TALKS)) == {"Mark Ellery": Stance.DENIES}


@pytest.mark.parametrize("text, claim", [
    ("Quist would not confirm the talks between Raman and Ellery.", TALKS),
    ("Ellery does not believe Raman met the auditors.", TALKS),
    ("Vesta FC would not say whether a contract had been signed with Mensah.", SIGNING),
    ("Okafor did not comment on the donations from Bellcore.", DONATIONS),
])
def test_a_negation_of_another_verb_is_not_a_negated_claim(text: str, claim: Claim) -> None:
    """'would not confirm the talks' negates confirming, not the talks."""
    assert [f for f in run(text, claim) if f.stance == Stance.DENIES] == []


# --------------------------------------------------------------------------- 2. hedges

@pytest.mark.parametrize("text, claim, hedge", [
    ("Raman allegedly held talks with Ellery in March.", TALKS, "allegedly"),
    ("Kofi Mensah has reportedly agreed a deal with Vesta FC.", SIGNING, "reportedly"),
    ("Sources say Okafor accepted donations from Bellcore.", DONATIONS, ""),
    ("Okafor accepted donations from Bellcore, according to people familiar with the matter.",
     DONATIONS, ""),
    ("Unconfirmed reports suggest Musk and Putin spoke by phone.", MUSK_PUTIN, "Unconfirmed"),
])
def test_hedged_and_anonymously_sourced_claims_in_the_articles_own_voice_only_discuss(
        text: str, claim: Claim, hedge: str) -> None:
    findings = run(text, claim)
    assert [(f.party, f.stance) for f in findings] == [("", Stance.DISCUSSES)], findings
    if hedge:
        assert findings[0].cue == hedge


@pytest.mark.parametrize("text, claim, outlet", [
    ("The Harbor Gazette said Raman had reportedly held talks with Ellery.", TALKS,
     "The Harbor Gazette"),
    ("Bloomberg reported that Mensah was rumoured to have agreed a deal with Vesta FC.",
     SIGNING, "Bloomberg"),
    ("The Coastal Times wrote that Okafor had allegedly accepted donations from Bellcore.",
     DONATIONS, "The Coastal Times"),
])
def test_an_outlet_that_relays_a_rumour_discusses_rather_than_confirms(
        text: str, claim: Claim, outlet: str) -> None:
    findings = run(text, claim)
    assert stances(findings) == {}, findings
    assert everyone(findings).get(outlet) == Stance.DISCUSSES, findings


@pytest.mark.parametrize("text, claim, outlet", [
    (("Raman held secret talks with Ellery twice this spring, the Harbor Gazette reported, "
      "citing people familiar with the matter."), TALKS, "The Harbor Gazette"),
    (("The Coastal Times, citing two club officials, reported that Mensah had signed a "
      "contract with Vesta FC."), SIGNING, "The Coastal Times"),
    (("Okafor accepted donations from Bellcore, according to Bloomberg, which cited "
      "campaign filings."), DONATIONS, "Bloomberg"),
    (("The rumoured talks between Musk and Putin were first reported by the Wall Street "
      "Journal."), MUSK_PUTIN, "The Wall Street Journal"),
])
def test_a_named_outlet_reporting_the_claim_as_its_own_finding_confirms(
        text: str, claim: Claim, outlet: str) -> None:
    assert stances(run(text, claim)) == {outlet: Stance.CONFIRMS}


# --------------------------------------------------------------------------- 3. questions

@pytest.mark.parametrize("title, text, claim", [
    ("Did Priya Raman Secretly Meet Mark Ellery?", "", TALKS),
    ("Has Kofi Mensah signed for Vesta FC?", "", SIGNING),
    ("", "Did Okafor accept donations from Bellcore? Her critics think so.", DONATIONS),
    ("", "Is Vesta FC denying the Mensah deal?", SIGNING),
    ("Did Musk talk to Putin?", "", MUSK_PUTIN),
])
def test_a_question_only_discusses_and_never_confirms_or_denies(
        title: str, text: str, claim: Claim) -> None:
    findings = run(text, claim, title=title)
    assert findings and all(f.stance == Stance.DISCUSSES for f in findings), findings


@pytest.mark.parametrize("title, claim, party", [
    ("Solvane Denies Raman Held Secret Talks With Ellery", TALKS, "Solvane"),
    ("Vesta FC Rejects Reports Of Mensah Deal", SIGNING, "Vesta FC"),
    ("Bellcore denies funding Senator Okafor", DONATIONS, "Bellcore"),
    ("Kremlin denies Musk held secret talks with Putin", MUSK_PUTIN, "Kremlin"),
])
def test_a_headline_denial_is_a_denial_by_its_subject(
        title: str, claim: Claim, party: str) -> None:
    assert stances(run("", claim, title=title)) == {party: Stance.DENIES}


@pytest.mark.parametrize("title, claim, party", [
    ("Raman denies talks with Ellery - Reuters", TALKS, "Priya Raman"),
    ("Vesta FC rejects reports of Mensah deal \u2013 AFP", SIGNING, "Vesta FC"),
])
def test_a_wire_tag_on_a_denial_headline_only_relays_the_denial(
        title: str, claim: Claim, party: str) -> None:
    assert stances(run("", claim, title=title)) == {party: Stance.DENIES}


# --------------------------------------------------------------------------- 4. reported speech

@pytest.mark.parametrize("text, claim, expected", [
    (("Quist told the Harbor Gazette that no such talks took place. Raman and Ellery "
      "were both in Oslo that week."), TALKS, {"Solvane": Stance.DENIES}),
    ("Ellery told Bloomberg that he had never spoken to Raman.", TALKS,
     {"Mark Ellery": Stance.DENIES}),
    (("The Wall Street Journal reported that Musk and Putin held talks. Peskov told the WSJ "
      "that no such talks took place."), MUSK_PUTIN,
     {"The Wall Street Journal": Stance.CONFIRMS, "Kremlin": Stance.DENIES}),
    (("Vesta FC's sporting director, Lars Holm, told Sky Sports there was no deal with "
      "Mensah."), SIGNING, {"Lars Holm": Stance.DENIES}),
    (("The Coastal Times quoted Okafor as saying she had never accepted donations from "
      "Bellcore."), DONATIONS, {"Ruth Okafor": Stance.DENIES}),
])
def test_reported_speech_belongs_to_the_speaker_and_the_listener_is_no_party(
        text: str, claim: Claim, expected: dict[str, Stance]) -> None:
    assert stances(run(text, claim)) == expected


@pytest.mark.parametrize("text, claim, party", [
    ("Reuters reported that Ellery denied meeting Raman.", TALKS, "Mark Ellery"),
    ("The Coastal Times reported that Vesta FC had rejected claims of a deal with Mensah.",
     SIGNING, "Vesta FC"),
    ("According to Bloomberg, Okafor denied accepting donations from Bellcore.", DONATIONS,
     "Ruth Okafor"),
    ("Okafor denied accepting donations from Bellcore, Bloomberg reported.", DONATIONS,
     "Ruth Okafor"),
    ("The Kremlin denied that Putin had held talks with Musk, Interfax reported.",
     MUSK_PUTIN, "Kremlin"),
])
def test_an_outlet_that_reports_a_denial_only_relays_it(
        text: str, claim: Claim, party: str) -> None:
    assert stances(run(text, claim)) == {party: Stance.DENIES}


# --------------------------------------------------------------------------- 5. partial denials

@pytest.mark.parametrize("text, claim, party, cue", [
    ("Quist said Raman and Ellery had only one call, and it was about tax policy.", TALKS,
     "Solvane", "only one call"),
    ("\u201cRaman and I spoke just once, at a charity dinner,\u201d Ellery told reporters.",
     TALKS,
     "Mark Ellery", "just once"),
    (("Vesta FC said it had held only two meetings with Mensah's agent and no contract was "
      "agreed."), SIGNING, "Vesta FC", ""),
    ("Peskov said Musk and Putin had only one phone call, and it was about space.",
     MUSK_PUTIN, "Kremlin", "only one phone call"),
])
def test_a_partial_denial_is_a_denial_by_its_speaker(
        text: str, claim: Claim, party: str, cue: str) -> None:
    findings = run(text, claim)
    assert stances(findings) == {party: Stance.DENIES}, findings
    if cue:
        assert next(f.cue for f in findings if f.party == party) == cue


def test_a_negated_or_unrelated_only_is_not_a_partial_denial() -> None:
    text = "Raman and Ellery met not only once but several times, the Harbor Gazette reported."
    assert stances(run(text, TALKS)) == {"The Harbor Gazette": Stance.CONFIRMS}
    text = ("Raman met Ellery in Oslo, the Harbor Gazette reported. Ellery said only one of "
            "his aides attended the talks.")
    assert stances(run(text, TALKS)) == {"The Harbor Gazette": Stance.CONFIRMS}


# --------------------------------------------------------------------------- 6. both sides

@pytest.mark.parametrize("text, claim, expected", [
    (("Raman held secret talks with Ellery in March, the Harbor Gazette reported on Tuesday, "
      "citing two people briefed on the meetings. Solvane said in a statement that the "
      "report was untrue."), TALKS,
     {"The Harbor Gazette": Stance.CONFIRMS, "Solvane": Stance.DENIES}),
    (("Bloomberg reported that Okafor accepted donations from Bellcore. \u201cThis never "
      "happened,\u201d Okafor told reporters."), DONATIONS,
     {"Bloomberg": Stance.CONFIRMS, "Ruth Okafor": Stance.DENIES}),
    (("Kofi Mensah has signed a four-year contract with Vesta FC, the Coastal Times reported. "
      "Mensah's agent, Rui Alves, dismissed the report as fake news."), SIGNING,
     {"The Coastal Times": Stance.CONFIRMS, "Rui Alves": Stance.DENIES}),
    (("Musk has spoken with Putin several times, the Wall Street Journal reported. The "
      "Kremlin rejected the report."), MUSK_PUTIN,
     {"The Wall Street Journal": Stance.CONFIRMS, "Kremlin": Stance.DENIES}),
])
def test_a_denial_quoted_in_a_confirming_report_gives_both_parties_their_own_stance(
        text: str, claim: Claim, expected: dict[str, Stance]) -> None:
    findings = run(text, claim)
    assert stances(findings) == expected
    deny = next(f for f in findings if f.stance == Stance.DENIES)
    assert deny.cue.lower() in deny.quote.lower()


# --------------------------------------------------------------------------- 7. other claims

@pytest.mark.parametrize("text, claim, expected", [
    (("Musk and Putin have spoken regularly since 2022, the Wall Street Journal reported. "
      "Musk denied that Tesla would build a plant in Russia."), MUSK_PUTIN,
     {"The Wall Street Journal": Stance.CONFIRMS}),
    (("Raman and Ellery met in March, the Harbor Gazette reported. Raman denied that Solvane "
      "was planning layoffs."), TALKS, {"The Harbor Gazette": Stance.CONFIRMS}),
    (("Mensah has agreed a contract with Vesta FC, Sky Sports reported. Mensah denied that "
      "he was unhappy at Vesta FC."), SIGNING, {"Sky Sports": Stance.CONFIRMS}),
    (("Raman and Ellery held talks in Oslo, Reuters reported. Ellery denied leaking budget "
      "figures to Raman."), TALKS, {"Reuters": Stance.CONFIRMS}),
    (("Okafor accepted donations from Bellcore, the Coastal Times reported. Bellcore "
      "rejected claims that it had lobbied Okafor on pipeline permits."), DONATIONS,
     {"The Coastal Times": Stance.CONFIRMS}),
])
def test_a_denial_of_something_else_about_the_same_people_is_not_a_denial_of_the_claim(
        text: str, claim: Claim, expected: dict[str, Stance]) -> None:
    assert stances(run(text, claim)) == expected


def test_a_short_denial_naming_only_the_other_party_still_denies_the_claim() -> None:
    """The counterpart of the rule above: 'rejected reports about Mensah' has nothing else
    in it to be about."""
    text = ("Mensah signed for Vesta FC, the Coastal Times reported. Vesta rejected reports "
            "about Mensah.")
    assert stances(run(text, SIGNING)) == {"The Coastal Times": Stance.CONFIRMS,
                                          "Vesta FC": Stance.DENIES}


# --------------------------------------------------------------------------- 8. retractions

@pytest.mark.parametrize("text, claim, outlet, cue", [
    (("Raman and Ellery held secret talks, the Harbor Gazette reported on Monday. On "
      "Wednesday the Gazette retracted the story."), TALKS, "The Harbor Gazette", "retracted"),
    ("The Coastal Times has withdrawn its report that Mensah signed a contract with Vesta FC.",
     SIGNING, "The Coastal Times", "withdrawn"),
    ("Bloomberg walked back its claim that Okafor accepted donations from Bellcore.",
     DONATIONS, "Bloomberg", "walked back"),
    (("Musk held secret talks with Putin, the Wall Street Journal reported. The Journal later "
      "corrected its report."), MUSK_PUTIN, "The Wall Street Journal", "corrected"),
    (("Raman and Ellery spoke by phone, the Harbor Gazette reported. The Gazette has since "
      "issued a correction."), TALKS, "The Harbor Gazette", "issued a correction"),
])
def test_an_outlet_that_retracts_or_corrects_its_report_denies_the_claim(
        text: str, claim: Claim, outlet: str, cue: str) -> None:
    findings = run(text, claim)
    assert stances(findings) == {outlet: Stance.DENIES}, findings
    assert next(f.cue for f in findings if f.party == outlet) == cue


@pytest.mark.parametrize("text, claim, outlet", [
    (("The Harbor Gazette said it stands by its reporting on the talks between Raman and "
      "Ellery."), TALKS, "The Harbor Gazette"),
    ("The Coastal Times has not retracted its report that Mensah signed for Vesta FC.",
     SIGNING, "The Coastal Times"),
    ("Bloomberg refused to withdraw its story about Okafor's donations from Bellcore.",
     DONATIONS, "Bloomberg"),
    (("Musk and Putin have held talks, the Wall Street Journal reported. Despite the denials, "
      "the Journal did not walk back its report."), MUSK_PUTIN, "The Wall Street Journal"),
])
def test_an_outlet_that_stands_by_or_does_not_retract_its_report_confirms(
        text: str, claim: Claim, outlet: str) -> None:
    assert stances(run(text, claim)) == {outlet: Stance.CONFIRMS}


def test_a_correction_that_restates_the_claim_still_confirms() -> None:
    text = ("Raman met Ellery in Oslo, the Harbor Gazette reported. The Gazette corrected its "
            "report to say the two met in May, not in April.")
    assert stances(run(text, TALKS)) == {"The Harbor Gazette": Stance.CONFIRMS}


def test_retracting_a_different_story_or_withdrawing_from_talks_is_no_retraction() -> None:
    text = ("Raman and Ellery met in Oslo, the Harbor Gazette reported. The Gazette separately "
            "retracted a story about Solvane's accounts.")
    assert stances(run(text, TALKS)) == {"The Harbor Gazette": Stance.CONFIRMS}
    text = "Vesta FC withdrew from the contract talks with Mensah, Sky Sports reported."
    assert "Vesta FC" not in stances(run(text, SIGNING))


# --------------------------------------------------------------------------- claims as sentences

def test_a_headline_cased_claim_finds_its_names_in_the_article() -> None:
    claim = Claim("banksy", "Banksy Arrested In London, Identity Revealed", ())
    text = ("The street artist Banksy was arrested in London on Tuesday, the Evening Post "
            "reported.")
    assert stances(run(text, claim, entities=())) == {"The Evening Post": Stance.CONFIRMS}
    text = ("Pest Control, which represents Banksy, said reports that the artist had been "
            "arrested in London were untrue.")
    assert stances(run(text, claim, entities=())) == {"Pest Control": Stance.DENIES}
    assert run("Banksy opened a new exhibition in Bristol.", claim, entities=()) == []


def test_an_acronym_in_a_headline_cased_claim_is_a_name_even_at_a_sentence_start() -> None:
    claim = Claim("isis", "ISIS Beheads American Journalist", ())
    text = ("ISIS released a video showing the beheading of an American journalist, the "
            "Pentagon confirmed.")
    assert stances(run(text, claim, entities=())) == {"Pentagon": Stance.CONFIRMS}
    text = "ISIS fighters were seen near the border, officials said."
    assert run(text, claim, entities=()) == []


def test_a_single_entity_claim_needs_only_that_entity() -> None:
    claim = Claim("aas", "Henrik Aas has resigned as finance minister", ())
    text = ("Henrik Aas is under pressure. Aas denied that he had resigned, calling the "
            "reports fake.")
    assert stances(run(text, claim, entities=())) == {"Henrik Aas": Stance.DENIES}
    claim = Claim("swift", "Taylor Swift announced her retirement", ())
    text = "Taylor Swift has not announced her retirement, her publicist Ada Moss said."
    assert stances(run(text, claim, entities=())) == {"Ada Moss": Stance.DENIES}


@pytest.mark.parametrize("statement, text, party", [
    ("Hexacorp is moving its headquarters to Lisbon",
     "Hexacorp denied on Monday that it would move its headquarters to Lisbon.", "Hexacorp"),
    ("Hexacorp To Move Headquarters To Lisbon",
     ("Shares in Hexacorp fell on Tuesday after Hexacorp denied moving its headquarters to "
     "Lisbon."),
     "Hexacorp"),
    ("The European Commission fined Nordbank for money laundering",
     "Nordbank rejected reports that the European Commission had fined it.", "Nordbank"),
])
def test_a_claim_about_organisations_and_places_derives_them_as_entities(
        statement: str, text: str, party: str) -> None:
    claim = Claim("c", statement, ())
    assert stances(run(text, claim, entities=())) == {party: Stance.DENIES}


def test_a_sentence_claim_uses_a_watchlist_entity_with_the_same_name_and_its_aliases() -> None:
    claim = Claim("c", "Elon Musk has held private talks with Vladimir Putin", ())
    watch = (MUSK, PUTIN, KREMLIN)
    text = "The Tesla CEO denied holding talks with Putin."
    findings = run(text, claim, entities=watch)
    assert stances(findings) == {"Elon Musk": Stance.DENIES}
    assert findings[0].party_kind == "entity"
    claim = Claim("k", "The Kremlin confirmed talks with Elon Musk", ())
    text = "Peskov denied that any talks with Musk had taken place."
    assert stances(run(text, claim, entities=watch)) == {"Kremlin": Stance.DENIES}
    claim = Claim("h", "Musk Held Secret Talks With Putin", ())  # headline case, short names
    text = "The Tesla CEO denied holding talks with the Russian leader, Putin."
    assert stances(run(text, claim, entities=watch)) == {"Elon Musk": Stance.DENIES}


def test_a_sentence_claim_matches_common_paraphrases_of_its_predicate() -> None:
    """'held talks' is reported as 'spoke', 'signed' as 'agreed a deal'."""
    claim = Claim("c", "Priya Raman held talks with Mark Ellery", ())
    text = "Raman has never spoken to Ellery, Solvane said."
    assert stances(run(text, claim, entities=())) == {"Solvane": Stance.DENIES}
    claim = Claim("s", "Kofi Mensah signed for Vesta FC", ())
    text = "Vesta FC said it had agreed a deal with Kofi Mensah."
    assert stances(run(text, claim, entities=())) == {"Vesta FC": Stance.CONFIRMS}
