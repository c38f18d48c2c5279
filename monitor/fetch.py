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
import re
import socket
import ssl
import time
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from monitor.politeness import HostLimiter

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
    """Whether a URL's host resolves to any non-public address (a diagnostic for `check` and
    people: the fetch policy never derives permission from it, see `AddressPolicy`).
    Unresolvable or malformed URLs count as public."""
    try:
        host = URL(url).host
        if not host:
            return False
        addresses = await asyncio.wait_for(resolve_host(host), timeout=10.0)
    except (ValueError, OSError, asyncio.TimeoutError):
        return False
    return any(not is_public_address(a) for a in addresses)


def host_key(host: str | None) -> str:
    """One spelling of a host for policy comparisons: lowercase, no brackets or final dot."""
    return (host or "").strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class AddressPolicy:
    """Which non-public addresses one request may connect to: none (the default), those of
    one named host (`private_host`: the watchlist's `allow_private: true` source's own host),
    or any (`any_private`: a URL a person typed on the command line). Public addresses are
    always allowed. Judged per hop and again per connection, address by address."""

    private_host: str | None = None
    any_private: bool = False

    @classmethod
    def for_source(cls, url: str, allow_private: bool) -> AddressPolicy:
        """The policy of one source's poll: its own host may be private only if allowed."""
        if not allow_private:
            return cls()
        try:
            return cls(private_host=host_key(URL(url).raw_host) or None)
        except (ValueError, TypeError):
            return cls()

    def allows(self, host: str | None, address: str) -> bool:
        if self.any_private or is_public_address(address):
            return True
        return self.private_host is not None and host_key(host) == self.private_host


_STRICT = AddressPolicy()
_POLICY: contextvars.ContextVar[AddressPolicy] = contextvars.ContextVar(
    "claimwatch_address_policy", default=_STRICT
)


class _BlockedAddress(OSError):
    """Raised inside the connector's resolver; aiohttp wraps it, `Fetcher` unwraps it."""


class GuardedResolver(AbstractResolver):
    """Re-applies the request's address policy to the addresses aiohttp actually connects to,
    closing the DNS-rebinding gap between `Fetcher`'s pre-check and the connect. A name with
    any address the policy refuses is refused whole (never "the public one of the two").
    `inner` is the real resolver (a stub in tests); the default is aiohttp's threaded one."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner

    @property
    def inner(self) -> AbstractResolver:
        if self._inner is None:
            self._inner = aiohttp.ThreadedResolver()
        return self._inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        policy = _POLICY.get()
        for res in results:
            if not policy.allows(host, res["host"]):
                raise _BlockedAddress(f"{host} resolves to non-public address {res['host']}")
        return results

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()


def make_session(
    settings: FetchSettings, *, resolver: AbstractResolver | None = None
) -> aiohttp.ClientSession:
    """The daemon's one shared session. Must be called inside the running event loop.

    `resolver` replaces the system resolver under the policy guard (tests map names to
    addresses with it); give the same one to `Fetcher` so its pre-check sees the same answers.
    """
    connector = aiohttp.TCPConnector(
        limit=100,
        limit_per_host=0,  # per-host limits are the Fetcher's (monitor/politeness.py), per source
        resolver=GuardedResolver(resolver),
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


# Delays and lifetimes read from headers are clamped to this (the scheduler honours at most a
# day of them anyway): a hostile "99999999999999999999" must neither raise nor mean forever.
MAX_HEADER_SECONDS = 365 * 86400.0
_DIGITS = re.compile(r"[0-9]+")


def _clamped_seconds(value: float) -> float:
    return min(max(0.0, value), MAX_HEADER_SECONDS)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds from now, in [0, MAX_HEADER_SECONDS]: delta-seconds or an
    HTTP-date; None if unusable (negative, non-numeric, a date without a zone). Never raises."""
    if not value:
        return None
    value = value.strip()
    if _DIGITS.fullmatch(value):
        return _clamped_seconds(float(value.lstrip("0")[:12] or "0"))
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            return None
        return _clamped_seconds(when.timestamp() - (time.time() if now is None else now))
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None


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
            arg = arg.strip().strip('"')
            if not _DIGITS.fullmatch(arg):
                return 0.0
            return _clamped_seconds(float(arg.lstrip("0")[:12] or "0"))
    expires = headers.get("Expires")
    if expires is None:
        return None
    try:
        exp = email.utils.parsedate_to_datetime(expires)
        if exp.tzinfo is None:
            return 0.0
        expires_at = exp.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return 0.0  # RFC 9111: an invalid Expires means "already expired"
    base = time.time() if now is None else now
    if date_hdr := headers.get("Date"):
        try:
            base = email.utils.parsedate_to_datetime(date_hdr).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError, OSError):
            pass
    return _clamped_seconds(expires_at - base)


# --------------------------------------------------------------------------- the fetcher


class Fetcher:
    """Policy-checked, size-capped, deadline-bound GETs over one shared session."""

    def __init__(
        self, session: aiohttp.ClientSession, settings: FetchSettings, hosts: HostLimiter | None = None,
        *, resolver: AbstractResolver | None = None,
    ) -> None:
        self._session = session
        self._settings = settings
        self._resolver = resolver  # the one given to make_session, if any (tests)
        # Per-host politeness (monitor/politeness.py): connections and the gap between starts.
        self.hosts = hosts or HostLimiter(settings.per_host, gap_seconds=0.0)

    async def _resolve(self, host: str, port: int) -> list[str]:
        """Seam for tests: addresses the policy judges."""
        if self._resolver is not None:
            try:
                ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
            except ValueError:
                return list(dict.fromkeys(r["host"] for r in await self._resolver.resolve(host, port)))
        return await resolve_host(host, port)

    async def check_url(
        self, url: str, *, allow_private: bool = False, policy: AddressPolicy | None = None
    ) -> URL:
        """Parse `url` and apply scheme + address policy; the returned URL is safe to request.

        `policy` says which private addresses this request may reach (default: none);
        `allow_private=True` is `AddressPolicy(any_private=True)`, for URLs a person typed.
        """
        policy = AddressPolicy(any_private=True) if allow_private else policy or _STRICT
        try:
            parsed = URL(url)
        except (ValueError, TypeError) as exc:
            raise FetchError("bad-url", url, f"not a valid URL: {url!r} ({exc})") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise FetchError("bad-url", url, f"only http(s) URLs can be fetched, not {url!r}")
        if policy.any_private or (
            policy.private_host is not None and host_key(parsed.raw_host) == policy.private_host
        ):
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
            if not policy.allows(parsed.raw_host, address):
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
        policy: AddressPolicy | None = None,
    ) -> FetchResult:
        """Conditional GET following redirects by hand, so every hop passes `check_url`.

        `policy` (default: public addresses only) is judged on every hop and again on every
        connection; `allow_private=True` lets any address through (command-line URLs only).

        `timeout_total` bounds all hops together, not counting time queued for a host slot.
        """
        s = self._settings
        headers: dict[str, str] = {"User-Agent": s.user_agent}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        policy = AddressPolicy(any_private=True) if allow_private else policy or _STRICT
        token = _POLICY.set(policy)
        budget = s.timeout_total
        current = url
        seen: set[str] = set()
        try:
            for _hop in range(s.max_redirects + 1):
                target = await self.check_url(current, policy=policy)
                seen.add(str(target))
                async with self.hosts.slot(target):
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
            _POLICY.reset(token)

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
        if declared is not None and _DIGITS.fullmatch(declared.strip()) and int(declared) > cap:
            raise FetchError("too-large", url, too_large)
        chunks: list[bytes] = []
        total = 0
        async for chunk in resp.content.iter_chunked(_CHUNK):
            total += len(chunk)
            if total > cap:
                raise FetchError("too-large", url, too_large)
            chunks.append(chunk)
        return b"".join(chunks)
