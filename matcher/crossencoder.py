"""The second reader: a small fine-tuned transformer that reads what an article says about a
claim and answers agree / disagree / discuss.

Word statistics (matcher/features.py) tell a related article from an unrelated one well, but
not which way a related one leans: that takes reading the sentences about the claim.  This
reader sees the claim and the article's first sentence plus the three sentences sharing most
words with the claim (about 128 WordPiece tokens), through the first four layers of
all-MiniLM-L6-v2 (Apache-2.0) fine-tuned on FNC-1 by scripts/train_crossencoder.py and
quantised to int8 ONNX.  Run time needs numpy, onnxruntime and tokenizers; no network, no torch.
A model may instead have been trained on sentences chosen by stance cues as well as overlap
(`select_sentences(..., select="cues")`); its crossencoder.json says so in `select`, and the
reader chooses its sentences the same way (no `select` there: overlap, as before).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from matcher import stance
from matcher import text as tx

if TYPE_CHECKING:
    from tokenizers import Tokenizer

MODEL_DIR = Path(__file__).with_name("models") / "crossencoder"
META = "crossencoder.json"  # labels, max_len, top_k, select of the exported model
LABELS = ("agree", "disagree", "discuss")
_STOP_WORDS = """
a an the and or but if of to in on at by for with from as into about over after before than that
this these those it its is are was were be been being has have had do does did will would can
could may might must shall should not no so such too very just also then there their they them
he she his her him we our you your i me my who whom which what when where why how all any some
more most other own same up out off again further once here s t says said say new report reports
reported according claim claims
"""
STOP = frozenset(_STOP_WORDS.split())


def content_stems(text: str) -> set[str]:
    """Stems of the content words of `text` (stop words and one-letter words dropped)."""
    return {tx.stem(w) for w in tx.WORD.findall(text) if len(w) > 1 and w.lower() not in STOP}


@lru_cache(maxsize=32)
def _sentence_stems(body: str) -> tuple[tuple[str, ...], tuple[frozenset[str], ...]]:
    """The body's sentences and the content stems of each, computed once per article
    however many claims it is read against (cached: the article is the same for each)."""
    sentences = tx.sentences_of(body)
    return sentences, tuple(frozenset(content_stems(s)) for s in sentences)


def select_sentences(claim: str, body: str, top_k: int = 3, select: str = "overlap") -> str:
    """The body's first sentence plus the `top_k` sentences sharing most stems with the claim,
    in article order (ties to the earlier one): the part of a ~500-word article that talks
    about the claim, in the ~128 tokens the reader can afford.  Training uses this too.

    `select="cues"` also weighs the stance cues a sentence carries (`_cue_weights`): a denial
    often shares few words with the claim ("Peskov called the report nonsense"), so a sentence
    denying, confirming or reporting competes with one that merely repeats the claim's words.
    Same number of sentences, same token budget.  `"overlap"` is stems alone."""
    if select not in SELECTIONS:
        raise ValueError(f"unknown sentence selection {select!r} (one of {SELECTIONS})")
    sentences, stems = _sentence_stems(body)
    if len(sentences) <= top_k + 1:
        return " ".join(sentences)
    want = content_stems(claim)
    scores: list[float] = [len(want & s) for s in stems[1:]]
    if select == "cues":
        cues = _cue_weights(body)[1:]
        scores = [v + w if v or w >= CUE_WEIGHTS["deny"] else v
                  for v, w in zip(scores, cues, strict=True)]
    ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:top_k]
    return " ".join([sentences[0]] + [sentences[i + 1] for i in sorted(ranked)])


SELECTIONS = ("overlap", "cues")
# What a sentence's strongest stance cue adds to the stems it shares with the claim: a denial
# (deny verb, noun or adjective, a retraction; `matcher.stance.find_cues`, negation applied)
# counts as three shared stems and is picked even sharing none; a confirmation ("confirmed",
# "according to", "reported") as one; a verb of saying or a hedge only breaks ties between
# sentences sharing as many stems ("said" is in most news sentences).
CUE_WEIGHTS = {"deny": 3.0, "confirm": 1.0, "speech": 0.5, "discuss": 0.5}


def _cue_weight(sentence: str) -> float:
    best = 0.0
    for c in stance.find_cues(tx.fold(sentence)):
        kind = "speech" if c.kind == "confirm" and c.role == "speech" else c.kind
        best = max(best, CUE_WEIGHTS[kind])
    return best


@lru_cache(maxsize=32)
def _cue_weights(body: str) -> tuple[float, ...]:
    """`_cue_weight` of each of the body's sentences, once per article."""
    return tuple(_cue_weight(s) for s in _sentence_stems(body)[0])


def make_tokenizer(path: Path, max_len: int) -> Tokenizer:
    """WordPiece tokenizer from tokenizer.json, truncating claim + passage to `max_len`."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.no_padding()
    tok.enable_truncation(max_length=max_len, strategy="longest_first")
    return tok


def encode(tok: Tokenizer, claims: Sequence[str], passages: Sequence[str]) -> dict[str, np.ndarray]:
    """(claim, passage) pairs -> padded int64 input_ids / attention_mask / token_type_ids."""
    encs = tok.encode_batch(list(zip(claims, passages, strict=True)))
    width = max(len(e.ids) for e in encs)
    ids = np.zeros((len(encs), width), dtype=np.int64)
    mask, types = np.zeros_like(ids), np.zeros_like(ids)
    for row, e in enumerate(encs):
        n = len(e.ids)
        ids[row, :n], mask[row, :n], types[row, :n] = e.ids, 1, e.type_ids
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


class CrossEncoder:
    """P(agree, disagree, discuss) for (claim, article body) pairs, on one CPU thread."""

    def __init__(self, model_dir: Path = MODEL_DIR, onnx_name: str = "model.int8.onnx",
                 threads: int = 1, max_len: int | None = None) -> None:
        import onnxruntime as ort

        meta = json.loads((model_dir / META).read_text())
        if tuple(meta["labels"]) != LABELS:
            raise ValueError(f"{model_dir}: labels {meta['labels']}, expected {LABELS}")
        self.top_k: int = meta["top_k"]
        # how its sentences were chosen in training; a model that says nothing chose by overlap
        self.select: str = meta.get("select", "overlap")
        if self.select not in SELECTIONS:
            raise ValueError(f"{model_dir}: sentence selection {self.select!r}, "
                             f"expected one of {SELECTIONS}")
        self.max_len: int = max_len or meta["max_len"]
        self.tokenizer = make_tokenizer(model_dir / "tokenizer.json", self.max_len)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(str(model_dir / onnx_name), opts,
                                            providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}

    def run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        (logits,) = self.session.run(["logits"],
                                     {k: v for k, v in feed.items() if k in self.inputs})
        z = np.asarray(logits, dtype=np.float64)
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        out: np.ndarray = e / e.sum(axis=-1, keepdims=True)
        return out

    def predict(self, claims: Sequence[str], bodies: Sequence[str]) -> np.ndarray:
        """One row of probabilities per (claim, body).  Pairs run one at a time: int8 dynamic
        quantisation scales activations per batch, so batch-mates would change the answer."""
        out = np.zeros((len(claims), len(LABELS)))
        for i, (c, b) in enumerate(zip(claims, bodies, strict=True)):
            passage = select_sentences(c, b, self.top_k, self.select)
            out[i] = self.run(encode(self.tokenizer, [c], [passage]))[0]
        return out


@cache
def default_reader() -> CrossEncoder:
    return CrossEncoder()
