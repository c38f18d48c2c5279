"""Why an article did or did not alert: the engine's own steps, replayed with their reasons.

`explain` is pure and calls the engine itself: `match.prepare_article` (entities, claim specs),
the matcher's passage test and vote rules (`match._referenced`, `match._votes` with a trace),
`assess.assess` (findings and the article-wide stance, exactly as the daemon stores them) and
`decide` (what would alert). Nothing here decides anything on its own, so the explanation
cannot drift from what the daemon does. `explain_target` gathers its inputs: a stored article
(by id or URL) or a URL fetched now, the stances already held, and the alerts it raised.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from matcher import match as m
from matcher.assess import Engine, assess
from matcher.match import Claim, CueTrace, Entity, Stance
from monitor.decide import DECISIVE, before_since, is_stale, verdicts
from monitor.watchlist import ClaimOptions
from storage.explaining import HeldStance, RaisedAlert

__all__ = ["ClaimExplanation", "Explanation", "explain", "render"]


@dataclass(frozen=True)
class EntitySeen:
    name: str
    found: tuple[tuple[int, str], ...]  # (sentence, the words as the article writes them)


@dataclass(frozen=True)
class PassageSeen:
    sentence: int
    text: str
    predicate_words: tuple[str, ...]
    cues: tuple[CueTrace, ...]


@dataclass(frozen=True)
class Decision:
    party: str
    stance: str
    outcome: str  # "alert: …", "would alert: …" or "no alert: …"


@dataclass(frozen=True)
class ClaimExplanation:
    claim_id: str
    statement: str
    need: int  # how many of `entities` must be near a predicate word
    entities: tuple[EntitySeen, ...]
    predicate: tuple[str, ...]  # the claim's predicate words (lemmas, or stems of its statement)
    passages: tuple[PassageSeen, ...]  # the sentences that reference the claim
    unrelated: str  # why the article is not about the claim; "" when it is
    findings: tuple[dict[str, Any], ...]
    stance: str  # article-wide, as stored
    party: str
    score: float
    why: dict[str, float] = field(default_factory=dict)
    decisions: tuple[Decision, ...] = ()


@dataclass(frozen=True)
class Explanation:
    title: str
    url: str | None
    outlet: str | None
    published_at: datetime | None
    seen_at: datetime | None
    article_id: int | None  # stored article, else None (fetched now)
    claims: tuple[ClaimExplanation, ...]

    def to_dict(self) -> dict[str, Any]:
        def plain(v: Any) -> Any:
            if isinstance(v, datetime):
                return v.isoformat()
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            if isinstance(v, list | tuple):
                return [plain(x) for x in v]
            return v

        return plain(asdict(self))  # type: ignore[no-any-return]


def explain(
    title: str,
    text: str,
    claims: Sequence[Claim],
    entities: Sequence[Entity] = (),
    *,
    outlet: str | None = None,
    url: str | None = None,
    published_at: datetime | None = None,
    seen_at: datetime | None = None,
    options: Mapping[str, ClaimOptions] | None = None,
    held: Mapping[tuple[str, str], HeldStance] | None = None,
    raised: Sequence[RaisedAlert] | None = None,
    article_id: int | None = None,
    engine: Engine | None = None,
) -> Explanation:
    """Claim by claim, what the engine saw and decided. `held`: the parties' current stances;
    `raised`: the alerts a stored article raised (None for an article not stored: then the
    decision is what would happen if it were taken in now)."""
    prepared = m.prepare_article(title, text, claims, entities)
    passages = prepared.passages() if prepared.live else []
    assessments = {a.claim_id: a for a in assess(title, text, claims, entities, outlet=outlet, engine=engine)}
    out = []
    for spec in prepared.specs:
        claim = spec.claim
        seen = _entities(spec, prepared, passages)
        kw = [spec.keyword_spans(p.f) for p in passages]
        refs = m._referenced(spec, passages, kw) if spec in prepared.live else [False] * len(passages)
        considered = []
        for p, ref in zip(passages, refs, strict=True):
            if not ref:
                continue
            trace: list[CueTrace] = []
            votes = m._votes(spec, p, kw[p.index], trace)
            kept = trace[len(trace) - len(votes):]
            for i, v in enumerate(votes):  # what `_match_claim` does with each vote's holder
                if v.party is None:
                    kept[i] = _with(kept[i], "nobody named holds it: the article's own voice")
                elif m._publisher_only(v, outlet):
                    kept[i] = _with(kept[i], "the publishing outlet's own voice, not a party")
            trace[len(trace) - len(votes):] = kept
            considered.append(PassageSeen(p.index, p.text, tuple(p.f[s:e] for s, e in kw[p.index]), tuple(trace)))
        a = assessments[claim.id]
        unrelated = _why_unrelated(spec, seen, passages, kw, refs, a.stance, a.why) \
            if a.stance is Stance.UNRELATED or not any(refs) else ""
        decisions = _decide(a.findings, options or {}, held or {}, raised, published_at, seen_at)
        out.append(ClaimExplanation(
            claim.id, claim.statement, spec.need, seen, _predicate(spec), tuple(considered), unrelated,
            tuple({"party": f.party, "party_kind": f.party_kind, "stance": str(f.stance), "cue": f.cue,
                   "quote": f.quote, "context": f.context, "sentence": f.sentence} for f in a.findings),
            str(a.stance), a.party, round(float(a.score), 3), dict(a.why), decisions))
    return Explanation(title, url, outlet, published_at, seen_at, article_id, tuple(out))


def _with(t: CueTrace, note: str) -> CueTrace:
    return CueTrace(t.sentence, t.cue, t.polarity, t.role, t.holder, t.kind, t.dropped,
                    "; ".join(x for x in (t.changed, note) if x))


def _entities(spec: m.ClaimSpec, prepared: m.Prepared, passages: list[Any]) -> tuple[EntitySeen, ...]:
    found: dict[str, list[tuple[int, str]]] = {e.name: [] for e in spec.entities}
    for p in passages:
        hits = list(p.mentions) + (p.mentions_of(spec.extra) if spec.extra else [])
        for s, e, ent in hits:
            if ent.name in found and (p.index, p.text[s:e]) not in found[ent.name]:
                found[ent.name].append((p.index, p.text[s:e]))
    if not passages:  # not analysed further: say which names are anywhere in the article
        for name, hits in found.items():
            if name in prepared.present:
                hits.append((-1, name))
    return tuple(EntitySeen(n, tuple(f)) for n, f in found.items())


def _predicate(spec: m.ClaimSpec) -> tuple[str, ...]:
    return tuple(sorted(spec.lemmas)) if spec.lemmas else spec.stems


def _why_unrelated(spec: m.ClaimSpec, seen: tuple[EntitySeen, ...], passages: list[Any],
                   kw: list[list[tuple[int, int]]], refs: list[bool], stance: Stance,
                   why: Mapping[str, float]) -> str:
    named = [e.name for e in seen if e.found]
    missing = [e.name for e in seen if not e.found]
    if len(named) < spec.need:
        have = ", ".join(named) if named else "none of them"
        return (f"unrelated: the claim needs {spec.need} of its entities ({', '.join(e.name for e in seen)}) "
                f"in the article; it names {have}" + (f" (not {', '.join(missing)})" if named and missing else ""))
    where = "; ".join(f"{e.name} in sentence(s) {', '.join(str(i) for i in dict.fromkeys(i for i, _ in e.found))}"
                      for e in seen if e.found)
    if not any(refs):
        with_predicate = [i for i, spans in enumerate(kw) if spans]
        predicate = ", ".join(_predicate(spec)[:8])
        if not with_predicate:
            return (f"unrelated: it names {where}, but never uses the claim's predicate ({predicate}): "
                    "it is about something else")
        return (f"unrelated: it names {where}, and the claim's predicate ({predicate}) only in sentence(s) "
                f"{', '.join(map(str, with_predicate))}, never within one sentence of enough of them")
    if stance is not Stance.UNRELATED:
        return ""
    reasons = ", ".join(f"{k} ({v:g})" for k, v in why.items())
    return f"unrelated: sentences reference it, but the stance model reads the article as unrelated: {reasons}"


def _decide(findings: Sequence[m.Finding], options: Mapping[str, ClaimOptions],
            held: Mapping[tuple[str, str], HeldStance], raised: Sequence[RaisedAlert] | None,
            published: datetime | None, seen: datetime | None) -> tuple[Decision, ...]:
    """What `storage.alerting.record_findings` makes (or made) of the findings, via `decide`."""
    out = []
    decisive = {(v.claim_id, v.party): v for v in verdicts(findings)}
    for f in findings:
        if f.stance not in DECISIVE:
            continue
        if not f.party:
            out.append(Decision("", str(f.stance), "no alert: nobody named takes this stance"))
        elif decisive.get((f.claim_id, f.party)) is None or decisive[(f.claim_id, f.party)].finding is not f:
            out.append(Decision(f.party, str(f.stance), "no alert: the party's stronger finding here decides"))
    for (claim_id, party), v in decisive.items():
        opts = options.get(claim_id, ClaimOptions())
        stance = str(v.stance)
        now = held.get((claim_id, party))
        if before_since(published, opts.since):
            assert published is not None and opts.since is not None
            out.append(Decision(party, stance, f"no alert: published {_day(published)}, before the claim's since "
                                f"{_day(opts.since)} (evidence only)"))
            continue
        stale = seen is not None and is_stale(published, seen, opts.stale_after_seconds)
        old = f" (marked stale: published {_day(published)}, an old story)" if stale and published else ""
        if raised is not None:
            alert = next((r for r in raised if r.claim_id == claim_id and r.party == party), None)
            if alert is not None:
                what = f"switched from {alert.previous_stance}" if alert.previous_stance else "new party"
                out.append(Decision(party, stance, f"alert #{alert.id}: {what}{' (marked stale)' if alert.stale else ''}"))
            elif now is not None and now.stance == stance:
                out.append(Decision(party, stance, f"no alert: already known ({party} {stance} since {_day(now.since)})"))
            else:
                out.append(Decision(party, stance, "no alert: already known (the party held this stance when "
                                    "the article was taken in)"))
            continue
        if now is None:
            out.append(Decision(party, stance, f"would alert: new party{old}"))
        elif now.stance == stance:
            out.append(Decision(party, stance, f"no alert: already known ({party} {stance} since {_day(now.since)})"))
        else:
            out.append(Decision(party, stance, f"would alert: switched from {now.stance} (held since "
                                f"{_day(now.since)}){old}"))
    return tuple(out)


def _day(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d")


def render(x: Explanation, *, width: int = 110) -> str:
    """The explanation as one screen of text (`claimwatch explain`)."""
    def cut(s: str, n: int = width) -> str:
        indent = s[: len(s) - len(s.lstrip())]
        s = indent + " ".join(s.split())
        return s if len(s) <= n else s[: n - 1] + "…"

    where = f"stored article #{x.article_id}" if x.article_id is not None else "fetched now, not stored"
    when = ", ".join(f"{k} {v.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
                     for k, v in (("published", x.published_at), ("seen", x.seen_at)) if v)
    lines = [cut(f"{x.title!r}" + (f" — {x.outlet}" if x.outlet else ""), width),
             f"{x.url or ''} ({where}{', ' + when if when else ''})".strip()]
    for c in x.claims:
        lines += ["", cut(f"[{c.claim_id}] {c.statement}", width)]
        ents = "; ".join(f"{e.name}: " + (", ".join(f"{'#' + str(i) if i >= 0 else 'found'} {t!r}"
                                                      for i, t in e.found[:4]) or "not found")
                         for e in c.entities)
        lines.append(cut(f"  entities (need {c.need}): {ents}"))
        lines.append(cut(f"  predicate: {', '.join(c.predicate[:10])}"))
        if c.unrelated:
            lines.append(f"  {c.unrelated}")
        if c.passages:
            lines.append(f"  passages considered: {len(c.passages)} (sentences "
                         f"{', '.join(str(p.sentence) for p in c.passages)}); with cues:")
        for p in [p for p in c.passages if p.cues][:12]:
            lines.append(cut(f"    #{p.sentence} {p.text!r}"))
            for t in p.cues:
                who = f" by {t.holder}" if t.holder else ""
                fate = f"dropped: {t.dropped}" if t.dropped else f"kept as {t.kind}" + (f" ({t.changed})" if t.changed else "")
                lines.append(cut(f"      cue {t.cue!r} ({t.polarity}, {t.role}){who} → {fate}"))
        for f in c.findings:
            lines.append(cut(f"  finding: {f['party'] or '(nobody named)'} {f['stance']} — cue {f['cue']!r}"))
        why = "; ".join(f"{k} {v:g}" for k, v in list(c.why.items())[:3])
        lines.append(cut(f"  article as a whole: {c.stance}" + (f", held by {c.party}" if c.party else "")
                         + f" (score {c.score:.2f}{'; ' + why if why else ''})"))
        if c.unrelated and c.stance != "unrelated":
            lines.append("    (the stance model reads it as about the claim: stored as an assessment, "
                         "never an alert)")
        for d in c.decisions:
            lines.append(cut(f"  decide: {d.party or '(nobody)'} {d.stance} → {d.outcome}"))
        if not c.decisions:
            lines.append("  decide: no alert: no named party confirms or denies the claim here")
    return "\n".join(lines)


class NotFound(Exception):
    """The article asked about is neither stored nor fetchable."""


async def explain_target(target: str, repo: Any, watchlist: Any, settings: Any, *, fetch: bool = True) -> Explanation:
    """`target` is a stored article's id, or a URL: the stored article of that URL if there is
    one, else (with `fetch`) the page fetched now and not stored. Stances held come from `repo`.
    The engine runs in a thread: a daemon's web server keeps serving meanwhile."""
    import asyncio

    from monitor.extract import canonical_url, extract_article
    from monitor.fetch import Fetcher, FetchError, make_session
    from storage.explaining import held_stances, raised_alerts, stored_article

    stored = None
    if target.strip().isdigit():
        stored = await stored_article(repo.engine, article_id=int(target))
        if stored is None:
            raise NotFound(f"no article #{target} is stored")
    elif target.startswith(("http://", "https://")):
        stored = await stored_article(repo.engine, url=canonical_url(target)) \
            or await stored_article(repo.engine, url=target)
    else:
        raise NotFound(f"{target!r} is neither an article id nor an http(s) URL")
    claim_ids = [c.id for c in watchlist.claims]
    held = await held_stances(repo.engine, claim_ids)
    common = {"options": watchlist.claim_options, "held": held}
    if stored is not None and stored.text:
        return await asyncio.to_thread(
            explain, stored.title, stored.text, watchlist.claims, watchlist.entities, outlet=stored.outlet,
            url=stored.url, published_at=stored.published_at, seen_at=stored.seen_at,
            raised=await raised_alerts(repo.engine, stored.id), article_id=stored.id, **common)
    url = stored.url if stored is not None else target
    if not fetch:
        why = "its stored text was dropped by retention" if stored is not None else "it is not stored"
        raise NotFound(f"cannot explain {url} here: {why} (`claimwatch explain URL` fetches it)")
    async with make_session(settings.fetch) as session:
        try:
            response = await Fetcher(session, settings.fetch).get(url, allow_private=True)
        except FetchError as err:
            gone = " (its stored text was dropped by retention)" if stored is not None else ""
            raise NotFound(f"cannot fetch {url}{gone}: {err}") from None
    article = extract_article(response.body, response.url)
    if article is None:
        raise NotFound(f"no article text found at {url}")
    return await asyncio.to_thread(
        explain, article.title, article.text, watchlist.claims, watchlist.entities, outlet=article.site_name,
        url=article.url, published_at=article.published, seen_at=datetime.now(UTC), **common)
