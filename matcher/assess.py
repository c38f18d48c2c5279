"""One stance per (claim, article): the article-level decision behind `claimwatch stance`.

`match.match_article` finds every party's stance (what the daemon records and alerts on);
this step sums an article up for a claim: does it confirm, deny, merely discuss, or ignore
it, who holds that stance, and which sentence and cue show it.  Pure: text in, assessment out.

Who decides, in order: bounds the models cannot learn from FNC-1 (`_bounds`: no shared words,
a headline verdict, a headline-length text); else the feature model (`StanceModel`, over
`features`) says related or not, and for a related article its lean is averaged with the
reader's (`crossencoder`).  The party comes from the findings, else from the evidence sentence.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from matcher import features as ft
from matcher.crossencoder import LABELS as READER_LABELS
from matcher.crossencoder import CrossEncoder, default_reader
from matcher.match import Claim, Entity, Finding, Stance, match_article, voice_of

MODEL_PATH = Path(__file__).with_name("stance_model.json")
_DECISIVE = (Stance.DENIES, Stance.CONFIRMS)
_CLASS = {"agree": Stance.CONFIRMS, "disagree": Stance.DENIES, "discuss": Stance.DISCUSSES,
          "unrelated": Stance.UNRELATED}


Layers = list[tuple[np.ndarray, np.ndarray]]


class StanceModel:
    """The learned article-level classifier: standardised features -> a few small MLPs
    (averaged: one alone varies too much with its random start) -> 4 classes.

    Weights are JSON written by scripts/train_stance.py; evaluation is a few numpy products.
    """

    def __init__(self, labels: Sequence[str], names: Sequence[str], idf: Mapping[str, float],
                 default_idf: float, mean: np.ndarray, scale: np.ndarray,
                 members: list[Layers]) -> None:
        if list(names) != list(ft.NAMES):
            raise ValueError("stance model was trained on other features: "
                             "run scripts/train_stance.py")
        if tuple(labels) != (*READER_LABELS, "unrelated"):  # the reader's odds line up with ours
            raise ValueError(f"stance model labels {list(labels)}: expected the FNC-1 order")
        self.stances = [_CLASS[lab] for lab in labels]
        self.idf, self.default_idf = idf, default_idf
        self.mean, self.scale, self.members = mean, scale, members

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StanceModel:
        members = [[(np.asarray(lay["w"]), np.asarray(lay["b"])) for lay in m]
                   for m in d["members"]]
        return cls(d["labels"], d["names"], d["idf"], d["default_idf"],
                   np.asarray(d["mean"]), np.asarray(d["scale"]), members)

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> StanceModel:
        return cls.from_dict(json.loads(path.read_text()))

    def predict_proba(self, x: np.ndarray | Sequence[float]) -> np.ndarray:
        z = (np.atleast_2d(x) - self.mean) / self.scale
        return np.mean([_forward(layers, z) for layers in self.members], axis=0)

    def why(self, x: np.ndarray | Sequence[float], cls_index: int,
            top: int = 3) -> dict[str, float]:
        """The features that pushed hardest towards the decided class (gradient x input)."""
        z = (np.asarray(x) - self.mean) / self.scale
        contrib = np.mean([_gradient(layers, z, cls_index) for layers in self.members],
                          axis=0) * z
        order = np.argsort(-contrib)[:top]
        return {ft.NAMES[i]: round(float(contrib[i]), 3) for i in order if contrib[i] > 0}


def _forward(layers: Layers, z: np.ndarray) -> np.ndarray:
    h = z
    for w, b in layers[:-1]:
        h = np.maximum(h @ w + b, 0.0)
    w, b = layers[-1]
    logits = h @ w + b
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _gradient(layers: Layers, z: np.ndarray, k: int) -> np.ndarray:
    """d(logit k - mean logit)/dz of one member (ReLU layers are piecewise linear)."""
    grad, h = np.eye(len(z)), z
    for w, b in layers[:-1]:
        pre = h @ w + b
        grad = grad @ w * (pre > 0)
        h = np.maximum(pre, 0.0)
    w, _ = layers[-1]
    out: np.ndarray = grad @ (w[:, k] - w.mean(axis=1))
    return out


@cache
def default_model() -> StanceModel:
    return StanceModel.load()


@dataclass(frozen=True)
class Assessment:
    """The article's stance on one claim, with the party, evidence and what decided it."""

    claim_id: str
    stance: Stance
    party: str  # who holds the stance; "" when nobody is named (the article's own voice)
    party_kind: str
    evidence: str  # the sentence that carries the stance ("" when unrelated)
    cue: str  # the words that decided it
    score: float  # confidence in `stance`, 0..1
    findings: tuple[Finding, ...] = ()  # every party's stance, as the daemon records them
    why: dict[str, float] = field(default_factory=dict)  # deciding features and their weight
    # The party's own words when the deciding finding quotes them directly (“It's all
    # untrue.”), else "" (the evidence sentence is the quote).
    quote: str = ""


@dataclass(frozen=True)
class Engine:
    """What decides an article's stance: the feature model, and the reader of related
    articles (`None`: features only, about twice the pairs per second, fewer right answers)."""

    model: StanceModel
    reader: CrossEncoder | None = None


@cache
def default_engine(fast: bool = False) -> Engine:
    return Engine(default_model(), None if fast else default_reader())


def assess(
    title: str,
    text: str,
    claims: Sequence[Claim],
    entities: Sequence[Entity] = (),
    outlet: str | None = None,
    engine: Engine | None = None,
) -> list[Assessment]:
    """One assessment per claim, in the claims' order (unrelated ones included)."""
    engine = engine or default_engine()
    model = engine.model
    findings = match_article(title, text, list(claims), list(entities), outlet=outlet)
    per_claim = [[f for f in findings if f.claim_id == c.id] for c in claims]
    anywhere = ft.stems_anywhere(title, text)
    apart = [not fs and _shares_at_most_one(c.statement, anywhere) for c, fs in zip(claims, per_claim, strict=True)]
    if all(apart):  # the first of `_bounds`, decided before the body is split and counted
        return [Assessment(c.id, Stance.UNRELATED, "", "unknown", "", "", 1.0, (), _unshared()[2])
                for c in claims]
    body = ft.body_of(title, text)
    x = np.asarray([ft.features(c.statement, body, fs, model.idf, model.default_idf)
                    for c, fs in zip(claims, per_claim, strict=True)]
                   ).reshape(len(claims), len(ft.NAMES))
    proba = model.predict_proba(x) if len(claims) else np.zeros((0, len(model.stances)))
    short = sum(map(len, body.sentences)) <= SHORT_WORDS
    reads = engine.reader is not None
    bounded = [_bounds(x[i], fs, body, short, reads) for i, fs in enumerate(per_claim)]
    related = [i for i, b in enumerate(bounded)
               if b is None and model.stances[int(np.argmax(proba[i]))] is not Stance.UNRELATED]
    read: dict[int, np.ndarray] = {}
    if engine.reader is not None and related:
        doc = f"{title}\n\n{text}" if title.strip() else text
        probs = engine.reader.predict([claims[i].statement for i in related], [doc] * len(related))
        read = dict(zip(related, probs, strict=True))
    out = []
    for i, (claim, fs) in enumerate(zip(claims, per_claim, strict=True)):
        stance, score, why = bounded[i] or _learned(model, x[i], proba[i], read.get(i), short)
        out.append(_summarise(claim, stance, score, fs, body, model, outlet, entities, why))
    return out


SHORT_WORDS = 60  # a headline or a sentence or two: shorter than any article the model saw
_FOUND, _WORDS = ft.NAMES.index("claim_words_found"), ft.NAMES.index("claim_words")
Decision = tuple[Stance, float, dict[str, float]]


def _unshared() -> Decision:
    return Stance.UNRELATED, 1.0, {"shares at most one word with the claim": 1.0}


def _shares_at_most_one(statement: str, stems: frozenset[str]) -> bool:
    """`_bounds`' first test, on a superset of the body's stems: True only where it holds."""
    words = ft.claim_stems(statement)
    return sum(1 for w in words if w in stems) < min(2, len(words))


def _bounds(x: np.ndarray, findings: list[Finding], body: ft.Body, short: bool,
            reads: bool) -> Decision | None:
    """What the models cannot learn from FNC-1's untitled articles: a text that shares at most
    one word with the claim (a name, say) is not about it; a headline that states a named
    party's confirmation or denial is the article's verdict; a headline-length text that the
    rules see calling the claim false is a denial, and one that asks, or where a named party
    speaks without taking a stance ("did not deny"), discusses it.  Any other headline-length
    text is read by the reader alone (`_learned`), or without one by the rules: it discusses
    the claim.  None: the models decide."""
    if not findings and x[_FOUND] < min(2, x[_WORDS]):
        return _unshared()
    decisive = [f for f in findings if f.stance in _DECISIVE and f.party]
    headline = [f for f in decisive if f.sentence == 0]
    short = short and bool(findings)
    if headline or (short and decisive):
        top = max(headline or decisive,
                  key=lambda f: (f.stance is Stance.DENIES, f.score, -f.sentence))
        where = "headline" if headline else "rule"
        return top.stance, min(1.0, top.score / 3.0), {f"{where} cue: {top.cue}": top.score}
    if short:
        if any(f.unattributed is Stance.DENIES for f in findings):
            return Stance.DENIES, 0.6, {"the text itself calls the claim false": 2.5}
        asks = any(s.rstrip().endswith("?") for s in body.raw)
        hedged = any(f.party and f.stance is Stance.DISCUSSES for f in findings)
        if not reads or asks or hedged:
            return Stance.DISCUSSES, 0.6, {"mentions the claim without a stance": 1.0}
    return None


def _learned(model: StanceModel, x: np.ndarray, proba: np.ndarray,
             read: np.ndarray | None, short: bool = False) -> Decision:
    """The feature model decides related or not; for a related article, its agree/disagree/
    discuss odds are averaged, with equal weight, with the reader's.  A headline-length text
    is the reader's alone: the feature model learnt its leanings from 500-word bodies (on the
    validation topics' headline pairs, bench/headline_eval.py, accuracy 0.56 averaged, 0.59
    alone; the rules' "discusses" gave 0.50)."""
    k = int(np.argmax(proba))
    if read is None or model.stances[k] is Stance.UNRELATED:
        return model.stances[k], float(proba[k]), model.why(x, k)
    leaning = read if short else (proba[:3] / proba[:3].sum() + read) / 2
    k = int(np.argmax(leaning))
    return (model.stances[k], float(leaning[k]),
            {f"reader: {READER_LABELS[k]}": round(float(read[k]), 3), **model.why(x, k)})


_LEXICON = {Stance.DENIES: ft.REFUTE, Stance.CONFIRMS: ft.CONFIRM, Stance.DISCUSSES: ft.HEDGE}


def _summarise(claim: Claim, stance: Stance, score: float, findings: list[Finding],
               body: ft.Body, model: StanceModel, outlet: str | None,
               entities: Sequence[Entity], why: dict[str, float]) -> Assessment:
    """Who holds the article's stance and where it shows: the strongest party finding of
    that stance; else the holder of an explicit cue in the sentence that best shows it; else
    the article's own voice (the outlet)."""
    if stance is Stance.UNRELATED:
        return Assessment(claim.id, stance, "", "unknown", "", "", score, tuple(findings), why)
    held = [f for f in findings if f.stance is stance and f.party]
    if held:
        top = max(held, key=lambda f: (f.score, -f.sentence))
        return Assessment(claim.id, stance, top.party, top.party_kind, top.context or top.quote,
                          top.cue, score, tuple(findings), why,
                          quote=top.quote if top.context else "")
    own_voice = next((f for f in findings if not f.party and f.unattributed is stance), None)
    if own_voice:
        quote, cue = own_voice.context or own_voice.quote, own_voice.cue
    else:
        i = ft.evidence(claim.statement, body, model.idf, model.default_idf, _LEXICON[stance])
        quote = body.raw[i] if i >= 0 else ""
        cue = ", ".join(sorted({w for w in body.sentences[i] if w in _LEXICON[stance]})) \
            if i >= 0 else ""
        voice = voice_of(quote, stance, list(entities)) if quote else None
        if voice:  # a stance the rules did not tie to the claim, voiced by a named party
            return Assessment(claim.id, stance, voice[0], voice[1], quote, voice[2], score,
                              tuple(findings), why)
    own = outlet if stance is not Stance.DISCUSSES and outlet else ""
    return Assessment(claim.id, stance, own, "outlet" if own else "unknown",
                      quote, cue, score, tuple(findings), why)
