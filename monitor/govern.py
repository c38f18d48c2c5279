"""Governance: does a stance cue bear on *this* claim?

Owns the step between spotting a cue and counting it: a denial or confirmation near the
claim's people may be about something else they did.  Decided per cue role from the clause
the cue scopes, the claim's predicate words and the other claim entities in it.  Kept apart
from `monitor.parties` because it needs the claim, and the holder does not.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from monitor import stance as st
from monitor.parties import Party, complement

if TYPE_CHECKING:
    from monitor.match import ClaimSpec
    from monitor.passages import Passage


_BOUNDARY = re.compile(r"[,;:!?.\"“”]|\b(?:but|while|although|whereas|after|because)\b", re.I)
_CONTENT_CLAUSE = re.compile(r"\s+(?:that|of|about|over|on|to)\b", re.I)


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
    mentions = p.mentions + (spec.extra.mentions(p.f) if spec.extra else [])
    others = [(s, e) for s, e, ent in mentions
              if ent.name in names and (holder is None or ent.name != holder.name)]
    if c.role in ("verb", "noun") and c.kind == "deny":
        s, e = _scope(p.f, c.end)
        if _hits(kw, s, e):
            return True
        if _hits(others, s, e) and len(p.f[s:e].split()) <= 8:
            return True
        for m in st.ANAPHORS.finditer(p.f, s, e):
            if len(p.f[s:m.start()].split()) <= 5 and not _CONTENT_CLAUSE.match(p.f, m.end()):
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
        if re.search(r"once|twice", c.text, re.I) or re.match(r"\s+(?:times?|occasions?)\b", nxt):
            return _hits(kw, *sent)
        head = re.match(r"(?:\s+[\w-]+){1,2}", nxt)  # 'only one (phone) call'
        return head is not None and _hits(kw, c.end, c.end + head.end())
    if c.role == "negpred":
        return True
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


_HEDGED = r"(?:reported|alleged|rumou?red|purported|possible|potential|suspected|supposed)"
_PRESUPPOSED = re.compile(
    rf"(?:\b(?:the|these|those|this|such|any)\s+(?:(?:{_HEDGED}|secret|private|recent)\s+)?"
    rf"|\b{_HEDGED}\s+)$", re.I)
_NEGATED = re.compile(r"\b(?:not|never|no|\w+n't)\s+(?:[\w-]+\s+){0,2}$", re.I)
_IRREALIS = re.compile(r"\b(?:if|whether|would|could|might|may|unless)\b[^,;:.]*$", re.I)


def _asserted(f: str, kw_start: int) -> bool:
    """A predicate word is asserted, not presupposed ('the talks were troubling'), hedged
    ('the alleged conversation') or hypothetical ('if Musk spoke to Putin')."""
    head = f[max(0, kw_start - 60):kw_start]
    return not (_PRESUPPOSED.search(head) or _IRREALIS.search(head) or _NEGATED.search(head))


def _sentence_bounds(f: str, pos: int) -> tuple[int, int]:
    s = max(f.rfind(ch, 0, pos) for ch in ".!?;") + 1
    ends = [i for i in (f.find(ch, pos) for ch in ".!?;") if i >= 0]
    return s, (min(ends) if ends else len(f))
