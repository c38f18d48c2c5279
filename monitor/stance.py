"""Stance cue lexicons and cue spotting for the matcher.

A cue is a span of a passage that says something about how a party stands on a claim.  Cues
are found lexically here; *who* holds a cue is decided in `monitor.parties` (it needs the
passage's names) and whether it governs the claim in `monitor.govern` (it needs the claim).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Every pattern runs on `text.fold`ed passages (ASCII apostrophes), case-insensitively.
DENY_VERB = re.compile(
    r"\b(?:den(?:y|ies|ied|ying)|reject(?:s|ed|ing)?|dismiss(?:es|ed|ing)?|refut(?:e|es|ed|ing)"
    r"|contradict(?:s|ed|ing)?|debunk(?:s|ed|ing)?|rebut(?:s|ted|ting)?|disput(?:e|es|ed|ing)"
    r"|rubbish(?:es|ed|ing)?)\b",
    re.I,
)
DENY_NOUN = re.compile(r"\b(?:denials?|rejection|rebuttal)\b", re.I)
DENY_ADJ = re.compile(
    r"\b(?:untrue|not true|false|fake|baseless|nonsense|fabricat(?:ed|ion)|groundless"
    r"|unfounded|no truth|a lie|pack of lies|hoax|not the case|incorrect|inaccurate"
    r"|made[- ]up|without foundation|pure fiction|fiction)\b",
    re.I,
)
PARTIAL = re.compile(
    r"\b(?:only|just)(?: [a-z]+){0,2}? (?:once|twice|one|a single|a couple of|two)\b", re.I)
CONFIRM_VERB = re.compile(
    r"\b(?:report(?:s|ed)|reveal(?:s|ed)|confirm(?:s|ed|ing)?|acknowledg(?:e|es|ed|ing)"
    r"|admit(?:s|ted|ting)?|stands? by|stood by|standing by|doubl(?:ed|es|ing) down"
    r"|according to|citing)\b",
    re.I,
)
RETRACT = re.compile(
    r"\b(?:back(?:ed|s|ing)? down|retract(?:s|ed|ing)?|walk(?:ed|s|ing)? back"
    r"|withdr(?:ew|aw|awn|aws|awing))\b",
    re.I,
)
SPEECH = re.compile(
    r"\b(?:said|says|say|told|tells|telling|tweet(?:ed|s|ing)|wr(?:ote|ites|iting)|posted"
    r"|posting|stat(?:ed|es)|add(?:ed|ing)|noted|insist(?:ed|s|ing)|claim(?:ed|s|ing)"
    r"|saying|explain(?:ed|s)|declared|call(?:ed|ing)|describ(?:ed|ing)|dubb(?:ed|ing)"
    r"|maintain(?:ed|s)|asserted|announced|argued)\b",
    re.I,
)
HEDGE = re.compile(
    r"\b(?:reportedly|allegedly|alleged|rumou?r(?:ed|s)?|purportedly|supposedly"
    r"|unconfirmed|speculat(?:ion|ed)|unverified)\b",
    re.I,
)
NEGATORS = {"not", "never", "no", "nor", "neither", "without", "refused", "declined",
            "stopped", "ceased", "longer", "failed", "hardly"}
DETERMINERS = {"a", "an", "the", "his", "her", "its", "their", "our", "my", "your", "this",
               "these", "those", "such", "that", "earlier", "new", "latest", "initial"}
# Nouns that stand for the claim itself ("denied the report", "It's all untrue").
ANAPHORS = re.compile(
    r"\b(?:reports?|allegations?|claims?|story|stories|rumou?rs?|articles?|accounts?"
    r"|accusations?|suggestions?|assertions?|speculation|it|this|these|those|newsletter"
    r"|revelations?)\b",
    re.I,
)
_TOKEN = re.compile(r"[A-Za-z']+")


@dataclass(frozen=True)
class Cue:
    """A stance cue: `kind` is deny/confirm/discuss, `role` how its holder is found."""

    kind: str
    role: str  # verb | noun | adj | partial | negpred | speech | according | retract | hedge
    start: int
    end: int
    text: str
    strength: float


def negated(text: str, start: int) -> bool:
    """True when one of the three words before `start` negates it ("did not deny")."""
    before = _TOKEN.findall(text[max(0, start - 40):start].lower())[-3:]
    if re.search(r"[,;:.]\s*$", text[max(0, start - 3):start]):
        return False
    return any(t in NEGATORS or t.endswith("n't") for t in before)


def _preceded_by_determiner(text: str, start: int) -> bool:
    """'the report', "WSJ's report": a noun, not a reporting verb."""
    before = _TOKEN.findall(text[max(0, start - 25):start])
    return bool(before) and (before[-1].lower() in DETERMINERS or before[-1].endswith("'s"))


def _group(pat: re.Pattern[str], name: str) -> str:
    return f"(?P<{name}>{pat.pattern})"


_ALL = re.compile("|".join(_group(p, n) for p, n in (
    (DENY_VERB, "deny"), (DENY_NOUN, "noun"), (DENY_ADJ, "adj"), (PARTIAL, "partial"),
    (CONFIRM_VERB, "confirm"), (RETRACT, "retract"), (SPEECH, "speech"), (HEDGE, "hedge"))),
    re.I)


# First three letters of every cue word: only words starting so are tried (speed).
_PREFIXES = frozenset(
    "den rej dis ref con reb rub unt not fal fak bas non fab gro unf a pac hoa inc ina mad wit"
    " onl jus rep fic pur cal des dub rev ack adm sta sto dou acc cit bac ret wal sai say tol"
    " tel twe wro wri pos"
    " add ins cla exp dec mai ass ann arg all rum pur sup unc spe unv no deb".split())
_WORD_START = re.compile(r"\b[A-Za-z]{1,3}")


def find_cues(text: str) -> list[Cue]:
    """All lexical cues in a folded passage, in order, negation already applied."""
    cues: list[Cue] = []
    last = -1
    for w in _WORD_START.finditer(text):
        if w.start() < last or w.group(0).lower() not in _PREFIXES:
            continue
        m = _ALL.match(text, w.start())
        if m:
            last = m.end()
            cue = _cue(text, m, m.lastgroup or "")
            if cue:
                cues.append(cue)
    return cues


_NAMING_OBJECT = re.compile(
    r"\s+(?:the|it|this|that|these|those|them|his|her|its|their|such|a|an|him)\b", re.I)


def _cue(text: str, m: re.Match[str], group: str) -> Cue | None:
    """Turn one lexical hit into a cue (or drop it: nouns posing as verbs, 'false flag')."""
    word, s, e = m.group(0), m.start(), m.end()
    low = word.lower()
    if group == "deny":
        if _preceded_by_determiner(text, s):
            return None
        neg = negated(text, s)
        return Cue("discuss" if neg else "deny", "verb", s, e, _with_negation(text, m, neg), 3.0)
    if group == "noun":
        return Cue("deny", "noun", s, e, word, 2.5)
    if group == "adj":
        if low == "false" and re.match(r"\s+flag", text[e:]):
            return None
        return Cue("deny", "adj", s, e, word, 2.5)
    if group == "partial":
        return None if negated(text, s) else Cue("deny", "partial", s, e, word, 2.0)
    if group == "confirm":
        if low.startswith(("report", "confirm", "acknowledg", "admit")) \
                and _preceded_by_determiner(text, s):
            return None
        neg = negated(text, s)
        role = "according" if low in ("according to", "citing") else "verb"
        return Cue("discuss" if neg else "confirm", role, s, e, _with_negation(text, m, neg), 2.0)
    if group == "retract":
        neg = negated(text, s)
        return Cue("confirm" if neg else "discuss", "retract", s, e,
                   _with_negation(text, m, neg), 2.0)
    if group == "speech":
        if _preceded_by_determiner(text, s):
            return None
        if low.startswith(("call", "describ", "dub")) and not _NAMING_OBJECT.match(text, e):
            return None  # 'a site called DeepDotWeb', 'called Comcast': not a verdict
        neg = negated(text, s)
        return Cue("discuss" if neg else "confirm", "speech", s, e,
                   _with_negation(text, m, neg), 1.0)
    return Cue("discuss", "hedge", s, e, word, 0.5)


def _with_negation(text: str, m: re.Match[str], neg: bool) -> str:
    """Cue words including the negation that flipped them ("didn't back down")."""
    if not neg:
        return m.group(0)
    head = text[max(0, m.start() - 40):m.start()]
    toks = list(_TOKEN.finditer(head))[-3:]
    for t in toks:
        if t.group(0).lower() in NEGATORS or t.group(0).lower().endswith("n't"):
            return head[t.start():] + m.group(0)
    return m.group(0)


def negated_predicates(text: str, keyword_spans: list[tuple[int, int]]) -> list[Cue]:
    """'never spoke', 'did not hold talks', 'no conversation': a negated claim predicate."""
    cues: list[Cue] = []
    for s, e in keyword_spans:
        head = text[max(0, s - 40):s]
        toks = list(_TOKEN.finditer(head))[-3:]
        for t in toks:
            w = t.group(0).lower()
            after = head[t.end():].lower()
            if re.search(r"[,;:.\"“”]", after):
                continue  # the negation belongs to another clause
            if (w in {"not", "never", "no", "nor", "neither"} or w.endswith("n't")) \
                    and not re.search(r"\b(?:only|just|den\w*|longer|deny)\b", after) \
                    and not re.match(r"\s*only\b", after):
                start = max(0, s - 40) + t.start()
                cues.append(Cue("deny", "negpred", start, e, text[start:e], 2.5))
                break
    return cues
