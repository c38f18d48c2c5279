"""The matcher: pure functions from article text to findings about tracked claims.

No I/O here: text in, findings out. The daemon, `claimwatch match` and the tests all call
`match_article`.

Pipeline: clean + split into passages (title = 0) -> find watchlist mentions and capitalised
names -> per claim, mark passages whose +-1 window holds all claim entities and a predicate
word -> spot stance cues (`monitor.stance`) -> keep cues that govern the claim -> find who
holds each cue (quote speaker, reporting frame, grammatical subject) -> aggregate per party.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum

from monitor import stance as st
from monitor import text as tx


class Stance(StrEnum):
    CONFIRMS = "confirms"
    DENIES = "denies"
    DISCUSSES = "discusses"
    UNRELATED = "unrelated"


@dataclass(frozen=True)
class Entity:
    """A watchlisted person or organisation; a party found under an alias is reported by `name`."""

    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str
    entities: tuple[Entity, ...]
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One party's stance on one claim in one article, with the sentence that carries it."""

    claim_id: str
    stance: Stance
    party: str  # entity name, or a person/organisation/outlet named in the text; "" if nobody
    party_kind: str  # "entity" | "person" | "organisation" | "outlet" | "unknown"
    quote: str  # the sentence (or quoted words) that carries the stance
    cue: str  # the words that decided the stance, e.g. "denied", "only one ... call"
    sentence: int  # index of the sentence in the article (title is sentence 0)
    score: float = 0.0  # strength of the deciding cue (higher = more explicit)
    # Only on the party-less `discusses` finding: DENIES when the article's own/anonymous voice
    # debunks the claim ("the story is a hoax"), which is never turned into a party alert.
    unattributed: Stance | None = None


# --------------------------------------------------------------------------- parties

OUTLET_WORDS = {
    "journal", "times", "post", "news", "reuters", "ap", "afp", "bbc", "cnn", "bloomberg",
    "guardian", "telegraph", "tribune", "herald", "gazette", "axios", "politico", "newsweek",
    "economist", "wire", "press", "radio", "tv", "television", "insider", "mail", "observer",
    "chronicle", "magazine", "nbc", "abc", "cbs", "fox", "msnbc", "npr", "tass", "interfax",
    "ria", "xinhua", "kommersant", "newsletter", "semafor", "huffpost", "vox", "wsj", "nyt",
    "ft", "dpa", "efe", "ansa", "yonhap", "kyodo", "al-jazeera", "jazeera", "sky", "daily",
}
ORG_WORDS = {
    "group", "ministry", "kremlin", "inc", "corp", "corporation", "ltd", "llc", "plc",
    "company", "bank", "council", "commission", "department", "agency", "office", "party",
    "union", "association", "institute", "university", "club", "fc", "united", "committee",
    "foundation", "government", "parliament", "senate", "congress", "court", "police",
    "army", "navy", "pentagon", "house", "palace", "federation", "league", "authority",
    "board", "bureau", "service", "services", "holdings", "partners", "capital", "labs",
    "motors", "airlines", "systems", "technologies", "uefa", "fifa", "nato", "organization",
    "organisation",
}


@dataclass(frozen=True)
class Party:
    name: str
    kind: str


def _kind(name: str) -> str:
    """Outlet / organisation / person from the words of a name (heuristic by design)."""
    toks = {t.lower().strip(".") for t in name.split()}
    if toks & OUTLET_WORDS:
        return "outlet"
    if toks & ORG_WORDS or (name.isupper() and len(name) <= 6) or len(toks) == 1:
        return "organisation"  # a lone word never given in full is rarely a person
    return "person"


def _one_letter_typo(a: str, b: str) -> bool:
    """Same-length words differing by one substituted letter (possibly doubled: mm/nn)."""
    if a == b or len(a) != len(b) or len(a) < 5 or a[0] != b[0]:
        return False
    diffs = {(x, y) for x, y in zip(a.lower(), b.lower()) if x != y}
    return len(diffs) == 1


class _Watch:
    """Case-aware alias matcher for watchlisted entities (one regex for all of them)."""

    def __init__(self, entities: list[Entity]) -> None:
        self.entities = entities
        self.by_form: dict[str, Entity] = {}
        self.by_variant: dict[str, Entity] = {}
        lowers: dict[str, Entity] = {}
        for ent in entities:
            for f in (ent.name, *ent.aliases):
                f = tx.fold(f.strip())
                if not f:
                    continue
                self.by_form.setdefault(f.lower(), ent)
                for v in (f, f.upper(), f.title()) + ((f.lower(),) if " " in f else ()):
                    self.by_variant.setdefault(v, ent)
                if " " not in f:
                    lowers.setdefault(f.lower(), ent)
        self.by_lower = {k: v for k, v in lowers.items() if k not in self.by_variant}
        self.exact = _alias_re(sorted(self.by_variant, key=len, reverse=True))
        self.lower = _alias_re(sorted(self.by_lower, key=len, reverse=True))

    def mentions(self, text: str) -> list[tuple[int, int, Entity]]:
        """(start, end, entity) of every mention, longest first, non-overlapping."""
        if not self.by_variant:
            return []
        found = [(m.start(), m.end(), self.by_variant[m.group(0)])
                 for m in self.exact.finditer(text)]
        if self.by_lower:
            found += [(m.start(), m.end(), self.by_lower[m.group(0)])
                      for m in self.lower.finditer(text)
                      if _lowercase_context(text, m.start(), m.end())]
            found.sort(key=lambda x: (x[0], -(x[1] - x[0])))
        out: list[tuple[int, int, Entity]] = []
        for s, e, ent in found:
            if not out or s >= out[-1][1]:
                out.append((s, e, ent))
        return out

    def lookup(self, name: str) -> Entity | None:
        return self.by_form.get(tx.fold(name).lower())


def _alias_re(forms: list[str]) -> re.Pattern[str]:
    """Word-bounded alternation; a trailing possessive ('s / ’s / ') is allowed."""
    alt = "|".join(re.escape(f) for f in forms) or "(?!x)x"
    return re.compile(rf"(?<![\w'])(?:{alt})(?=(?:'s?)?(?![\w]))")


def _lowercase_context(text: str, s: int, e: int) -> bool:
    """A lower-case single-word alias counts only in lower-case writing (tweets, chat)."""
    around = tx.words(text[max(0, s - 50):s]) [-6:] + tx.words(text[e:e + 50])[:6]
    return not any(w[0].isupper() and w != "I" for w, _, _ in around)


class _Resolver:
    """Article-level name resolution: short names, acronyms and typos to the full name."""

    def __init__(self, names: list[tx.Name], watch: _Watch) -> None:
        self.watch = watch
        self.fulls: list[str] = []
        self.with_the: set[str] = set()
        self.cache: dict[str, Party] = {}
        for n in names:
            if " " in n.text and n.text not in self.fulls:
                self.fulls.append(n.text)
        for n in names:
            if n.the:
                self.with_the.add(self._key(n.text))

    def _key(self, name: str) -> str:
        if " " in name:
            return name
        if name.isupper() and 2 <= len(name) <= 6:
            for full in self.fulls:
                initials = "".join(w[0] for w in full.split()
                                   if w.lower() not in {"the", "of", "and", "&", "for"})
                if initials.upper() == name:
                    return full
        ends = [full for full in self.fulls if full.split()[-1] == name]
        if ends:  # the plainest full form: 'Aaron Sorkin' over 'Screenwriter Aaron Sorkin'
            return min(ends, key=len)
        for full in self.fulls:
            if _one_letter_typo(full.split()[-1], name):
                return full
        return name

    def party(self, name: str) -> Party:
        if name not in self.cache:
            self.cache[name] = self._party(name)
        return self.cache[name]

    def _party(self, name: str) -> Party:
        ent = self.watch.lookup(name)
        if ent:
            return Party(ent.name, "entity")
        key = self._key(name)
        ent = self.watch.lookup(key)
        if ent:
            return Party(ent.name, "entity")
        kind = _kind(key)
        if kind == "outlet" and key in self.with_the and " " in key and not key.startswith("The "):
            return Party(f"The {key}", kind)
        return Party(key, kind)


# --------------------------------------------------------------------------- passages

@dataclass
class _Passage:
    """A sentence (or multi-sentence quotation) with what the matcher needs to know about it.
    Cues, the quote speaker and the pronoun antecedent are computed on first use, so passages
    that no claim references cost little."""

    index: int
    text: str
    f: str  # folded copy, same offsets
    quotes: list[tuple[int, int]]
    cands: list[tuple[int, int, Party]]  # named parties outside quotes
    mentions: list[tuple[int, int, Entity]]
    question: bool
    prev: _Passage | None = None
    source_tag: tuple[int, int, Party] | None = None
    frames: list[tuple[st.Cue, Party | None]] | None = None  # cache for `_frames`
    _cues: list[st.Cue] | None = None
    _speaker: tuple[Party | None] | None = None
    _antecedent: tuple[Party | None] | None = None

    @property
    def cues(self) -> list[st.Cue]:
        if self._cues is None:
            self._cues = st.find_cues(self.f)
        return self._cues

    @property
    def speaker(self) -> Party | None:
        """Who speaks the quotations in this passage."""
        if self._speaker is None:
            self._speaker = (_quote_speaker(self, self.prev),)
        return self._speaker[0]

    @property
    def antecedent(self) -> Party | None:
        """Who 'he'/'she' most likely is: the previous sentence's topic."""
        if self._antecedent is None:
            self._antecedent = (_topic(self.prev, 3) if self.prev and self.index > 1 else None,)
        return self._antecedent[0]

    def in_quote(self, pos: int) -> bool:
        return any(s < pos < e for s, e in self.quotes)

    def quote_at(self, pos: int) -> tuple[int, int] | None:
        return next(((s, e) for s, e in self.quotes if s < pos < e), None)


_SOURCE_TAG = re.compile(r"\s[\u2013\u2014-]\s+([A-Z][\w.&']*(?:\s+[A-Z][\w.&']*){0,3})\s*$")


def _build_passages(title: str, text: str, watch: _Watch) -> list[_Passage]:
    """Title + body sentences, with mentions, names, cues and quote speakers resolved."""
    head = re.sub(r"\s+", " ", tx.clean(title)).strip()
    sents = [head] + tx.split_sentences(tx.clean(text))
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
    resolver = _Resolver(all_names, watch)
    passages: list[_Passage] = []
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
        p = _Passage(i, s, f, quotes, cands, mentions,
                     outside.rstrip().endswith("?") or (i == 0 and f.rstrip().endswith("?")),
                     passages[-1] if passages else None)
        tag = _SOURCE_TAG.search(f) if i == 0 else None
        if tag:
            p.source_tag = (tag.start(), tag.end(), resolver.party(tag.group(1)))
        passages.append(p)
    return passages


def _topic(prev: _Passage, depth: int) -> Party | None:
    """The person a following 'he'/'she' refers to: the previous sentence's speaker, else its
    sentence-initial named subject, else what that sentence's pronoun referred to."""
    if prev.speaker and prev.speaker.kind in ("person", "entity"):
        return prev.speaker
    first = next((c for c in prev.cands if c[0] <= 30), None)
    if first and first[2].kind in ("person", "entity"):
        return first[2]
    if depth > 1 and prev.prev and prev.index > 1:
        return _topic(prev.prev, depth - 1)
    return None


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


# --------------------------------------------------------------------------- who holds a cue

_GAP = re.compile(
    r"^(?:'s?)?[\s,]*(?:(?:is|was|were|are|has|have|had|also|later|then|now|first|again|since"
    r"|already|itself|himself|herself|themselves|did|does|do|would|will|could|can|may|might"
    r"|must|should|not|\w+n't|never|no|longer|be|been|being|on|in|at|a|an|the|statement"
    r"|interview|its|his|her|their|who|last|this|week|month|year|morning|afternoon|evening|night"
    r"|earlier|today|yesterday|tonight|\w+ly|\w+day|\d+|spokes(?:man|woman|person|people)"
    r"|officials?|representatives?|press|secretary|office|lawyers?|attorneys?|agents?)\b[\s,]*)*$",
    re.I,
)
_APPOSITIVE = re.compile(
    r",\s*(?:who|which|whose|the|a|an)\b[^,\"“”]{0,120},\s*"
    r"(?:(?:has|have|had|is|was|were|also|later|then|\w+ly)\s+)*$", re.I)
_PRONOUN = re.compile(r"(?:^|[\s,\"”])(?:he|she)\s+(?:\w+\s+){0,2}$", re.I)
_AFTER_PRONOUN = re.compile(r"^.*\b(?:he|she)\b", re.I | re.S)
_PASSIVE = re.compile(r"\b(?:was|were|been|is|are|being)\s+(?:\w+ly\s+|first\s+|also\s+)?$", re.I)
_STANCE_VERB = re.compile(r"^(?:confirm|acknowledg|admit|stand|stood|doubl)", re.I)


def _subject(p: _Passage, pos: int, end: int) -> Party | None:
    """Grammatical subject of the verb at [pos, end): nearest name to the left, passive agent,
    or inverted subject ('said Peskov'); None for descriptions ('the billionaire')."""
    left = p.f[:pos]
    while (m := _APPOSITIVE.search(left, max(0, len(left) - 160))) is not None:
        left = left[:m.start()]
    if _is_passive(p, pos, end):
        return _passive_agent(p, end)
    tail = left[-40:]
    if _PRONOUN.search(tail) and _GAP.match(_AFTER_PRONOUN.sub("", tail)):
        return p.antecedent  # '“…,” she said' -> the person the text was just about
    prior = [c for c in p.cands if c[1] <= len(left)]
    if prior and _GAP.match(left[prior[-1][1]:]) and _not_object(left[:prior[-1][0]]):
        return prior[-1][2]
    nxt = next((c for c in p.cands if c[0] >= end), None)
    inverted = not re.match(r"tel|tol", p.f[pos:end], re.I) \
        and re.search(r"(?:^|[,\"”:])\s*$", left[-20:])  # '“…,” said Peskov', not 'told Peskov'
    if nxt and inverted and re.fullmatch(r"\s*(?:the\s+)?", p.f[end:nxt[0]], re.I):
        return nxt[2]
    return None


_PARTICIPLE = re.compile(r"(?:ed|en|told|said|held|wrote|written|shot|made)$", re.I)
_PREP_BEFORE = re.compile(r"\b(?:to|of|for|with|in|at|from|by|on|about|against|between|"
                          r"and|than)\s+(?:the\s+)?$", re.I)
_SPOKES_BEFORE = re.compile(r"\b(?:spokes(?:man|woman|person)|representatives?|lawyers?|"
                            r"attorneys?|officials?|office)\s+(?:for|of)\s+(?:the\s+)?$", re.I)


def _is_passive(p: _Passage, pos: int, end: int) -> bool:
    """'was reported' / 'were cited' (not the progressive 'is denying')."""
    return bool(_PARTICIPLE.search(p.f[pos:end])) \
        and bool(_PASSIVE.search(p.f[max(0, pos - 40):pos]))


def _not_object(before: str) -> bool:
    """A name after a preposition ('ambassador to Germany') is not the subject, except the
    principal of a spokesperson ('a spokesman for Tesla')."""
    before = before[-60:]
    return not _PREP_BEFORE.search(before) or bool(_SPOKES_BEFORE.search(before))


def _passive_agent(p: _Passage, end: int) -> Party | None:
    """'was first reported in a newsletter from Ian Bremmer' -> Ian Bremmer."""
    for s, _, party in p.cands:
        gap = p.f[end:s]
        if end <= s and _AGENT_GAP.match(gap) and not _AGENT_STOP.search(gap):
            return party
    return None


_AGENT_GAP = re.compile(r"^(?:\s+[\w'-]+){0,5}?\s+(?:by|from)\s+(?:the\s+)?$", re.I)
_AGENT_STOP = re.compile(r"[.;,\"“”]|\b(?:and|had|has|was|were|been|is|are|but)\b", re.I)


_COORDINATED = re.compile(r"\b(?:but|and|yet)\s+(?:also\s+|later\s+|then\s+)?$", re.I)


def _participle(p: _Passage, cue: st.Cue) -> bool:
    """', saying …' / ', citing …' / '… but said …': the subject is the main clause's."""
    before = p.f[max(0, cue.start - _neg_len(cue) - 30):cue.start - _neg_len(cue)]
    return (cue.text.lower().endswith("ing") and before.rstrip().endswith(",")) \
        or bool(_COORDINATED.search(before))


def _main_subject(p: _Passage) -> Party | None:
    """Subject of the first stance/speech verb outside quotes that has a named subject."""
    for c in p.cues:
        if c.role in ("verb", "speech", "retract") and not p.in_quote(c.start) \
                and not _participle(p, c):
            who = _subject(p, c.start - _neg_len(c), c.end)
            if who:
                return who
    first = p.cands[0] if p.cands else None  # else the sentence-initial name, if any
    return first[2] if first and not p.f[:first[0]].strip(" \"“'(").strip() else None


def _neg_len(c: st.Cue) -> int:
    """Length of the negation words included in a cue's text before its verb."""
    return max(0, len(c.text) - (c.end - c.start))


def _own_holder(p: _Passage, c: st.Cue) -> Party | None:
    """Holder of a verb cue from its own grammar."""
    if c.text.lower() == "according to":
        for s, _, party in p.cands:
            if s >= c.end and re.fullmatch(
                    r"\s*(?:(?:a|an|the|reports?|statement|in|by|from|\w+'s)\s+)*", p.f[c.end:s]):
                return party
        return None
    if _participle(p, c):
        return _main_subject(p)
    return _subject(p, c.start - _neg_len(c), c.end)


def _quote_speaker(p: _Passage, prev: _Passage | None) -> Party | None:
    """Who speaks the quotations in a passage; an attribution-less quote continues the last."""
    if not p.quotes:
        return None
    for c in p.cues:
        if c.role in ("speech", "verb") and not p.in_quote(c.start) and \
                (c.role == "speech" or c.kind == "confirm"):
            return _own_holder(p, c)
    if prev and prev.quotes and p.f.lstrip()[:1] in "\"“":
        return prev.speaker
    return None


def _frames(p: _Passage) -> list[tuple[st.Cue, Party | None]]:
    """Reporting frames outside quotes: speech/report verbs and 'according to' (cached)."""
    if p.frames is None:
        p.frames = _find_frames(p)
    return p.frames


def _find_frames(p: _Passage) -> list[tuple[st.Cue, Party | None]]:
    out = []
    for c in p.cues:
        if p.in_quote(c.start):
            continue
        if c.role == "speech" or c.role == "according" or \
                (c.role == "verb" and c.kind != "deny" and not _STANCE_VERB.match(c.text)):
            out.append((c, _own_holder(p, c)))
    return out


def _framed_holder(p: _Passage, c: st.Cue) -> tuple[bool, Party | None]:
    """(covered, holder) of the outermost reporting frame covering a cue."""
    frames = [(f, h) for f, h in _frames(p) if f is not c]
    for f, h in frames:  # preposed first (outermost), then a frame closing the sentence
        cs, ce = _complement(p, f)
        if cs <= c.start < ce and (f.end <= c.start or f.text.lower() == "according to"):
            return True, h
    for f, h in frames:
        cs, ce = _complement(p, f)
        if f.start >= c.end and cs <= c.start < ce:
            return True, h
    if p.source_tag:
        return True, p.source_tag[2]
    return False, None


def _holder(p: _Passage, c: st.Cue) -> Party | None:
    """Who asserts a cue: quote speaker, outer frame, or the verb's own subject."""
    if p.in_quote(c.start):
        return p.speaker
    own_stance = c.role == "retract" or (
        c.role == "verb" and (c.kind == "deny" or bool(_STANCE_VERB.match(c.text))))
    if own_stance or c.role == "according":
        return _own_holder(p, c)
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


# --------------------------------------------------------------------------- claims

_STOP = {
    "the", "a", "an", "has", "have", "had", "with", "to", "of", "in", "on", "at", "for", "and",
    "or", "but", "is", "are", "was", "were", "be", "been", "by", "from", "that", "this", "it",
    "its", "as", "he", "she", "they", "his", "her", "their", "will", "would", "could", "can",
    "did", "does", "do", "not", "about", "into", "over", "after", "before", "than", "then",
    "who", "what", "which", "said", "says", "say", "new", "also", "more", "up", "out", "just",
    "private", "secret", "secretly", "privately", "publicly", "allegedly", "reportedly",
}


@dataclass(frozen=True)
class _ClaimSpec:
    """A claim prepared for matching: entities to require and predicate matcher."""

    claim: Claim
    entities: tuple[Entity, ...]
    need: int  # how many of `entities` must be in the window
    lemmas: frozenset[str]  # exact lemma match (given keywords)
    stems: tuple[str, ...]  # prefix match (derived from the statement)
    extra: _Watch | None = None  # matcher for derived entities (not on the watchlist)
    memo: dict[str, bool] = field(default_factory=dict)  # word -> is a predicate word

    def keyword_spans(self, f: str) -> list[tuple[int, int]]:
        """Spans of the claim's predicate words (any inflection) in a passage."""
        out = []
        for w, s, e in tx.words(f):
            hit = self.memo.get(w)
            if hit is None:
                hit = self.memo[w] = tx.lemma(w) in self.lemmas or (
                    bool(self.stems) and _stem_hit(tx.stem(w), self.stems))
            if hit:
                out.append((s, e))
        return out


def _stem_hit(st_: str, stems: tuple[str, ...]) -> bool:
    """Stem equality, or prefix for longer stems (negotiat- ~ negotiations)."""
    return any(st_ == k or (len(k) >= 5 and (st_.startswith(k) or k.startswith(st_))
                            and len(st_) >= 5) for k in stems)


def _prepare(claim: Claim, body: str) -> _ClaimSpec:
    """Given keywords -> lemmas; otherwise predicate words derived from the statement."""
    entities = claim.entities or _derive_entities(claim.statement, body)
    ent_words = {w.lower() for e in entities for f in (e.name, *e.aliases) for w in f.split()}
    lemmas: set[str] = set()
    for kw in claim.keywords:
        lemmas |= {tx.lemma(w) for w, _, _ in tx.words(tx.fold(kw))}
    stems: tuple[str, ...] = ()
    if not claim.keywords:
        content = [w for w, _, _ in tx.words(tx.fold(claim.statement))
                   if w.lower() not in _STOP and w.lower() not in ent_words and len(w) > 2]
        stems = tuple(dict.fromkeys(tx.stem(w) for w in content))
    need = len(entities) if claim.entities else max(1, (len(entities) + 1) // 2)
    extra = None if claim.entities else _Watch(list(entities))
    return _ClaimSpec(claim, tuple(entities), need, frozenset(lemmas - {""}), stems, extra)


def _derive_entities(statement: str, body: str) -> tuple[Entity, ...]:
    """Key entities of an entity-less claim: its names.  In a headline-cased statement the
    capitals say nothing, so a word counts only if the body capitalises it mid-sentence and
    never writes it in lower case."""
    f = tx.fold(statement)
    if not (tx.is_title_case(f) or f.isupper()):
        names = [n.text for n in tx.find_names(f)]
    else:
        fb = tx.fold(body)
        lower = set(re.findall(r"\b[a-z][\w'\-]*", fb))
        capital = {w.lower() for w in re.findall(r"(?<=[a-z,;] )[A-Z][\w'\-]*", fb)}
        names, run = [], []
        for w, _, _ in tx.words(f):
            lw = tx.fold(w).lower().removesuffix("'s")
            if lw in capital and lw not in lower and lw not in tx.NOT_NAMES:
                run.append(_body_form(lw, fb))
            elif run:
                names.append(" ".join(run))
                run = []
        if run:
            names.append(" ".join(run))
    ents = []
    for n in dict.fromkeys(names):
        last = n.split()[-1]
        ents.append(Entity(n, (last,) if " " in n and len(last) > 3 else ()))
    return tuple(ents[:4])


def _body_form(lw: str, body: str) -> str:
    """How the body spells a word (so 'MUSK' in a caps headline matches 'Musk')."""
    m = re.search(rf"\b{re.escape(lw)}\b", body, re.I)
    return m.group(0) if m else lw


def _referenced(spec: _ClaimSpec, passages: list[_Passage],
                kw: list[list[tuple[int, int]]]) -> list[bool]:
    """Passages whose +-1 window holds the required entities and a predicate word."""
    names = {e.name for e in spec.entities}
    present: list[set[str]] = []
    for p in passages:
        here = {ent.name for _, _, ent in p.mentions} & names
        if spec.extra:
            here |= {ent.name for _, _, ent in spec.extra.mentions(p.f)}
        present.append(here)
    out = []
    for i in range(len(passages)):
        lo, hi = max(0, i - 1), min(len(passages), i + 2)
        ents = set().union(*present[lo:hi])
        out.append(len(ents) >= spec.need and any(kw[lo:hi]) and
                   bool(present[i] or kw[i] or _has_anaphor(passages[i].f)))
    return out


def _has_anaphor(f: str) -> bool:
    return bool(st.ANAPHORS.search(f)) or bool(st.DENY_ADJ.search(f))


# --------------------------------------------------------------------------- governance

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


def _governs(spec: _ClaimSpec, p: _Passage, c: st.Cue, kw: list[tuple[int, int]],
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
        return bool(head) and _hits(kw, c.end, c.end + head.end())
    if c.role == "negpred":
        return True
    if c.role == "hedge":
        return False
    if c.role == "speech":  # what was said must assert the predicate about the other party
        cs, ce = _complement(p, c)
        return _hits(others, cs, ce) and any(
            cs <= a and b <= ce and _asserted(p.f, a) for a, b in kw)
    s, e = _scope(p.f, c.end)
    anaphor = any(len(p.f[s:m.start()].split()) <= 5 for m in st.ANAPHORS.finditer(p.f, s, e))
    definite = any(re.search(r"\b(?:the|this|that|these|those|such)\s+$", p.f[s:a])
                   and len(p.f[s:a].split()) <= 5 for a, _ in kw if s <= a < e)
    if anaphor or definite:  # 'stands by his report', 'confirmed the meeting'
        return True
    cs, ce = _complement(p, c)  # what was said must carry the predicate and the other party
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


def _complement(p: _Passage, c: st.Cue) -> tuple[int, int]:
    """What a reporting verb reports: the quote it attributes, the clause after it ('said
    that …'), or, when it closes the sentence ('…, Reuters reported.'), the text before it."""
    if p.in_quote(c.start):
        return (0, len(p.f))
    before = [q for q in p.quotes if q[1] <= c.start]
    if before and not any(qs > c.end for qs, _ in p.quotes) \
            and not re.match(r"[^.;:]{0,40}?\b(?:that|:)", p.f[c.end:]):
        return (before[0][0], before[-1][1])  # '“…,” Peskov told journalists': the quote
    if c.text.lower() == "according to" or _is_passive(p, c.start, c.end):
        return (0, len(p.f))  # passive: the reported thing is the subject before the verb
    tail = p.f[c.end:]
    if re.match(r"^(?:\s+(?:(?:on|in|at|last|this|earlier|late)\s+\w+|\w+day|\w+ly|\d+))*"
                r"\s*(?:[.;]|,\s*(?:citing|adding|saying)|$)", tail):
        return (0, c.start)
    return (c.end, len(p.f))


def _sentence_bounds(f: str, pos: int) -> tuple[int, int]:
    s = max(f.rfind(ch, 0, pos) for ch in ".!?;") + 1
    ends = [i for i in (f.find(ch, pos) for ch in ".!?;") if i >= 0]
    return s, (min(ends) if ends else len(f))


# --------------------------------------------------------------------------- aggregation

_RANK = {"deny": 3, "confirm": 2, "discuss": 1}
_STANCE = {"deny": Stance.DENIES, "confirm": Stance.CONFIRMS, "discuss": Stance.DISCUSSES}


@dataclass
class _Vote:
    party: Party | None
    kind: str
    cue: st.Cue
    passage: _Passage


def _votes(spec: _ClaimSpec, p: _Passage, kw: list[tuple[int, int]]) -> list[_Vote]:
    """Stance votes of one referencing passage, each with its holder."""
    cues = list(p.cues) + st.negated_predicates(p.f, kw)
    if p.source_tag and kw:
        s, e, party = p.source_tag
        cues.append(st.Cue("confirm", "tag", s, e, p.f[s:e].strip(), 1.5))
    votes: list[_Vote] = []
    for c in cues:
        holder = p.source_tag[2] if c.role == "tag" and p.source_tag else _holder(p, c)
        if c.role != "tag" and not _governs(spec, p, c, kw, holder):
            continue
        if c.role in ("verb", "speech") and holder is None and _is_passive(p, c.start, c.end):
            continue
        if c.role in ("verb", "speech") and _is_passive(p, c.start, c.end) \
                and p.in_quote(c.start) and _passive_agent(p, c.end) is None:
            continue
        if c.role == "partial":  # show the cue up to the predicate: 'only one phone call'
            end = next((e for s_, e in kw if c.end <= s_ <= c.end + 25), c.end)
            c = replace(c, end=end, text=p.f[c.start:end])
        kind = "discuss" if p.question else c.kind
        votes.append(_Vote(holder, kind, c, p))
    deniers = [v for v in votes if v.kind == "deny" and v.cue.role in ("verb", "noun")]
    for v in votes:  # "Reuters reported that the Kremlin denied …": Reuters only relays it
        if v.kind == "confirm" and any(d.party != v.party and d.cue.start > v.cue.start
                                       for d in deniers):
            v.kind = "discuss"
    return votes


def _better(a: _Vote, b: _Vote) -> bool:
    """Explicit denial outranks a weaker confirmation; then cue strength; then earlier."""
    ka = (_RANK[a.kind], a.cue.strength, -a.passage.index)
    kb = (_RANK[b.kind], b.cue.strength, -b.passage.index)
    return ka > kb


def _display_quote(p: _Passage, c: st.Cue) -> str:
    return p.text if len(p.text) <= 600 else p.text[max(0, c.start - 250):c.end + 250]


def _finding(spec: _ClaimSpec, v: _Vote) -> Finding:
    party = v.party
    return Finding(spec.claim.id, _STANCE[v.kind], party.name if party else "",
                   party.kind if party else "unknown", _display_quote(v.passage, v.cue),
                   v.passage.text[v.cue.start - _neg_len(v.cue):v.cue.end]
                   if v.cue.role != "tag" else v.cue.text,
                   v.passage.index, v.cue.strength)


def _match_claim(spec: _ClaimSpec, passages: list[_Passage],
                 outlet: str | None) -> list[Finding]:
    kw = [spec.keyword_spans(p.f) for p in passages]
    refs = _referenced(spec, passages, kw)
    if not any(refs):
        return []
    best: dict[Party, _Vote] = {}
    voice: list[_Vote] = []
    for p, ref in zip(passages, refs):
        if not ref:
            continue
        for v in _votes(spec, p, kw[p.index]):
            if v.party is None or _publisher_only(v, outlet):
                voice.append(v)
                continue
            if v.party not in best or _better(v, best[v.party]):
                best[v.party] = v
    out = [_finding(spec, v) for v in best.values()]
    if not any(f.stance in (Stance.CONFIRMS, Stance.DENIES) for f in out):
        out.append(_discussion(spec, passages, refs, kw, voice))
    return sorted(out, key=lambda f: (f.sentence, f.party))


def _publisher_only(v: _Vote, outlet: str | None) -> bool:
    """The publishing outlet is a party only where the text names it as the reporter
    ('The Moscow Times reported …'); any other vote for it is the outlet's own voice."""
    if not outlet or v.party is None:
        return False
    norm = lambda s: re.sub(r"^the\s+", "", s.strip().lower())  # noqa: E731
    same = norm(v.party.name) == norm(outlet) or norm(outlet).startswith(norm(v.party.name) + " ")
    named_reporter = v.cue.role in ("verb", "according") and v.kind == "confirm" \
        and not v.passage.in_quote(v.cue.start)
    return same and not named_reporter


def _discussion(spec: _ClaimSpec, passages: list[_Passage], refs: list[bool],
                kw: list[list[tuple[int, int]]], voice: list[_Vote]) -> Finding:
    """The one anonymous 'discusses' finding of an article that references the claim."""
    denial = next((v for v in voice if v.kind == "deny" and v.cue.strength >= 2.5), None)
    if denial:
        f = _finding(spec, denial)
        return Finding(f.claim_id, Stance.DISCUSSES, "", "unknown", f.quote, f.cue, f.sentence,
                       0.5, Stance.DENIES)
    idx = [i for i, r in enumerate(refs) if r]
    i = next((i for i in idx if kw[i] and any(e.name in {m[2].name for m in passages[i].mentions}
                                               for e in spec.entities)), idx[0])
    p = passages[i]
    hedge = next((c for c in p.cues if c.role == "hedge"), None)
    cue = hedge.text if hedge else (p.f[kw[i][0][0]:kw[i][0][1]] if kw[i] else "")
    return Finding(spec.claim.id, Stance.DISCUSSES, "", "unknown", p.text, cue, p.index, 0.5,
                   Stance.DISCUSSES)


# --------------------------------------------------------------------------- entry point

def match_article(
    title: str,
    text: str,
    claims: tuple[Claim, ...] | list[Claim],
    entities: tuple[Entity, ...] | list[Entity] = (),
    outlet: str | None = None,
) -> list[Finding]:
    """Find every party's stance on every claim the article references."""
    watch_list: dict[str, Entity] = {}
    for e in (*entities, *(e for c in claims for e in c.entities)):
        watch_list.setdefault(e.name, e)
    watch = _Watch(list(watch_list.values()))
    specs = [_prepare(claim, text or "") for claim in claims]
    whole = tx.fold(f"{title}\n{text}")
    present = {ent.name for _, _, ent in watch.mentions(whole)}
    live = [sp for sp in specs if _may_reference(sp, whole, present)]
    if not live:  # most articles mention no tracked claim: skip the costly analysis
        return []
    passages = _build_passages(title or "", text or "", watch)
    findings: list[Finding] = []
    for spec in live:
        findings += _match_claim(spec, passages, outlet)
    return findings


def _may_reference(spec: _ClaimSpec, whole: str, present: set[str]) -> bool:
    """Cheap article-level pre-check: enough claim entities occur somewhere."""
    found = {e.name for e in spec.entities} & present
    if spec.extra:
        found |= {ent.name for _, _, ent in spec.extra.mentions(whole)}
    return len(found) >= spec.need > 0
