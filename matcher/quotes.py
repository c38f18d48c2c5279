"""The party's own words: which direct quotation an alert carries for a finding.

A finding is decided by a sentence ("The Kremlin denied the report, saying “It's all
untrue.”"; "Elon Musk Denies Speaking To Vladimir Putin"); the desk wants what the party said
itself.  In order:

1. the deciding passage has a quotation spoken by the holder that is a statement (below):
   that one (the one holding the cue, else the most claim-relevant, unless it is off the
   claim and a relevant one exists elsewhere);
2. else, among the article's quotations spoken by the same party (the passage's quote speaker,
   aliases resolved to the entity) that are real statements (a few words, opening a sentence
   or introduced by a colon, a comma or a speech verb: not a fragment woven into the
   narration like 'was “prepared to negotiate”') and are about the claim (a stance cue of the
   finding's kind inside, or a predicate word with a claim entity, or two claim entities),
   the most relevant, nearest first;
3. a quotation the article also gives in a fuller form (its words are a prefix of another
   quotation's) is taken in the fuller form.

The result keeps its own quotation marks, balanced; a comma closing a quotation cut out of
its sentence becomes a full stop.  None: the party is not quoted on the claim (the finding
then quotes its sentence).  Pure, like the rest of the matcher.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from matcher import attribution as at
from matcher import stance as st
from matcher import text as tx

if TYPE_CHECKING:
    from matcher.claims import ClaimSpec
    from matcher.parties import Party
    from matcher.passages import Passage
    from matcher.stance import Cue

_INTRODUCED = re.compile(
    r"(?:^|[.!?][\"”’)\]]*\s+|[:,\u2014\u2013]\s*|[”\"],?\s+and\s+"
    r"|\b(?:said|says|say|saying|tells|told(?:\s+[\w.'’-]+){0,3}|tweeted|tweeting|tweets"
    r"|wrote|writes|writing|posted|posting|added|adding|stated|stating|declared|declaring"
    r"|insisted|insisting|replied|responded|answered|explained|noted|continued|asked"
    r"|messaged|texted)\s*[:,]?\s*)$",
    re.IGNORECASE)
_NOT_STANCE_ROLES = frozenset({"speech", "according", "hedge", "tag"})
_CLOSER = {"“": "”", "«": "»", "„": "“", '"': '"'}


def own_words(spec: ClaimSpec, p: Passage, cue: Cue, kind: str, party: Party,
              passages: list[Passage]) -> str | None:
    """The party's direct quotation for a finding decided by `cue` in `p` (see the module)."""
    here: list[tuple[float, int, int]] = []
    if p.index > 0 and _same(at.speaker(p), party):
        for qs, qe in p.quotes:
            holds_cue = qs < cue.start < qe
            if _statement(p, qs, qe, 2):
                rel = _relevance(spec, p, qs, qe, kind)
                here.append((10.0 if holds_cue else rel, qs, qe))
    best_here = max(here, default=None)
    if best_here and best_here[0] > 0:
        return _fuller(p, best_here[1], best_here[2], party, passages)
    found: list[tuple[float, int, Passage, int, int]] = []
    for o in passages[1:]:
        if o is p or not o.quotes or not _same(at.speaker(o), party):
            continue
        for qs, qe in o.quotes:
            if _statement(o, qs, qe, 3):
                rel = _relevance(spec, o, qs, qe, kind)
                if rel > 0:
                    found.append((rel, -abs(o.index - p.index), o, qs, qe))
    if found:
        _, _, o, qs, qe = max(found, key=lambda x: (x[0], x[1]))
        return _fuller(o, qs, qe, party, passages)
    if best_here:  # the holder's own words in the deciding sentence, though off the claim
        return _fuller(p, best_here[1], best_here[2], party, passages)
    return None


def _same(speaker: Party | None, party: Party) -> bool:
    return speaker is not None and speaker.name == party.name


def _statement(p: Passage, qs: int, qe: int, min_words: int) -> bool:
    """A quotation that is a statement of its own: enough words, and it opens a sentence or
    is introduced by a colon, a comma, a dash or a speech verb."""
    if len(tx.WORD.findall(p.f[qs:qe])) < min_words:
        return False
    return bool(_INTRODUCED.search(p.f[max(0, qs - 60):qs].rstrip() + (" " if qs else "")))


def _relevance(spec: ClaimSpec, p: Passage, qs: int, qe: int, kind: str) -> float:
    """How much a quotation is about the claim; 0 when it is not."""
    inside = lambda a, b: qs <= a and b <= qe  # noqa: E731
    names = {e.name for e in spec.entities}
    ents = {ent.name for s, e, ent in p.mentions if inside(s, e) and ent.name in names}
    if spec.extra:
        ents |= {ent.name for s, e, ent in p.mentions_of(spec.extra) if inside(s, e)}
    low = p.f[qs:qe].lower()
    for ent in spec.entities:  # tweets are often written in lower case
        if ent.name not in ents and any(
                re.search(rf"(?<![\w']){re.escape(tx.fold(v).lower())}(?![\w-])", low)
                for v in (ent.name, *ent.aliases) if len(v) > 2):
            ents.add(ent.name)
    spans = spec.keyword_spans(p.f)
    kw = any(inside(s, e) for s, e in spans)
    cues = [c for c in (*p.cues, *(st.negated_predicates(p.f, spans) if kw else ()))
            if qs < c.start < qe and c.role not in _NOT_STANCE_ROLES]
    cue = any(c.kind == kind for c in cues)
    if not cue and any(c.kind in ("deny", "confirm") and c.kind != kind for c in cues):
        return 0.0  # the party's words the other way: not what this finding reports
    if not (cue or (kw and ents) or len(ents) >= 2):
        return 0.0
    return 2.0 * cue + len(ents) + 1.0 * kw


def _words(p: Passage, qs: int, qe: int) -> list[str]:
    return [w.lower() for w in tx.WORD.findall(p.f[qs:qe])]


def _fuller(p: Passage, qs: int, qe: int, party: Party, passages: list[Passage]) -> str:
    """The quotation, or the fuller form the article also gives of it (not someone else's)."""
    mine = _words(p, qs, qe)
    best = (len(mine), p, qs, qe)
    for o in passages[1:] if len(mine) >= 3 else ():
        if (who := at.speaker(o)) is not None and who.name != party.name:
            continue
        for os_, oe in o.quotes:
            theirs = _words(o, os_, oe)
            if len(theirs) > best[0] and theirs[:len(mine)] == mine:
                best = (len(theirs), o, os_, oe)
    _, o, qs, qe = best
    return _balanced(o.text[qs:qe])


def _balanced(q: str) -> str:
    """A quotation with its own marks, closed if the passage left it open; a comma that
    handed over to the attribution ('…space,” he said') becomes a full stop."""
    q = q.strip()
    opener = q[:1]
    closer = _CLOSER.get(opener, "”")
    if tx.quote_depth(q) > 0:
        q = q.rstrip() + closer
    body, end = q[:-1].rstrip(), q[-1]
    if end == '"' and opener in "“„":
        end = closer  # “…," mixed marks: close it the way it opened
    if body.endswith(","):
        body = body[:-1].rstrip() + "."
    return body + end
