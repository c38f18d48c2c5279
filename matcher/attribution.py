"""Attribution: who holds each stance cue, through quotes and chains of reported speech.

Owns the holder step of the decision: the party that asserts a cue, from the quote speaker,
the reporting frame around it ("A told B that …", "B reported that A denied …") or its verb's
own grammar.  Reads `matcher.passages.Passage` but never builds one; the speaker and pronoun
antecedent of a passage are worked out here, on first use, and kept on the passage.
"""
from __future__ import annotations

import re

from matcher import stance as st
from matcher.parties import Party
from matcher.passages import Passage

_GAP = re.compile(
    r"^(?:'s?)?[\s,]*(?:(?:is|was|were|are|has|have|had|also|later|then|now|first|again|since"
    r"|already|itself|himself|herself|themselves|did|does|do|would|will|could|can|may|might"
    r"|must|should|not|\w+n't|never|no|longer|be|been|being|on|in|at|a|an|the|statement"
    r"|interview|its|his|her|their|who|last|this|week|month|year|morning|afternoon|evening|night"
    r"|earlier|today|yesterday|tonight|\w+ly|\w+day|\d+|spokes(?:man|woman|person|people)"
    r"|officials?|representatives?|press|secretary|office|lawyers?|attorneys?|agents?)\b[\s,]*)*$",
    re.IGNORECASE,
)
_APPOSITIVE = re.compile(  # ', who …,' / ', citing two officials,' / ', in a statement,'
    r",\s*(?:who|which|whose|the|a|an|citing|quoting|according|speaking|writing|in|on|at)\b"
    r"[^,\"“”]{0,120},\s*"
    r"(?:(?:has|have|had|is|was|were|also|later|then|\w+ly)\s+)*$", re.IGNORECASE)
_PRONOUN = re.compile(r"(?:^|[\s,\"”])(?:he|she)\s+(?:\w+\s+){0,2}$", re.IGNORECASE)
_AFTER_PRONOUN = re.compile(r"^.*\b(?:he|she)\b", re.IGNORECASE | re.DOTALL)
_PRONOUN_SUBJECT = re.compile(
    r"(?:^|[\s,])(?:it|they|we|he|she)\s+(?:(?:has|have|had|was|is|were|are|would|will|did|does"
    r"|do|not|never|also|still|now|since|later|\w+ly|\w+n't)\s+){0,3}$", re.IGNORECASE)
_PASSIVE = re.compile(r"\b(?:was|were|been|is|are|being)\s+(?:\w+ly\s+|first\s+|also\s+)?$",
                      re.IGNORECASE)
_STANCE_VERB = re.compile(r"^(?:confirm|acknowledg|admit|stand|stood|doubl)", re.IGNORECASE)


def _subject(p: Passage, pos: int, end: int) -> Party | None:
    """Grammatical subject of the verb at [pos, end): nearest name to the left, passive agent,
    or inverted subject ('said Peskov'); None for descriptions ('the billionaire')."""
    left = p.f[:pos]
    while (m := _APPOSITIVE.search(left, max(0, len(left) - 160))) is not None:
        left = left[:m.start()]
    if is_passive(p, pos, end):
        return passive_agent(p, end)
    tail = left[-40:]
    if _PRONOUN.search(tail) and _GAP.match(_AFTER_PRONOUN.sub("", tail)):
        return antecedent(p)  # '“…,” she said' -> the person the text was just about
    prior = [c for c in p.cands if c[1] <= len(left)]
    if prior and _GAP.match(left[prior[-1][1]:]) and _not_object(left[:prior[-1][0]]):
        return prior[-1][2]
    nxt = next((c for c in p.cands if c[0] >= end), None)
    inverted = not re.match(r"tel|tol", p.f[pos:end], re.IGNORECASE) \
        and re.search(r"(?:^|[,\"”:])\s*$", left[-20:])  # '“…,” said Peskov', not 'told Peskov'
    if nxt and inverted and re.fullmatch(r"\s*(?:the\s+)?", p.f[end:nxt[0]], re.IGNORECASE):
        return nxt[2]
    return None


_PARTICIPLE = re.compile(r"(?:ed|en|told|said|held|wrote|written|shot|made)$", re.IGNORECASE)
_PREP_BEFORE = re.compile(r"\b(?:to|of|for|with|in|at|from|by|on|about|against|between|"
                          r"and|than)\s+(?:the\s+)?$", re.IGNORECASE)
_SPOKES_BEFORE = re.compile(r"\b(?:spokes(?:man|woman|person)|representatives?|lawyers?|"
                            r"attorneys?|officials?|office)\s+(?:for|of)\s+(?:the\s+)?$",
                            re.IGNORECASE)


def is_passive(p: Passage, pos: int, end: int) -> bool:
    """'was reported' / 'were cited' (not the progressive 'is denying')."""
    return bool(_PARTICIPLE.search(p.f[pos:end])) \
        and bool(_PASSIVE.search(p.f[max(0, pos - 40):pos]))


def _not_object(before: str) -> bool:
    """A name after a preposition ('ambassador to Germany') is not the subject, except the
    principal of a spokesperson ('a spokesman for Tesla')."""
    before = before[-60:]
    return not _PREP_BEFORE.search(before) or bool(_SPOKES_BEFORE.search(before))


def passive_agent(p: Passage, end: int) -> Party | None:
    """'was first reported in a newsletter from Ian Bremmer' -> Ian Bremmer."""
    for s, _, party in p.cands:
        gap = p.f[end:s]
        if end <= s and _AGENT_GAP.match(gap) and not _AGENT_STOP.search(gap):
            return party
    return None


_AGENT_GAP = re.compile(r"^(?:\s+[\w'-]+){0,5}?\s+(?:by|from)\s+(?:the\s+)?$", re.IGNORECASE)
_AGENT_STOP = re.compile(r"[.;,\"“”]|\b(?:and|had|has|was|were|been|is|are|but)\b", re.IGNORECASE)


_COORDINATED = re.compile(r"\b(?:but|and|yet)\s+(?:also\s+|later\s+|then\s+)?$", re.IGNORECASE)


def _participle(p: Passage, cue: st.Cue) -> bool:
    """', saying …' / ', citing …' / '… but said …': the subject is the main clause's."""
    before = p.f[max(0, cue.start - neg_len(cue) - 30):cue.start - neg_len(cue)]
    return (cue.text.lower().endswith("ing") and before.rstrip().endswith(",")) \
        or bool(_COORDINATED.search(before))


def _main_subject(p: Passage) -> Party | None:
    """Subject of the first stance/speech verb outside quotes that has a named subject."""
    for c in p.cues:
        if c.role in ("verb", "speech", "retract") and not p.in_quote(c.start) \
                and not _participle(p, c):
            who = _subject(p, c.start - neg_len(c), c.end)
            if who:
                return who
    first = p.cands[0] if p.cands else None  # else the sentence-initial name, if any
    return first[2] if first and not p.f[:first[0]].strip(" \"“'(").strip() else None


def neg_len(c: st.Cue) -> int:
    """Length of the negation words included in a cue's text before its verb."""
    return max(0, len(c.text) - (c.end - c.start))


def _own_holder(p: Passage, c: st.Cue) -> Party | None:
    """Holder of a verb cue from its own grammar."""
    if c.text.lower() == "according to":
        for s, _, party in p.cands:
            if s >= c.end and re.fullmatch(
                    r"\s*(?:(?:a|an|the|reports?|statement|in|by|from|\w+'s)\s+)*", p.f[c.end:s]):
                return party
        return None
    quoted = c.text.lower().endswith("saying") and \
        _QUOTED_AS.search(p.f, max(0, c.start - 80), c.start)
    if quoted:  # 'The Times quoted Okafor as saying …': Okafor speaks, the Times relays
        return next((x[2] for x in p.cands if quoted.start(1) <= x[0] < quoted.end(1)), None)
    if _participle(p, c):
        return _main_subject(p)
    return _subject(p, c.start - neg_len(c), c.end)


_QUOTED_AS = re.compile(r"\bquot(?:ed|es|ing)\s+([^,.;\"“”]{1,60}?)\s+as\s+$", re.IGNORECASE)


def speaker(p: Passage) -> Party | None:
    """Who speaks the quotations in this passage (worked out once per passage)."""
    if p.speaker_memo is None:
        p.speaker_memo = (quote_speaker(p, p.prev),)
    return p.speaker_memo[0]


def antecedent(p: Passage) -> Party | None:
    """Who 'he'/'she' most likely is: the previous sentence's topic (once per passage)."""
    if p.antecedent_memo is None:
        p.antecedent_memo = (_topic(p.prev, 3) if p.prev and p.index > 1 else None,)
    return p.antecedent_memo[0]


def _topic(prev: Passage, depth: int) -> Party | None:
    """The person a following 'he'/'she' refers to: the previous sentence's speaker, else its
    sentence-initial named subject, else what that sentence's pronoun referred to."""
    if (who := speaker(prev)) and who.kind in ("person", "entity"):
        return who
    first = next((c for c in prev.cands if c[0] <= 30 and c[2].kind in ("person", "entity")),
                 None)  # 'Kremlin spokesman Dmitry Peskov denied …': he is Peskov
    if first:
        return first[2]
    if depth > 1 and prev.prev and prev.index > 1:
        return _topic(prev.prev, depth - 1)
    return None


def quote_speaker(p: Passage, prev: Passage | None) -> Party | None:
    """Who speaks the quotations in a passage; an attribution-less quote continues the last."""
    if not p.quotes:
        return None
    for c in p.cues:
        if c.role in ("speech", "verb") and not p.in_quote(c.start) and \
                (c.role == "speech" or c.kind == "confirm"):
            return _own_holder(p, c)
    if p.signed is not None:
        return p.signed
    if prev and prev.f.rstrip().endswith(":") and p.f.lstrip()[:1] in "\"“":
        for c in prev.cues:  # 'Haldane wrote on Twitter:' and then the quotation itself
            if c.role in ("speech", "verb") and not prev.in_quote(c.start) and \
                    (c.role == "speech" or c.kind == "confirm"):
                return _own_holder(prev, c)
    if prev and prev.quotes and p.f.lstrip()[:1] in "\"“":
        return speaker(prev)
    return None


def _frames(p: Passage) -> list[tuple[st.Cue, Party | None]]:
    """Reporting frames outside quotes: speech/report verbs and 'according to' (cached)."""
    if p.frames is None:
        p.frames = _find_frames(p)
    return p.frames


def _find_frames(p: Passage) -> list[tuple[st.Cue, Party | None]]:
    out = []
    for c in p.cues:
        if p.in_quote(c.start):
            continue
        if c.role == "speech" or c.role == "according" or \
                (c.role == "verb" and c.kind != "deny" and not _STANCE_VERB.match(c.text)):
            out.append((c, _own_holder(p, c)))
    return out


def _framed_holder(p: Passage, c: st.Cue) -> tuple[bool, Party | None]:
    """(covered, holder) of the outermost reporting frame covering a cue."""
    frames = [(f, h) for f, h in _frames(p) if f is not c]
    for f, h in frames:  # preposed first (outermost), then a frame closing the sentence
        cs, ce = complement(p, f)
        if cs <= c.start < ce and (f.end <= c.start or f.text.lower() == "according to"):
            return True, h
    for f, h in frames:
        cs, ce = complement(p, f)
        if f.start >= c.end and cs <= c.start < ce:
            return True, h
    if p.source_tag:
        return True, p.source_tag[2]
    return False, None


def holder(p: Passage, c: st.Cue) -> Party | None:
    """Who asserts a cue: quote speaker, outer frame, or the verb's own subject."""
    if p.in_quote(c.start):
        return speaker(p)
    own_stance = c.role in ("retract", "double") or (
        c.role == "verb" and (c.kind == "deny" or bool(_STANCE_VERB.match(c.text))))
    if own_stance or c.role == "according":
        own = _own_holder(p, c)
        if own is None and c.role != "according" and _PRONOUN_SUBJECT.search(
                p.f[max(0, c.start - neg_len(c) - 50):c.start - neg_len(c)]):
            return _framed_holder(p, c)[1]  # 'the Gazette said it stands by …': the sayer
        return own
    if c.role == "noun":
        off = max(0, c.start - 60)
        m = re.search(r"(\S+)'s?\s+$", p.f[off:c.start])
        if m:
            poss = [x for x in p.cands if x[1] == off + m.start() + len(m.group(1))]
            if poss:
                return poss[0][2]
    if c.role in ("verb", "speech"):  # a nested reporting verb belongs to the outer reporter
        outer = [h for f, h in _frames(p) if f.end <= c.start and not _participle(p, f)]
        return outer[0] if outer else _own_holder(p, c)
    covered, who = _framed_holder(p, c)
    return who if covered else None


def complement(p: Passage, c: st.Cue) -> tuple[int, int]:
    """What a reporting verb reports: the quote it attributes, the clause after it ('said
    that …'), or, when it closes the sentence ('…, Reuters reported.'), the text before it."""
    if p.in_quote(c.start):
        return (0, len(p.f))
    before = [q for q in p.quotes if q[1] <= c.start]
    if before and not any(qs > c.end for qs, _ in p.quotes) \
            and not re.match(r"[^.;:]{0,40}?\b(?:that|:)", p.f[c.end:]):
        return (before[0][0], before[-1][1])  # '“…,” Peskov told journalists': the quote
    if c.text.lower() == "according to" or is_passive(p, c.start, c.end):
        return (0, len(p.f))  # passive: the reported thing is the subject before the verb
    tail = p.f[c.end:]
    if re.match(r"^(?:\s+(?:(?:on|in|at|last|this|earlier|late)\s+\w+|\w+day|\w+ly|\d+))*"
                r"\s*(?:[.;]|,\s*(?:citing|adding|saying)|$)", tail):
        return (0, c.start)
    return (c.end, len(p.f))
