"""The matcher: pure functions from article text to findings about tracked claims.

No I/O here: text in, findings out.  The daemon, `claimwatch match` and the tests all call
`match_article`; the public types (Stance, Entity, Claim, Finding) live here.

The decision, step by step (the module that owns each step):

1. sentences: clean the article, split it into passages, title = 0 (`passages`, `text`).
2. mentions: watchlist aliases and capitalised names, short names / acronyms / typos
   resolved to one party each (`parties`).
3. claim passages: per claim, passages whose +-1 window holds the claim's entities and a
   predicate word (here).
4. cues: stance cues spotted lexically (`stance`), kept only if they govern the claim
   (`govern`).
5. holder: who asserts each cue: quote speaker, reporting frame, grammatical subject
   (`parties`).
6. one finding per party: each party's strongest vote; with no confirmation or denial, one
   anonymous `discusses` finding (here).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum

from monitor import govern as gv
from monitor import parties as pa
from monitor import passages as ps
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
class ClaimSpec:
    """A claim prepared for matching: entities to require and predicate matcher."""

    claim: Claim
    entities: tuple[Entity, ...]
    need: int  # how many of `entities` must be in the window
    lemmas: frozenset[str]  # exact lemma match (given keywords)
    stems: tuple[str, ...]  # prefix match (derived from the statement)
    extra: pa.Watch | None = None  # matcher for derived entities (not on the watchlist)
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


def _prepare(claim: Claim, body: str) -> ClaimSpec:
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
    extra = None if claim.entities else pa.Watch(list(entities))
    return ClaimSpec(claim, tuple(entities), need, frozenset(lemmas - {""}), stems, extra)


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


def _referenced(spec: ClaimSpec, passages: list[ps.Passage],
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


# --------------------------------------------------------------------------- aggregation

_RANK = {"deny": 3, "confirm": 2, "discuss": 1}
_STANCE = {"deny": Stance.DENIES, "confirm": Stance.CONFIRMS, "discuss": Stance.DISCUSSES}


@dataclass
class _Vote:
    party: pa.Party | None
    kind: str
    cue: st.Cue
    passage: ps.Passage


def _votes(spec: ClaimSpec, p: ps.Passage, kw: list[tuple[int, int]]) -> list[_Vote]:
    """Stance votes of one referencing passage, each with its holder."""
    cues = list(p.cues) + st.negated_predicates(p.f, kw)
    if p.source_tag and kw:
        s, e, party = p.source_tag
        cues.append(st.Cue("confirm", "tag", s, e, p.f[s:e].strip(), 1.5))
    votes: list[_Vote] = []
    for c in cues:
        holder = p.source_tag[2] if c.role == "tag" and p.source_tag else pa.holder(p, c)
        if c.role != "tag" and not gv.governs(spec, p, c, kw, holder):
            continue
        if c.role in ("verb", "speech") and holder is None and pa.is_passive(p, c.start, c.end):
            continue
        if c.role in ("verb", "speech") and pa.is_passive(p, c.start, c.end) \
                and p.in_quote(c.start) and pa.passive_agent(p, c.end) is None:
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


def _display_quote(p: ps.Passage, c: st.Cue) -> str:
    return p.text if len(p.text) <= 600 else p.text[max(0, c.start - 250):c.end + 250]


def _finding(spec: ClaimSpec, v: _Vote) -> Finding:
    party = v.party
    return Finding(spec.claim.id, _STANCE[v.kind], party.name if party else "",
                   party.kind if party else "unknown", _display_quote(v.passage, v.cue),
                   v.passage.text[v.cue.start - pa.neg_len(v.cue):v.cue.end]
                   if v.cue.role != "tag" else v.cue.text,
                   v.passage.index, v.cue.strength)


def _match_claim(spec: ClaimSpec, passages: list[ps.Passage],
                 outlet: str | None) -> list[Finding]:
    kw = [spec.keyword_spans(p.f) for p in passages]
    refs = _referenced(spec, passages, kw)
    if not any(refs):
        return []
    best: dict[pa.Party, _Vote] = {}
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


def _discussion(spec: ClaimSpec, passages: list[ps.Passage], refs: list[bool],
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
    watch = pa.Watch(list(watch_list.values()))
    specs = [_prepare(claim, text or "") for claim in claims]
    whole = tx.fold(f"{title}\n{text}")
    present = {ent.name for _, _, ent in watch.mentions(whole)}
    live = [sp for sp in specs if _may_reference(sp, whole, present)]
    if not live:  # most articles mention no tracked claim: skip the costly analysis
        return []
    passages = ps.build_passages(title or "", text or "", watch)
    findings: list[Finding] = []
    for spec in live:
        findings += _match_claim(spec, passages, outlet)
    return findings


def _may_reference(spec: ClaimSpec, whole: str, present: set[str]) -> bool:
    """Cheap article-level pre-check: enough claim entities occur somewhere."""
    found = {e.name for e in spec.entities} & present
    if spec.extra:
        found |= {ent.name for _, _, ent in spec.extra.mentions(whole)}
    return len(found) >= spec.need > 0
