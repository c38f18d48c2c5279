"""The REST API under /api/v1: claims with their standing, timelines, sources, the outbox and
stored articles, as JSON; and /api/v1/openapi.json, an OpenAPI 3.1 document built from the same
pydantic models that serialise the answers, so the document cannot drift from what is sent.

Everything under /api/ (also routes other parts add there) goes through `api_middleware`:
the access rule of web/auth.py, and errors as `{"error": "..."}` with the right status.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import models_json_schema

from monitor.redact import redact, safe_url
from storage import reading
from storage.records import StandingEntry
from web.app import STATE, WebState
from web.auth import refusal

log = logging.getLogger("claimwatch.web")

PREFIX = "/api/v1"
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000
MAX_ID = 2**31 - 1  # ids are INTEGER columns (int32 on PostgreSQL)
MAX_TEXT = 500  # longest party or channel name accepted in a query

StanceName = Literal["confirms", "denies", "discusses", "unrelated"]
Decisive = Literal["confirms", "denies"]
OutboxStatus = Literal["sent", "pending", "retrying", "failed"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(_Out):
    """Every error: a sentence a person can act on."""

    error: str


class StandingOut(_Out):
    """A party's current decisive stance, with its latest statement of it."""

    party: str
    stance: Decisive
    outlet: str
    at: datetime | None
    url: str


class ClaimOut(_Out):
    id: str
    statement: str
    tracked: bool
    confirms: int
    denies: int
    standing: list[StandingOut]
    statements: int
    latest_change: datetime | None
    latest_statement: datetime | None


class ClaimList(_Out):
    claims: list[ClaimOut]


class ArticleRef(_Out):
    id: int
    outlet: str
    title: str
    url: str
    published_at: datetime | None
    seen_at: datetime


class SwitchOut(_Out):
    """What the party held before this statement, and since when."""

    stance: str
    since: datetime | None


class StatementOut(_Out):
    evidence_id: int
    party: str
    party_kind: str
    stance: StanceName
    quote: str
    context: str
    cue: str
    at: datetime
    alerted: bool
    switched_from: SwitchOut | None
    article: ArticleRef


class TimelineOut(_Out):
    claim_id: str
    total: int
    limit: int
    offset: int
    next: str | None
    items: list[StatementOut]


class SourceError(_Out):
    kind: str | None
    message: str
    count: int
    since: datetime | None


class SourceOut(_Out):
    name: str
    kind: str
    url: str
    enabled: bool
    failing: bool
    every_seconds: int
    last_fetched_at: datetime | None
    last_success_at: datetime | None
    next_due_at: datetime
    error: SourceError | None
    articles: int


class SourceList(_Out):
    sources: list[SourceOut]


class ChannelOut(_Out):
    channel: str
    sent: int
    pending: int
    retrying: int
    failed: int


class DeliveryAlert(_Out):
    id: int
    claim_id: str | None
    party: str | None
    stance: str | None


class DeliveryOut(_Out):
    id: int
    channel: str
    target: str
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    hold: str | None
    hold_until: datetime | None
    created_at: datetime | None
    alert: DeliveryAlert | None
    notice: str | None


class AlertsOut(_Out):
    channels: list[ChannelOut]
    total: int
    limit: int
    offset: int
    next: str | None
    items: list[DeliveryOut]


class FindingOut(_Out):
    id: int
    claim_id: str
    party: str
    party_kind: str
    stance: StanceName
    sentence: str
    context: str
    cue: str
    created_at: datetime


class AssessmentOut(_Out):
    claim_id: str
    stance: str
    party: str
    party_kind: str
    evidence: str
    cue: str
    score: float


class ArticleOut(_Out):
    id: int
    url: str
    title: str
    outlet: str
    source: str
    published_at: datetime | None
    seen_at: datetime
    text: str
    findings: list[FindingOut]
    assessments: list[AssessmentOut]


# -- errors and access ---------------------------------------------------------------------


def _json(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(body=model.model_dump_json(), status=status, content_type="application/json",
                        charset="utf-8")


def error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    response = _json(Error(error=message), status)
    response.headers.update(headers or {})
    return response


class BadRequest(Exception):
    """A query value that cannot be used: answered 400 with its message."""


class NotFound(Exception):
    """An unknown id: answered 404 with its message."""


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Only for /api/: the access rule, then JSON errors (also aiohttp's own 404 and 405)."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    why = refusal(request, request.app[STATE].settings.api_token, desk=False)
    if why == "login":
        return error(401, "missing or wrong API token: send Authorization: Bearer <CLAIMWATCH_API_TOKEN>",
                     {"WWW-Authenticate": 'Bearer realm="claimwatch"'})
    if why is not None:
        return error(403, "the API answers only on loopback unless CLAIMWATCH_API_TOKEN is set")
    try:
        return await handler(request)
    except BadRequest as exc:
        return error(400, str(exc))
    except NotFound as exc:
        return error(404, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        extra = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return error(exc.status, exc.reason if exc.status != 404 else f"no such resource: {request.path}", extra)
    except Exception:
        log.exception("API request %s failed", request.path)
        return error(500, "internal error (see the daemon's log)")


# -- query values --------------------------------------------------------------------------


def _text(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    if value is None:
        return None
    if "\x00" in value or len(value) > MAX_TEXT:
        raise BadRequest(f"{name}: not a usable value")
    return value


def _choice(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query.get(name)
    if value is None:
        return None
    if value not in allowed:
        raise BadRequest(f"{name} must be one of {', '.join(allowed)}")
    return value


def _int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    value = request.query.get(name)
    if value is None:
        return default
    try:
        number = int(value) if value.strip().lstrip("+-").isdigit() and len(value) < 20 else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise BadRequest(f"{name} must be an integer from {low} to {high}")
    return number


def parse_since(value: str | None) -> datetime | None:
    """An ISO 8601 date or date-time; without a zone it is UTC."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value.strip().upper())
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadRequest("since must be an ISO 8601 date-time, e.g. 2024-10-25T09:00:00Z") from None


def _next(request: web.Request, offset: int, limit: int, total: int) -> str | None:
    if offset + limit >= total:
        return None
    return str(request.rel_url.update_query(offset=offset + limit, limit=limit))


def _claim_id(request: web.Request) -> str:
    claim_id = request.match_info["id"]
    if "\x00" in claim_id or len(claim_id) > 100:
        raise NotFound(f"no such claim: {claim_id[:100]!r}")
    return claim_id


# -- handlers ------------------------------------------------------------------------------


def _tracked(state: WebState) -> list[tuple[str, str]]:
    return [(c.id, c.statement) for c in state.watchlist().claims]


def _standing(e: StandingEntry) -> StandingOut:
    return StandingOut(party=e.party, stance=e.stance, outlet=e.outlet, at=e.at,  # type: ignore[arg-type]
                       url=e.url)


def _claim(c: reading.ClaimSummary) -> ClaimOut:
    return ClaimOut(
        id=c.id, statement=c.statement, tracked=c.tracked, confirms=len(c.confirms), denies=len(c.denies),
        standing=[_standing(e) for e in c.standing], statements=c.statements,
        latest_change=c.latest_change, latest_statement=c.latest_statement,
    )


async def _known_claim(request: web.Request) -> str:
    """The path's claim id if the watchlist tracks it or anything is stored about it."""
    state = request.app[STATE]
    claim_id = _claim_id(request)
    if not any(c.id == claim_id for c in state.watchlist().claims) and \
            not await reading.Reader(state.repo).known_claim(claim_id):
        raise NotFound(f"no such claim: {claim_id!r}")
    return claim_id


async def _one_claim(request: web.Request) -> reading.ClaimSummary:
    claim_id = await _known_claim(request)
    state = request.app[STATE]
    [found] = await reading.Reader(state.repo).claims(_tracked(state), only=claim_id)
    return found


async def claims(request: web.Request) -> web.Response:
    state = request.app[STATE]
    found = await reading.Reader(state.repo).claims(_tracked(state))
    return _json(ClaimList(claims=[_claim(c) for c in found]))


async def claim(request: web.Request) -> web.Response:
    return _json(_claim(await _one_claim(request)))


async def timeline(request: web.Request) -> web.Response:
    party = _text(request, "party")
    stance = _choice(request, "stance", reading.TIMELINE_STANCES)
    since = parse_since(request.query.get("since"))
    limit = _int(request, "limit", 50, 1, MAX_LIMIT)
    offset = _int(request, "offset", 0, 0, MAX_OFFSET)
    claim_id = await _known_claim(request)
    t = await reading.Reader(request.app[STATE].repo).timeline(
        claim_id, party=party, stance=stance, since=since, limit=limit, offset=offset)
    return _json(TimelineOut(
        claim_id=claim_id, total=t.total, limit=limit, offset=offset, next=_next(request, offset, limit, t.total),
        items=[StatementOut(
            evidence_id=s.evidence_id, party=s.party, party_kind=s.party_kind, stance=s.stance,  # type: ignore[arg-type]
            quote=s.quote, context=s.context, cue=s.cue, at=s.at, alerted=s.alerted,
            switched_from=SwitchOut(stance=s.switched_from.stance, since=s.switched_from.since)
            if s.switched_from else None,
            article=ArticleRef(id=s.article_id, outlet=s.outlet, title=s.title, url=s.url,
                               published_at=s.published_at, seen_at=s.seen_at),
        ) for s in t.items],
    ))


async def sources(request: web.Request) -> web.Response:
    rows = await reading.Reader(request.app[STATE].repo).sources()
    return _json(SourceList(sources=[
        SourceOut(
            name=r.name, kind=r.kind, url=safe_url(r.url), enabled=r.enabled, failing=r.failing,
            every_seconds=r.every_seconds, last_fetched_at=r.last_fetched_at,
            last_success_at=r.last_success_at, next_due_at=r.next_due_at, articles=r.articles,
            error=SourceError(kind=r.error_kind, message=redact(r.error), count=r.error_count,
                              since=r.failing_since) if r.error is not None else None,
        ) for r in rows
    ]))


async def alerts(request: web.Request) -> web.Response:
    status = _choice(request, "status", reading.OUTBOX_STATUSES)
    channel = _text(request, "channel")
    limit = _int(request, "limit", 50, 1, MAX_LIMIT)
    offset = _int(request, "offset", 0, 0, MAX_OFFSET)
    box = await reading.Reader(request.app[STATE].repo).outbox(
        status=status, channel=channel, limit=limit, offset=offset)
    return _json(AlertsOut(
        channels=[ChannelOut(channel=c.channel, sent=c.sent, pending=c.pending, retrying=c.retrying,
                             failed=c.failed) for c in box.channels],
        total=box.total, limit=limit, offset=offset, next=_next(request, offset, limit, box.total),
        items=[DeliveryOut(
            id=d.id, channel=d.channel, target=d.target, status=d.status, attempts=d.attempts,  # type: ignore[arg-type]
            next_attempt_at=d.next_attempt_at, sent_at=d.sent_at,
            last_error=redact(d.last_error) if d.last_error is not None else None,
            hold=d.hold, hold_until=d.hold_until, created_at=d.created_at,
            alert=DeliveryAlert(id=d.alert_id, claim_id=d.claim_id, party=d.party, stance=d.stance)
            if d.alert_id is not None else None,
            notice=d.notice_title,
        ) for d in box.items],
    ))


async def article(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 12 and 0 < int(raw) <= MAX_ID):
        raise NotFound(f"no such article: {raw[:40]!r}")
    a = await reading.Reader(request.app[STATE].repo).article(int(raw))
    if a is None:
        raise NotFound(f"no such article: {raw}")
    return _json(ArticleOut(
        id=a.id, url=a.url, title=a.title, outlet=a.outlet, source=a.source, published_at=a.published_at,
        seen_at=a.seen_at, text=a.text,
        findings=[FindingOut(id=f.id, claim_id=f.claim_id, party=f.party, party_kind=f.party_kind,
                             stance=f.stance, sentence=f.quote, context=f.context, cue=f.cue,  # type: ignore[arg-type]
                             created_at=f.created_at) for f in a.findings],
        assessments=[AssessmentOut(claim_id=x.claim_id, stance=x.stance, party=x.party, party_kind=x.party_kind,
                                   evidence=x.evidence, cue=x.cue, score=x.score) for x in a.assessments],
    ))


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


# -- the OpenAPI document ------------------------------------------------------------------

# Other parts (e.g. /api/v1/explain) document their operations here, before the first request.
EXTRA_PATHS: dict[str, dict[str, Any]] = {}
EXTRA_MODELS: list[type[BaseModel]] = []

_MODELS: list[type[BaseModel]] = [Error, ClaimList, ClaimOut, TimelineOut, SourceList, AlertsOut, ArticleOut]


def _param(name: str, where: str, schema: dict[str, Any], description: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema,
            "description": description}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _op(op_id: str, summary: str, model: str, params: list[dict[str, Any]], *, not_found: bool = False,
        bad_request: bool = False) -> dict[str, Any]:
    err = {"application/json": {"schema": _ref("Error")}}
    responses: dict[str, Any] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": _ref(model) if model else {"type": "object"}}}},
        "401": {"description": "A token is configured and the request does not carry it", "content": err},
        "403": {"description": "No token is configured and the caller is not on loopback", "content": err},
    }
    if bad_request:
        responses["400"] = {"description": "A query value that cannot be used", "content": err}
    if not_found:
        responses["404"] = {"description": "Unknown id", "content": err}
    return {"get": {"summary": summary, "operationId": op_id,
                    "parameters": params, "responses": responses}}


_PAGE = [
    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50},
           "Items per page"),
    _param("offset", "query", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
           "Items to skip (the `next` link carries it)"),
]
_CLAIM_ID = _param("id", "path", {"type": "string", "minLength": 1, "maxLength": 100}, "The claim's watchlist id")


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route under /api/v1."""
    _, defs = models_json_schema([(m, "serialization") for m in [*_MODELS, *EXTRA_MODELS]],
                                 ref_template="#/components/schemas/{model}")
    paths: dict[str, Any] = {
        f"{PREFIX}/claims": _op("listClaims", "Every claim with its standing", "ClaimList", []),
        f"{PREFIX}/claims/{{id}}": _op("getClaim", "One claim's standing: who confirms, who denies", "ClaimOut",
                                       [_CLAIM_ID], not_found=True),
        f"{PREFIX}/claims/{{id}}/timeline": _op(
            "getTimeline", "A claim's statements, newest first (unrelated ones only when asked for)", "TimelineOut",
            [_CLAIM_ID,
             _param("party", "query", {"type": "string", "maxLength": MAX_TEXT}, "Only this party's statements"),
             _param("stance", "query", {"type": "string", "enum": list(reading.TIMELINE_STANCES)},
                    "Only statements of this stance"),
             _param("since", "query", {"type": "string", "format": "date-time"},
                    "Only statements published (else seen) at or after this time; no zone means UTC"),
             *_PAGE],
            not_found=True, bad_request=True),
        f"{PREFIX}/sources": _op("listSources", "Every source: last success or error, next poll, articles taken in",
                                 "SourceList", []),
        f"{PREFIX}/alerts": _op(
            "listAlerts", "The outbox: counts per channel and status, and the deliveries, newest first", "AlertsOut",
            [_param("status", "query", {"type": "string", "enum": list(reading.OUTBOX_STATUSES)},
                    "Only deliveries in this state (retrying: pending after a failed attempt)"),
             _param("channel", "query", {"type": "string", "maxLength": MAX_TEXT}, "Only this channel"),
             *_PAGE],
            bad_request=True),
        f"{PREFIX}/articles/{{id}}": _op(
            "getArticle", "A stored article: its text and every finding with its sentence and cue", "ArticleOut",
            [_param("id", "path", {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                    "The article's id (from a timeline)")],
            not_found=True),
        f"{PREFIX}/openapi.json": _op("openapi", "This document (OpenAPI 3.1)", "", []),
        **EXTRA_PATHS,
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "claimwatch", "version": "1",
                 "description": "Who confirms or denies each tracked claim, with the quotes; sources and "
                                "the alert outbox. Read-only."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": defs["$defs"],
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "CLAIMWATCH_API_TOKEN; without one configured, loopback callers need none"}},
        },
        # Either the token, or nothing (a loopback caller while no token is configured).
        "security": [{"bearer": []}, {}],
    }


def add_routes(app: web.Application) -> None:
    app.middlewares.append(api_middleware)
    r = app.router
    r.add_get(f"{PREFIX}/claims", claims)
    r.add_get(f"{PREFIX}/claims/{{id}}", claim)
    r.add_get(f"{PREFIX}/claims/{{id}}/timeline", timeline)
    r.add_get(f"{PREFIX}/sources", sources)
    r.add_get(f"{PREFIX}/alerts", alerts)
    r.add_get(f"{PREFIX}/articles/{{id}}", article)
    r.add_get(f"{PREFIX}/openapi.json", openapi)
