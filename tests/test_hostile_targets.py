"""Article text is hostile on every target: what real local receivers get is inert.

Each hostile string goes into the quote, the reporting sentence, the headline, the outlet and
the party's name of one alert, which claimwatch sends through apprise's own Slack, Discord,
Mattermost, json:// and e-mail plugins to servers on 127.0.0.1 (Slack's and Discord's webhook
base URLs pointed at a local aiohttp server, the others addressed directly).
"""
from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from apprise.plugins.discord import NotifyDiscord
from apprise.plugins.slack import NotifySlack

from alerts import render
from alerts.deliver import DeliverySettings, _instantiate, _send, deliver_due, target_key
from alerts.neutralize import ZWSP
from monitor.watchlist import ChannelOptions
from storage.records import PendingDelivery, StandingEntry
from tests.receivers import SmtpReceiver, WebhookReceiver

ARTICLE = "https://www.themoscowtimes.com/2024/10/25/elon-musk-held-secret-talks-a86805"
SETTINGS = DeliverySettings(timeout_seconds=10.0)
LONG = "x" * 100_000


def alert(hostile: str, **changes: object) -> PendingDelivery:
    base = PendingDelivery(
        id=1, alert_id=11, channel="desk", target_key="k", target_label="…", attempts=0,
        claim_id="musk-putin-talks", statement="Elon Musk has held private talks with Vladimir Putin",
        party=f"Kremlin {hostile}", stance="denies", quote=f"“It's all untrue {hostile},” Peskov said.",
        cue="denied", outlet=f"The Moscow Times {hostile}", article_title=f"Headline {hostile}",
        article_url=ARTICLE, published_at=datetime(2024, 10, 25, 9, 15, tzinfo=timezone.utc),
        alerted_at=datetime(2024, 10, 25, 9, 20, tzinfo=timezone.utc), context=f"Context {hostile}.",
        standing=(StandingEntry(f"Kremlin {hostile}", "denies", f"The Moscow Times {hostile}", None),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@dataclass
class Receivers:
    web: WebhookReceiver
    smtp: SmtpReceiver

    def url(self, target: str) -> str:
        return {
            "slack": "slack://T000/B000/XXXXXXXX",
            "discord": "discord://1234567890/abcdefgh",
            "mattermost": f"mmost://127.0.0.1:{self.web.port}/mmtoken",
            "json": f"json://127.0.0.1:{self.web.port}/hook",
            "email": self.smtp.url,
        }[target]


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as s:
        yield s


@pytest.fixture
async def receivers(monkeypatch: pytest.MonkeyPatch, smtp: SmtpReceiver) -> AsyncIterator[Receivers]:
    async with WebhookReceiver() as web:
        monkeypatch.setattr(NotifySlack, "webhook_url", f"{web.base}/services")
        monkeypatch.setattr(NotifyDiscord, "notify_url", f"{web.base}/api/webhooks")
        yield Receivers(web, smtp)


async def received(r: Receivers, target: str, d: PendingDelivery, template: Path | None = None) -> Any:
    """What the local receiver got for one alert sent as the outbox sends it."""
    url = r.url(target)
    plugin = _instantiate(url)
    assert plugin is not None
    outcome = await _send(plugin, render.alert_message(d, url, template), SETTINGS)
    assert outcome.kind == "sent", outcome
    if target == "email":
        [mail] = r.smtp.messages
        return mail
    [payload] = r.web.received
    return payload


def slack_text(payload: dict[str, Any]) -> str:
    [attachment] = payload["attachments"]
    return "\n".join(b["text"]["text"] for b in attachment["blocks"])


def discord_text(payload: dict[str, Any]) -> str:
    assert payload["allowed_mentions"] == {"parse": []}  # Discord itself pings nobody
    [embed] = payload["embeds"]
    return f"{embed['title']}\n{embed['description']}"


def shown(target: str, got: Any) -> str:
    """Everything of the message a reader (or a chat service's parser) sees."""
    if target == "slack":  # the blocks, and the notification's fallback text
        return f"{got['attachments'][0]['fallback']}\n{slack_text(got)}"
    if target == "discord":
        return discord_text(got)
    if target == "mattermost":
        return str(got["text"])
    if target == "json":
        return f"{got['title']}\n{got['message']}"
    # e-mail: the HTML part (the Subject is plain text, read by no markup parser)
    return str(got.message.get_body(preferencelist=("html",)).get_content())


def unescaped(text: str, char: str) -> bool:
    """`char` occurs not preceded by a backslash (CommonMark would read it as markup)."""
    return re.search(rf"(?<!\\){re.escape(char)}", text) is not None


# A hostile string → for each target, a check that what arrived is inert.
HOSTILE: dict[str, dict[str, Any]] = {
    "<!channel>": {
        "slack": lambda t: "<!channel" not in t and "&lt;!channel&gt;" in t,
        "discord": lambda t: "\\<!channel\\>" in t and not unescaped(t.replace("\\<", ""), "<!"),
        "mattermost": lambda t: "\\<!channel\\>" in t,
        "json": lambda t: "<!channel>" not in t and f"<{ZWSP}!channel>" in t,
        "email": lambda t: "<!channel>" not in t and "&lt;!channel&gt;" in t,
    },
    "@everyone": {
        "slack": lambda t: "@everyone" not in t,
        "discord": lambda t: "@everyone" not in t and f"@{ZWSP}everyone" in t,
        "mattermost": lambda t: "@everyone" not in t,
        "json": lambda t: "@everyone" not in t,
        "email": lambda t: "@everyone" in t,  # e-mail has no mentions: the words arrive as they are
    },
    "@here": {
        "slack": lambda t: "@here" not in t,
        "discord": lambda t: "@here" not in t,
        "mattermost": lambda t: "@here" not in t and f"@{ZWSP}here" in t,
        "json": lambda t: "@here" not in t,
        "email": lambda t: "@here" in t,
    },
    "<@U123>": {
        "slack": lambda t: "<@" not in t and f"&lt;@{ZWSP}U123&gt;" in t,
        "discord": lambda t: "<@U123>" not in t and f"\\<@{ZWSP}U123\\>" in t,
        "mattermost": lambda t: "<@U123>" not in t,
        "json": lambda t: "<@U123>" not in t,
        "email": lambda t: "<@U123>" not in t and "&lt;@U123&gt;" in t,
    },
    "<http://evil.example|click>": {
        "slack": lambda t: "<http://evil" not in t and "&lt;http://evil.example|click&gt;" in t,
        "discord": lambda t: "\\<http://evil.example\\|click\\>" in t,
        "mattermost": lambda t: "\\<http://evil.example\\|click\\>" in t,
        "json": lambda t: "<http://evil" not in t,
        "email": lambda t: 'href="http://evil' not in t and "&lt;http://evil.example|click&gt;" in t,
    },
    "[x](http://evil.example)": {
        "slack": lambda t: "<http://evil" not in t,  # mrkdwn has no [x](y) links: literal
        "discord": lambda t: "](http://evil" not in t and "\\[x\\]\\(http://evil.example\\)" in t,
        "mattermost": lambda t: "](http://evil" not in t and "\\[x\\]\\(http://evil.example\\)" in t,
        "json": lambda t: "](http://evil" not in t and f"[x]{ZWSP}(http://evil.example)" in t,
        "email": lambda t: 'href="http://evil' not in t,
    },
    "<script>alert(1)</script>": {
        "slack": lambda t: "<script>" not in t and "&lt;script&gt;" in t,
        "discord": lambda t: "<script>" not in t,
        "mattermost": lambda t: "<script>" not in t,
        "json": lambda t: "<script>" not in t,
        "email": lambda t: "<script>" not in t and "&lt;script&gt;alert(1)&lt;/script&gt;" in t,
    },
    "*bold*": {
        "slack": lambda t: "*bold*" not in t and f"*{ZWSP}bold*{ZWSP}" in t,
        "discord": lambda t: "\\*bold\\*" in t and not unescaped(t.replace("**", ""), "*bold"),
        "mattermost": lambda t: "\\*bold\\*" in t,
        "json": lambda t: "*bold*" in t,  # plain text: the words as they are, nothing renders them
        "email": lambda t: "*bold*" in t and "<b>bold" not in t and "<strong>bold" not in t,
    },
    "<b>bold</b>": {
        "slack": lambda t: "<b>" not in t and "&lt;b&gt;bold&lt;/b&gt;" in t,
        "discord": lambda t: "<b>" not in t and "\\<b\\>bold\\</b\\>" in t,
        "mattermost": lambda t: "<b>" not in t,
        "json": lambda t: "<b>" not in t,
        "email": lambda t: "<b>bold" not in t and "&lt;b&gt;bold&lt;/b&gt;" in t,
    },
}
TARGETS = ("slack", "discord", "mattermost", "json", "email")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("hostile", list(HOSTILE))
async def test_hostile_article_text_arrives_inert(receivers: Receivers, hostile: str, target: str) -> None:
    got = await received(receivers, target, alert(hostile))
    text = shown(target, got)
    assert HOSTILE[hostile][target](text), text
    # our own link to the article survives whatever the article says
    assert ARTICLE in text


@pytest.mark.parametrize("target", TARGETS)
async def test_a_100000_character_quote_headline_and_party_arrive_capped(receivers: Receivers, target: str) -> None:
    got = await received(receivers, target, alert(LONG, statement=LONG))
    text = shown(target, got)
    assert len(text) < 12_000, len(text)
    title = {"slack": lambda: slack_text(got).split("\n", 1)[0], "discord": lambda: got["embeds"][0]["title"],
             "mattermost": lambda: got["text"].split("\n", 1)[0], "json": lambda: got["title"],
             "email": lambda: got.subject}[target]()
    assert len(title) <= 256 + len(f"*<{ARTICLE}|>*") + 8, len(title)
    assert " denies: " in title and "…" in title


# --- what each service is told, beyond the text -------------------------------------------------


async def test_slack_gets_block_kit_mrkdwn_a_linked_title_and_the_stance_colour_without_branding(
        receivers: Receivers) -> None:
    payload = await received(receivers, "slack", alert("", party="Kremlin", stance="confirms"))
    assert receivers.web.paths == ["/services/T000/B000/XXXXXXXX"]
    [attachment] = payload["attachments"]
    assert attachment["color"].lower() == "#3aa337"  # apprise's success green
    [section] = attachment["blocks"]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    first = section["text"]["text"].split("\n", 1)[0]
    assert first == f"*<{ARTICLE}|Kremlin confirms: Elon Musk has held private talks with Vladimir Putin>*"
    assert attachment["fallback"] == "Kremlin confirms: Elon Musk has held private talks with Vladimir Putin"
    flat = json.dumps(payload)
    assert "Apprise" not in flat and "icon_url" not in payload and "footer" not in flat


async def test_a_slack_denial_is_red(receivers: Receivers) -> None:
    payload = await received(receivers, "slack", alert("", party="Kremlin"))
    assert payload["attachments"][0]["color"].lower() == "#a32037"  # apprise's failure red


async def test_discord_gets_an_embed_with_the_title_linked_the_stance_colour_and_no_mentions(
        receivers: Receivers) -> None:
    payload = await received(receivers, "discord", alert("@everyone", party="Kremlin"))
    assert receivers.web.paths == ["/api/webhooks/1234567890/abcdefgh"]
    assert payload["allowed_mentions"] == {"parse": []}
    [embed] = payload["embeds"]
    assert embed["title"] == "Kremlin denies: Elon Musk has held private talks with Vladimir Putin"
    assert embed["url"] == ARTICLE and embed["color"] == 0xA32037
    assert "avatar_url" not in payload and "Apprise" not in json.dumps(payload) and "author" not in embed


async def test_a_discord_notice_without_an_article_is_an_embed_without_a_link(receivers: Receivers) -> None:
    url = receivers.url("discord")
    plugin = _instantiate(url)
    msg = render.notice_message("Source failing: The Moscow Times", "HTTP 503 since 06:00 UTC", url, "warning")
    assert (await _send(plugin, msg, SETTINGS)).kind == "sent"
    [payload] = receivers.web.received
    [embed] = payload["embeds"]
    assert embed["title"] == "Source failing: The Moscow Times" and "url" not in embed
    assert embed["description"] == "HTTP 503 since 06:00 UTC" and payload["allowed_mentions"] == {"parse": []}


async def test_json_webhooks_get_the_title_the_text_and_the_stance_as_type(receivers: Receivers) -> None:
    payload = await received(receivers, "json", alert("", party="Kremlin"))
    assert payload["title"] == "Kremlin denies: Elon Musk has held private talks with Vladimir Putin"
    assert ARTICLE in payload["message"] and "2024-10-25" in payload["message"]
    assert payload["type"] == "failure"


async def test_email_is_multipart_html_and_text_from_claimwatch_in_one_thread_per_claim(receivers: Receivers) -> None:
    mail = await received(receivers, "email", alert("<b>x</b>", party="Kremlin"))
    msg = mail.message
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["From"] == "claimwatch <claimwatch@example.org>"
    assert msg["In-Reply-To"] == msg["References"] == "<claim.musk-putin-talks@claimwatch>"
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert f'<a href="{ARTICLE}">Kremlin denies: Elon Musk has held private talks with Vladimir Putin</a>' in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x" not in html
    text = msg.get_body(preferencelist=("plain",)).get_content()
    assert "Kremlin denies: Elon Musk has held private talks with Vladimir Putin" in text and ARTICLE in text


async def test_a_channels_own_template_goes_through_the_outbox_to_slack(receivers: Receivers, tmp_path: Path) -> None:
    template = tmp_path / "desk.j2"
    template.write_text("*{{ alert.party }}* says {{ alert.quote }}\n{{ alert.url | link('read') }}\n")

    @dataclass
    class Options:
        template: Path | None

    class Outbox:
        def __init__(self) -> None:
            self.d: list[PendingDelivery] = [alert("<!here>", party="Kremlin",
                                                   target_key=target_key(receivers.url("slack")))]
            self.attempts: list[bool] = []

        async def lease_deliveries(self, now: datetime, limit: int, lease_seconds: int,
                                   due_by: datetime | None = None) -> list[PendingDelivery]:
            out, self.d = self.d, []
            return out

        async def release_deliveries(self, ids: Any, *, next_attempt_at: Any = None) -> None:
            pass

        async def record_attempt(self, delivery_id: int, *, ok: bool, **_: Any) -> None:
            self.attempts.append(ok)

    outbox = Outbox()
    await deliver_due(outbox, {"desk": [receivers.url("slack")]}, SETTINGS,  # type: ignore[arg-type]
                      now=lambda: datetime.now(timezone.utc), options={"desk": ChannelOptions(template)})
    assert outbox.attempts == [True]
    [payload] = receivers.web.received
    assert slack_text(payload) == f"*Kremlin* says “It's all untrue &lt;!here&gt;,” Peskov said.\n<{ARTICLE}|read>"
