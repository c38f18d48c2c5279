"""Fetcher behaviour against real local aiohttp servers (no mocks, no internet)."""
from __future__ import annotations

import asyncio
import gzip
import hashlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from monitor.fetch import (
    Fetcher,
    FetchError,
    FetchSettings,
    is_private_host,
    make_session,
    parse_max_age,
    parse_retry_after,
)

SETTINGS = FetchSettings(
    timeout_total=0.5, connect_timeout=0.5, max_bytes=10_000, per_host=2, max_redirects=3
)
PUBLIC_IP = "93.184.216.34"  # what the policy is told "public.test" resolves to


@dataclass
class _State:
    """Mutable per-server state (AppKey'd so aiohttp does not warn about a frozen app)."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    inflight: int = 0
    max_inflight: int = 0


STATE = web.AppKey("state", _State)


def _app() -> web.Application:
    app = web.Application()
    app[STATE] = _State()
    routes = web.RouteTableDef()

    @routes.get("/etag")
    async def etag(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(body=b"<rss/>", headers={"ETag": '"v1"', "Cache-Control": "max-age=300"})

    @routes.get("/lm")
    async def lm(request: web.Request) -> web.StreamResponse:
        stamp = "Wed, 21 Oct 2015 07:28:00 GMT"
        if request.headers.get("If-Modified-Since") == stamp:
            return web.Response(status=304)
        return web.Response(body=b"fresh", headers={"Last-Modified": stamp})

    @routes.get("/gzip")
    async def gz(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=gzip.compress(b"hello " * 100),
            headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"},
        )

    @routes.get("/big-cl")
    async def big_cl(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"x" * 20_000)

    @routes.get("/big-chunked")
    async def big_chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(40):
            await resp.write(b"y" * 1000)
        await resp.write_eof()
        return resp

    @routes.get("/slow")
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.wait_for(request.app[STATE].release.wait(), 5)
        return web.Response(text="late")

    @routes.get("/slow-body")
    async def slow_body(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": "100"})
        await resp.prepare(request)
        await resp.write(b"z" * 10)
        await asyncio.wait_for(request.app[STATE].release.wait(), 5)
        return resp

    @routes.get("/500")
    async def e500(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text="boom")

    @routes.get("/503")
    async def e503(request: web.Request) -> web.StreamResponse:
        return web.Response(status=503, headers={"Retry-After": "120"})

    @routes.get("/redirect/{n}")
    async def redirect(request: web.Request) -> web.StreamResponse:
        n = int(request.match_info["n"])
        if n == 0:
            return web.Response(text="arrived")
        raise web.HTTPFound(f"/redirect/{n - 1}")

    @routes.get("/loop-a")
    async def loop_a(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMovedPermanently("/loop-b")

    @routes.get("/loop-b")
    async def loop_b(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/loop-a")

    @routes.get("/to-private")
    async def to_private(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(f"http://127.0.0.1:{request.url.port}/ua")

    @routes.get("/inflight")
    async def inflight(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        state.inflight += 1
        state.max_inflight = max(state.max_inflight, state.inflight)
        try:
            await asyncio.sleep(0.05)
        finally:
            state.inflight -= 1
        return web.Response(text="ok")

    @routes.get("/ua")
    async def ua(request: web.Request) -> web.StreamResponse:
        return web.Response(text=request.headers.get("User-Agent", ""))

    app.add_routes(routes)
    return app


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    srv = TestServer(_app(), host="127.0.0.1")
    await srv.start_server()
    yield srv
    srv.app[STATE].release.set()
    await srv.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with make_session(SETTINGS) as sess:
        yield sess


@pytest.fixture
def fetcher(session: aiohttp.ClientSession) -> Fetcher:
    return Fetcher(session, SETTINGS)


def _url(server: TestServer, path: str) -> str:
    return str(server.make_url(path))


class _StaticResolver(AbstractResolver):
    """Connector-side DNS for the test: public.test really lives on 127.0.0.1."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host != "public.test":
            raise OSError(f"unknown host {host}")
        return [ResolveResult(hostname=host, host="127.0.0.1", port=port,
                              family=socket.AF_INET, proto=0, flags=socket.AI_NUMERICHOST)]

    async def close(self) -> None:
        return None


class _PretendPublicFetcher(Fetcher):
    """Policy-side DNS for the test: the named host "looks" public to the pre-check."""

    def __init__(self, *args: Any, public_host: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._public_host = public_host

    async def _resolve(self, host: str, port: int) -> list[str]:
        if host == self._public_host:
            return [PUBLIC_IP]
        return await super()._resolve(host, port)


# --------------------------------------------------------------------------- conditional GET


async def test_etag_roundtrip_gives_not_modified_with_empty_body(server: TestServer, fetcher: Fetcher) -> None:
    first = await fetcher.get(_url(server, "/etag"), allow_private=True)
    assert first.status == 200 and first.body == b"<rss/>" and not first.not_modified
    assert first.etag == '"v1"' and first.body_hash == hashlib.sha256(b"<rss/>").hexdigest()
    assert first.max_age_seconds == 300.0
    again = await fetcher.get(_url(server, "/etag"), etag=first.etag, allow_private=True)
    assert again.not_modified and again.status == 304
    assert again.body == b"" and again.body_hash is None and again.etag == '"v1"'


async def test_last_modified_roundtrip_gives_not_modified(server: TestServer, fetcher: Fetcher) -> None:
    first = await fetcher.get(_url(server, "/lm"), allow_private=True)
    assert first.last_modified == "Wed, 21 Oct 2015 07:28:00 GMT" and first.body == b"fresh"
    again = await fetcher.get(_url(server, "/lm"), last_modified=first.last_modified, allow_private=True)
    assert again.not_modified and again.body == b""
    assert again.last_modified == first.last_modified  # carried over so the caller can keep it


async def test_gzip_body_is_decompressed(server: TestServer, fetcher: Fetcher) -> None:
    res = await fetcher.get(_url(server, "/gzip"), allow_private=True)
    assert res.body == b"hello " * 100
    assert res.content_type == "text/plain"


# --------------------------------------------------------------------------- limits and errors


@pytest.mark.parametrize("path", ["/big-cl", "/big-chunked"])
async def test_body_over_cap_is_too_large(server: TestServer, fetcher: Fetcher, path: str) -> None:
    with pytest.raises(FetchError) as info:
        await fetcher.get(_url(server, path), allow_private=True)
    assert info.value.kind == "too-large"
    assert str(info.value) == f"response from {_url(server, path)} exceeds 10000 bytes"


@pytest.mark.parametrize("path", ["/slow", "/slow-body"])
async def test_slow_server_times_out(server: TestServer, fetcher: Fetcher, path: str) -> None:
    started = asyncio.get_running_loop().time()
    with pytest.raises(FetchError) as info:
        await fetcher.get(_url(server, path), allow_private=True)
    assert info.value.kind == "timeout"
    assert str(info.value) == f"timed out after 0.5s fetching {_url(server, path)}"
    assert asyncio.get_running_loop().time() - started < 1.5


async def test_server_error_names_status_and_url(server: TestServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError) as info:
        await fetcher.get(_url(server, "/500"), allow_private=True)
    err = info.value
    assert (err.kind, err.status, err.url) == ("http", 500, _url(server, "/500"))
    assert str(err) == f"HTTP 500 Internal Server Error from {_url(server, '/500')}"


async def test_503_carries_retry_after(server: TestServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError) as info:
        await fetcher.get(_url(server, "/503"), allow_private=True)
    assert info.value.status == 503 and info.value.retry_after_seconds == 120.0
    assert "503 Service Unavailable" in str(info.value)


async def test_non_http_scheme_is_bad_url(fetcher: Fetcher) -> None:
    for url in ("ftp://example.com/feed", "file:///etc/passwd", "javascript:alert(1)", "not a url"):
        with pytest.raises(FetchError) as info:
            await fetcher.get(url)
        assert info.value.kind == "bad-url", url


async def test_user_agent_names_claimwatch(server: TestServer, fetcher: Fetcher) -> None:
    res = await fetcher.get(_url(server, "/ua"), allow_private=True)
    assert res.body.decode().startswith("claimwatch/")


async def test_unresolvable_host_is_dns_error(fetcher: Fetcher) -> None:
    with pytest.raises(FetchError) as info:
        await fetcher.get("http://no-such-host.invalid/feed")
    assert info.value.kind == "dns"


async def test_closed_port_is_network_error(fetcher: Fetcher) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError) as info:
        await fetcher.get(f"http://127.0.0.1:{port}/", allow_private=True)
    assert info.value.kind == "network"


# --------------------------------------------------------------------------- redirects


async def test_redirects_followed_up_to_limit(server: TestServer, fetcher: Fetcher) -> None:
    res = await fetcher.get(_url(server, "/redirect/3"), allow_private=True)
    assert res.body == b"arrived" and res.url == _url(server, "/redirect/0")
    with pytest.raises(FetchError) as info:
        await fetcher.get(_url(server, "/redirect/4"), allow_private=True)
    assert info.value.kind == "redirects"


async def test_redirect_loop_is_redirects_error(server: TestServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError) as info:
        await fetcher.get(_url(server, "/loop-a"), allow_private=True)
    assert info.value.kind == "redirects" and "loop" in str(info.value)


# --------------------------------------------------------------------------- address policy


async def test_loopback_refused_unless_allow_private(server: TestServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError) as info:
        await fetcher.get(_url(server, "/ua"))
    assert info.value.kind == "refused"
    assert "127.0.0.1" in str(info.value) and _url(server, "/ua") in str(info.value)
    assert (await fetcher.get(_url(server, "/ua"), allow_private=True)).status == 200


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data", "http://[::1]/",
     "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://224.0.0.1/", "http://localhost/"],
)
async def test_policy_refuses_non_public_addresses(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchError) as info:
        await fetcher.check_url(url)
    assert info.value.kind == "refused"


async def test_redirect_from_public_source_to_loopback_is_refused(server: TestServer) -> None:
    connector = aiohttp.TCPConnector(resolver=_StaticResolver(), use_dns_cache=False)
    async with aiohttp.ClientSession(connector=connector) as sess:
        fetcher = _PretendPublicFetcher(sess, SETTINGS, public_host="public.test")
        ok = await fetcher.get(f"http://public.test:{server.port}/ua")  # first hop passes policy
        assert ok.status == 200
        with pytest.raises(FetchError) as info:
            await fetcher.get(f"http://public.test:{server.port}/to-private")
    assert info.value.kind == "refused"
    assert f"http://127.0.0.1:{server.port}/ua" in str(info.value)


async def test_connect_time_resolver_blocks_rebinding(server: TestServer, session: aiohttp.ClientSession) -> None:
    # The pre-check is fooled into thinking localhost is public; the session's resolver is not.
    fetcher = _PretendPublicFetcher(session, SETTINGS, public_host="localhost")
    with pytest.raises(FetchError) as info:
        await fetcher.get(f"http://localhost:{server.port}/ua")
    assert info.value.kind == "refused"
    assert (await fetcher.get(f"http://localhost:{server.port}/ua", allow_private=True)).status == 200


async def test_is_private_host_decides_allow_private() -> None:
    assert await is_private_host("http://127.0.0.1:8080/feed")
    assert await is_private_host("http://192.168.1.10/rss")
    assert not await is_private_host(f"https://{PUBLIC_IP}/feed")


# --------------------------------------------------------------------------- concurrency


async def test_per_host_limit_bounds_concurrency(server: TestServer, fetcher: Fetcher) -> None:
    results = await asyncio.gather(
        *(fetcher.get(_url(server, "/inflight"), allow_private=True) for _ in range(8))
    )
    assert all(r.status == 200 for r in results)
    assert server.app[STATE].max_inflight == 2


# --------------------------------------------------------------------------- header parsing


def test_retry_after_and_max_age_parsing() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("Tue, 14 Nov 2023 22:14:20 GMT", now=now) == 60.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_max_age(CIMultiDict({"Cache-Control": "public, max-age=60"})) == 60.0
    assert parse_max_age(CIMultiDict({"Cache-Control": "no-store"})) == 0.0
    assert parse_max_age(CIMultiDict({
        "Date": "Tue, 14 Nov 2023 22:13:20 GMT", "Expires": "Tue, 14 Nov 2023 22:23:20 GMT"})) == 600.0
    assert parse_max_age(CIMultiDict({"Expires": "0"})) == 0.0
    assert parse_max_age(CIMultiDict()) is None
