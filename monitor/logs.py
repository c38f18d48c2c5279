"""The process log: plain lines for people, or one JSON object per line for a log pipeline.

Both forms go through `redact` (monitor/redact.py): no URL credential or query value reaches the
log. `CLAIMWATCH_LOG_FORMAT=json` gives time, level, logger, message and, where the line names
them, source, claim and url: from a record's `extra=` if given, else from the wording the
daemon's lines use (`source 'Name': …`, `claim 'id': …`, the first web URL). A multi-line
message or a traceback stays inside its one record.
"""
from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from monitor.redact import URL_PATTERN, RedactingFormatter, redact

PLAIN = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("text", "json")
_SOURCE = re.compile(r"\bsource '((?:[^'\\]|\\.)*)'")
_CLAIM = re.compile(r"\bclaim '((?:[^'\\]|\\.)*)'")
# Loggers that are chatty at DEBUG; aiosqlite even logs every statement with its parameters.
_QUIET = ("apscheduler", "alembic", "aiosqlite", "aiohttp.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per record (and so per line: newlines inside are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        message = redact(record.getMessage(), web_only=True)
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": message,
        }
        for key, pattern in (("source", _SOURCE), ("claim", _CLAIM)):
            given = getattr(record, key, None)
            found = pattern.search(message) if given is None else None
            if given is not None or found:
                out[key] = str(given) if given is not None else found.group(1)  # type: ignore[union-attr]
        url = getattr(record, "url", None)
        if url is not None:
            out["url"] = redact(str(url), web_only=True)
        elif (m := URL_PATTERN.search(message)) and m.group(1).lower() in ("http", "https"):
            out["url"] = m.group(0).rstrip(".,;:!")
        if record.exc_info:
            out["exception"] = redact(self.formatException(record.exc_info), web_only=True)
        if record.stack_info:
            out["stack"] = redact(self.formatStack(record.stack_info), web_only=True)
        return json.dumps(out, ensure_ascii=False)


def setup(level: str, fmt: str = "text") -> None:
    """The root logger at `level` on stderr, in `fmt` (text or json); both redacted."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else RedactingFormatter(PLAIN))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for chatty in _QUIET:
        logging.getLogger(chatty).setLevel(logging.WARNING)
