"""Parties: who is named in an article.

Owns the naming step of the decision: watchlist aliases (`Watch`), capitalised names resolved
across the article (short names, acronyms, one-letter typos) and classed as entity / person /
organisation / outlet (`Resolver`).  Who *holds* a cue is `matcher.attribution`'s job.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from matcher import text as tx

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
class Entity:
    """A watchlisted person or organisation; a party found under an alias is reported by `name`."""

    name: str
    aliases: tuple[str, ...] = ()


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


class Watch:
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
        self._exact_forms = sorted(self.by_variant, key=len, reverse=True)
        self._lower_forms = sorted(self.by_lower, key=len, reverse=True)
        self._exact_re: re.Pattern[str] | None = None
        self._lower_re: re.Pattern[str] | None = None

    @property
    def exact(self) -> re.Pattern[str]:
        """The alias regex (compiled on first use: a few aliases are scanned without it)."""
        if self._exact_re is None:
            self._exact_re = _alias_re(self._exact_forms)
        return self._exact_re

    @property
    def lower(self) -> re.Pattern[str]:
        if self._lower_re is None:
            self._lower_re = _alias_re(self._lower_forms)
        return self._lower_re

    def _find(self, text: str, lower: bool) -> list[tuple[int, int, str]]:
        """(start, end, form) of what the alias regex finds, by `str.find` for a few aliases."""
        forms = self._lower_forms if lower else self._exact_forms
        if len(forms) > _FEW_FORMS:
            return [(m.start(), m.end(), m.group(0))
                    for m in (self.lower if lower else self.exact).finditer(text)]
        return _scan_aliases(text, forms)

    def mentions(self, text: str) -> list[tuple[int, int, Entity]]:
        """(start, end, entity) of every mention, longest first, non-overlapping."""
        if not self.by_variant:
            return []
        found = [(s, e, self.by_variant[g]) for s, e, g in self._find(text, False)]
        if self.by_lower:
            found += [(s, e, self.by_lower[g]) for s, e, g in self._find(text, True)
                      if _lowercase_context(text, s, e)]
            found.sort(key=lambda x: (x[0], -(x[1] - x[0])))
        out: list[tuple[int, int, Entity]] = []
        for s, e, ent in found:
            if not out or s >= out[-1][1]:
                out.append((s, e, ent))
        return out

    def lookup(self, name: str) -> Entity | None:
        return self.by_form.get(tx.fold(name).lower())


def watch_for(entities: tuple[Entity, ...]) -> Watch:
    """One alias matcher per set of entities (a watchlist is matched against every article)."""
    try:
        return _cached_watch(entities)
    except TypeError:  # an entity built with a list of aliases is unhashable
        return Watch(list(entities))


@lru_cache(maxsize=128)
def _cached_watch(entities: tuple[Entity, ...]) -> Watch:
    return Watch(list(entities))


_FEW_FORMS = 24  # up to this many alias forms, scanning with `str.find` beats compiling


def _is_word(ch: str) -> bool:
    """The regex `\\w` (Unicode): a letter, digit or numeric character, or the underscore."""
    return ch.isalnum() or ch == "_"


def _scan_aliases(text: str, forms: list[str]) -> list[tuple[int, int, str]]:
    """Exactly what `_alias_re(forms).finditer(text)` matches, without compiling it: at each
    start (left to right, not overlapping the last match) the first form, in `forms` order,
    that stands there with no word character or apostrophe before it and no word character
    after it (the regex's optional possessive adds nothing: an apostrophe is no word
    character)."""
    n = len(text)
    best: dict[int, int] = {}  # start -> rank of the first form that matches there
    for rank, form in enumerate(forms):
        i = text.find(form)
        while i >= 0:
            if rank < best.get(i, rank + 1):
                prev = text[i - 1] if i else ""
                if not prev or not (_is_word(prev) or prev == "'"):
                    e = i + len(form)  # (an apostrophe after it is no word character)
                    if e >= n or not _is_word(text[e]):
                        best[i] = rank
            i = text.find(form, i + 1)
    out: list[tuple[int, int, str]] = []
    last = 0
    for i in sorted(best):
        if i >= last:
            form = forms[best[i]]
            last = i + len(form)
            out.append((i, last, form))
    return out


def _alias_re(forms: list[str]) -> re.Pattern[str]:
    """Word-bounded alternation; a trailing possessive ('s / ’s / ') is allowed."""
    alt = "|".join(re.escape(f) for f in forms) or "(?!x)x"
    return re.compile(rf"(?<![\w'])(?:{alt})(?=(?:'s?)?(?![\w]))")


def _lowercase_context(text: str, s: int, e: int) -> bool:
    """A lower-case single-word alias counts only in lower-case writing (tweets, chat)."""
    around = tx.words(text[max(0, s - 50):s]) [-6:] + tx.words(text[e:e + 50])[:6]
    return not any(w[0].isupper() and w != "I" for w, _, _ in around)


class Resolver:
    """Article-level name resolution: short names, acronyms and typos to the full name."""

    def __init__(self, names: list[tx.Name], watch: Watch) -> None:
        self.watch = watch
        self.fulls: list[str] = []
        self.with_the: set[str] = set()
        self.cache: dict[str, Party] = {}
        for n in names:
            if " " in n.text and n.text not in self.fulls:
                self.fulls.append(n.text)
        self._lasts = [full.split()[-1] for full in self.fulls]
        self._initials: list[str] | None = None  # of each full name, worked out on first use
        for n in names:
            if n.the:
                self.with_the.add(self._key(n.text))

    def _key(self, name: str) -> str:
        if " " in name:
            return name
        if name.isupper() and 2 <= len(name) <= 6:
            if self._initials is None:
                self._initials = [
                    "".join(w[0] for w in full.split()
                            if w.lower() not in {"the", "of", "and", "&", "for"}).upper()
                    for full in self.fulls]
            for full, initials in zip(self.fulls, self._initials):
                if initials == name:
                    return full
        ends = [full for full, last in zip(self.fulls, self._lasts) if last == name]
        if ends:  # the plainest full form: 'Aaron Sorkin' over 'Screenwriter Aaron Sorkin'
            return min(ends, key=len)
        for full, last in zip(self.fulls, self._lasts):
            if _one_letter_typo(last, name):
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
