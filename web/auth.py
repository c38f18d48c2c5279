"""Who may read the desk page and the API.

CLAIMWATCH_API_TOKEN set: every request needs it, from any address: the API as
`Authorization: Bearer TOKEN`, the desk page as the login cookie that POST /login sets (or the
same Bearer header). Unset: only loopback peers are served, since nothing proves who a remote
caller is. A reverse proxy on the same host makes every caller look local: set a token there.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress

from aiohttp import web

COOKIE = "claimwatch_desk"


def is_loopback(remote: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and ::ffff:127.x; an unknown peer (None) is not local."""
    if not remote:
        return False
    try:
        ip = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def token_matches(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def session_value(token: str) -> str:
    """The login cookie: derived from the token (not the token itself), so a cookie leaked from
    a browser is no API key, and changing the token logs every desk out."""
    return hmac.new(token.encode(), b"claimwatch desk session v1", hashlib.sha256).hexdigest()


def cookie_matches(request: web.Request, token: str) -> bool:
    given = request.cookies.get(COOKIE)
    return given is not None and hmac.compare_digest(given.encode(), session_value(token).encode())


def refusal(request: web.Request, token: str | None, *, desk: bool) -> str | None:
    """None if the request may be served; else why not ("login" when a login would help)."""
    if token:
        if token_matches(bearer(request), token) or (desk and cookie_matches(request, token)):
            return None
        return "login"
    if is_loopback(request.remote):
        return None
    return "remote"
