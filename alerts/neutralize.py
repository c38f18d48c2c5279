"""Untrusted text (quotes, headlines, outlet names, URLs, party names) made inert per target.

Every apprise target interprets some markup: Slack parses ``<!channel>``, ``<@U…>`` and
``<url|label>``; Discord and Mattermost parse Markdown, masked links and ``@everyone``/``@here``;
a json:// webhook forwards whatever it gets to whoever consumes it; email renders HTML. Text from
an article must reach the desk as the words it is, never as a ping, a disguised link or markup.

`target_kind(url)` names the dialect of an apprise URL; `inert(kind, text)` makes one piece of
untrusted text literal in it (HTML is escaped by Jinja2's autoescape instead, see render.py);
`safe_url` keeps only http(s) URLs, with the characters that could end a link percent-encoded.
All of it is pure and not idempotent (escapes would be escaped again): apply it once, to the raw
text, at render time, which the templates' environment does for every printed value.
"""
from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

__all__ = ["KINDS", "ZWSP", "cap", "inert", "one_line", "safe_url", "target_kind"]

ZWSP = "\u200b"  # zero-width space: breaks a mention or a markup marker, invisible to the reader

# apprise schemes → the dialect their body is read in
_SLACK = {"slack", "slacks"}
_DISCORD = {"discord"}
_MATTERMOST = {"mmost", "mmosts", "mattermost"}
_EMAIL = {"mailto", "mailtos", "email"}
_WEBHOOK = {"json", "jsons", "xml", "xmls", "form", "forms"}

KINDS = ("slack", "discord", "mattermost", "email", "webhook", "text")


def target_kind(url: str) -> str:
    """'slack' | 'discord' | 'mattermost' | 'email' | 'webhook' (json/xml/form) | 'text'."""
    scheme = url.strip().partition("://")[0].lower() if "://" in url else ""
    if scheme in _SLACK or url.strip().lower().startswith("https://hooks.slack.com/"):
        return "slack"
    if scheme in _DISCORD or url.strip().lower().startswith(("https://discord.com/api/webhooks",
                                                             "https://discordapp.com/api/webhooks")):
        return "discord"
    if scheme in _MATTERMOST:
        return "mattermost"
    if scheme in _EMAIL:
        return "email"
    if scheme in _WEBHOOK:
        return "webhook"
    return "text"


_SPACE = re.compile(r"\s+")
# Invisible and bidi-control characters: used to disguise text (e.g. a reversed URL).
_CONTROLS = re.compile("[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u202a-\u202e\u2066-\u2069]")


def one_line(text: str | None) -> str:
    """Whitespace collapsed (no injected line structure), control characters dropped."""
    return _SPACE.sub(" ", _CONTROLS.sub("", text or "")).strip()


def cap(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word when one is near, ending in an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


# @everyone, @here, @channel, @all, @someone, and e-mail-like a@b: a ZWSP after the @ stops
# every chat service's mention parser (and apprise's Discord ping detection).
_AT = re.compile(r"@(?=\w)")
# Slack and Mattermost: <!channel>, <@U123>, <#C123>, <http://x|y> all start with "<".
_SLACK_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Slack mrkdwn has no escape for its markers; a ZWSP after one keeps it from pairing up.
_SLACK_MARKERS = re.compile(r"([*_~`])")
# CommonMark (Discord, Mattermost): any ASCII punctuation may be backslash-escaped; these are
# the ones that start emphasis, code, spoilers, links, mentions, tags, headings or tables.
_MD_SPECIAL = re.compile(r"([\\`*_~|\[\]()<>#])")
_MD_LIST = re.compile(r"^(\d*)([-+.)])(?=\s)")  # a list item, were the text to start a line
# Plain text that a webhook consumer may forward to a chat: break tags, mentions and masked links
# without escaping (a text target shows backslashes literally).
_TEXT_LINK = re.compile(r"\](?=\()")
_TEXT_ANGLE = re.compile(r"<(?=[!@#&/A-Za-z])")


def inert(kind: str, text: str | None) -> str:
    """`text` as literal, one-line words in the dialect of `kind` (not HTML: Jinja escapes it)."""
    s = one_line(text)
    if kind == "slack":
        s = "".join(_SLACK_SPECIAL.get(c, c) for c in s)
        s = _SLACK_MARKERS.sub(lambda m: m.group(1) + ZWSP, s)
        return _AT.sub("@" + ZWSP, s)
    if kind in ("discord", "mattermost"):
        s = _MD_LIST.sub(r"\1\\\2", _MD_SPECIAL.sub(r"\\\1", s))
        return _AT.sub("@" + ZWSP, s)
    if kind == "email":
        return s  # HTML escaping is Jinja2's autoescape; the subject is plain text
    s = _TEXT_ANGLE.sub("<" + ZWSP, s)
    s = _TEXT_LINK.sub("]" + ZWSP, s)
    return _AT.sub("@" + ZWSP, s)


_URL_UNSAFE = "<>|\"'`()[]{} \\^"


def safe_url(url: str | None, limit: int = 2000) -> str:
    """The URL if it is a plain http(s) URL (link-breaking characters percent-encoded), else ''."""
    text = one_line(url)
    if not text or len(text) > limit:
        return ""
    try:
        parts = urlsplit(text)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return "".join(quote(c, safe="") if c in _URL_UNSAFE else c for c in text)
