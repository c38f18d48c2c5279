"""The desk page: server-rendered HTML an editor opens from an alert, on a phone as often as not.

`/` the claims with their standing, `/claims/{id}` a claim's timeline, `/sources` and `/alerts`
for whoever keeps claimwatch running. Jinja2 with autoescape on everywhere: titles, quotes and
URLs come from articles, which are hostile input. No JavaScript.
"""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web
from markupsafe import Markup

from monitor.redact import redact, safe_url
from storage import reading
from web.app import STATE
from web.auth import COOKIE, refusal, session_value, token_matches

HERE = Path(__file__).resolve().parent
SEEN_COOKIE = "claimwatch_seen"  # when this browser last opened the claims list
GROUPS_PER_PAGE = 200
OUTBOX_PER_PAGE = 100
VERB = {"confirms": "confirmed", "denies": "denied", "discusses": "discussed", "unrelated": "unrelated"}
DESK_STANCES = ("confirms", "denies", "discusses")


def _when(at: datetime | None, fmt: str = "%d %b %Y %H:%M UTC") -> Markup:
    """A <time> element in UTC (the daemon's clock); "never" for None."""
    if at is None:
        return Markup("never")
    at = at.astimezone(UTC)
    return Markup('<time datetime="{}">{}</time>').format(at.isoformat(), at.strftime(fmt))


def _day(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%d %b %Y").lstrip("0") if at is not None else "?"


def safe_href(url: str | None) -> str | None:
    """An article link fit for href: http(s) only (never javascript: or data:), no credentials."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return url.strip()


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=_when, day=_day, safe_url=safe_url, redact=redact, href=safe_href)
    env.globals["verb"] = VERB
    return env


TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("desk_templates", jinja2.Environment)


def render(request: web.Request, name: str, code: int = 200, /, **context: Any) -> web.Response:
    router = request.app.router

    def url(route: str, filename: str | None = None, **parts: str) -> str:
        return str(router[route].url_for(**({"filename": filename} if filename else {}), **parts))

    html = request.app[TEMPLATES].get_template(name).render(path=request.path, url=url, **context)
    response = web.Response(text=html, status=code, content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def guarded(handler: Handler) -> Handler:
    """The access rule of web/auth.py for a desk page: a login form when a token would help."""
    async def wrapper(request: web.Request) -> web.StreamResponse:
        why = refusal(request, request.app[STATE].settings.api_token, desk=True)
        if why == "login":
            raise web.HTTPSeeOther(str(request.app.router["login"].url_for().with_query(next=request.path_qs)))
        if why is not None:
            return render(request, "error.j2", 403, title="Not on this address",
                          message="The desk page answers only on this machine (loopback) unless "
                                  "CLAIMWATCH_API_TOKEN is set; then log in with that token.")
        return await handler(request)
    return wrapper


# -- the claims list -----------------------------------------------------------------------


async def claims_page(request: web.Request) -> web.Response:
    state = request.app[STATE]
    tracked = [(c.id, c.statement) for c in state.watchlist().claims]
    found = await reading.Reader(state.repo).claims(tracked)
    last_visit = _cookie_time(request.cookies.get(SEEN_COOKIE))
    changed = {c.id for c in found
               if c.latest_change is not None and (last_visit is None or c.latest_change > last_visit)}
    response = render(request, "claims.j2", title="Claims", claims=found, changed=changed, last_visit=last_visit)
    response.set_cookie(SEEN_COOKIE, datetime.now(UTC).isoformat(), max_age=400 * 86400,
                        httponly=True, samesite="Lax", path="/")
    return response


def _cookie_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


# -- a claim's timeline --------------------------------------------------------------------


@dataclass
class Entry:
    """A statement on the page, with the later copies of the same words (syndication) under it."""

    first: reading.Statement
    copies: list[reading.Statement] = field(default_factory=list)

    @property
    def switch(self) -> str | None:
        """"Kremlin: denied 25 Oct 2024 → confirmed 3 Dec 2024" when this statement was a switch."""
        s = self.first
        if s.switched_from is None:
            return None
        return (f"{s.party}: {VERB.get(s.switched_from.stance, s.switched_from.stance)} "
                f"{_day(s.switched_from.since)} → {VERB[s.stance]} {_day(s.at)}")


_WORDS = re.compile(r"\w+")


def _same_words(s: reading.Statement) -> tuple[str, str, str]:
    return s.party, s.stance, " ".join(_WORDS.findall(s.quote.casefold()))


def fold(statements: tuple[reading.Statement, ...]) -> list[Entry]:
    """Newest first, each party's repeated words (a syndicated copy, a rewrite quoting the same
    sentence) folded under their first appearance, which keeps its place in time."""
    entries: dict[tuple[str, str, str], Entry] = {}
    for s in sorted(statements, key=lambda s: (s.at, s.evidence_id)):
        key = _same_words(s)
        if key in entries:
            entries[key].copies.append(s)
        else:
            entries[key] = Entry(s)
    return sorted(entries.values(), key=lambda e: (e.first.at, e.first.evidence_id), reverse=True)


def _page_number(request: web.Request) -> int | None:
    """The `page` query value, or None when it is not a page number (a 400 page)."""
    raw = request.query.get("page", "1")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 7 or int(raw) < 1:
        return None
    return int(raw)


def _bad_page(request: web.Request) -> web.Response:
    return render(request, "error.j2", 400, title="Bad page number", message="page must be a positive integer.")


async def claim_page(request: web.Request) -> web.Response:
    state = request.app[STATE]
    claim_id = request.match_info["id"]
    reader = reading.Reader(state.repo)
    tracked = [(c.id, c.statement) for c in state.watchlist().claims]
    if "\x00" in claim_id or (claim_id not in dict(tracked) and not await reader.known_claim(claim_id)):
        return render(request, "error.j2", 404, title="No such claim",
                      message=f"claimwatch knows no claim {claim_id!r}.")
    party = request.query.get("party") or None
    stance = request.query.get("stance") or None
    if stance is not None and stance not in DESK_STANCES:  # "discusses": the parties that discuss it
        return render(request, "error.j2", 400, title="Bad filter",
                      message=f"stance must be one of {', '.join(DESK_STANCES)}.")
    if party is not None and ("\x00" in party or len(party) > 500):
        return render(request, "error.j2", 400, title="Bad filter", message="not a party name.")
    page = _page_number(request)
    if page is None:
        return _bad_page(request)
    [summary] = await reader.claims(tracked, only=claim_id)
    timeline = await reader.timeline(claim_id, party=party, stance=stance)
    decisive = timeline.items if stance else tuple(s for s in timeline.items if s.stance in ("confirms", "denies"))
    discussing = await reader.discussing(claim_id) if stance is None and party is None else []
    entries = fold(decisive)
    pages = max(1, -(-len(entries) // GROUPS_PER_PAGE))
    shown = entries[(page - 1) * GROUPS_PER_PAGE: page * GROUPS_PER_PAGE]
    switches = [e for e in entries if e.switch]
    return render(
        request, "claim.j2", title=summary.statement or claim_id, claim=summary, entries=shown,
        switches=switches, discussing=discussing, parties=timeline.parties, party=party, stance=stance,
        stances=DESK_STANCES, page=page, pages=pages, count=len(decisive),
    )


# -- sources and the outbox ----------------------------------------------------------------


async def sources_page(request: web.Request) -> web.Response:
    rows = await reading.Reader(request.app[STATE].repo).sources()
    return render(request, "sources.j2", title="Sources", sources=rows, now=datetime.now(UTC))


async def alerts_page(request: web.Request) -> web.Response:
    status = request.query.get("status") or None
    channel = request.query.get("channel") or None
    if status is not None and status not in reading.OUTBOX_STATUSES:
        return render(request, "error.j2", 400, title="Bad filter",
                      message=f"status must be one of {', '.join(reading.OUTBOX_STATUSES)}.")
    if channel is not None and ("\x00" in channel or len(channel) > 500):
        return render(request, "error.j2", 400, title="Bad filter", message="not a channel name.")
    page = _page_number(request)
    if page is None:
        return _bad_page(request)
    box = await reading.Reader(request.app[STATE].repo).outbox(
        status=status, channel=channel, limit=OUTBOX_PER_PAGE, offset=(page - 1) * OUTBOX_PER_PAGE)
    pages = max(1, -(-box.total // OUTBOX_PER_PAGE))
    return render(request, "alerts.j2", title="Alerts", box=box, status=status, channel=channel,
                  statuses=reading.OUTBOX_STATUSES, page=page, pages=pages)


# -- login ---------------------------------------------------------------------------------


def _local_next(value: str | None) -> str:
    """Where to go after logging in: a path on this site only (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


async def login_form(request: web.Request) -> web.Response:
    token = request.app[STATE].settings.api_token
    return render(request, "login.j2", title="Log in", configured=bool(token),
                  next=_local_next(request.query.get("next")), failed=False)


async def login(request: web.Request) -> web.StreamResponse:
    token = request.app[STATE].settings.api_token
    form = await request.post()
    target = _local_next(str(form.get("next", "")))
    if not token or not token_matches(str(form.get("token", "")), token):
        return render(request, "login.j2", 401 if token else 403, title="Log in", configured=bool(token),
                      next=target, failed=bool(token))
    response = web.Response(status=303, headers={"Location": target})
    response.set_cookie(COOKIE, session_value(token), max_age=30 * 86400, httponly=True, samesite="Strict",
                        secure=request.secure, path="/")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    response = web.Response(status=303, headers={"Location": "/login"})
    response.del_cookie(COOKIE, path="/")
    return response


def add_routes(app: web.Application) -> None:
    app[TEMPLATES] = _environment()
    r = app.router
    r.add_get("/", guarded(claims_page), name="claims")
    r.add_get("/claims/{id}", guarded(claim_page), name="claim")
    r.add_get("/sources", guarded(sources_page), name="sources")
    r.add_get("/alerts", guarded(alerts_page), name="alerts")
    r.add_get("/login", login_form, name="login")
    r.add_post("/login", login)
    r.add_post("/logout", logout)
    r.add_static("/static/", HERE / "static", name="static", append_version=True)
