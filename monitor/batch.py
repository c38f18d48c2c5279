"""`claimwatch stance`: the stance of each text on its claim, from a JSON-lines file.

The batch face of the engine: every line goes through `matcher.assess.assess`, the code the
daemon runs, with the claim given only as a sentence.  Streams (one line in, one line out),
survives bad lines (named FILE:LINE) and draws a progress bar on stderr for long files.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matcher.assess import Assessment
    from matcher.match import Entity

log = logging.getLogger("claimwatch")


def explained(a: Assessment) -> dict[str, Any]:
    """An assessment as JSON: the stance contract's keys first, then what explains it."""
    own = {"quote": a.quote} if a.quote and a.quote != a.evidence else {}
    return {"stance": a.stance.value, "party": a.party, "evidence": a.evidence, **own,
            "score": round(float(a.score), 3), "cue": a.cue, "party_kind": a.party_kind,
            "why": {k: round(float(v), 3) for k, v in a.why.items()}}


STANCE_HELP = """\
The stance of each text on its claim, one input line at a time, with the daemon's matcher.

Each input line is a JSON object:
  {"id": "a1", "claim": "Elon Musk held talks with Vladimir Putin", "text": "..."}
id is a string or an integer; claim is a plain sentence (no watchlist needed); text is an
article body or a headline; an optional "title" is the article's headline. Blank lines are
skipped.

Each output line (--json) is one JSON object, in input order:
  {"id": "a1", "stance": "denies", "party": "Elon Musk", "evidence": "...", "score": 0.83,
   "cue": "denied", "party_kind": "entity", "why": {...}}
stance is confirms, denies, discusses or unrelated; party is who holds it ("" if nobody is
named); evidence is the sentence that shows it, and quote (only when the party is quoted
directly elsewhere than that sentence, or in a part of it) the party's own words.
Without --json: `ID  STANCE  PARTY  "EVIDENCE"`.

A bad line (invalid JSON, a missing or empty claim or text, a wrong type) is reported on
stderr as FILE:LINE: what is wrong; with --json it also gives {"id": ..., "line": N,
"error": "..."} so the output stays aligned with the input. The other lines are still
processed; the exit status is 1 if any line failed, 2 if FILE or --watchlists cannot be
read (or reading or the matcher fails for a reason that is not the line's), 0 otherwise.
"""


class BadLine(ValueError):
    """An input line that is not a valid stance request; `id` is echoed if it could be read."""

    def __init__(self, message: str, id: object = None) -> None:
        super().__init__(message)
        self.id = id


def stance_of(id: str | int, claim: str, text: str, title: str = "",
              entities: Sequence[Entity] = (), fast: bool = False) -> dict[str, Any]:
    """One (claim, text) pair -> the output record: id, stance, party, evidence, score, cue, why."""
    from matcher.assess import assess, default_engine
    from matcher.match import Claim

    (a,) = assess(title, text, [Claim(str(id), claim, ())], entities, outlet=None,
                  engine=default_engine(fast))
    return {"id": id, **explained(a)}


def parse_stance_line(line: str) -> tuple[str | int, str, str, str]:
    """An input line -> (id, claim, text, title); BadLine says what is wrong."""
    try:
        obj = json.loads(line.rstrip("\r\n"))
    except json.JSONDecodeError as err:
        raise BadLine(f"invalid JSON: {err.msg} (column {err.colno})") from None
    if not isinstance(obj, dict):
        raise BadLine(f"expected a JSON object, got {_json_type(obj)}")
    id_ = obj.get("id")
    if "id" not in obj:
        raise BadLine('missing "id"')
    if isinstance(id_, bool) or not isinstance(id_, str | int):
        raise BadLine(f'"id" must be a string or an integer, got {_json_type(id_)}')
    fields: dict[str, str] = {}
    for key in ("claim", "text"):
        if key not in obj:
            raise BadLine(f'missing "{key}"', id_)
        if not isinstance(obj[key], str):
            raise BadLine(f'"{key}" must be a string, got {_json_type(obj[key])}', id_)
        if not obj[key].strip():
            raise BadLine(f'"{key}" is empty', id_)
        fields[key] = obj[key]
    title = obj.get("title")
    if title is not None and not isinstance(title, str):
        raise BadLine(f'"title" must be a string, got {_json_type(title)}', id_)
    return id_, fields["claim"], fields["text"], title or ""


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def stance(file: str, *, as_json: bool, watchlists: Path | None = None,
           progress: bool = False, fast: bool = False) -> int:
    entities: Sequence[Entity] = ()
    if watchlists is not None:
        from monitor.watchlist import WatchlistError, load_watchlists

        try:
            entities = load_watchlists(watchlists).entities
        except WatchlistError as err:
            print(err, file=sys.stderr)
            return 2
    from matcher.assess import default_engine

    default_engine(fast)  # loaded before the clock starts: the rate is the engine's

    name = "<stdin>" if file == "-" else file
    try:
        stream = sys.stdin.buffer if file == "-" else open(file, "rb")  # noqa: SIM115
    except OSError as err:
        print(f"claimwatch stance: cannot read {file}: {err.strerror or err}", file=sys.stderr)
        return 2
    total = _count_lines(file) if progress and file != "-" else None
    bar = _Progress(sys.stderr, total, shares_screen=sys.stdout.isatty()) if progress else None
    failed = done = 0
    crashed = False
    try:
        for lineno, line in _lines(stream):
            done += 1
            if line.strip():
                try:
                    id_, claim, text, title = parse_stance_line(line)
                    try:
                        record = stance_of(id_, claim, text, title, entities, fast)
                    except OSError:  # e.g. no model file: every line would fail the same way
                        raise
                    except Exception as err:  # one bad pair must not end a long run
                        if not crashed:  # the first traceback in full, then one line each
                            log.exception("%s:%d: the matcher crashed", name, lineno)
                        crashed = True
                        raise BadLine(f"internal error: {type(err).__name__}: {err}", id_) from err
                except BadLine as bad:
                    failed += 1
                    if bar:
                        bar.clear()
                    print(f"{name}:{lineno}: {bad}", file=sys.stderr, flush=True)
                    if as_json:
                        _emit(json.dumps({"id": bad.id, "line": lineno, "error": str(bad)},
                                         ensure_ascii=False), bar)
                else:
                    _emit(json.dumps(record, ensure_ascii=False) if as_json else _human(record),
                          bar)
            if bar:
                bar.update(done)
    except KeyboardInterrupt:
        if bar:
            bar.close(done)
        print(f"claimwatch stance: interrupted after {done} line(s)", file=sys.stderr)
        return 130
    except OSError as err:
        if isinstance(err, BrokenPipeError):  # `claimwatch stance big.jsonl | head`: enough read
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1 if failed else 0
        if bar:
            bar.close(done)
        print(f"claimwatch stance: stopped at {name}:{done}: {err}", file=sys.stderr)
        return 2
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    if bar:
        bar.close(done)
    if failed:
        print(f"claimwatch stance: {failed} line(s) of {name} failed", file=sys.stderr)
    return 1 if failed else 0


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, str]]:
    """(line number, text), one at a time; undecodable bytes become U+FFFD, a BOM is dropped."""
    for lineno, raw in enumerate(stream, 1):
        line = raw.decode("utf-8", errors="replace")
        yield lineno, line.lstrip("\ufeff") if lineno == 1 else line


def _count_lines(file: str) -> int | None:
    """Lines in a regular file, for the progress bar's total (None for pipes and FIFOs)."""
    path = Path(file)
    if not path.is_file():
        return None
    n, last = 0, b"\n"
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def _emit(line: str, bar: _Progress | None) -> None:
    """One output line, flushed at once; the bar steps aside when both share a terminal."""
    if bar and bar.shares_screen:
        bar.clear()
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    if bar and bar.shares_screen:
        bar.redraw()


def _human(record: dict[str, Any]) -> str:
    evidence = " ".join(str(record["evidence"]).split())
    if len(evidence) > 100:
        evidence = evidence[:99].rstrip() + "…"
    return f'{record["id"]}  {record["stance"]}  {record["party"] or "-"}  "{evidence}"'


class _Progress:
    """`done/total  pct  pairs/s  ETA` on one stderr line, redrawn at most ten times a second."""

    def __init__(self, stream: IO[str], total: int | None, *, shares_screen: bool = False) -> None:
        self.stream, self.total, self.shares_screen = stream, total, shares_screen
        self.start = self.last = time.monotonic()
        self.text, self.width = "", 0

    def update(self, done: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < 0.1:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        if self.total:
            eta = (self.total - done) / rate if rate > 0 else 0.0
            text = (f"{done}/{self.total} {100 * done / self.total:5.1f}%  {rate:.1f} pairs/s"
                    f"  ETA {_duration(eta)}")
        else:
            text = f"{done} lines  {rate:.1f} pairs/s"
        self._draw(text)

    def clear(self) -> None:
        """Blank the bar so another stderr message gets a line of its own."""
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0

    def redraw(self) -> None:
        if self.text:
            self._draw(self.text)

    def close(self, done: int) -> None:
        self.update(done, force=True)
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self, text: str) -> None:
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.text, self.width = text, len(text)


def _duration(seconds: float) -> str:
    s = int(seconds + 0.5)
    return f"{s // 3600}h{s // 60 % 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"
