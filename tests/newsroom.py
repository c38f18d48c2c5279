"""A local newsroom for end-to-end tests: a real aiohttp server with feeds and article pages.

The articles are the two seeds from ../shared/seeds, turned into ordinary HTML pages; the feed
items carry only each article's first paragraph, as real feeds do.
"""
from __future__ import annotations

import asyncio
import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime

from aiohttp import web

from tests.support import LocalServer, seed


@dataclass(frozen=True)
class Story:
    slug: str
    title: str
    paragraphs: tuple[str, ...]
    published: datetime


def _plain(line: str) -> str:
    line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line)  # markdown links → their words
    line = re.sub(r"<(https?://[^>]+)>", r"\1", line)
    return line.replace("**", "").strip()


def load_seed(name: str, slug: str, published: datetime) -> Story:
    path = seed(name)
    blocks = [b.strip() for b in path.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    title = _plain(blocks[0].lstrip("# "))
    paragraphs = tuple(p for p in (_plain(" ".join(b.splitlines())) for b in blocks[1:]) if p)
    return Story(slug, title, paragraphs, published)


def seed_stories() -> list[Story]:
    return [
        load_seed("000_dc5f693ac2a40a9e.txt", "2022/10/11/elon-musk-denies-speaking-to-putin",
                  datetime(2022, 10, 11, 16, 30, tzinfo=timezone.utc)),
        load_seed("004_2444ca2dfe6ef90e.txt", "2024/10/25/elon-musk-held-secret-talks-with-putin-wsj",
                  datetime(2024, 10, 25, 9, 15, tzinfo=timezone.utc)),
    ]


def article_html(story: Story, base: str) -> str:
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
    url = f"{base}/news/{story.slug}"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(story.title)} | Local Wire</title>
<link rel="canonical" href="{url}">
<meta property="og:title" content="{html.escape(story.title)}">
<meta property="article:published_time" content="{story.published.isoformat()}">
</head><body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/tag/tech">Tech</a></nav></header>
<main><article><h1>{html.escape(story.title)}</h1>{body}</article></main>
<footer><p>© Local Wire. All rights reserved.</p><a href="/about">About us</a></footer>
</body></html>"""


def rss(stories: list[Story], base: str) -> str:
    items = "\n".join(
        f"""<item><title>{html.escape(s.title)}</title><link>{base}/news/{s.slug}</link>
<guid>{base}/news/{s.slug}</guid><pubDate>{format_datetime(s.published)}</pubDate>
<description>{html.escape(s.paragraphs[0])}</description></item>"""
        for s in stories
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>
<title>Local Wire</title><link>{base}/</link><description>Test feed</description>
{items}</channel></rss>"""


@dataclass
class Newsroom(LocalServer):
    """Serves /feed.xml, /news/<slug>, and broken feeds: /broken/500, /broken/slow, /broken/html."""

    stories: list[Story] = field(default_factory=seed_stories)
    slow_seconds: float = 5.0
    hits: dict[str, int] = field(default_factory=dict)

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/feed.xml", self._feed)
        app.router.add_get("/news/{slug:.+}", self._article)
        app.router.add_get("/broken/500", self._error)
        app.router.add_get("/broken/slow", self._slow)
        app.router.add_get("/broken/html", self._html)

    def _hit(self, request: web.Request) -> None:
        self.hits[request.path] = self.hits.get(request.path, 0) + 1

    async def _feed(self, request: web.Request) -> web.Response:
        self._hit(request)
        return web.Response(text=rss(self.stories, self.base), content_type="application/rss+xml")

    async def _article(self, request: web.Request) -> web.Response:
        self._hit(request)
        slug = request.match_info["slug"]
        for story in self.stories:
            if story.slug == slug:
                return web.Response(text=article_html(story, self.base), content_type="text/html")
        raise web.HTTPNotFound()

    async def _error(self, request: web.Request) -> web.Response:
        self._hit(request)
        raise web.HTTPInternalServerError(text="boom")

    async def _slow(self, request: web.Request) -> web.Response:
        self._hit(request)
        await asyncio.sleep(self.slow_seconds)
        return web.Response(text=rss(self.stories, self.base), content_type="application/rss+xml")

    async def _html(self, request: web.Request) -> web.Response:
        self._hit(request)
        return web.Response(text="<!doctype html><html><body><h1>Welcome</h1></body></html>", content_type="text/html")
