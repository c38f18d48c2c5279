"""The matcher: pure functions from article text to findings about tracked claims.

No I/O here: text in, findings out.  The daemon, `claimwatch match` and the tests all call
`match_article`; the public types (Stance, Finding, and Entity, Claim from `claims`) are here.

The decision, step by step (the module that owns each step):

1. sentences: clean the article, split it into passages, title = 0 (`passages`, `text`).
2. mentions: watchlist aliases and capitalised names, short names / acronyms / typos
   resolved to one party each (`parties`).
3. claim passages: per claim (entities and predicate words prepared in `claims`), passages
   whose +-1 window holds the claim's entities and a predicate word (here).
4. cues: stance cues spotted lexically (`stance`), kept only if they govern the claim
   (`govern`).
5. holder: who asserts each cue: quote speaker, reporting frame, grammatical subject
   (`attribution`); a reporter who only relays a denial or a rumour does not confirm (here).
6. one finding per party: each party's strongest vote; with no confirmation or denial, one
   anonymous `discusses` finding (here).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from matcher import attribution as at
from matcher import claims as cl
from matcher import govern as gv
from matcher import parties as pa
from matcher import passages as ps
from matcher import quotes as qt
from matcher import stance as st
from matcher import text as tx
from matcher.claims import Claim, ClaimSpec, Entity

__all__ = ["Claim", "ClaimSpec", "Entity", "Finding", "Stance", "match_article", "voice_of"]


class Stance(StrEnum):
    CONFIRMS = "confirms"
    DENIES = "denies"
    DISCUSSES = "discusses"
    UNRELATED = "unrelated"


@dataclass(frozen=True)
class Finding:
    """One party's stance on one claim in one article, with the sentence that carries it."""

    claim_id: str
    stance: Stance
    party: str  # entity name, or a person/organisation/outlet named in the text; "" if nobody
    party_kind: str  # "entity" | "person" | "organisation" | "outlet" | "unknown"
    quote: str  # the party's own words when quoted directly, else the sentence with the stance
    cue: str  # the words that decided the stance, e.g. "denied", "only one ... call"
    sentence: int  # index of the sentence in the article (title is sentence 0)
    score: float = 0.0  # strength of the deciding cue (higher = more explicit)
    # Only on the party-less `discusses` finding: DENIES when the article's own/anonymous voice
    # debunks the claim ("the story is a hoax"), which is never turned into a party alert.
    unattributed: Stance | None = None
    # The sentence that reports the stance, when `quote` is the party's own words from another
    # place (or a part of it); "" when `quote` is that sentence itself.
    context: str = ""


# --------------------------------------------------------------------------- reference

def _referenced(spec: ClaimSpec, passages: list[ps.Passage],
                kw: list[list[tuple[int, int]]],
                present: list[set[str]] | None = None) -> list[bool]:
    """Passages whose +-1 window holds the required entities and a predicate word.  Only
    the predicate words of passages in such a window are read (`_keyword_spans`)."""
    if present is None:
        present = _present(spec, passages)
    out = []
    for i in range(len(passages)):
        lo, hi = max(0, i - 1), min(len(passages), i + 2)
        ents = set().union(*present[lo:hi])
        out.append(len(ents) >= spec.need and any(kw[lo:hi]) and
                   bool(present[i] or kw[i] or _has_anaphor(passages[i].f)))
    return out


def _present(spec: ClaimSpec, passages: list[ps.Passage]) -> list[set[str]]:
    """The claim's entities each passage names."""
    names = {e.name for e in spec.entities}
    present: list[set[str]] = []
    for p in passages:
        here = {ent.name for _, _, ent in p.mentions} & names
        if spec.extra:
            here |= {ent.name for _, _, ent in p.mentions_of(spec.extra)}
        present.append(here)
    return present


def _keyword_spans(spec: ClaimSpec, passages: list[ps.Passage],
                   present: list[set[str]]) -> list[list[tuple[int, int]]]:
    """The claim's predicate words in every passage some +-1 window with the required
    entities covers; [] elsewhere, where nothing reads them (no such window references the
    claim, so neither the votes nor the discussion look there)."""
    n = len(passages)
    wanted = [False] * n
    for i in range(n):
        lo, hi = max(0, i - 1), min(n, i + 2)
        if len(set().union(*present[lo:hi])) >= spec.need:
            wanted[lo:hi] = [True] * (hi - lo)
    return [spec.keyword_spans(p.f) if want else [] for p, want in zip(passages, wanted)]


def _has_anaphor(f: str) -> bool:
    """A sentence that can be about the claim without naming it: 'It is untrue', 'the
    Gazette issued a correction'."""
    return bool(st.ANAPHORS.search(f) or st.DENY_ADJ.search(f) or st.RETRACT.search(f))


# --------------------------------------------------------------------------- aggregation

_RANK = {"deny": 3, "confirm": 2, "discuss": 1}
_STANCE = {"deny": Stance.DENIES, "confirm": Stance.CONFIRMS, "discuss": Stance.DISCUSSES}


@dataclass
class _Vote:
    party: pa.Party | None
    kind: str
    cue: st.Cue
    passage: ps.Passage


@dataclass(frozen=True)
class CueTrace:
    """What the rules made of one cue (`claimwatch explain`): `dropped` names the rule that
    discarded it, else the vote it became (`kind`, `holder`) and any rule that changed it."""

    sentence: int
    cue: str
    polarity: str  # the cue's own kind: confirm | deny | discuss
    role: str
    holder: str | None
    kind: str  # the vote's kind after the rules ("" when dropped)
    dropped: str = ""
    changed: str = ""


def _votes(spec: ClaimSpec, p: ps.Passage, kw: list[tuple[int, int]],
           trace: list[CueTrace] | None = None) -> list[_Vote]:
    """Stance votes of one referencing passage, each with its holder; with `trace`, what
    became of every cue (kept, changed, or which rule dropped it) is appended to it."""
    cues = st.double_negations(p.f, list(p.cues) + st.negated_predicates(p.f, kw))
    if p.source_tag and kw:
        s, e, _ = p.source_tag
        cues.append(st.Cue("confirm", "tag", s, e, p.f[s:e].strip(), 1.5))
    votes: list[_Vote] = []
    changed: dict[int, str] = {}

    def drop(c: st.Cue, holder: pa.Party | None, rule: str) -> None:
        if trace is not None:
            trace.append(CueTrace(p.index, c.text, c.kind, c.role, holder.name if holder else None, "", rule))

    for c in cues:
        holder = p.source_tag[2] if c.role == "tag" and p.source_tag else at.holder(p, c)
        if c.role != "tag" and not gv.governs(spec, p, c, kw, holder):
            drop(c, holder, "does not govern the claim's predicate (govern.governs)")
            continue
        if c.role in ("verb", "speech") and holder is None and at.is_passive(p, c.start, c.end):
            drop(c, holder, "passive with nobody named as its agent")
            continue
        if c.role in ("verb", "speech") and at.is_passive(p, c.start, c.end) \
                and p.in_quote(c.start) and at.passive_agent(p, c.end) is None:
            drop(c, holder, "passive inside a quotation, with no agent")
            continue
        if c.role == "partial":  # show the cue up to the predicate: 'only one phone call'
            end = next((e for s_, e in kw if c.end <= s_ <= c.end + 25), c.end)
            c = replace(c, end=end, text=p.f[c.start:end])
        kind = "discuss" if p.question else c.kind
        why = "asked as a question" if p.question and c.kind != "discuss" else ""
        if kind == "deny" and c.role == "retract" and gv.restates(p, c, kw):
            kind, why = "confirm", "a correction that restates the claim"  # 'corrected its report to say they met in May'
        if kind == "confirm" and c.role in ("verb", "speech") and gv.relays_rumour(p, c):
            kind, why = "discuss", "relays a rumour"  # 'the Gazette said Raman had reportedly met Ellery'
        votes.append(_Vote(holder, kind, c, p))
        changed[id(votes[-1])] = why
    deniers = [v for v in votes if v.kind == "deny" and v.cue.role in ("verb", "noun", "retract")]
    for v in votes:  # "Reuters reported that the Kremlin denied …": Reuters only relays it
        if v.kind == "confirm" and v.cue.role in ("verb", "speech", "according", "tag") \
                and any(d.party != v.party and _relays(p, v.cue, d.cue) for d in deniers):
            v.kind = "discuss"
            changed[id(v)] = "only reports another party's denial"
    if trace is not None:
        trace += [CueTrace(p.index, v.cue.text, v.cue.kind, v.cue.role, v.party.name if v.party else None,
                           v.kind, changed=changed[id(v)]) for v in votes]
    return votes


def _relays(p: ps.Passage, frame: st.Cue, denial: st.Cue) -> bool:
    """Does a reporting frame carry a denial ('X reported that Y denied …', '…, X reported',
    a wire tag on a denial headline)?"""
    if frame.role == "tag" or denial.start > frame.start:
        return True
    cs, ce = at.complement(p, frame)
    return cs <= denial.start < ce


def _better(a: _Vote, b: _Vote) -> bool:
    """Explicit denial outranks a weaker confirmation; then cue strength; then earlier."""
    ka = (_RANK[a.kind], a.cue.strength, -a.passage.index)
    kb = (_RANK[b.kind], b.cue.strength, -b.passage.index)
    return ka > kb


_MAX_SENTENCE = 600


def _display_quote(p: ps.Passage, c: st.Cue) -> str:
    """The passage, or for a very long one the window around its cue, never cutting a
    quotation in two (its marks stay balanced)."""
    if len(p.text) <= _MAX_SENTENCE:
        return p.text
    lo, hi = max(0, c.start - 250), min(len(p.text), c.end + 250)
    for qs, qe in p.quotes:
        if qs < lo < qe:
            lo = qs if hi - qs <= 1.5 * _MAX_SENTENCE else qe
        if qs < hi < qe:
            hi = qe if qe - lo <= 1.5 * _MAX_SENTENCE else qs
    return p.text[lo:hi].strip()


def _finding(spec: ClaimSpec, v: _Vote, passages: list[ps.Passage] | None = None,
             also: Sequence[_Vote] = ()) -> Finding:
    party = v.party
    sentence = _display_quote(v.passage, v.cue)
    quote, context = sentence, ""
    if party is not None and passages is not None:
        own = qt.own_words(spec, v.passage, v.cue, v.kind, party, passages)
        if own and _plain(own) != _plain(sentence):
            quote, context = own, _reporting_sentence(v, also) or sentence
    return Finding(spec.claim.id, _STANCE[v.kind], party.name if party else "",
                   party.kind if party else "unknown", quote,
                   v.passage.text[v.cue.start - at.neg_len(v.cue):v.cue.end]
                   if v.cue.role != "tag" else v.cue.text,
                   v.passage.index, v.cue.strength, context=context)


def _plain(text: str) -> str:
    return " ".join(tx.WORD.findall(text.lower()))


def _reporting_sentence(v: _Vote, also: Sequence[_Vote]) -> str:
    """The sentence that reports the stance: the deciding one, or, when that is the headline,
    the strongest body sentence where the same party takes the same stance."""
    if v.passage.index > 0:
        return _display_quote(v.passage, v.cue)
    body = [o for o in also if o.kind == v.kind and o.passage.index > 0]
    if not body:
        return ""
    best = max(body, key=lambda o: (o.cue.strength, -o.passage.index))
    return _display_quote(best.passage, best.cue)


def _match_claim(spec: ClaimSpec, passages: list[ps.Passage],
                 outlet: str | None) -> list[Finding]:
    present = _present(spec, passages)
    kw = _keyword_spans(spec, passages, present)
    refs = _referenced(spec, passages, kw, present)
    if not any(refs):
        return []
    best: dict[pa.Party, _Vote] = {}
    every: dict[pa.Party, list[_Vote]] = {}
    voice: list[_Vote] = []
    for p, ref in zip(passages, refs):
        if not ref:
            continue
        for v in _votes(spec, p, kw[p.index]):
            if v.party is None or _publisher_only(v, outlet):
                voice.append(v)
                continue
            every.setdefault(v.party, []).append(v)
            if v.party not in best or _better(v, best[v.party]):
                best[v.party] = v
    out = [_finding(spec, v, passages, every[party]) for party, v in best.items()]
    if not any(f.stance in (Stance.CONFIRMS, Stance.DENIES) for f in out):
        out.append(_discussion(spec, passages, refs, kw, voice))
    return sorted(out, key=lambda f: (f.sentence, f.party))


def _publisher_only(v: _Vote, outlet: str | None) -> bool:
    """The publishing outlet is a party only where the text names it as the reporter
    ('The Moscow Times reported …'); any other vote for it is the outlet's own voice."""
    if not outlet or v.party is None:
        return False
    norm = lambda s: re.sub(r"^the\s+", "", s.strip().lower())
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
    prepared = prepare_article(title, text, claims, entities)
    if not prepared.live:  # most articles mention no tracked claim: skip the costly analysis
        return []
    passages = prepared.passages()
    findings: list[Finding] = []
    for spec in prepared.live:
        findings += _match_claim(spec, passages, outlet)
    return findings


@dataclass(frozen=True)
class Prepared:
    """An article ready for matching: the watch of every entity, each claim's spec, the
    entities found anywhere in it, and the claims whose entities are there (`live`)."""

    title: str
    text: str
    watch: pa.Watch
    specs: tuple[ClaimSpec, ...]
    present: frozenset[str]
    live: tuple[ClaimSpec, ...]

    def passages(self) -> list[ps.Passage]:
        return ps.build_passages(self.title or "", self.text or "", self.watch)


def prepare_article(title: str, text: str, claims: Sequence[Claim],
                    entities: Sequence[Entity] = ()) -> Prepared:
    """Steps 1-2 up to the passages, shared by `match_article` and `monitor.explain`."""
    known: dict[str, Entity] = {}
    for e in (*entities, *(e for c in claims for e in c.entities)):
        known.setdefault(e.name, e)
    watch = pa.watch_for(tuple(known.values()))
    specs = tuple(cl.prepare(claim, text or "", watch) for claim in claims)
    whole = tx.fold(f"{title}\n{text}")
    present = frozenset(ent.name for _, _, ent in watch.mentions(whole))
    live = tuple(sp for sp in specs if _may_reference(sp, whole, set(present)))
    return Prepared(title, text, watch, specs, present, live)


def _may_reference(spec: ClaimSpec, whole: str, present: set[str]) -> bool:
    """Cheap article-level pre-check: enough claim entities occur somewhere."""
    found = {e.name for e in spec.entities} & present
    if spec.extra:
        found |= {ent.name for _, _, ent in spec.extra.mentions(whole)}
    return len(found) >= spec.need > 0


def voice_of(sentence: str, stance: Stance,
             entities: tuple[Entity, ...] | list[Entity] = ()) -> tuple[str, str, str] | None:
    """Who voices a confirmation or denial in one sentence, as (party, kind, cue).

    For an article-level stance the rules did not tie to the claim (a paraphrase they do not
    know): the sentence that shows it is read for an explicit cue and that cue's holder.
    """
    want = {Stance.DENIES: "deny", Stance.CONFIRMS: "confirm"}.get(stance)
    if want is None or not sentence.strip():
        return None
    for p in ps.build_passages("", sentence, pa.watch_for(tuple(entities)))[1:]:
        for c in p.cues:
            if c.kind != want or c.role not in ("verb", "noun", "retract", "double"):
                continue
            who = at.holder(p, c)
            if who is not None:
                return who.name, who.kind, c.text
    return None
