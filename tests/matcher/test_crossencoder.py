"""Specification of the reader of related articles (`matcher.crossencoder`).

The reader is a learned model: these tests pin what must hold whatever its weights (it ships
with the package, loads offline, sees the right sentences, answers the same for a pair alone
or in company) and how it reads three clear-cut articles of a story it was never trained on.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from matcher.crossencoder import (
    LABELS,
    META,
    MODEL_DIR,
    CrossEncoder,
    default_reader,
    select_sentences,
)
from tests.matcher.test_assess import CONFIRMED, DEBUNKED, OLYMPICS, RUMOUR


def test_the_reader_ships_with_the_package_small_enough_to_commit() -> None:
    files = {p.name: p.stat().st_size for p in MODEL_DIR.iterdir()}
    assert set(files) == {"model.int8.onnx", "tokenizer.json", META}
    assert sum(files.values()) < 25_000_000
    assert tuple(json.loads((MODEL_DIR / META).read_text())["labels"]) == LABELS


def test_the_reader_loads_with_the_network_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the reader tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    reader = CrossEncoder()
    assert reader.predict([OLYMPICS.statement], [CONFIRMED]).shape == (1, len(LABELS))


def test_the_reader_sees_the_lead_and_the_sentences_that_share_most_words_with_the_claim() -> None:
    body = ("Markets were calm on Monday. Traders watched bond yields. Lyon will host the 2030 "
            "Winter Olympics, officials said. Oil prices fell. Winter Olympics in Lyon need new "
            "venues. A summit was hosted in Paris.")
    picked = select_sentences(OLYMPICS.statement, body, top_k=2)
    assert picked == ("Markets were calm on Monday. Lyon will host the 2030 Winter Olympics, "
                      "officials said. Winter Olympics in Lyon need new venues.")


def test_a_model_trained_on_cue_chosen_sentences_also_sees_a_denial_sharing_no_word_with_the_claim() -> None:
    body = ("Markets were calm on Monday. Traders watched bond yields. Lyon will host the 2030 "
            "Winter Olympics, officials said. Oil prices fell. Winter sports need new venues. "
            "The mayor's office called the report nonsense.")
    denial = "The mayor's office called the report nonsense."
    assert denial not in select_sentences(OLYMPICS.statement, body, top_k=2)
    assert denial in select_sentences(OLYMPICS.statement, body, top_k=2, select="cues")
    with pytest.raises(ValueError, match="unknown sentence selection"):
        select_sentences(OLYMPICS.statement, body, select="cue")


def test_the_shipped_reader_chooses_its_sentences_the_way_it_was_trained() -> None:
    meta = json.loads((MODEL_DIR / META).read_text())
    assert default_reader().select == meta.get("select", "overlap")


def test_a_short_body_is_read_whole() -> None:
    assert select_sentences(OLYMPICS.statement, "One. Two.", top_k=3) == "One. Two."


def test_a_pair_gets_the_same_odds_alone_or_among_others() -> None:
    reader = default_reader()
    alone = reader.predict([OLYMPICS.statement], [RUMOUR])
    together = reader.predict([OLYMPICS.statement] * 3, [CONFIRMED, RUMOUR, DEBUNKED])
    assert np.allclose(alone[0], together[1])
    assert np.allclose(together.sum(axis=1), 1.0)


def test_the_reader_tells_a_confirmation_a_debunk_and_a_rumour_apart() -> None:
    p = default_reader().predict([OLYMPICS.statement] * 3, [CONFIRMED, DEBUNKED, RUMOUR])
    assert [LABELS[int(i)] for i in p.argmax(axis=1)] == ["agree", "disagree", "discuss"]
