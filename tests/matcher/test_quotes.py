"""The quote of a finding is the party's own words, one clean passage (issue 7, part 1).

Each test name is a sentence about the behaviour.  The hard cases are invented articles (a
shipping chief and a developer, a ministry), run through the real path: HTML page →
`extract_article` → `match_article`; the seeds served as HTML are the acceptance test.
"""
from __future__ import annotations

import html as html_lib
import re

import pytest

from matcher.assess import assess, default_engine
from monitor.batch import explained
from monitor.extract import extract_article
from matcher.match import Claim, Entity, Finding, Stance, match_article
from matcher.text import split_sentences, strip_dateline
from tests.newsroom import article_html, seed_stories

HALDANE = Entity("Marta Haldane", ("Haldane", "Orvex CEO"))
BRUNO = Entity("Peter Bruno", ("Bruno",))
MINISTRY = Entity("Interior Ministry", ("Ministry of the Interior",))
TALKS = Claim("haldane-bruno-talks", "Marta Haldane held secret talks with Peter Bruno",
              (HALDANE, BRUNO), ("talks", "meet", "spoke", "conversation"))

FILLER = ("<p>Orvex, a shipping firm based in Rotterdam, has grown quickly over the past decade "
          "and now employs more than four thousand people across Europe and Asia.</p>")


def page(title: str, body: str) -> bytes:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html_lib.escape(title)} | Test Wire</title>
<meta property="og:title" content="{html_lib.escape(title)}"></head><body>
<header><nav><a href="/">Home</a> <a href="/world">World</a></nav></header>
<main><article><h1>{html_lib.escape(title)}</h1>{body}{FILLER}</article></main>
<footer><p>© Test Wire. All rights reserved.</p></footer></body></html>""".encode()


def from_html(title: str, body: str, entities: tuple[Entity, ...] = (MINISTRY,)
              ) -> tuple[str, list[Finding]]:
    art = extract_article(page(title, body), "https://wire.example/2025/03/03/haldane-bruno")
    assert art is not None
    return art.text, match_article(art.title, art.text, [TALKS], entities, "Test Wire")


def finding(findings: list[Finding], party: str) -> Finding:
    [f] = [f for f in findings if f.party == party]
    return f


def balanced(quote: str) -> bool:
    """Every double quotation mark opened is closed, and single ones too (apostrophes aside)."""
    singles = re.sub(r"(?<=\w)’(?=\w)|(?<=s)’", "", quote)
    return quote.count("“") == quote.count("”") and quote.count('"') % 2 == 0 \
        and singles.count("‘") == singles.count("’")


# --------------------------------------------------------------------------- the article text

def test_the_headline_is_dropped_from_the_article_text_where_it_repeats_the_title() -> None:
    text, _ = from_html("Orvex Chief Met Developer Bruno, Gazette Says",
                        "<p>Marta Haldane held talks with Peter Bruno in March, the Harbor "
                        "Gazette reported.</p>")
    assert text.startswith("Marta Haldane held talks")
    assert "\n\n" in text, "blocks are paragraphs separated by blank lines"


def test_an_image_caption_and_a_photo_credit_between_headline_and_lead_stay_out_of_the_quote(
) -> None:
    lead = ("Orvex CEO Marta Haldane held secret talks with Peter Bruno in March, the Harbor "
            "Gazette reported on Tuesday, citing two people briefed on the meetings.")
    body = ("<p>March 4, 2025</p>"
            "<figure><img src='/haldane.jpg' alt=''>"
            "<figcaption>Photo: Reuters</figcaption></figure>"
            "<p>orvex.com; Port of Rotterdam</p>"
            "<p>Photo: Reuters</p>"
            f"<p>{lead}</p>")
    text, findings = from_html("Orvex Chief Held Secret Talks With Bruno – Gazette", body)
    gazette = finding(findings, "The Harbor Gazette")
    assert gazette.stance is Stance.CONFIRMS
    assert gazette.quote == lead and gazette.context == ""
    assert "Photo: Reuters" not in text and "March 4, 2025" not in text


def test_a_caption_line_in_plain_extracted_text_never_glues_to_the_lead() -> None:
    title = "Orvex Chief Held Secret Talks With Bruno"
    lead = "Marta Haldane held secret talks with Peter Bruno in March, the Harbor Gazette reported."
    text = f"{title}\nMarch 4, 2025\norvex.com; Port of Rotterdam\nPhoto: Reuters\n{lead}\n"
    assert split_sentences(text)[-1] == lead
    gazette = finding(match_article(title, text, [TALKS], (), "Test Wire"), "The Harbor Gazette")
    assert gazette.quote == lead


@pytest.mark.parametrize("dateline", [
    "ROTTERDAM (Reuters) — ", "THE HAGUE, March 3 (AP) - ", "Rotterdam (Reuters) -- ",
    "ROTTERDAM, Netherlands — ",
])
def test_a_dateline_is_not_part_of_the_sentence(dateline: str) -> None:
    sentence = ("The Interior Ministry on Friday denied that Marta Haldane had held talks with "
                "Peter Bruno.")
    text, findings = from_html("Ministry Denies Haldane Met Bruno",
                               f"<p>{dateline}{sentence}</p>")
    ministry = finding(findings, "Interior Ministry")
    assert ministry.stance is Stance.DENIES and ministry.quote == sentence
    assert split_sentences(f"{dateline}{sentence}") == [sentence]


def test_a_capitalised_word_before_a_dash_is_not_taken_for_a_dateline() -> None:
    assert strip_dateline("NATO — the alliance — met.") == "NATO — the alliance — met."
    assert strip_dateline("Rotterdam — a port city — grew.") == "Rotterdam — a port city — grew."


# --------------------------------------------------------------------------- the party's own words

def test_the_partys_direct_quotation_is_chosen_over_the_headline_and_the_report_is_context(
) -> None:
    denial = ("Orvex CEO Marta Haldane on Monday denied a report that she had held talks with "
              "the developer Peter Bruno.")
    body = (f"<p>{denial}</p>"
            "<p>“I have never spoken to Peter Bruno about the harbour contract, not once,” "
            "Haldane told reporters in Rotterdam.</p>")
    _, findings = from_html("Haldane Denies Holding Talks With Bruno", body)
    haldane = finding(findings, "Marta Haldane")
    assert haldane.stance is Stance.DENIES
    assert haldane.quote == ("“I have never spoken to Peter Bruno about the harbour contract, "
                             "not once.”")
    assert haldane.context == denial


def test_a_quotation_in_the_deciding_sentence_is_the_quote_and_that_sentence_its_context(
) -> None:
    sentence = "The Interior Ministry denied the report on Friday, saying “It is pure fiction.”"
    _, findings = from_html("Ministry Rejects Report",
                            "<p>The Harbor Gazette reported that Marta Haldane had held talks "
                            f"with Peter Bruno.</p><p>{sentence}</p>")
    ministry = finding(findings, "Interior Ministry")
    assert (ministry.quote, ministry.context) == ("“It is pure fiction.”", sentence)
    assert ministry.cue in ministry.context


def test_without_a_direct_quotation_the_quote_is_the_sentence_and_there_is_no_context() -> None:
    sentence = ("Marta Haldane denied that she had met Peter Bruno, calling the story "
                "“a fabrication from start to finish.”")
    _, findings = from_html("Orvex Chief In Row Over Gazette Report", f"<p>{sentence}</p>")
    haldane = finding(findings, "Marta Haldane")
    assert (haldane.quote, haldane.context) == (sentence, ""), "a fragment is not a statement"


def test_a_quotation_the_article_gives_in_full_later_is_quoted_in_its_fuller_form() -> None:
    body = ("<p>“I spoke to Peter Bruno only once,” the Orvex CEO said.</p>"
            "<p>Marta Haldane has denied a report that she held secret talks with Bruno.</p>"
            "<p>“I spoke to Peter Bruno only once. It was about the weather,” Haldane wrote on "
            "her blog.</p>")
    _, findings = from_html("Haldane Denies Secret Talks", body)
    haldane = finding(findings, "Marta Haldane")
    assert haldane.quote == "“I spoke to Peter Bruno only once. It was about the weather.”"


def test_another_speakers_quotation_is_never_the_partys_quote() -> None:
    body = ("<p>Marta Haldane denied on Monday that she had held talks with Peter Bruno.</p>"
            "<p>“Haldane met Bruno at least twice to discuss the talks,” a former aide said.</p>")
    _, findings = from_html("Haldane Denies Talks", body)
    haldane = finding(findings, "Marta Haldane")
    assert "former aide" not in haldane.quote and haldane.context == ""


# --------------------------------------------------------------------------- hard cases

def test_a_quote_split_across_a_paragraph_break_is_one_balanced_quotation() -> None:
    body = ("<p>Marta Haldane on Monday denied holding talks with Peter Bruno.</p>"
            "<p>“I have never held talks with Peter Bruno, and I never</p>"
            "<p>will,” Haldane said.</p>")
    _, findings = from_html("Haldane Denies Talks", body)
    haldane = finding(findings, "Marta Haldane")
    assert haldane.quote == "“I have never held talks with Peter Bruno, and I never will.”"
    assert balanced(haldane.quote)


def test_a_quotation_running_on_into_the_next_paragraph_is_quoted_whole() -> None:
    body = ("<p>Marta Haldane on Monday denied holding secret talks with Peter Bruno.</p>"
            "<p>“I have never met Peter Bruno.</p>"
            "<p>“Whoever wrote that story made it up,” Haldane said.</p>")
    _, findings = from_html("Haldane Denies Talks", body)
    haldane = finding(findings, "Marta Haldane")
    assert haldane.quote == "“I have never met Peter Bruno. Whoever wrote that story made it up.”"
    assert balanced(haldane.quote)


TWEET = ("i have never met peter bruno, let alone held talks with him. this story is false.")
SIGNATURE = ("&mdash; Marta Haldane (@mhaldane) <a href='https://twitter.com/mhaldane/status/1'>"
             "March 3, 2025</a>")


@pytest.mark.parametrize("embed", [
    f'<blockquote class="twitter-tweet"><p lang="en" dir="ltr">{TWEET}</p>{SIGNATURE}</blockquote>',
    f'<blockquote class="twitter-tweet">{TWEET} {SIGNATURE}</blockquote>',
], ids=["paragraph-and-signature", "one-line"])
def test_a_tweet_embedded_as_a_blockquote_is_the_partys_quote(embed: str) -> None:
    report = ("Orvex CEO Marta Haldane on Monday dismissed a report that she had held secret "
              "talks with the developer Peter Bruno.")
    body = (f"<p>{report}</p>{embed}"
            "<p>The Harbor Gazette did not respond to a request for comment.</p>")
    _, findings = from_html("Orvex Chief Dismisses Report Of Talks", body)
    haldane = finding(findings, "Marta Haldane")
    assert haldane.stance is Stance.DENIES
    assert haldane.quote == ("“i have never met peter bruno, let alone held talks with him. "
                             "this story is false.”")
    assert haldane.context in ("", report)


def test_nested_quotes_stay_balanced() -> None:
    body = ("<p>Marta Haldane on Monday denied holding talks with Peter Bruno.</p>"
            "<p>“The Gazette calls it a ‘secret summit’, but I have never held talks with "
            "Peter Bruno,” Haldane said.</p>")
    _, findings = from_html("Haldane Denies Talks", body)
    haldane = finding(findings, "Marta Haldane")
    assert haldane.quote == ("“The Gazette calls it a ‘secret summit’, but I have never held "
                             "talks with Peter Bruno.”")
    assert balanced(haldane.quote)


def test_a_long_sentence_is_shortened_without_cutting_a_quotation() -> None:
    padding = " ".join(["the harbour board gathered on Tuesday and Wednesday"] * 12)
    text = (f"Critics said {padding}. The Interior Ministry denied that Marta Haldane had "
            f"held talks with Peter Bruno, calling it “{padding} and nothing more”, while "
            f"{padding}.")
    [ministry] = [f for f in match_article("", text, [TALKS], (MINISTRY,))
                  if f.party == "Interior Ministry"]
    assert len(ministry.quote) < len(text) // 2 and "denied" in ministry.quote
    assert balanced(ministry.quote) and ministry.quote.endswith("nothing more”")


# --------------------------------------------------------------------------- one engine

def test_the_assessment_and_the_stance_json_carry_the_partys_own_words_next_to_the_evidence(
) -> None:
    denial = ("Orvex CEO Marta Haldane on Monday denied a report that she had held talks with "
              "the developer Peter Bruno.")
    text = (f"{denial}\n\n“I have never spoken to Peter Bruno about the harbour contract, not "
            "once,” Haldane told reporters in Rotterdam.\n\nThe Harbor Gazette stood by its "
            "story, which cited two people briefed on the talks.")
    (a,) = assess("Haldane Denies Holding Talks With Bruno", text, [TALKS], (),
                  engine=default_engine(fast=True))
    assert (a.stance, a.party) == (Stance.DENIES, "Marta Haldane")
    own = "“I have never spoken to Peter Bruno about the harbour contract, not once.”"
    assert a.quote == own and a.evidence == denial
    out = explained(a)
    assert out["evidence"] == denial and out["quote"] == own
    assert list(out)[:4] == ["stance", "party", "evidence", "quote"]


def test_the_stance_json_has_no_quote_key_when_the_evidence_is_the_quote() -> None:
    (a,) = assess("", "Marta Haldane denied that she had held talks with Peter Bruno.", [TALKS],
                  (), engine=default_engine(fast=True))
    assert a.quote == "" and "quote" not in explained(a)


# --------------------------------------------------------------------------- acceptance

EXPECTED = {
    "Elon Musk": (Stance.DENIES, "“I have spoken to Putin only once and that was about 18 "
                  "months ago. The subject matter was space.”"),
    "Ian Bremmer": (Stance.CONFIRMS, "“elon musk told me he had spoken with putin and the kremlin "
                    "directly about ukraine. he also told me what the kremlin’s red lines were.”"),
    "Kremlin": (Stance.DENIES, "“It’s all untrue.”"),
}
WSJ_LEAD = ("U.S. billionaire Elon Musk held secret talks with Russian President Vladimir Putin "
            "throughout the war in Ukraine as his initial support for Kyiv appeared to shift in "
            "Moscow's favor, the Wall Street Journal reported Thursday, citing several anonymous "
            "current and ex-U.S., European and Russian officials.")


def test_the_seeds_served_as_html_quote_each_partys_own_words() -> None:
    from monitor.watchlist import load_watchlists
    from tests.support import REPO

    wl = load_watchlists(REPO / "watchlists", env={})
    findings: list[Finding] = []
    for story in seed_stories():
        url = f"https://wire.example/news/{story.slug}"
        art = extract_article(article_html(story, "https://wire.example").encode(), url)
        assert art is not None and not art.text.startswith(story.title)
        findings += match_article(art.title, art.text, wl.claims, wl.entities, "Local Wire")
    decided = {f.party: f for f in findings if f.stance in (Stance.CONFIRMS, Stance.DENIES)}
    assert {p: f.stance for p, f in decided.items()} == {
        "Elon Musk": Stance.DENIES, "Ian Bremmer": Stance.CONFIRMS,
        "The Wall Street Journal": Stance.CONFIRMS, "Kremlin": Stance.DENIES}
    for party, (_, quote) in EXPECTED.items():
        assert decided[party].quote == quote, party
        assert decided[party].context and balanced(decided[party].quote)
    wsj = decided["The Wall Street Journal"]
    assert (wsj.quote, wsj.context) == (WSJ_LEAD, "")
    assert "denied" in decided["Kremlin"].context


def test_a_blockquote_introduced_by_a_colon_is_spoken_by_who_introduces_it() -> None:
    body = ("<p>Marta Haldane answered the Gazette’s report about her talks with Peter Bruno "
            "within the hour, writing on Twitter:</p>"
            '<blockquote class="twitter-tweet"><p>I have never held talks with Peter Bruno. '
            "This story is false.</p></blockquote>"
            "<p>The Gazette did not respond to a request for comment.</p>")
    _, findings = from_html("Orvex Chief Responds To Gazette", body)
    haldane = finding(findings, "Marta Haldane")
    assert haldane.stance is Stance.DENIES
    assert haldane.quote == "“I have never held talks with Peter Bruno. This story is false.”"
