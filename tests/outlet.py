"""A configurable local outlet for daemon tests: a real aiohttp server on 127.0.0.1 whose pages
(feeds, outlet pages, articles) the test sets up and changes between polls.

Each path serves a `Resource`; a resource may fail a few times first (`fail_with=[503]`) and
may honour conditional GET (`etag=...` → 304 on a matching If-None-Match). Every request is
counted per path (`hits`), and every response status is logged (`log`), so a test can say
exactly what the daemon fetched.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from tests.support import LocalServer


@dataclass
class Resource:
    body: str
    content_type: str = "text/html"
    etag: str | None = None  # served as ETag; a matching If-None-Match gets a 304
    fail_with: list[int] = field(default_factory=list)  # statuses served first, one per request
    delay: float = 0.0  # seconds before answering: a slow page


@dataclass
class Outlet(LocalServer):
    resources: dict[str, Resource] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    log: list[tuple[str, int]] = field(default_factory=list)  # (path, status) per request

    def serve(self, path: str, body: str, **kw: object) -> Resource:
        res = self.resources[path] = Resource(body, **kw)  # type: ignore[arg-type]
        return res

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def statuses(self, path: str) -> list[int]:
        return [status for p, status in self.log if p == path]

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/{tail:.*}", self._handle)

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        resource = self.resources.get(path)
        if resource is not None and resource.delay:
            await asyncio.sleep(resource.delay)
        response = self._respond(request, resource)
        self.log.append((path, response.status))
        return response

    @staticmethod
    def _respond(request: web.Request, res: Resource | None) -> web.Response:
        if res is None:
            return web.Response(status=404, text="not found")
        if res.fail_with:
            return web.Response(status=res.fail_with.pop(0), text="try again later")
        headers = {"ETag": res.etag} if res.etag else {}
        if res.etag and request.headers.get("If-None-Match") == res.etag:
            return web.Response(status=304, headers=headers)
        return web.Response(text=res.body, content_type=res.content_type, headers=headers)
