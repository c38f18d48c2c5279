"""Governance: does a stance cue bear on *this* claim?

Owns the step between spotting a cue and counting it: a denial or confirmation near the
claim's people may be about something else they did.  Decided per cue role from the clause
the cue scopes, the claim's predicate words and the other claim entities in it.  Kept apart
from `matcher.parties` because it needs the claim, and the holder does not.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from matcher import stance as st
from matcher import text as tx
from matcher.attribution import complement
from matcher.parties import Party

if TYPE_CHECKING:
    from matcher.claims import ClaimSpec
    from matcher.passages import Passage


_BOUNDARY = re.compile(r"[,;:!?.\"“”]|\b(?:but|while|although|whereas|after|because)\b",
                       re.IGNORECASE)
_CONTENT_CLAUSE = re.compile(r"\s+(?:that|of|about|over|on|to)\b", re.IGNORECASE)


def _scope(f: str, start: int) -> tuple[int, int]:
    """The clause a cue at `start` governs: up to the next clause boundary (at least one word)."""
    m = _BOUNDARY.search(f, start)
    end = m.start() if m else len(f)
    if not f[start:end].strip() and m:
        m2 = _BOUNDARY.search(f, m.end())
        end = m2.start() if m2 else len(f)
    return start, end


def _hits(spans: list[tuple[int, int]], s: int, e: int) -> bool:
    return any(s <= a and b <= e for a, b in spans)


def governs(spec: ClaimSpec, p: Passage, c: st.Cue, kw: list[tuple[int, int]],
             holder: Party | None) -> bool:
    """Does the cue bear on *this* claim (and not another claim about the same people)?"""
    names = {x.name for x in spec.entities}
    mentions = p.mentions + (p.mentions_of(spec.extra) if spec.extra else [])
    others = [(s, e) for s, e, ent in mentions
              if ent.name in names and (holder is None or ent.name != holder.name)]
    if c.role in ("verb", "noun") and c.kind == "deny":
        s, e = _scope(p.f, c.end)
        if _hits(kw, s, e):
            return True
        if _hits(others, s, e) and len(p.f[s:e].split()) <= 8 and \
                not _about_something_else(p.f, s, e, others):
            return True
        m = st.ANAPHORS.search(p.f, s, e)  # the first one: 'claims that it had …' is not 'it'
        if m and len(p.f[s:m.start()].split()) <= 5 and not _CONTENT_CLAUSE.match(p.f, m.end()):
            return True
        return c.role == "noun" and not p.f[s:e].strip() and bool(kw)
    if c.role == "adj":
        qs, qe = p.quote_at(c.start) or (0, len(p.f))
        before = p.f[max(0, c.start - 40):c.start]
        return _hits(kw, qs, qe) or _hits(others, qs, qe) or bool(st.ANAPHORS.search(before))
    if c.role == "partial":
        nxt = p.f[c.end:c.end + 30]
        if re.match(r"\s+of\b", nxt):
            return False
        sent = _sentence_bounds(p.f, c.start)
        if re.search(r"once|twice", c.text, re.IGNORECASE) \
                or re.match(r"\s+(?:times?|occasions?)\b", nxt):
            return _hits(kw, *sent)
        head = re.match(r"(?:\s+[\w-]+){1,2}", nxt)  # 'only one (phone) call'
        return head is not None and _hits(kw, c.end, c.end + head.end())
    if c.role in ("negpred", "double"):
        return True
    if c.role == "retract":
        return _retracts_this(p, c, kw, others)
    if c.role == "hedge":
        return False
    if c.role == "speech":  # what was said must assert the predicate about the other party
        cs, ce = complement(p, c)
        return _hits(others, cs, ce) and any(
            cs <= a and b <= ce and _asserted(p.f, a) for a, b in kw)
    s, e = _scope(p.f, c.end)
    anaphor = any(len(p.f[s:m.start()].split()) <= 5 for m in st.ANAPHORS.finditer(p.f, s, e))
    definite = any(re.search(r"\b(?:the|this|that|these|those|such)\s+$", p.f[s:a])
                   and len(p.f[s:a].split()) <= 5 for a, _ in kw if s <= a < e)
    if anaphor or definite:  # 'stands by his report', 'confirmed the meeting'
        return True
    cs, ce = complement(p, c)  # what was said must carry the predicate and the other party
    return _hits(kw, cs, ce) and _hits(others, cs, ce)


_FUNCTION = tx.word_set("""
the a an any all his her its their this that these those of about over on to for from by with
between and or in at he she it they we was were is are be been had has have would could will
spokesman spokeswoman spokesperson publicist lawyer lawyers attorney agent representative
office team camp aides officials
""")


def _about_something_else(f: str, s: int, e: int, others: list[tuple[int, int]]) -> bool:
    """A denial naming another claim party with more to it than the claim's nouns: 'denied
    that he was unhappy at Vesta' is about being unhappy ('rejected reports about Mensah'
    is not about anything else)."""
    rest = f[s:e]
    for a, b in sorted(others, reverse=True):
        if s <= a and b <= e:
            rest = rest[:a - s] + " " + rest[b - s:]
    return any(len(w) > 1 and w.lower() not in _FUNCTION and not st.ANAPHORS.fullmatch(w)
               for w in re.findall(r"[A-Za-z][\w'-]*", rest))


_REPORT_OBJECT = re.compile(
    r"\s+(?:from\s+|on\s+)?(?:(?:its|his|her|their|the|that|this|an?|our|earlier|original"
    r"|initial|own|previous|\w+'s)\s+){0,3}(?:report(?:ing|s)?|story|stories|article|claims?"
    r"|allegations?|piece|account|assertions?|newsletter|findings?|it|them|that|this)\b",
    re.IGNORECASE)
_ABOUT = re.compile(r"\s+(?:that|about|on(?!\s+(?:\w*day|\d|last|this))|over|into|of|regarding"
                    r"|alleging|claiming|saying)\b", re.IGNORECASE)
_RESTATES = re.compile(r"\s+to\s+(?:say|show|reflect|state|note|clarify|read|make clear)\b",
                       re.IGNORECASE)


def _retracts_this(p: Passage, c: st.Cue, kw: list[tuple[int, int]],
                   others: list[tuple[int, int]]) -> bool:
    """A retraction or correction bears on the claim when what it takes back is a report
    (not 'withdrew from the talks') and is this report, or is not said to be another one."""
    s, e = _scope(p.f, c.end)
    noun = re.search(r"(?:correction|retraction)$", c.text, re.IGNORECASE) is not None
    to = re.match(r"\s+(?:to|of)\b", p.f[c.end:e]) if noun else None  # 'a correction to …'
    obj = _REPORT_OBJECT.match(p.f, c.end + (to.end() if to else 0))
    if obj is None and not noun:
        return not p.f[s:e].strip()  # 'the Gazette retracted.'
    end = obj.end() if obj else c.end
    if _ABOUT.match(p.f, end):  # '… its story about Solvane's accounts': which story?
        return _hits(kw, end, e) or _hits(others, end, e)
    return True


def restates(p: Passage, c: st.Cue, kw: list[tuple[int, int]]) -> bool:
    """'corrected its report to say the two met in May': a correction that keeps the claim."""
    m = _REPORT_OBJECT.match(p.f, c.end)
    if m is None or not _RESTATES.match(p.f, m.end()):
        return False
    return _hits(kw, m.end(), _sentence_bounds(p.f, m.end())[1])


def relays_rumour(p: Passage, c: st.Cue) -> bool:
    """'The Gazette said Raman had reportedly met Ellery': a reporter whose own words hedge
    the claim only passes on a rumour.  A hedge on a presupposed noun ('Musk's alleged
    engagement') or outside what the reporter says does not count."""
    cs, ce = complement(p, c)
    return any(h.role == "hedge" and max(cs, c.end) <= h.start < ce
               and not st.attributive(p.f, h.start) for h in p.cues)


_HEDGED = r"(?:reported|alleged|rumou?red|purported|possible|potential|suspected|supposed)"
_PRESUPPOSED = re.compile(
    rf"(?:\b(?:the|these|those|this|such|any)\s+(?:(?:{_HEDGED}|secret|private|recent)\s+)?"
    rf"|\b{_HEDGED}\s+)$", re.IGNORECASE)
_NEGATED = re.compile(r"\b(?:not|never|no|\w+n't)\s+(?:[\w-]+\s+){0,2}$", re.IGNORECASE)
_IRREALIS = re.compile(r"\b(?:if|whether|would|could|might|may|unless)\b[^,;:.]*$", re.IGNORECASE)


def _asserted(f: str, kw_start: int) -> bool:
    """A predicate word is asserted, not presupposed ('the talks were troubling'), hedged
    ('the alleged conversation') or hypothetical ('if Musk spoke to Putin')."""
    head = f[max(0, kw_start - 60):kw_start]
    return not (_PRESUPPOSED.search(head) or _IRREALIS.search(head) or _NEGATED.search(head))


def _sentence_bounds(f: str, pos: int) -> tuple[int, int]:
    s = max(f.rfind(ch, 0, pos) for ch in ".!?;") + 1
    ends = [i for i in (f.find(ch, pos) for ch in ".!?;") if i >= 0]
    return s, (min(ends) if ends else len(f))
