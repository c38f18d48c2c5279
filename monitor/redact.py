"""URLs made fit to print: the one helper for every log line, `status` row and stored error.

Feed and page URLs may carry credentials (`https://user:pass@host/…`) or keys in the query
(`?apikey=…`, `?token=…`); `safe_url` keeps what tells a person which resource it is (scheme,
host, port, path, the names of query parameters) and masks every credential and every query
value: a key is not always named like one. `redact` does the same to every http(s) URL inside
free text (an error message) and cuts any other URL (a notification target: its tokens may sit
anywhere) to its scheme; notification targets are shown by alerts/deliver.py `privacy_label`.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

__all__ = ["MASK", "URL_PATTERN", "RedactingFormatter", "redact", "safe_url"]

MASK = "***"
_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]{0,31})://([^\s'\"<>)\]]*)")
URL_PATTERN = _URL  # any URL in free text (scheme, rest): also used by monitor/logs.py
_WEB = ("http", "https")


def safe_url(url: str) -> str:
    """`https://***@example.org/feed?apikey=***&page=***`: the URL without secrets."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]{0,31}):", text)
        return f"{match.group(1)}://…" if match else "(not a URL)"
    if not parts.scheme or not parts.netloc:
        return "(not a URL)" if "?" in text or "@" in text or ":" in text else text
    if parts.scheme.lower() not in _WEB:
        return f"{parts.scheme}://…"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if "@" in parts.netloc:
        netloc = f"{MASK}@{netloc}"
    out = f"{parts.scheme}://{netloc}{parts.path}"
    if parts.query:
        masked = []
        for item in parts.query.split("&"):
            if not item:
                continue
            name, sep, _ = item.partition("=")
            masked.append(f"{name}={MASK}" if sep and name else MASK)
        out += "?" + "&".join(masked)
    if parts.fragment:
        out += "#" + MASK
    return out


def redact(text: str | None, *, web_only: bool = False) -> str:
    """`text` with every URL in it shown as `safe_url` shows it (others cut to their scheme,
    unless `web_only`: a log line's notification targets are already privacy labels)."""
    if not text:
        return text or ""

    def one(m: re.Match[str]) -> str:
        scheme, url = m.group(1), m.group(0)
        tail = url[len(url.rstrip(".,;:!")):]  # the sentence's punctuation, not the URL's
        if scheme.lower() not in _WEB:
            return url if web_only else f"{scheme}://…{tail}"
        return safe_url(url[: len(url) - len(tail)]) + tail

    return _URL.sub(one, text)


class RedactingFormatter(logging.Formatter):
    """The last line of defence, installed on the `claimwatch` command's log handler: any web
    URL a log line or traceback still carries loses its credentials and query values."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), web_only=True)
