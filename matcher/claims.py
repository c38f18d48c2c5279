"""Claims: the tracked statements, and what the matcher needs to find them in an article.

Owns step 3's inputs: the claim's entities (given, or derived from its statement) and its
predicate words (given keywords, or the statement's content words).  A claim given only as a
sentence must work on articles nobody has seen, so its names come from the statement itself,
from the watchlist (whose aliases then count too) and, for a headline-cased statement whose
capitals say nothing, from how the article body writes each word.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from matcher import parties as pa
from matcher import text as tx
from matcher.parties import Entity


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str
    entities: tuple[Entity, ...]
    keywords: tuple[str, ...] = ()


_STOP = {
    "the", "a", "an", "has", "have", "had", "with", "to", "of", "in", "on", "at", "for", "and",
    "or", "but", "is", "are", "was", "were", "be", "been", "by", "from", "that", "this", "it",
    "its", "as", "he", "she", "they", "his", "her", "their", "will", "would", "could", "can",
    "did", "does", "do", "not", "about", "into", "over", "after", "before", "than", "then",
    "who", "what", "which", "said", "says", "say", "new", "also", "more", "up", "out", "just",
    "private", "secret", "secretly", "privately", "publicly", "allegedly", "reportedly",
}


# A sentence-only claim is reported in other words: 'held talks' as 'spoke', 'signed' as
# 'agreed a deal'.  Each group is the stems of one predicate's common paraphrases; light
# verbs ('held talks', 'took part') carry no predicate of their own.
_SYNONYMS = tuple(tuple(dict.fromkeys(tx.stem(w) for w in group.split())) for group in (
    ("talk talks spoke speak spoken conversation conversations discuss discussed discussion "
     "meet met meeting chat"),
    "sign signed agree agreed agreement deal contract",
    "die died dead death",
    "arrest arrested detain detained custody",
    "resign resigned resignation quit",
    "buy bought acquire acquired acquisition purchase purchased takeover",
    "donate donated donation donations fund funded funding contribution contributions",
    "marry married wed wedding marriage",
    "behead beheaded beheading execute executed execution",
    "kidnap kidnapped abduct abducted",
))
_LIGHT = frozenset({"hold", "make", "take", "get"})


@dataclass(frozen=True)
class ClaimSpec:
    """A claim prepared for matching: entities to require and predicate matcher."""

    claim: Claim
    entities: tuple[Entity, ...]
    need: int  # how many of `entities` must be in the window
    lemmas: frozenset[str]  # exact lemma match (given keywords)
    stems: tuple[str, ...]  # prefix match (derived from the statement)
    extra: pa.Watch | None = None  # matcher for derived entities that are not on the watchlist
    memo: dict[str, bool] = field(default_factory=dict)  # word -> is a predicate word

    def keyword_spans(self, f: str) -> list[tuple[int, int]]:
        """Spans of the claim's predicate words (any inflection) in a passage."""
        memo = self.memo
        hit_of: Callable[[str], bool] | None = None
        out = []
        for w, s, e in tx.word_spans(f):
            hit = memo.get(w)
            if hit is None:
                if hit_of is None:
                    hit_of = _stem_matcher(self.stems)
                forms = _FORMS.get(w)
                if forms is None:
                    forms = _forms(w)
                hit = memo[w] = forms[0] in self.lemmas or (
                    bool(self.stems) and hit_of(forms[1]))
            if hit:
                out.append((s, e))
        return out


def _stem_hit(st_: str, stems: tuple[str, ...]) -> bool:
    """Stem equality, or prefix for longer stems (negotiat- ~ negotiations)."""
    return any(st_ == k or (len(k) >= 5 and (st_.startswith(k) or k.startswith(st_))
                            and len(st_) >= 5) for k in stems)


@lru_cache(maxsize=1024)
def _stem_matcher(stems: tuple[str, ...]) -> Callable[[str], bool]:
    """`_stem_hit` against fixed `stems`, by set look-ups: equal to one of them, or (both at
    least 5 letters) a prefix of one, or one of them (of 5 or more letters) a prefix of it."""
    equal = frozenset(stems)
    longer = frozenset(k for k in stems if len(k) >= 5)
    heads = frozenset(k[:n] for k in longer for n in range(5, len(k) + 1))
    lengths = sorted({len(k) for k in longer})

    def hit(st_: str) -> bool:
        if st_ in equal:
            return True
        n = len(st_)
        if n < 5 or not longer:
            return False
        if st_ in heads:
            return True
        for i in lengths:
            if i > n:
                return False
            if st_[:i] in longer:
                return True
        return False

    return hit


_FORMS: dict[str, tuple[str, str]] = {}  # word -> (lemma, stem), one look-up for both


def _forms(w: str) -> tuple[str, str]:
    if len(_FORMS) >= 65536:
        _FORMS.clear()
    forms = _FORMS[w] = (tx.lemma(w), tx.stem(w))
    return forms


def prepare(claim: Claim, body: str, watch: pa.Watch) -> ClaimSpec:
    """The claim ready for one article (`watch`: the watchlist's entities).  Only a
    headline-cased, entity-less statement needs the article (its names are read off the
    body); every other claim is prepared once."""
    f = tx.fold(claim.statement)
    if claim.entities or not _headline_cased(f):
        try:
            return _prepare_cached(claim, watch)
        except TypeError:  # a claim built with lists is unhashable: prepare it afresh
            return _prepare(claim, claim.entities or _derive_entities(f, "", watch), watch)
    return _prepare(claim, _derive_entities(f, body, watch), watch)


@lru_cache(maxsize=256)
def _prepare_cached(claim: Claim, watch: pa.Watch) -> ClaimSpec:
    if claim.entities:
        return _prepare(claim, claim.entities, watch)
    return _prepare(claim, _derive_entities(tx.fold(claim.statement), "", watch), watch)


def _prepare(claim: Claim, entities: tuple[Entity, ...], watch: pa.Watch) -> ClaimSpec:
    """Given keywords -> lemmas; otherwise predicate words derived from the statement."""
    ent_words = {w.lower() for e in entities for f in (e.name, *e.aliases) for w in f.split()}
    lemmas: set[str] = set()
    for kw in claim.keywords:
        lemmas |= {tx.lemma(w) for w, _, _ in tx.words(tx.fold(kw))}
    stems: tuple[str, ...] = ()
    if not claim.keywords:
        content = [tx.stem(w) for w, _, _ in tx.words(tx.fold(claim.statement))
                   if w.lower() not in _STOP and w.lower() not in ent_words and len(w) > 2]
        content = [k for k in content if k not in _LIGHT]
        stems = tuple(dict.fromkeys(
            [*content, *(k for g in _SYNONYMS if any(map(_stem_matcher(g), content))
                         for k in sorted(g))]))
    # Derived names may be incidental ('in London') or missing from a paraphrase: half will do.
    need = len(entities) if claim.entities else max(1, (len(entities) + 1) // 2)
    # Derived names stay out of the article's name parsing ('Buckingham' must not cut
    # 'Buckingham Palace' short); they are matched on their own.
    unlisted = tuple(e for e in entities if e not in watch.entities)
    extra = pa.watch_for(unlisted) if unlisted and not claim.entities else None
    return ClaimSpec(claim, entities, need, frozenset(lemmas - {""}), stems, extra)


def _derive_entities(f: str, body: str, watch: pa.Watch) -> tuple[Entity, ...]:
    """Key entities of an entity-less claim: watchlist names and aliases in the statement
    (as those entities), then its other names.  In a headline-cased statement the capitals
    say nothing, so a word counts only if it is an acronym ('ISIS') or the body capitalises
    it mid-sentence and never writes it in lower case."""
    ents: list[Entity] = []
    rest = f
    for s, e, ent in watch.mentions(f):
        ents.append(ent)
        rest = rest[:s] + ";" * (e - s) + rest[e:]  # keeps offsets, breaks name runs
    if not _headline_cased(f):
        names = [n.text for n in tx.find_names(rest)]
    else:
        names = _headline_names(rest, tx.fold(body))
    for n in names:
        ents.append(watch.lookup(n) or Entity(n, _short_name(n)))
    return tuple(dict.fromkeys(ents))[:4]


_HEADLINE_SMALL = tx.word_set(
    "with from into onto upon over amid near than that this when what about after")


def _headline_cased(f: str) -> bool:
    """A statement whose capitals say nothing about names.  Short words and prepositions may
    stay lower case in a headline; a lower-case verb or noun in every fifth word means a
    sentence ('Christian Bale won't play Steve Jobs')."""
    if f.isupper():
        return True
    toks = [w for w, _, _ in tx.words(f) if len(w) > 3 and w.lower() not in _HEADLINE_SMALL]
    return len(toks) >= 3 and sum(1 for w in toks if w[0].isupper()) / len(toks) > 0.8


def _headline_names(f: str, body: str) -> list[str]:
    """Names in a headline-cased statement, told from ordinary words by the body: an acronym,
    or a word the body capitalises mid-sentence and never writes in lower case (in any
    inflection).  A word with no such evidence ends a name."""
    lower = _lower_stems(body)
    names: list[str] = []
    run: list[str] = []
    last_end = 0
    for w, s, e in tx.words(f):
        lw = w.lower().removesuffix("'s")
        if run and f[last_end:s].strip():  # punctuation ends a name
            names.append(" ".join(run))
            run = []
        last_end = e
        acronym = w.isupper() and 2 <= len(w) <= 6 and not f.isupper()
        form = "" if lw in tx.NOT_NAMES or lw in _STOP else \
            w.removesuffix("'s") if acronym else _capital_form(lw, body, lower)
        if form:
            run.append(form)
        elif run:
            names.append(" ".join(run))
            run = []
    if run:
        names.append(" ".join(run))
    return names


def _capital_form(lw: str, body: str, lower: frozenset[str]) -> str:
    """How the body writes a word it capitalises mid-sentence and never writes in lower case
    ('MUSK' -> 'Musk'), else ''.  A capital opening a sentence says nothing ('Graffiti …')."""
    if tx.stem(lw) in lower:
        return ""
    low = _ascii_lower(body)
    if low is not None and lw and lw.isascii():  # the search below, without compiling it
        n, end_word = len(body), _is_word(lw[-1])
        i = low.find(lw.lower())
        while i >= 0:
            e = i + len(lw)
            if i >= 2 and low[i - 1] == " " and low[i - 2] in _AFTER \
                    and end_word != (e < n and _is_word(body[e])):
                return body[i:e] if body[i].isupper() else ""
            i = low.find(lw.lower(), i + 1)
        return ""
    m = re.search(rf"(?<=[a-z,;] ){re.escape(lw)}\b", body, re.IGNORECASE)
    return m.group(0) if m and m.group(0)[0].isupper() else ""


_AFTER = frozenset("abcdefghijklmnopqrstuvwxyz,;")  # '[a-z,;]', case-insensitive, lowered


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


@lru_cache(maxsize=4)
def _ascii_lower(body: str) -> str | None:
    """A body's lower case when it is ASCII (then offsets and case-insensitive matching are
    those of the lowered copy), else None."""
    return body.lower() if body.isascii() else None


@lru_cache(maxsize=4)
def _lower_stems(body: str) -> frozenset[str]:
    """Stems of the words a body writes in lower case (shared by the claims of an article)."""
    return frozenset(tx.stem(w) for w in set(re.findall(r"\b[a-z][\w'\-]*", body)))


_PLACE_HEAD = {"new", "los", "las", "san", "santa", "united", "south", "north", "east", "west",
               "hong", "sri", "el", "saint", "st", "great", "royal", "national", "federal"}


def _short_name(name: str) -> tuple[str, ...]:
    """A person's surname stands for them ('Aas' for 'Henrik Aas'); a place's or an
    organisation's last word ('York', 'Commission') does not."""
    words = name.split()
    last = words[-1]
    if len(words) == 1 or len(last) < 3 or words[0].lower() in _PLACE_HEAD:
        return ()
    if {w.lower().strip(".") for w in words} & (pa.ORG_WORDS | pa.OUTLET_WORDS):
        return ()
    return (last,)
