"""Stance cue lexicons and cue spotting for the matcher.

A cue is a span of a passage that says something about how a party stands on a claim.  Cues
are found lexically here; *who* holds a cue is decided in `matcher.parties` (it needs the
passage's names) and whether it governs the claim in `matcher.govern` (it needs the claim).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from matcher import text as tx

# Every pattern runs on `text.fold`ed passages (ASCII apostrophes), case-insensitively.
DENY_VERB = re.compile(
    r"\b(?:den(?:y|ies|ied|ying)|reject(?:s|ed|ing)?|dismiss(?:es|ed|ing)?|refut(?:e|es|ed|ing)"
    r"|contradict(?:s|ed|ing)?|debunk(?:s|ed|ing)?|rebut(?:s|ted|ting)?|disput(?:e|es|ed|ing)"
    r"|rubbish(?:es|ed|ing)?)\b",
    re.IGNORECASE,
)
DENY_NOUN = re.compile(r"\b(?:denials?|rejection|rebuttal)\b", re.IGNORECASE)
DENY_ADJ = re.compile(
    r"\b(?:untrue|not true|false|fake|baseless|nonsense|fabricat(?:ed|ion)|groundless"
    r"|unfounded|no truth|a lie|pack of lies|hoax|not the case|incorrect|inaccurate"
    r"|made[- ]up|without foundation|pure fiction|fiction|never happened|never took place"
    r"|(?:did not|didn't) (?:happen|take place))\b",
    re.IGNORECASE,
)
PARTIAL = re.compile(
    r"\b(?:only|just)(?: [a-z]+){0,2}? (?:once|twice|one|a single|a couple of|two)\b",
    re.IGNORECASE)
CONFIRM_VERB = re.compile(
    r"\b(?:report(?:s|ed)|reveal(?:s|ed)|confirm(?:s|ed|ing)?|acknowledg(?:e|es|ed|ing)"
    r"|admit(?:s|ted|ting)?|stands? by|stood by|standing by|doubl(?:ed|es|ing) down"
    r"|according to|citing)\b",
    re.IGNORECASE,
)
# An outlet disowning its own report; the object decides whether it is *this* report (govern).
RETRACT = re.compile(
    r"\b(?:back(?:ed|s|ing)? down|retract(?:s|ed|ing)?|walk(?:ed|s|ing)? back"
    r"|withdr(?:ew|aw|awn|aws|awing)|correct(?:ed|s|ing)"
    r"|(?:issu|publish|append|print|post|add|ran|run)\w*\s+an?\s+(?:\w+\s+)?"
    r"(?:correction|retraction))\b",
    re.IGNORECASE,
)
SPEECH = re.compile(
    r"\b(?:said|says|say|told|tells|telling|tweet(?:ed|s|ing)|wr(?:ote|ites|iting)|posted"
    r"|posting|stat(?:ed|es)|add(?:ed|ing)|noted|insist(?:ed|s|ing)|claim(?:ed|s|ing)"
    r"|saying|explain(?:ed|s)|declared|call(?:ed|ing)|describ(?:ed|ing)|dubb(?:ed|ing)"
    r"|maintain(?:ed|s)|asserted|announced|argued)\b",
    re.IGNORECASE,
)
HEDGE = re.compile(
    r"\b(?:reportedly|allegedly|alleged|rumou?r(?:ed|s)?|purportedly|supposedly"
    r"|unconfirmed|speculat(?:ion|ed)|unverified)\b",
    re.IGNORECASE,
)
NEGATORS = {"not", "never", "no", "nor", "neither", "without", "refused", "declined", "cannot",
            "stopped", "ceased", "longer", "failed", "hardly"}
DETERMINERS = {"a", "an", "the", "his", "her", "its", "their", "our", "my", "your", "this",
               "these", "those", "such", "that", "earlier", "new", "latest", "initial"}
# Nouns that stand for the claim itself ("denied the report", "It's all untrue").
ANAPHORS = re.compile(
    r"\b(?:reports?|allegations?|claims?|story|stories|rumou?rs?|articles?|accounts?"
    r"|accusations?|suggestions?|assertions?|speculation|it|this|these|those|newsletter"
    r"|revelations?)\b",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[A-Za-z']+")


@dataclass(frozen=True)
class Cue:
    """A stance cue: `kind` is deny/confirm/discuss, `role` how its holder is found."""

    kind: str
    # verb | noun | adj | partial | negpred | double | speech | according | retract | hedge
    role: str
    start: int
    end: int
    text: str
    strength: float


def _clause_head(text: str, start: int) -> tuple[int, str]:
    """Up to 40 characters before `start`, cut at the last punctuation: a negation in another
    clause or quotation ('“It never happened,” Okafor told …') does not reach the word."""
    off = max(0, start - 40)
    head = text[off:start]
    cut = max(head.rfind(ch) for ch in ",;:.\"\u201c\u201d") + 1
    return off + cut, head[cut:]


def negated(text: str, start: int) -> bool:
    """True when one of the three words before `start` negates it ("did not deny")."""
    before = _TOKEN.findall(_clause_head(text, start)[1].lower())[-3:]
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
    re.IGNORECASE)


# First three letters of every cue word: only words starting so are tried (speed).
_PREFIXES = tx.word_set(
    "den rej dis ref con reb rub unt not fal fak bas non fab gro unf a pac hoa inc ina mad wit"
    " onl jus rep fic pur cal des dub rev ack adm sta sto dou acc cit bac ret wal sai say tol"
    " tel twe wro wri pos add ins cla exp dec mai ass ann arg all rum pur sup unc spe unv no deb"
    " nev did iss pub app pri ran run cor")
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
    r"\s+(?:the|it|this|that|these|those|them|his|her|its|their|such|a|an|him)\b", re.IGNORECASE)


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
        if (low.startswith(("report", "confirm", "acknowledg", "admit"))
                and _preceded_by_determiner(text, s)) or (low == "reports" and _noun_slot(text, s)):
            return None  # 'the report', 'denied reports that …': a noun
        neg = negated(text, s)
        role = "according" if low in ("according to", "citing") else "verb"
        return Cue("discuss" if neg else "confirm", role, s, e, _with_negation(text, m, neg), 2.0)
    if group == "retract":  # not retracting is standing by the report; retracting disowns it
        neg = negated(text, s)
        return Cue("confirm" if neg else "deny", "retract", s, e,
                   _with_negation(text, m, neg), 2.0 if neg else 3.0)
    if group == "speech":
        if _preceded_by_determiner(text, s) or (low.startswith("claim") and _noun_slot(text, s)):
            return None
        if low.startswith(("call", "describ", "dub")) and not _NAMING_OBJECT.match(text, e):
            return None  # 'a site called DeepDotWeb', 'called Comcast': not a verdict
        neg = negated(text, s)
        return Cue("discuss" if neg else "confirm", "speech", s, e,
                   _with_negation(text, m, neg), 1.0)
    return Cue("discuss", "hedge", s, e, word, 0.5)


_NOUN_BEFORE = re.compile(
    r"(?:\b(?:of|about|over|on|against|amid|despite|and|or|such|any|new|earlier|similar)"
    rf"|{DENY_VERB.pattern})\s+$", re.IGNORECASE)


def _noun_slot(text: str, start: int) -> bool:
    """'rejected claims of a deal', 'amid claims': the noun 'claims', not the verb."""
    return bool(_NOUN_BEFORE.search(text[max(0, start - 25):start]))


def attributive(text: str, start: int) -> bool:
    """'the alleged talks', "Musk's rumoured call": a hedge on a noun the sentence presupposes,
    not on what it asserts."""
    return _preceded_by_determiner(text, start)


def _with_negation(text: str, m: re.Match[str], neg: bool) -> str:
    """Cue words including the negation that flipped them ("didn't back down")."""
    if not neg:
        return m.group(0)
    head = _clause_head(text, m.start())[1]
    toks = list(_TOKEN.finditer(head))[-3:]
    for t in toks:
        if t.group(0).lower() in NEGATORS or t.group(0).lower().endswith("n't"):
            return head[t.start():] + m.group(0)
    return m.group(0)


# What may stand between a negation and the claim's predicate and leave the predicate
# negated, read backwards from it: determiners ('no such talks'), then at most one main verb
# ('is not asking customers', 'did not hold talks'), then auxiliaries and adverbs ('has never
# had', 'did not personally meet').  A verb of saying or knowing takes the negation itself
# ('would not confirm the talks', 'does not believe Raman met'), as does any other shape
# ('isn't happy with the watch').
_NEG_DET = tx.word_set("""
a an the any such this that these those his her its their our my your single one to
""")
_NEG_AUX = tx.word_set("""
have has had having be been being was were is are am do does did will would could can shall
should may might must ever even yet actually really personally directly secretly privately
formally officially also still
""")
_NEG_BLOCK = tx.word_set("""
confirm confirmed deny denied comment commented say said saying know knew believe believed
think thought recall recalled remember remembered rule ruled disclose disclosed reveal
revealed name named identify identified specify specified elaborate respond responded answer
answered address addressed mention mentioned discuss discussed dispute disputed whether if
only just longer expect expected want wanted plan planned happy sure aware clear
""")
_NEG_WORDS = frozenset({"not", "never", "no", "nor", "neither", "cannot"})


def negated_predicates(text: str, keyword_spans: list[tuple[int, int]]) -> list[Cue]:
    """'never spoke', 'did not hold talks', 'no conversation': a negated claim predicate."""
    cues: list[Cue] = []
    for s, e in keyword_spans:
        off = max(0, s - 50)
        head = text[off:s]
        cut = max(head.rfind(ch) for ch in ",;:.\"\u201c\u201d") + 1  # same clause only
        slot = 0  # 0: determiners, 1: the main verb taken, 2: auxiliaries
        for t in reversed(list(_TOKEN.finditer(head, cut))):
            w = t.group(0).lower()
            if w in _NEG_WORDS or w.endswith("n't"):
                start = off + t.start()
                cues.append(Cue("deny", "negpred", start, e, text[start:e], 2.5))
                break
            if slot == 0 and (w in _NEG_DET or w.endswith("'s")):
                continue
            if w in _NEG_AUX:
                slot = 2
            elif slot or w in _NEG_BLOCK or t.group(0)[0].isupper() or _ALL.match(w):
                break
            else:
                slot = 1
    return cues


_DOUBLE_GAP = re.compile(
    r"^(?:\s+(?!(?:and|or|but|said|saying|says|adding|insisting|while|because|after|then)\b)"
    r"[\w'-]+){0,8}?\s+$", re.IGNORECASE)


def double_negations(text: str, cues: list[Cue]) -> list[Cue]:
    """'denied that she had not met him': a denial whose own clause negates the claim's
    predicate is an assertion of it (a negated denial of it says nothing).  The pair becomes
    one `double` cue held like the denial; the negated predicate is not counted again."""
    negs = [c for c in cues if c.role == "negpred"]
    if not negs:
        return cues
    out: list[Cue] = []
    used: set[int] = set()
    for c in cues:
        if c.role == "verb" and DENY_VERB.match(text, c.start):
            n = next((n for n in negs if n.start >= c.end and id(n) not in used
                      and _DOUBLE_GAP.match(text[c.end:n.start])), None)
            if n is not None:
                used.add(id(n))
                lead = len(c.text) - (c.end - c.start)  # the negation of the denial itself
                out.append(Cue("confirm" if c.kind == "deny" else "discuss", "double", c.start,
                               n.end, text[c.start - lead:n.end], 3.0))
                continue
        out.append(c)
    return [c for c in out if id(c) not in used]
