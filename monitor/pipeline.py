"""One poll of one source, readable top to bottom: fetch → extract → store → match → decide.

The match step is `matcher.assess`, the engine behind `claimwatch stance`/`match`: every
party's findings (stored as evidence, and what alerts are decided on) plus one article-level
stance per claim (stored as an assessment when the article is related to the claim).

`refresh_source` is the whole refresh. Errors of the source itself are stored on the source;
errors of one article leave that article to be retried at the next poll (the feed's validators
are not advanced until every new item was taken in), so nothing is lost.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from matcher.assess import Assessment, assess
from matcher.match import Claim, Entity, Finding, Stance
from monitor.extract import (
    ExtractedArticle,
    NotAFeed,
    canonical_url,
    cap_text,
    cap_title,
    content_hash,
    discover_links,
    extract_article,
    parse_feed,
)
from monitor.fetch import AddressPolicy, Fetcher, FetchError
from monitor.redact import redact, safe_url
from monitor.schedule import next_due
from monitor.watchlist import DEFAULT_BACKFILL_SECONDS, Source
from storage.records import ArticleRecord, ClaimRouting, SeenLink, SourceState
from storage.repository import Repository

if TYPE_CHECKING:
    from web.metrics import Metrics

log = logging.getLogger("claimwatch.pipeline")
T = TypeVar("T")

# Article fetch failures that will not get better by retrying: remember the URL and move on.
PERMANENT_KINDS = frozenset({"refused", "bad-url", "too-large", "redirects"})
PERMANENT_STATUSES = frozenset({401, 403, 404, 410, 451})
MIN_ARTICLE_CHARS = 200


@dataclass(frozen=True)
class Candidate:
    """A link to an article as a feed item or an outlet page offers it."""

    url: str
    title: str = ""
    summary: str = ""
    published: datetime | None = None


@dataclass(frozen=True)
class Context:
    """What a poll needs; built by the daemon from the current watchlist and settings."""

    repo: Repository
    fetcher: Fetcher
    claims: tuple[Claim, ...]
    entities: tuple[Entity, ...]
    routing: Mapping[str, ClaimRouting]
    articles_per_poll: int | None = 40  # None: no limit
    article_concurrency: int = 4
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    alerted: Callable[[], None] = lambda: None  # called once alerts are committed: deliver now
    # The watchlist's sources by name: `allow_private` and `backfill`. A source missing here
    # gets the defaults (public addresses only; a 2-day backfill).
    sources: Mapping[str, Source] = field(default_factory=dict)
    metrics: Metrics | None = None  # web/metrics.py: articles, findings and alerts are counted
    # Where parsing, extraction and matching run, off the loop (None: asyncio's default pool).
    # The daemon gives a pool of two threads: the work holds the GIL most of the time, so more
    # threads only add switching (a first poll of 1,000 feeds took 20% more CPU with six).
    cpu: Executor | None = None


@dataclass(frozen=True)
class PollResult:
    source: str
    new_articles: int = 0
    alerts: int = 0
    error: str | None = None
    complete: bool = True
    # For metrics and the daemon's cycle line: changed | not_modified | unchanged | failed, the
    # error kind of a failed poll, and how long the feed or page took to fetch.
    outcome: str = "changed"
    error_kind: str | None = None
    fetch_seconds: float | None = field(default=None, compare=False)  # a timing, not a result


async def refresh_source(ctx: Context, source: SourceState) -> PollResult:
    """Poll one source: fetch it, take in its new articles, record what they say about claims."""
    options = ctx.sources.get(source.name)
    # Private addresses only for this source's own host, and only when the watchlist says so;
    # every other hop (redirects, article links) is judged address by address, at connect too.
    policy = AddressPolicy.for_source(source.url, options is not None and options.allow_private)
    started = time.monotonic()
    try:
        page = await ctx.fetcher.get(
            source.url, etag=source.etag, last_modified=source.last_modified, policy=policy
        )
        fetched = time.monotonic() - started
        if page.not_modified or page.body_hash == source.body_hash:
            _finish(ctx, source, etag=page.etag, last_modified=page.last_modified, max_age=page.max_age_seconds)
            return PollResult(source.name, outcome="not_modified" if page.not_modified else "unchanged",
                              fetch_seconds=fetched)
        candidates = await _off_loop(ctx, _candidates, source.kind, page.body, page.url)
    except (FetchError, NotAFeed) as err:
        kind = getattr(err, "kind", "not-a-feed")
        log.warning("source %r (%s): %s", source.name, safe_url(source.url), redact(str(err)))
        _finish(ctx, source, error=str(err), error_kind=kind, retry_after=getattr(err, "retry_after_seconds", None))
        return PollResult(source.name, error=str(err), outcome="failed", error_kind=kind,
                          fetch_seconds=time.monotonic() - started)

    candidates = _one_per_url(candidates)  # 1,000 items linking one page fetch it once
    known = await ctx.repo.known_urls([c.url for c in candidates])
    fresh = [c for c in candidates if c.url not in known]
    fresh, seen = _skip_back_catalogue(ctx, source, options, fresh)
    todo = fresh[: ctx.articles_per_poll]
    gate = asyncio.Semaphore(ctx.article_concurrency)

    async def read(candidate: Candidate) -> tuple[bool, Read | None]:
        async with gate:
            return await read_article(ctx, source, candidate, seen, policy=policy)

    outcomes = await asyncio.gather(*(read(c) for c in todo))
    complete = len(todo) == len(fresh) and all(done for done, _ in outcomes)
    # Pages download and match in parallel, but what they say is decided in publication order:
    # a party's stances form a timeline, and its alerts must not depend on which page came first.
    reads = sorted((r for _, r in outcomes if r is not None), key=_chronological)
    taken = await take_in(ctx, source, reads, seen)
    # Advance the validators only when every new item is in: otherwise the next poll must see
    # the same body again (not a 304, not an unchanged hash) and retry what is missing.
    _finish(
        ctx, source,
        etag=page.etag if complete else None,
        last_modified=page.last_modified if complete else None,
        body_hash=page.body_hash if complete else None,
        max_age=page.max_age_seconds,
    )
    result = PollResult(source.name, sum(1 for t in taken if t is not None), sum(t or 0 for t in taken),
                        complete=complete, fetch_seconds=fetched)
    log.info("source %r: %d new article(s), %d alert(s)%s", source.name, result.new_articles, result.alerts,
             "" if complete else "; some items left for the next poll")
    return result


@dataclass(frozen=True)
class Read:
    """An article as extracted, with what the matcher found in it: every party's findings and
    the article-level assessment of each claim."""

    article: ExtractedArticle
    assessments: tuple[Assessment, ...]

    @property
    def findings(self) -> list[Finding]:
        """Every party's findings, claim by claim in watchlist order (as `match_article`)."""
        return [f for a in self.assessments for f in a.findings]


async def _off_loop(ctx: Context, work: Callable[..., T], *args: object) -> T:
    return await asyncio.get_running_loop().run_in_executor(ctx.cpu, work, *args)


def _one_per_url(candidates: list[Candidate]) -> list[Candidate]:
    """Candidates in order, each URL once (its first item wins)."""
    first: dict[str, Candidate] = {}
    for c in candidates:
        first.setdefault(c.url, c)
    return list(first.values())


def _skip_back_catalogue(
    ctx: Context, source: SourceState, options: Source | None, fresh: list[Candidate]
) -> tuple[list[Candidate], list[SeenLink]]:
    """On a source's first poll (it never succeeded yet), items published more than `backfill`
    ago are to be recorded as seen ("backfill", with the poll's articles) without fetching their
    pages; undated items count as new. From then on every item not seen before is read, whatever
    its date: an old-dated item that appears later (a late addition, a re-dated story) is new to
    us. Returns the candidates to read and the links to record."""
    backfill = options.backfill_seconds if options is not None else DEFAULT_BACKFILL_SECONDS
    if source.last_success_at is not None or backfill is None:
        return fresh, []
    cutoff = ctx.clock() - timedelta(seconds=backfill)
    old = [c.url for c in fresh if c.published is not None and c.published < cutoff]
    if not old:
        return fresh, []
    log.info("source %r: first poll, %d item(s) older than the %s backfill recorded, not read",
             source.name, len(old), timedelta(seconds=backfill))
    skipped = set(old)
    return [c for c in fresh if c.url not in skipped], [SeenLink(u, source.id, "backfill") for u in old]


def _chronological(read: Read) -> tuple[bool, datetime]:
    """Dated articles oldest first, then undated ones (in feed order: the sort is stable)."""
    published = read.article.published
    return published is None, published or datetime.min.replace(tzinfo=UTC)


def _candidates(kind: str, body: bytes, url: str) -> list[Candidate]:
    """Parse a feed or discover an outlet page's article links (CPU work: run off the loop)."""
    if kind == "feed":
        return [Candidate(canonical_url(e.url), e.title, e.summary, e.published) for e in parse_feed(body, url)]
    return [Candidate(link) for link in discover_links(body, url)]


async def read_article(
    ctx: Context, source: SourceState, c: Candidate, seen: list[SeenLink], *,
    policy: AddressPolicy | None = None,
) -> tuple[bool, Read | None]:
    """Fetch, extract and match one article: (done, what it says if there is one to take in).

    `done` is False only when trying again later may succeed (a timeout, a 503); links that
    will never give an article are added to `seen`, stored with the poll's articles, so they
    are not fetched again.
    """
    try:
        response = await ctx.fetcher.get(c.url, policy=policy)
    except FetchError as err:
        if err.kind in PERMANENT_KINDS or err.status in PERMANENT_STATUSES:
            log.warning("source %r: skipping article %s: %s", source.name, safe_url(c.url), redact(str(err)))
            seen.append(SeenLink(c.url, source.id, f"error:{err.kind}"))
            return True, None
        log.warning("source %r: article %s not fetched, will retry: %s", source.name, safe_url(c.url),
                    redact(str(err)))
        return False, None
    # Extraction and matching hold the CPU for ~10 ms: off the loop, in one hop, overlapping
    # the other downloads.
    read = await _off_loop(ctx, read_page, response.body, response.url, c, ctx.claims, ctx.entities,
                           source.name)
    if read is None:
        seen.append(SeenLink(c.url, source.id, "not-article"))
    elif read.article.url != c.url:
        seen.append(SeenLink(c.url, source.id, "redirected"))
    return True, read


def read_page(body: bytes, url: str, c: Candidate, claims: Sequence[Claim], entities: Sequence[Entity],
              outlet: str) -> Read | None:
    """An article page as text (with its feed item as the fallback), bounded, and what it says
    about each claim; None when the page holds no article. Pure: runs in a worker thread."""
    article = _with_feed_fallback(extract_article(body, url), c, url)
    if article is None:
        return None
    article = replace(article, title=cap_title(article.title), text=cap_text(article.text))
    return Read(article, tuple(assess(article.title, article.text, claims, entities, outlet)))


async def take_in(ctx: Context, source: SourceState, reads: list[Read],
                  seen: Sequence[SeenLink] = ()) -> list[int | None]:
    """Store a poll's new articles, each with what it says and the alerts that follow, and the
    links that gave none (`seen`), in one transaction (one commit per poll, not per article or
    link: a first poll of a big watchlist is mostly commits otherwise).

    Returns, per article, the number of new alerts, or None for a known one (a syndicated copy).
    """
    now = ctx.clock()
    stored = await ctx.repo.store_articles([
        (ArticleRecord(
            source_id=source.id, url=r.article.url, content_hash=content_hash(r.article.text),
            title=r.article.title, text=r.article.text, outlet=source.name,
            published_at=r.article.published, fetched_at=now,
        ), r.findings, r.assessments)
        for r in reads
    ], ctx.routing, now, seen)
    if any(s is not None and s[1] for s in stored):
        ctx.alerted()
    out: list[int | None] = []
    for read, kept in zip(reads, stored, strict=True):
        out.append(None if kept is None else len(kept[1]))
        if kept is None:
            continue
        article, findings = read.article, read.findings
        if ctx.metrics is not None:
            ctx.metrics.observe_article((str(f.stance) for f in findings), len(kept[1]))
        for f in findings:
            log.info("article %s: %s %s %s (cue %r)", safe_url(article.url), f.party or "(nobody)", f.stance,
                     f.claim_id, f.cue)
        for a in read.assessments:
            if a.stance != Stance.UNRELATED:
                log.info("article %s: as a whole %s %s, held by %s (score %.2f)", safe_url(article.url), a.stance,
                         a.claim_id, a.party or "(nobody)", a.score)
    return out


def _with_feed_fallback(article: ExtractedArticle | None, c: Candidate, url: str) -> ExtractedArticle | None:
    """A page trafilatura cannot read still has its feed item: keep the title and summary."""
    if article is not None:
        return ExtractedArticle(url=article.url, title=article.title or c.title, text=article.text,
                                published=article.published or c.published, author=article.author,
                                site_name=article.site_name)
    if len(c.summary) >= MIN_ARTICLE_CHARS or (c.title and c.summary):
        return ExtractedArticle(url=c.url, title=c.title, text=c.summary, published=c.published,
                                author=None, site_name=None)
    return None


def _finish(
    ctx: Context, source: SourceState, *, etag: str | None = None, last_modified: str | None = None,
    body_hash: str | None = None, max_age: float | None = None, error: str | None = None,
    error_kind: str | None = None, retry_after: float | None = None,
) -> None:
    now = ctx.clock()
    due = next_due(
        now, source.every_seconds, error_count=source.error_count + 1 if error else 0,
        retry_after=retry_after, max_age=max_age, jitter=random.uniform(-1, 1), name=source.name,
    )
    ctx.repo.finish_poll(  # written behind: the poll is over, its outcome committed shortly
        source.id, now=now, next_due_at=due, etag=etag, last_modified=last_modified,
        body_hash=body_hash, error=error, error_kind=error_kind,
    )
