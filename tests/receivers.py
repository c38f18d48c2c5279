"""Real local receivers for delivery tests: an HTTP JSON endpoint and an SMTP server.

They bind 127.0.0.1 on a free port, so tests exercise apprise's real transports without
touching the network. Both start and stop in milliseconds and can be reused by other
test modules (the lead's end-to-end tests).
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    """A port the OS considers free right now (tiny race accepted: tests only)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class JsonReceiver:
    """An aiohttp server recording the JSON bodies apprise's ``json://`` plugin POSTs.

    Modes: ``up`` (200), ``down`` (503, the endpoint is failing) and ``hang`` (never
    answers, to exercise timeouts). ``stop()``/``start()`` keep the same port so a
    delivery's URL stays valid across an outage.
    """

    def __init__(self, path: str = "/hook", port: int | None = None) -> None:
        self.path = path
        self.port = port or free_port()
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.hits = 0  # every request, including the refused ones
        self.mode = "up"
        self._runner: web.AppRunner | None = None
        self._release = asyncio.Event()

    @property
    def url(self) -> str:
        """The apprise URL that posts to this receiver."""
        return f"json://127.0.0.1:{self.port}{self.path}"

    def down(self) -> None:
        """Answer 503 from now on."""
        self.mode = "down"

    def up(self) -> None:
        """Answer 200 and record from now on."""
        self.mode = "up"
        self._release.set()

    def hang(self) -> None:
        """Accept requests and never answer them (until up() or stop())."""
        self.mode = "hang"
        self._release = asyncio.Event()

    async def _handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        if self.mode == "hang":
            await self._release.wait()
            return web.Response(status=503, text="released")
        if self.mode == "down":
            return web.Response(status=503, text="down")
        body = await request.read()
        self.received.append(json.loads(body or b"null"))
        self.headers.append(dict(request.headers))
        return web.json_response({"ok": True})

    async def start(self) -> None:
        """Serve on the receiver's port (the same one after a stop)."""
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self._runner = runner

    async def stop(self) -> None:
        """Close the port: connections are refused until start()."""
        self._release.set()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> JsonReceiver:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


@dataclass
class ReceivedMail:
    """One message as the SMTP server accepted it."""

    mail_from: str
    rcpt_to: list[str]
    subject: str
    body: str
    message: EmailMessage = field(repr=False)


class _Collector:
    """aiosmtpd handler appending each accepted message to a thread-safe list."""

    def __init__(self, sink: list[ReceivedMail], lock: threading.Lock) -> None:
        self._sink = sink
        self._lock = lock

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        part = msg.get_body(preferencelist=("plain", "html"))
        text = part.get_content() if part is not None else ""
        with self._lock:
            self._sink.append(
                ReceivedMail(
                    mail_from=str(envelope.mail_from),
                    rcpt_to=[str(r) for r in envelope.rcpt_tos],
                    subject=str(msg.get("Subject", "")),
                    body=str(text),
                    message=msg,
                )
            )
        return "250 Message accepted for delivery"


class SmtpReceiver:
    """A plain local SMTP server (no TLS, no auth) collecting messages, via aiosmtpd.

    aiosmtpd's Controller runs its own loop in a thread, so this works from sync and
    async tests alike.
    """

    sender = "claimwatch@example.org"
    recipient = "desk@example.org"

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._lock = threading.Lock()
        self._messages: list[ReceivedMail] = []
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[ReceivedMail]:
        """A snapshot of the messages received so far."""
        with self._lock:
            return list(self._messages)

    @property
    def url(self) -> str:
        """An apprise URL that delivers to this server in plain SMTP.

        ``mailto://`` (not ``mailtos``) means no TLS; ``mode=insecure`` says so
        explicitly; no user/password means no AUTH; ``from``/``to`` set the envelope.
        """
        return (
            f"mailto://127.0.0.1:{self.port}"
            f"?mode=insecure&from={self.sender}&to={self.recipient}"
        )

    def start(self) -> None:
        if self._controller is not None:
            return
        controller = Controller(
            _Collector(self._messages, self._lock),
            hostname="127.0.0.1",
            port=self.port,
            ready_timeout=5.0,
            server_hostname="claimwatch-test",  # skip socket.getfqdn(): slow without DNS
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            controller, self._controller = self._controller, None
            controller.stop()

    def __enter__(self) -> SmtpReceiver:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> SmtpReceiver:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)


class WebhookReceiver(JsonReceiver):
    """A chat service's webhook endpoint (Slack, Discord, Mattermost) on 127.0.0.1.

    Records every JSON body with its path (``paths``) and answers the way the service does:
    Slack webhooks answer the text ``ok``, the others 200 with JSON. Point apprise's plugin at
    it with ``monkeypatch.setattr(NotifySlack, "webhook_url", receiver.base + "/services")``
    (Discord: ``NotifyDiscord.notify_url``); Mattermost takes a host in its URL
    (``mmost://127.0.0.1:PORT/token``).
    """

    def __init__(self, reply: str = "ok", port: int | None = None) -> None:
        super().__init__(path="/", port=port)
        self.reply = reply
        self.paths: list[str] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.Response:
        if self.mode != "up":
            return await super()._handle(request)
        self.hits += 1
        body = await request.read()
        self.received.append(json.loads(body or b"null"))
        self.headers.append(dict(request.headers))
        self.paths.append(request.path)
        if self.reply == "ok":
            return web.Response(text="ok")
        return web.json_response({"ok": True})
