"""Passages: the units the matcher decides on.

Owns the first step of the decision: the article becomes its title (passage 0) and its
sentences (a multi-sentence quotation stays one passage), each carrying what later steps
need: watchlist mentions, named parties outside quotes, quote spans, whether it is a question,
a headline source tag.  Cues (here) and the quote speaker and pronoun antecedent
(`matcher.attribution`) are worked out on first use, because most passages never reference a
claim.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from matcher import stance as st
from matcher import text as tx
from matcher.parties import Entity, Party, Resolver, Watch

# --------------------------------------------------------------------------- passages

@dataclass
class Passage:
    """A sentence (or multi-sentence quotation) with what the matcher needs to know about it.
    Cues, the quote speaker and the pronoun antecedent are worked out on first use, so passages
    that no claim references cost little."""

    index: int
    text: str
    f: str  # folded copy, same offsets
    quotes: list[tuple[int, int]]
    cands: list[tuple[int, int, Party]]  # named parties outside quotes
    mentions: list[tuple[int, int, Entity]]
    question: bool
    prev: Passage | None = None
    source_tag: tuple[int, int, Party] | None = None
    signed: Party | None = None  # a quotation signed on the next line ('— Jane Doe (@jdoe)')
    frames: list[tuple[st.Cue, Party | None]] | None = None  # cache for `parties._frames`
    _cues: list[st.Cue] | None = None
    speaker_memo: tuple[Party | None] | None = None  # set by `attribution.speaker`
    antecedent_memo: tuple[Party | None] | None = None  # set by `attribution.antecedent`
    _other: dict[int, list[tuple[int, int, Entity]]] = field(default_factory=dict)

    @property
    def cues(self) -> list[st.Cue]:
        if self._cues is None:
            self._cues = st.find_cues(self.f)
        return self._cues

    def mentions_of(self, watch: Watch) -> list[tuple[int, int, Entity]]:
        """Mentions by another matcher (a sentence claim's own names), found once per passage."""
        key = id(watch)
        if key not in self._other:
            self._other[key] = watch.mentions(self.f)
        return self._other[key]

    def in_quote(self, pos: int) -> bool:
        return any(s < pos < e for s, e in self.quotes)

    def quote_at(self, pos: int) -> tuple[int, int] | None:
        return next(((s, e) for s, e in self.quotes if s < pos < e), None)


_SOURCE_TAG = re.compile(r"\s[\u2013\u2014-]\s+([A-Z][\w.&']*(?:\s+[A-Z][\w.&']*){0,3})\s*$")


def build_passages(title: str, text: str, watch: Watch) -> list[Passage]:
    """Title + body sentences, with mentions, names, cues and quote speakers resolved."""
    head = re.sub(r"\s+", " ", tx.clean(title)).strip()
    sents = [head, *tx.body_sentences(text)]
    raw: list[tuple[str, str, list[tuple[int, int, Entity]], list[tx.Name]]] = []
    all_names: list[tx.Name] = []
    common = set(re.findall(r"(?<![\w'])[a-z][a-z\-]+", tx.fold(text)))
    for i, s in enumerate(sents):
        f = tx.fold(s)
        mentions = watch.mentions(f)
        names = [n for n in (_drop_common_opener(n, common) for n in tx.find_names(f))
                 if n and not any(ms < n.end and n.start < me for ms, me, _ in mentions)]
        if i == 0 and tx.is_title_case(f):  # headline capitals say nothing about names
            names = [n for n in names if n.text.isupper()]
        all_names += names
        raw.append((s, f, mentions, names))
    if tx.is_title_case(raw[0][1]):  # …but the names the body writes are names there too
        s, f, mentions, names = raw[0]
        names += _known_names(f, {n.text for n in all_names}, names, mentions)
    resolver = Resolver(all_names, watch)
    passages: list[Passage] = []
    for i, (s, f, mentions, names) in enumerate(raw):
        quotes = tx.quote_spans(f)
        cands = [(ms, me, Party(ent.name, "entity")) for ms, me, ent in mentions]
        cands += [(n.start, n.end, resolver.party(n.text)) for n in names]
        cands = sorted(c for c in cands if not any(qs < c[0] < qe for qs, qe in quotes))
        outside, last = "", 0
        for qs, qe in quotes:
            outside += f[last:qs]
            last = qe
        outside += f[last:]
        p = Passage(i, s, f, quotes, cands, mentions,
                     outside.rstrip().endswith("?") or (i == 0 and f.rstrip().endswith("?")),
                     passages[-1] if passages else None)
        tag = _SOURCE_TAG.search(f) if i == 0 else None
        if tag:
            p.source_tag = (tag.start(), tag.end(), resolver.party(tag.group(1)))
        passages.append(p)
    _sign(passages)
    return passages


_SIGNATURE = re.compile(r"^\s*(?:[\u2014\u2013]|--?)\s*")


def _sign(passages: list[Passage]) -> None:
    """A quotation standing alone (an embedded tweet, a blockquote) whose next line is its
    signature ('— Jane Doe (@jdoe) March 3, 2025') is spoken by the one who signs it; so are
    the standalone quotations just before it, which the same signature closes."""
    for i in range(len(passages) - 1, 1, -1):
        sig = passages[i]
        m = _SIGNATURE.match(sig.f)
        if not m or not sig.cands or sig.cands[0][0] > m.end() + 4 or len(sig.f) > 120:
            continue
        who = sig.cands[0][2]
        j = i - 1
        while j >= 1 and _standalone_quote(passages[j]):
            passages[j].signed = who
            j -= 1


def _standalone_quote(p: Passage) -> bool:
    """A passage that is nothing but one quotation."""
    return len(p.quotes) == 1 and p.quotes[0][0] == 0 and p.quotes[0][1] >= len(p.f.rstrip())


def _known_names(f: str, known: set[str], names: list[tx.Name],
                 mentions: list[tuple[int, int, Entity]]) -> list[tx.Name]:
    """Names of the body found in a headline-cased title ('Elon Musk Denies Speaking To …'),
    longest first, where no other name or mention already stands."""
    taken = [(n.start, n.end) for n in names] + [(s, e) for s, e, _ in mentions]
    out: list[tx.Name] = []
    for name in sorted(known, key=len, reverse=True):
        for m in re.finditer(rf"(?<![\w']){re.escape(name)}(?![\w-])", f):
            if not any(s < m.end() and m.start() < e for s, e in taken):
                out.append(tx.Name(name, m.start(), m.end(), False))
                taken.append((m.start(), m.end()))
    return out


def _drop_common_opener(n: tx.Name, common: set[str]) -> tx.Name | None:
    """A sentence-opening capital may be an ordinary word ('Screenwriter Aaron Sorkin',
    'Published claims'): drop it when the article also writes it in lower case."""
    first, _, rest = n.text.partition(" ")
    if n.start > 1:
        return n
    if not rest and len(first) >= 6 and first.lower().endswith(("ed", "ing", "ly")):
        return None  # 'Unconfirmed reports …', 'Speaking to …', 'Reportedly …'
    if first.lower() not in common:
        return n
    if not rest:
        return None
    return tx.Name(rest, n.end - len(rest), n.end, False)
