"""What the desk reads: an alert, a digest or an ops notice rendered for one apprise target.

Rendering is Jinja2 (`alerts/templates/*.j2`, or a channel's own file named by `template:` in
the watchlist). The target's apprise URL decides the dialect (`neutralize.target_kind`):

=============  ============  ==================================================================
target         body format   untrusted text (quote, headline, outlet, party, URL) made inert by
=============  ============  ==================================================================
slack          Slack mrkdwn  ``& < >`` entity-escaped (no ``<!channel>``, ``<@U…>``, ``<url|x>``),
                             a zero-width space after ``* _ ~ ` @`` (no emphasis, no ``@here``)
discord,       Markdown      backslash escapes for Markdown/links/tags, ZWSP after ``@``
mattermost
email          HTML          Jinja2 autoescape (the plain-text part is derived by apprise)
webhook, text  plain text    ZWSP after ``<`` before a tag/mention, after ``@``, in ``](``
=============  ============  ==================================================================

Every ``{{ expression }}`` a template prints goes through that neutraliser (Jinja2 `finalize`,
or autoescape for HTML), so a template cannot forget it; only what the `link` filter builds
(an http(s) URL and its inert label) is printed as markup. Titles stay exactly
``<Party> <confirms|denies>: <claim statement>`` (neutralised, capped at 250 characters).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from alerts.neutralize import cap, inert, one_line, safe_url, target_kind
from storage.records import PendingDelivery, StandingEntry

__all__ = ["Message", "alert_message", "body", "digest_message", "notice_message", "published",
           "template_problems", "title"]

log = logging.getLogger("claimwatch.alerts.render")

TEMPLATES = Path(__file__).with_name("templates")

MAX_TITLE = 250  # Slack's and apprise's title limit; beyond it the statement is cut
MAX_PARTY = 80
MAX_QUOTE = 600  # a sentence, not an article: long quotes are cut, the link has the rest
MAX_CONTEXT = 600
MAX_HEADLINE = 300
MAX_OUTLET = 100
MAX_BODY = {"slack": 2900, "discord": 3900, "mattermost": 15000}  # Block Kit section: 3000

# stance → apprise notify type: the colour Slack, Discord and others show (green / red)
_STANCE_TYPE = {"confirms": "success", "denies": "failure"}
_SEVERITY_TYPE = {"warning": "warning", "failure": "failure", "success": "success", "info": "info"}
_FORMAT = {"slack": "markdown", "discord": "markdown", "mattermost": "markdown", "email": "html",
           "webhook": "text", "text": "text"}
_DEFAULT = {"slack": "slack.j2", "discord": "markdown.j2", "mattermost": "markdown.j2",
            "email": "email.html.j2", "webhook": "text.j2", "text": "text.j2"}


@dataclass(frozen=True)
class Message:
    """One notification, ready for apprise.

    `target` is the dialect it was rendered for; `passthrough` says the body is already in the
    target's own dialect (Slack mrkdwn), to be sent without apprise's Markdown conversion;
    `link` is the article the title points to (Discord embed URL); `headers` are extra e-mail
    headers (one thread per claim: In-Reply-To/References a stable per-claim id).
    """

    title: str
    body: str
    body_format: str  # apprise NotifyFormat value: "text" | "markdown" | "html"
    notify_type: str  # apprise NotifyType value: "info" | "success" | "warning" | "failure"
    target: str = "text"
    passthrough: bool = False
    link: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)


# --- the alert as templates see it -------------------------------------------------------------


def _utc(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def _when(at: datetime | None) -> str:
    """'2024-10-25 09:15 UTC', or '' when unknown; naive times are UTC (how storage keeps them)."""
    u = _utc(at)
    return f"{u:%Y-%m-%d %H:%M} UTC" if u else ""


def _day(at: datetime | None) -> str:
    u = _utc(at)
    return f"{u:%Y-%m-%d}" if u else ""


def published(at: datetime | None) -> str:
    """'published 2024-10-25 10:00 UTC' or 'publication time unknown'."""
    return f"published {_when(at)}" if at is not None else "publication time unknown"


_OPENING = "\"“„«‹‘'‚「『"
_CLOSING = {"\"": "\"", "“": "”", "„": "“", "«": "»", "‹": "›", "‘": "’", "'": "'", "‚": "‘",
            "「": "」", "『": "』"}


def _quote(text: str) -> tuple[str, bool]:
    """(the words, whether they are a direct quotation): a quotation keeps its own marks; a cut
    one gets its closing mark back after the ellipsis, so marks stay balanced."""
    q = one_line(text)
    direct = bool(q) and q[0] in _OPENING
    if len(q) > MAX_QUOTE:
        q = cap(q, MAX_QUOTE - 1)
        if direct:
            q += _CLOSING[q[0]]
    return q, direct


def _party(name: str) -> str:
    return cap(one_line(name), MAX_PARTY) or "Someone"


def title(d: PendingDelivery) -> str:
    """Exactly "<party> <stance>: <statement>" (raw words; neutralised per target when sent)."""
    head = f"{_party(d.party)} {d.stance}: "
    return head + cap(one_line(d.statement), max(MAX_TITLE - len(head), 20))


def _standing(entries: Sequence[StandingEntry]) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {"confirms": [], "denies": []}
    for e in entries:
        if e.stance in out:
            out[e.stance].append({"party": _party(e.party), "outlet": cap(one_line(e.outlet), MAX_OUTLET),
                                  "date": _day(e.at), "url": e.url})
    return out


def _more(d: PendingDelivery) -> dict[str, int]:
    """Per stance, how many parties hold it beyond those the alert names ("and 304 more")."""
    return {stance: max(0, d.standing_total.get(stance, 0) - sum(1 for e in d.standing if e.stance == stance))
            for stance in ("confirms", "denies")}


def _change(d: PendingDelivery) -> str:
    """'New: first time Kremlin takes a stance on this claim.' / 'Switched: …, now denies it.'"""
    party = _party(d.party)
    if d.generation <= 1 or not d.previous_stance:
        return f"New: first time {party} takes a stance on this claim."
    before = {"confirms": "confirmed", "denies": "denied"}.get(d.previous_stance, d.previous_stance)
    since = f" since {_day(d.previous_since)}" if d.previous_since else ""
    return f"Switched: {party} {before} this claim{since}, now {d.stance} it."


def _alert(d: PendingDelivery) -> dict[str, Any]:
    quote, direct = _quote(d.quote)
    context = cap(one_line(d.context), MAX_CONTEXT)
    if context and context == one_line(d.quote):
        context = ""
    return {
        "title": title(d),
        "party": _party(d.party),
        "stance": d.stance,
        "confirms": d.stance == "confirms",
        "statement": one_line(d.statement),
        "claim_id": d.claim_id,
        "quote": quote,
        "quote_is_direct": direct,
        "context": context,
        "outlet": cap(one_line(d.outlet), MAX_OUTLET),
        "headline": cap(one_line(d.article_title), MAX_HEADLINE) or "(untitled article)",
        "url": d.article_url,
        "published": _when(d.published_at),
        "published_at": _utc(d.published_at),
        "seen": _when(d.seen_at),
        "seen_at": _utc(d.seen_at),
        "alerted_at": _utc(d.alerted_at),
        "new": d.generation <= 1 or not d.previous_stance,
        "change": _change(d),
        "previous_stance": d.previous_stance or "",
        "previous_since": _day(d.previous_since),
        "stale": d.stale,
        "standing": _standing(d.standing),
        "standing_more": _more(d),
    }


def _claims(items: Sequence[PendingDelivery]) -> list[dict[str, Any]]:
    """Alerts grouped by claim (claims in order of their first alert), each in time order."""
    ordered = sorted(items, key=lambda d: (_utc(d.alerted_at) or datetime.min.replace(tzinfo=timezone.utc), d.id))
    groups: dict[str, list[PendingDelivery]] = {}
    for d in ordered:
        groups.setdefault(d.claim_id, []).append(d)
    return [{"statement": one_line(g[0].statement), "claim_id": cid, "alerts": [_alert(d) for d in g]}
            for cid, g in groups.items()]


# --- Jinja2, one environment per dialect --------------------------------------------------------


class _Raw(str):
    """Markup built by claimwatch itself from neutralised parts: printed as is."""


def _environment(kind: str, directory: Path) -> jinja2.Environment:
    """Sandboxed (a watchlist editor's template reaches no Python internals), strict about
    undefined variables, and neutralising or escaping every printed value for `kind`."""
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(directory)), jinja2.FileSystemLoader(str(TEMPLATES))])
    if kind == "email":
        env = SandboxedEnvironment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                                 trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)

        def link(url: Any, label: Any = None) -> str:
            href = safe_url(str(url or ""))
            text = escape(one_line(str(label if label is not None else url or "")))
            return Markup('<a href="{}">{}</a>').format(href, text) if href else Markup(text)

        env.filters["link"] = link
    else:
        def finalize(value: Any) -> Any:
            if value is None:
                return ""
            if isinstance(value, _Raw):
                return value
            return inert(kind, str(value))

        env = SandboxedEnvironment(loader=loader, autoescape=False, finalize=finalize,
                                 undefined=jinja2.StrictUndefined, trim_blocks=True,
                                 lstrip_blocks=True, keep_trailing_newline=False)

        def link(url: Any, label: Any = None) -> str:
            href = safe_url(str(url or ""))
            text = inert(kind, str(label if label is not None else url or ""))
            if not href:
                return _Raw(text)
            if kind == "slack":
                return _Raw(f"<{href}|{text}>")
            if kind in ("discord", "mattermost"):
                return _Raw(f"[{text}]({href})")
            # plain text: the URL as it is (safe_url encoded what could end it), never altered
            return _Raw(f"{text} ({href})" if label is not None else href)

        env.filters["link"] = link
        # what a macro returns was neutralised piece by piece: `{{ my_macro(a) | safe }}`
        env.filters["safe"] = lambda v: _Raw("" if v is None else str(v))
    env.filters["inert"] = lambda v: _Raw(inert(kind, "" if v is None else str(v))) if kind != "email" else v
    env.globals["target"] = kind
    env.globals["format"] = _FORMAT[kind]
    return env


@lru_cache(maxsize=64)
def _env(kind: str, directory: str) -> jinja2.Environment:
    return _environment(kind, Path(directory))


def _render(kind: str, template: Path | None, context: Mapping[str, Any]) -> str:
    if template is None:
        env, name = _env(kind, str(TEMPLATES)), _DEFAULT[kind]
    else:
        env, name = _env(kind, str(template.parent)), template.name
    text = env.get_template(name).render(**context)
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:  # at most one blank line in a row: templates may leave empty branches
        if line or (out and out[-1]):
            out.append(line)
    body = "\n".join(out).strip()
    if kind == "email" and template is not None and "<" not in body:
        body = "<br>\n".join(out).strip()  # a channel's plain template, as e-mail HTML: keep its lines
    limit = MAX_BODY.get(kind)
    if limit and len(body) > limit:
        body = body[: limit - 1].rsplit("\n", 1)[0] + "\n…"
    return body


def _message(kind: str, raw_title: str, body_text: str, notify_type: str, link: str = "",
             headers: Mapping[str, str] | None = None) -> Message:
    if kind == "email":
        shown = cap(one_line(raw_title), MAX_TITLE)  # a Subject: no markup to neutralise
    else:  # escapes may lengthen it: Discord refuses an embed title over 256 characters
        shown = cap(inert(kind, cap(one_line(raw_title), MAX_TITLE)), 256)
    return Message(title=shown, body=body_text, body_format=_FORMAT[kind], notify_type=notify_type,
                   target=kind, passthrough=kind == "slack", link=safe_url(link), headers=dict(headers or {}))


def _thread(claim_id: str) -> dict[str, str]:
    """Headers that put every alert about one claim in one e-mail thread."""
    root = f"<claim.{''.join(c if c.isalnum() or c in '-_.' else '_' for c in claim_id)}@claimwatch>"
    return {"In-Reply-To": root, "References": root}


_STRICT: ContextVar[bool] = ContextVar("claimwatch_render_strict", default=False)


def _own_or_bundled(build: Callable[[Path | None], Message], template: Path | None) -> Message:
    """A channel's own template, or the bundled one if it fails at send time (it passed
    `claimwatch check`, but an alert's data can still trip it): an alert is never lost to a
    template. `template_problems` renders strictly, to report the error instead."""
    if template is None or _STRICT.get():
        return build(template)
    try:
        return build(template)
    except Exception as err:  # noqa: BLE001 - any failure of a user template
        log.error("template %s failed (%s: %s); sent with the bundled template instead",
                  template, type(err).__name__, err)
        return build(None)


def alert_message(d: PendingDelivery, url: str, template: Path | None = None) -> Message:
    """One alert for the target `url` (its dialect), from the bundled or the channel's template."""
    return _own_or_bundled(lambda t: _alert_message(d, url, t), template)


def _alert_message(d: PendingDelivery, url: str, template: Path | None) -> Message:
    kind = target_kind(url)
    a = _alert(d)
    context = {"kind": "alert", "alert": a, "heading": a["title"], "claims": _claims([d]), "count": 1}
    return _message(kind, a["title"], _render(kind, template, context), _STANCE_TYPE.get(d.stance, "info"),
                    link=d.article_url, headers=_thread(d.claim_id) if kind == "email" else None)


def _lists_claims(kind: str, template: Path) -> bool:
    """Whether a channel's own template lays out a digest itself (it reads `claims`)."""
    env = _env(kind, str(template.parent))
    source = env.loader.get_source(env, template.name)[0] if env.loader else ""
    return "claims" in jinja2.meta.find_undeclared_variables(env.parse(source))


def digest_message(items: Sequence[PendingDelivery], url: str, heading: str,
                   template: Path | None = None) -> Message:
    """Several alerts in one message, grouped by claim, in time order, under `heading`.

    A channel's own template that reads `claims` lays the digest out itself; one that only
    reads `alert` renders each alert, under the heading and each claim's statement."""
    return _own_or_bundled(lambda t: _digest_message(items, url, heading, t), template)


def _digest_message(items: Sequence[PendingDelivery], url: str, heading: str, template: Path | None) -> Message:
    kind = target_kind(url)
    claims = _claims(items)
    stances = {d.stance for d in items}
    notify = _STANCE_TYPE.get(stances.pop(), "info") if len(stances) == 1 else "info"
    context = {"kind": "digest", "alert": claims[-1]["alerts"][-1] if claims else None,
               "heading": one_line(heading), "claims": claims, "count": len(items)}
    headers = _thread(claims[0]["claim_id"]) if kind == "email" and len(claims) == 1 else None
    if template is not None and not _lists_claims(kind, template):
        parts = {g["claim_id"]: [_render(kind, template, {**context, "kind": "alert", "alert": a,
                                                          "claims": [{**g, "alerts": [a]}], "count": 1})
                                 for a in g["alerts"]] for g in claims}
        text = _env(kind, str(TEMPLATES)).get_template(f"parts{'.html' if kind == 'email' else ''}.j2").render(
            heading=context["heading"], claims=[{**g, "parts": [_Raw(p) if kind != "email" else Markup(p)
                                                              for p in parts[g["claim_id"]]]} for g in claims])
        return _message(kind, heading, text.strip(), notify, headers=headers)
    return _message(kind, heading, _render(kind, template, context), notify, headers=headers)


def notice_message(title: str, body: str, url: str, severity: str, template: Path | None = None) -> Message:
    """claimwatch's own ops notice (a source or channel failing, or recovered); `template` is
    the ops channel's own (variables `heading`, `lines`, `severity`)."""
    return _own_or_bundled(lambda t: _notice_message(title, body, url, severity, t), template)


def _notice_message(title: str, body: str, url: str, severity: str, template: Path | None) -> Message:
    kind = target_kind(url)
    lines = [one_line(line) for line in (body or "").splitlines()]
    context = {"kind": "notice", "heading": one_line(title), "lines": [x for x in lines if x],
               "severity": severity, "alert": None, "claims": [], "count": 0}
    bundled = TEMPLATES / f"notice.{'html.' if kind == 'email' else ''}j2"
    return _message(kind, title, _render(kind, template or bundled, context), _SEVERITY_TYPE.get(severity, "info"))


# --- checking a channel's own template -----------------------------------------------------------

_SAMPLE = PendingDelivery(
    id=1, alert_id=1, channel="sample", target_key="sample", target_label="sample", attempts=0,
    claim_id="sample-claim", statement="Elon Musk has held private talks with Vladimir Putin",
    party="Kremlin", stance="denies", quote="“It's all untrue,” Peskov said.", cue="denied",
    outlet="The Moscow Times", article_title="Kremlin denies Musk-Putin talks",
    article_url="https://example.org/2024/10/25/kremlin-denies", context="The Kremlin on Friday denied the report.",
    published_at=datetime(2024, 10, 25, 9, 15, tzinfo=timezone.utc),
    alerted_at=datetime(2024, 10, 25, 9, 20, tzinfo=timezone.utc),
    seen_at=datetime(2024, 10, 25, 9, 18, tzinfo=timezone.utc), generation=2, previous_stance="confirms",
    previous_since=datetime(2024, 10, 3, tzinfo=timezone.utc),
    standing=(StandingEntry("Kremlin", "denies", "The Moscow Times", datetime(2024, 10, 25, tzinfo=timezone.utc)),
              StandingEntry("The Wall Street Journal", "confirms", "WSJ", datetime(2024, 10, 24, tzinfo=timezone.utc))),
)
_SAMPLE_NEW = replace(_SAMPLE, id=2, alert_id=2, stance="confirms", party="Ian Bremmer", generation=1,
                      previous_stance=None, previous_since=None, stale=True, published_at=None, seen_at=None,
                      context="", quote="Musk and Putin spoke, Bremmer wrote.", standing=())
_SAMPLE_URLS = ("slack://T000/B000/XXXX", "discord://1/x", "mmost://localhost/x", "mailto://a@example.org",
                "json://localhost/", "ntfy://topic")


def _template_line(exc: BaseException, path: Path) -> int:
    """The line of `path` a Jinja2 error points at (the innermost frame in that file)."""
    line = getattr(exc, "lineno", None)
    if isinstance(exc, jinja2.TemplateSyntaxError) and line:
        return int(line)
    found = 0
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(path):
            found = tb.tb_lineno
        tb = tb.tb_next
    return found or (int(line) if line else 0)


def template_problems(path: Path, purpose: str = "alert") -> list[tuple[int, str]]:
    """(line, message) for a channel's own template: a syntax error, else what fails when it is
    rendered against a sample alert and a sample digest (`purpose` "notice", the ops channel's:
    a sample ops notice) for every kind of target."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return [(0, f"cannot read template: {err}")]
    try:
        jinja2.Environment().parse(source, name=path.name, filename=str(path))
    except jinja2.TemplateSyntaxError as err:
        return [(int(err.lineno or 0), f"template syntax error: {err.message}")]
    problems: list[tuple[int, str]] = []
    seen: set[str] = set()
    strict = _STRICT.set(True)
    try:
        _sample_problems(path, purpose, problems, seen)
    finally:
        _STRICT.reset(strict)
    return problems


def _sample_problems(path: Path, purpose: str, problems: list[tuple[int, str]], seen: set[str]) -> None:
    builds: tuple[tuple[str, Any], ...] = (
        (("notice", lambda u: notice_message("Source failing: The Moscow Times", "HTTP 503 since 06:00 UTC",
                                             u, "failure", path)),)
        if purpose == "notice" else
        (("alert", lambda u: alert_message(_SAMPLE, u, path)),
         ("alert", lambda u: alert_message(_SAMPLE_NEW, u, path)),
         ("digest", lambda u: digest_message([_SAMPLE, _SAMPLE_NEW], u, "Sample digest", path))))
    for url in _SAMPLE_URLS:
        for what, build in builds:
            try:
                build(url)
            except jinja2.TemplateSyntaxError as err:  # an included file
                msg = f"template syntax error: {err.message}"
                if msg not in seen:
                    seen.add(msg)
                    problems.append((int(err.lineno or 0), msg))
            except Exception as err:  # noqa: BLE001 - any failure of a user template is reported
                msg = f"rendering a sample {what} for {target_kind(url)} fails: {type(err).__name__}: {err}"
                key = f"{type(err).__name__}: {err}"
                if key not in seen:
                    seen.add(key)
                    problems.append((_template_line(err, path), msg))


# --- compatibility: plain text of one alert (logs, older callers) -------------------------------


def body(d: PendingDelivery) -> str:
    """The plain-text body of one alert (the text template, as a json:// webhook gets it)."""
    return alert_message(d, "json://localhost/").body


