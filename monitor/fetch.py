"""The HTTP edge: every byte claimwatch pulls from the internet goes through `Fetcher.get`.

Why it is strict: we fetch URLs that strangers put in feeds, so each hop is checked by an
address policy (no SSRF into the LAN), bodies are capped, every await has a deadline and a
host never sees more than `per_host` concurrent requests from us. Failures surface as one
exception type, `FetchError`, whose `.kind` the scheduler can act on.
"""
from __future__ import annotations

import asyncio
import contextvars
import email.utils
import hashlib
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

try:
    _VERSION = metadata.version("claimwatch")
except metadata.PackageNotFoundError:  # running from a source checkout
    _VERSION = "0.1.0"

USER_AGENT = f"claimwatch/{_VERSION} (+https://github.com/claimwatch/claimwatch; news monitor)"
_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024

FetchErrorKind = Literal[
    "timeout", "http", "too-large", "refused", "tls", "network", "dns", "redirects", "bad-url"
]


@dataclass(frozen=True)
class FetchSettings:
    timeout_total: float = 20.0
    connect_timeout: float = 10.0
    max_bytes: int = 5_000_000
    per_host: int = 2
    max_redirects: int = 5
    user_agent: str = USER_AGENT


@dataclass(frozen=True)
class FetchResult:
    url: str  # final URL, after redirects
    status: int
    body: bytes  # b"" on 304
    etag: str | None
    last_modified: str | None
    not_modified: bool
    content_type: str | None
    body_hash: str | None  # sha256 hex of body; None on 304
    retry_after_seconds: float | None
    max_age_seconds: float | None  # from Cache-Control max-age / Expires


class FetchError(Exception):
    """A failed fetch; `str(err)` is a sentence a person on the desk can understand."""

    def __init__(
        self,
        kind: FetchErrorKind,
        url: str,
        message: str,
        *,
        status: int | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: FetchErrorKind = kind
        self.url = url
        self.status = status
        self.retry_after_seconds = retry_after_seconds


# --------------------------------------------------------------------------- address policy


def is_public_address(address: str) -> bool:
    """True only for globally routable unicast addresses (IPv4-mapped/6to4/NAT64 unwrapped)."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
            address.split("%", 1)[0]
        )
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in ipaddress.ip_network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            ip = embedded
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


async def resolve_host(host: str, port: int = 0) -> list[str]:
    """All addresses `host` resolves to (an IP literal resolves to itself)."""
    bare = host.strip("[]")
    try:
        return [str(ipaddress.ip_address(bare.split("%", 1)[0]))]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def is_private_host(url: str) -> bool:
    """Whether a configured source lives on a non-public address (→ fetch it with
    allow_private=True). Unresolvable or malformed URLs count as public: the strict path."""
    try:
        host = URL(url).host
        if not host:
            return False
        addresses = await asyncio.wait_for(resolve_host(host), timeout=10.0)
    except (ValueError, OSError, asyncio.TimeoutError):
        return False
    return any(not is_public_address(a) for a in addresses)


_ALLOW_PRIVATE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "claimwatch_allow_private", default=False
)


class _BlockedAddress(OSError):
    """Raised inside the connector's resolver; aiohttp wraps it, `Fetcher` unwraps it."""


class GuardedResolver(AbstractResolver):
    """Re-applies the address policy to the addresses aiohttp actually connects to, closing
    the DNS-rebinding gap between `Fetcher`'s pre-check and the connect."""

    def __init__(self) -> None:
        self._inner: AbstractResolver | None = None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._inner is None:
            self._inner = aiohttp.ThreadedResolver()
        results = await self._inner.resolve(host, port, family)
        if not _ALLOW_PRIVATE.get():
            for res in results:
                if not is_public_address(res["host"]):
                    raise _BlockedAddress(f"{host} resolves to non-public address {res['host']}")
        return results

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()


def make_session(settings: FetchSettings) -> aiohttp.ClientSession:
    """The daemon's one shared session. Must be called inside the running event loop."""
    connector = aiohttp.TCPConnector(
        limit=100,
        limit_per_host=settings.per_host,
        resolver=GuardedResolver(),
        use_dns_cache=False,  # every new connection re-checks the policy
        ttl_dns_cache=None,
    )
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": settings.user_agent, "Accept": _ACCEPT},
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=True,
        timeout=_client_timeout(settings),
    )


def _client_timeout(settings: FetchSettings) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(
        total=settings.timeout_total,
        connect=settings.connect_timeout,
        sock_connect=settings.connect_timeout,
        sock_read=settings.timeout_total,
    )


# --------------------------------------------------------------------------- header parsing


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def parse_max_age(headers: Any, now: float | None = None) -> float | None:
    """Freshness lifetime in seconds from Cache-Control (wins) or Expires; None if unstated."""
    cache_control = ",".join(headers.getall("Cache-Control", [])).lower()
    directives = [d.strip() for d in cache_control.split(",") if d.strip()]
    for d in directives:
        if d in ("no-store", "no-cache"):
            return 0.0
    for d in directives:
        name, _, arg = d.partition("=")
        if name.strip() == "max-age":
            try:
                return max(0.0, float(int(arg.strip().strip('"'))))
            except ValueError:
                return 0.0
    expires = headers.get("Expires")
    if expires is None:
        return None
    try:
        exp = email.utils.parsedate_to_datetime(expires)
    except (TypeError, ValueError, IndexError):
        return 0.0  # RFC 9111: an invalid Expires means "already expired"
    if exp.tzinfo is None:
        return 0.0
    base = time.time() if now is None else now
    if date_hdr := headers.get("Date"):
        try:
            base = email.utils.parsedate_to_datetime(date_hdr).timestamp()
        except (TypeError, ValueError, IndexError):
            pass
    return max(0.0, exp.timestamp() - base)


# --------------------------------------------------------------------------- the fetcher


class Fetcher:
    """Policy-checked, size-capped, deadline-bound GETs over one shared session."""

    def __init__(self, session: aiohttp.ClientSession, settings: FetchSettings) -> None:
        self._session = session
        self._settings = settings
        self._host_slots: dict[str, asyncio.Semaphore] = {}

    def _slot(self, host: str) -> asyncio.Semaphore:
        sem = self._host_slots.get(host)
        if sem is None:
            sem = self._host_slots[host] = asyncio.Semaphore(self._settings.per_host)
        return sem

    async def _resolve(self, host: str, port: int) -> list[str]:
        """Seam for tests: addresses the policy judges."""
        return await resolve_host(host, port)

    async def check_url(self, url: str, *, allow_private: bool = False) -> URL:
        """Parse `url` and apply scheme + address policy; the returned URL is safe to request."""
        try:
            parsed = URL(url)
        except (ValueError, TypeError) as exc:
            raise FetchError("bad-url", url, f"not a valid URL: {url!r} ({exc})") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise FetchError("bad-url", url, f"only http(s) URLs can be fetched, not {url!r}")
        if allow_private:
            return parsed
        try:
            async with asyncio.timeout(self._settings.connect_timeout):
                addresses = await self._resolve(parsed.host, parsed.port or 0)
        except TimeoutError:
            raise FetchError(
                "timeout", url,
                f"timed out after {self._settings.connect_timeout:g}s resolving {parsed.host} for {url}",
            ) from None
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError("dns", url, f"cannot resolve host {parsed.host} for {url}: {exc}") from None
        for address in addresses:
            if not is_public_address(address):
                raise FetchError(
                    "refused", url,
                    f"refused to fetch {url}: {parsed.host} resolves to non-public address {address}",
                )
        if not addresses:
            raise FetchError("dns", url, f"host {parsed.host} has no addresses ({url})")
        return parsed

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        allow_private: bool = False,
    ) -> FetchResult:
        """Conditional GET following redirects by hand, so every hop passes `check_url`.

        `timeout_total` bounds all hops together, not counting time queued for a host slot.
        """
        s = self._settings
        headers: dict[str, str] = {"User-Agent": s.user_agent}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        token = _ALLOW_PRIVATE.set(allow_private)
        budget = s.timeout_total
        current = url
        seen: set[str] = set()
        try:
            for _hop in range(s.max_redirects + 1):
                target = await self.check_url(current, allow_private=allow_private)
                seen.add(str(target))
                async with self._slot((target.host or "").lower()):
                    started = asyncio.get_running_loop().time()
                    try:
                        async with asyncio.timeout(budget):
                            outcome = await self._one_hop(target, headers, etag, last_modified)
                    except TimeoutError:
                        raise FetchError(
                            "timeout", url, f"timed out after {s.timeout_total:g}s fetching {url}"
                        ) from None
                    budget -= asyncio.get_running_loop().time() - started
                if isinstance(outcome, FetchResult):
                    return outcome
                current = outcome
                if current in seen:
                    raise FetchError("redirects", url, f"redirect loop fetching {url} (back to {current})")
            raise FetchError(
                "redirects", url, f"more than {s.max_redirects} redirects fetching {url}"
            )
        finally:
            _ALLOW_PRIVATE.reset(token)

    async def _one_hop(
        self, target: URL, headers: dict[str, str], etag: str | None, last_modified: str | None
    ) -> FetchResult | str:
        """One request: a FetchResult, or the absolute URL of the next redirect hop."""
        url = str(target)
        s = self._settings
        try:
            async with self._session.get(
                target,
                headers=headers,
                allow_redirects=False,
                timeout=_client_timeout(s),
            ) as resp:
                if resp.status in _REDIRECT_STATUSES and "Location" in resp.headers:
                    try:
                        return str(target.join(URL(resp.headers["Location"])))
                    except ValueError:
                        raise FetchError(
                            "bad-url", url, f"bad redirect Location {resp.headers['Location']!r} from {url}"
                        ) from None
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                if resp.status >= 300 and resp.status != 304:
                    raise FetchError(
                        "http", url, f"HTTP {resp.status} {resp.reason or ''}".rstrip() + f" from {url}",
                        status=resp.status,
                        retry_after_seconds=retry_after if resp.status in (429, 503) else None,
                    )
                not_modified = resp.status == 304
                body = b"" if not_modified else await self._read_capped(resp, url)
                return FetchResult(
                    url=url,
                    status=resp.status,
                    body=body,
                    etag=resp.headers.get("ETag") or (etag if not_modified else None),
                    last_modified=resp.headers.get("Last-Modified")
                    or (last_modified if not_modified else None),
                    not_modified=not_modified,
                    content_type=resp.headers.get("Content-Type"),
                    body_hash=None if not_modified else hashlib.sha256(body).hexdigest(),
                    retry_after_seconds=retry_after,
                    max_age_seconds=parse_max_age(resp.headers),
                )
        except FetchError:
            raise
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError):
            raise FetchError("timeout", url, f"timed out after {s.timeout_total:g}s fetching {url}") from None
        except aiohttp.ClientConnectorDNSError as exc:
            if isinstance(exc.os_error, _BlockedAddress):
                raise FetchError("refused", url, f"refused to fetch {url}: {exc.os_error}") from None
            raise FetchError("dns", url, f"cannot resolve host {target.host} for {url}: {exc.os_error}") from None
        except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError, ssl.SSLError) as exc:
            raise FetchError("tls", url, f"TLS error fetching {url}: {exc}") from None
        except socket.gaierror as exc:
            raise FetchError("dns", url, f"cannot resolve host {target.host} for {url}: {exc}") from None
        except aiohttp.InvalidURL as exc:
            raise FetchError("bad-url", url, f"not a valid URL: {url!r} ({exc})") from None
        except (aiohttp.ClientError, OSError) as exc:
            detail = str(exc) or type(exc).__name__
            raise FetchError("network", url, f"network error fetching {url}: {detail}") from None

    async def _read_capped(self, resp: aiohttp.ClientResponse, url: str) -> bytes:
        """Read at most max_bytes (decompressed); Content-Length is checked before reading."""
        cap = self._settings.max_bytes
        too_large = f"response from {url} exceeds {cap} bytes"
        declared = resp.headers.get("Content-Length")
        if declared is not None and declared.strip().isdigit() and int(declared) > cap:
            raise FetchError("too-large", url, too_large)
        chunks: list[bytes] = []
        total = 0
        async for chunk in resp.content.iter_chunked(_CHUNK):
            total += len(chunk)
            if total > cap:
                raise FetchError("too-large", url, too_large)
            chunks.append(chunk)
        return b"".join(chunks)
