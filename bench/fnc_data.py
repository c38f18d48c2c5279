"""FNC-1 pairs and the two evaluation splits, shared by training and evaluation scripts.

The data stays in ../shared/data/fnc1 (never committed).  Two splits:

* ``challenge``: the challenge's own body split (hold_out_body_ids.txt).  Its headlines
  also occur with training bodies, so it flatters any model that learns claim wording.
* ``unseen``: held-out *claims and bodies*.  Headlines and bodies are grouped into topics
  (connected by related pairs); a fixed fifth of the topics is held out.  Test pairs have a
  hold-out body and a held-out-topic headline; training pairs have a training body and
  neither their headline nor their body in a held-out topic.  No near-duplicate headline of
  a test claim is ever trained on: the faithful proxy of the competition's test set.

One model is trained on ``train_pairs()`` (the intersection of both training sides) and
reported on both test sides.

Choosing between models (thresholds, gates, variants) is done on ``validation_pairs()``, never
on a test split: a fixed share of the *training* topics (none of them held out), whose pairs are
left out of ``fit_pairs()`` (the training pairs minus validation topics) while choosing.
"""
from __future__ import annotations

import csv
import os
import random
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# ../shared beside the clone, or where CLAIMWATCH_SHARED points
FNC = Path(os.environ.get("CLAIMWATCH_SHARED") or Path(__file__).resolve().parents[1].parent / "shared") / "data" / "fnc1"
LABELS = ("agree", "disagree", "discuss", "unrelated")
HELD_OUT_TOPIC_SHARE = 0.2
VALIDATION_TOPIC_SHARE = 0.15  # of the training topics
SEED = 20261122


@dataclass(frozen=True)
class Pair:
    headline: str
    body_id: str
    stance: str  # one of LABELS


def _require() -> Path:
    if not (FNC / "train_stances.csv").exists():
        sys.exit(f"FNC-1 data not found at {FNC} (expected train_stances.csv, train_bodies.csv)")
    return FNC


@cache
def bodies() -> dict[str, str]:
    with open(_require() / "train_bodies.csv", encoding="utf-8", newline="") as fh:
        return {r["Body ID"]: r["articleBody"] for r in csv.DictReader(fh)}


@cache
def pairs() -> tuple[Pair, ...]:
    with open(_require() / "train_stances.csv", encoding="utf-8", newline="") as fh:
        return tuple(Pair(r["Headline"], r["Body ID"], r["Stance"]) for r in csv.DictReader(fh))


def _ids(name: str) -> frozenset[str]:
    return frozenset((_require() / name).read_text().split())


@cache
def topics() -> dict[str, str]:
    """'h:<headline>' / 'b:<body id>' -> topic root (union-find over related pairs)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs():
        h, b = find("h:" + p.headline), find("b:" + p.body_id)
        if p.stance != "unrelated":
            parent[h] = b
    return {k: find(k) for k in list(parent)}


@cache
def held_out_topics() -> frozenset[str]:
    roots = sorted(set(topics().values()))
    random.Random(SEED).shuffle(roots)
    return frozenset(roots[: round(len(roots) * HELD_OUT_TOPIC_SHARE)])


def train_pairs() -> list[Pair]:
    train_ids, held = _ids("training_body_ids.txt"), held_out_topics()
    t = topics()
    return [p for p in pairs() if p.body_id in train_ids
            and t["h:" + p.headline] not in held and t["b:" + p.body_id] not in held]


def test_pairs(split: str) -> list[Pair]:
    hold_ids = _ids("hold_out_body_ids.txt")
    if split == "challenge":
        return [p for p in pairs() if p.body_id in hold_ids]
    if split == "unseen":
        t, held = topics(), held_out_topics()
        return [p for p in pairs() if p.body_id in hold_ids and t["h:" + p.headline] in held]
    raise ValueError(f"unknown split {split!r} (challenge | unseen)")


@cache
def validation_topics() -> frozenset[str]:
    """A fixed share of the topics not held out (own seed, so the test split is unchanged)."""
    held = held_out_topics()
    roots = sorted(set(topics().values()) - held)
    random.Random(SEED + 1).shuffle(roots)
    return frozenset(roots[: round(len(roots) * VALIDATION_TOPIC_SHARE)])


def validation_pairs() -> list[Pair]:
    """Training pairs whose headline and body both lie in a validation topic."""
    t, val = topics(), validation_topics()
    return [p for p in train_pairs() if t["h:" + p.headline] in val and t["b:" + p.body_id] in val]


def fit_pairs() -> list[Pair]:
    """Training pairs touching no validation topic: what a model is fitted on while choosing."""
    t, val = topics(), validation_topics()
    return [p for p in train_pairs()
            if t["h:" + p.headline] not in val and t["b:" + p.body_id] not in val]


# --------------------------------------------------------------------------- ARC (training only)

ARC = FNC.parent / "arc"
ARC_PREFIX = "arc:"  # ARC body ids overlap FNC-1's numbers: prefixed, so they never collide


@cache
def arc_bodies() -> dict[str, str]:
    """ARC reader comments by prefixed body id ('arc:90000')."""
    path = ARC / "arc_bodies.csv"
    if not path.exists():
        sys.exit(f"ARC data not found at {ARC} (expected arc_stances.csv, arc_bodies.csv)")
    with open(path, encoding="utf-8", newline="") as fh:
        return {ARC_PREFIX + r["Body ID"]: r["articleBody"] for r in csv.DictReader(fh)}


def arc_pairs() -> list[Pair]:
    """ARC's related (agree / disagree / discuss) pairs, body ids prefixed: extra training
    data for the reader only.  No split of this module ever contains them (ARC's claims are
    New York Times debate topics, not FNC-1 stories), so every evaluation stays FNC-1's."""
    arc_bodies()  # fail early and clearly when the folder is missing
    with open(ARC / "arc_stances.csv", encoding="utf-8", newline="") as fh:
        return [Pair(r["Headline"], ARC_PREFIX + r["Body ID"], r["Stance"])
                for r in csv.DictReader(fh) if r["Stance"] != "unrelated"]


def body_text(body_id: str) -> str:
    """The body of an FNC-1 or (prefixed) ARC body id."""
    return arc_bodies()[body_id] if body_id.startswith(ARC_PREFIX) else bodies()[body_id]
