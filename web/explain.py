"""`GET /api/v1/explain?article=ID` or `?url=URL`: why a stored article did or did not alert.

Only stored articles: fetching any URL a caller names would make the API a proxy into the
daemon's network (`claimwatch explain URL` fetches, on the operator's own command line). The
answer is `monitor.explain`'s, as JSON; access is the API's (web/api.py's middleware).
"""
from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from monitor.explain import NotFound as NothingToExplain
from monitor.explain import explain_target
from web import api

PATH = f"{api.PREFIX}/explain"


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntitySeenOut(_Out):
    name: str
    found: list[tuple[int, str]]  # (sentence, the words as written); sentence -1: somewhere in it


class CueOut(_Out):
    sentence: int
    cue: str
    polarity: str
    role: str
    holder: str | None
    kind: str
    dropped: str
    changed: str


class PassageOut(_Out):
    sentence: int
    text: str
    predicate_words: list[str]
    cues: list[CueOut]


class DecisionOut(_Out):
    party: str
    stance: str
    outcome: str


class ExplainedFindingOut(_Out):
    party: str
    party_kind: str
    stance: str
    cue: str
    quote: str
    context: str
    sentence: int


class ClaimExplanationOut(_Out):
    claim_id: str
    statement: str
    need: int
    entities: list[EntitySeenOut]
    predicate: list[str]
    passages: list[PassageOut]
    unrelated: str
    findings: list[ExplainedFindingOut]
    stance: str
    party: str
    score: float
    why: dict[str, float]
    decisions: list[DecisionOut]


class ExplanationOut(_Out):
    """Claim by claim: entities found and where, passages and cues with the rule that kept or
    dropped each, the stance per party and article-wide, and what `decide` made of it."""

    title: str
    url: str | None
    outlet: str | None
    published_at: datetime | None
    seen_at: datetime | None
    article_id: int | None
    claims: list[ClaimExplanationOut]


async def explain_handler(request: web.Request) -> web.Response:
    from web.app import STATE

    state = request.app[STATE]
    article, url = request.query.get("article"), request.query.get("url")
    if article is not None:
        if not article.isdigit() or not 1 <= int(article) <= api.MAX_ID:
            raise api.BadRequest(f"article must be an integer from 1 to {api.MAX_ID}")
        target = article
    elif url is not None:
        if not url.startswith(("http://", "https://")) or len(url) > api.MAX_TEXT or "\x00" in url:
            raise api.BadRequest("url must be an http(s) URL")
        target = url
    else:
        raise api.BadRequest("give article=ID or url=URL")
    try:
        x = await explain_target(target, state.repo, state.watchlist(), state.settings, fetch=False)
    except NothingToExplain as err:
        raise api.NotFound(str(err)) from None
    return web.json_response(ExplanationOut.model_validate(x.to_dict()).model_dump(mode="json"))


def add_routes(app: web.Application) -> None:
    app.router.add_get(PATH, explain_handler)
    if ExplanationOut not in api.EXTRA_MODELS:
        api.EXTRA_MODELS.append(ExplanationOut)
    api.EXTRA_PATHS[PATH] = api._op(
        "explainArticle", "Why a stored article did or did not alert, claim by claim", "ExplanationOut",
        [api._param("article", "query", {"type": "integer", "minimum": 1, "maximum": api.MAX_ID},
                    "A stored article's id (this or url)"),
         api._param("url", "query", {"type": "string", "format": "uri", "maxLength": api.MAX_TEXT},
                    "A stored article's URL (this or article)")],
        not_found=True, bad_request=True)
