"""Alert rendering and outbox delivery, against real local HTTP and SMTP receivers."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import pytest

from alerts import render
from alerts.deliver import (
    DeliveryReport,
    DeliverySettings,
    Outbox,
    backoff,
    deliver_due,
    privacy_label,
    target_error,
    target_key,
)
from storage.records import PendingDelivery
from tests.receivers import JsonReceiver, SmtpReceiver

T0 = datetime(2024, 10, 25, 12, 0, tzinfo=timezone.utc)
FAST = DeliverySettings(timeout_seconds=5.0, backoff_base_seconds=30.0, backoff_max_seconds=3600.0)


def delivery(id: int = 1, channel: str = "desk", target_index: int = 0, **changes: object) -> PendingDelivery:
    """A delivery to the channel's target at `target_index` of the channels `run` is given
    (`run` puts that target's key in place of the "#index" placeholder)."""
    base = PendingDelivery(
        id=id,
        alert_id=100 + id,
        channel=channel,
        target_key=f"#{target_index}",
        target_label="json://127.0.0.1/hook",
        attempts=0,
        claim_id="musk-putin-talks",
        statement="Elon Musk has held private talks with Vladimir Putin",
        party="Kremlin",
        stance="denies",
        quote='"The only contact was one phone call about space," Peskov said.',
        cue="only one ... call",
        outlet="Reuters",
        article_title="Kremlin says Musk and Putin spoke once",
        article_url="https://www.reuters.com/world/kremlin-musk-putin-2024-10-25/",
        published_at=datetime(2024, 10, 25, 10, 0, tzinfo=timezone.utc),
        alerted_at=T0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


class Clock:
    """A settable clock, so backoff times are exact and 'the next run' is a jump forward."""

    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@dataclass
class Attempt:
    now: datetime
    ok: bool
    error: str | None
    duration_ms: int
    next_attempt_at: datetime | None


@dataclass
class Row:
    delivery: PendingDelivery
    status: str = "pending"  # pending | sent | failed
    attempts: list[Attempt] = field(default_factory=list)
    next_attempt_at: datetime = T0
    leased_until: datetime | None = None


class FakeOutbox:
    """In-memory Outbox with the storage contract's semantics (lease, then record)."""

    def __init__(self, *deliveries: PendingDelivery) -> None:
        self.rows = {d.id: Row(d, next_attempt_at=d.alerted_at) for d in deliveries}

    async def lease_deliveries(
        self, now: datetime, limit: int, lease_seconds: int, due_by: datetime | None = None
    ) -> list[PendingDelivery]:
        due = [
            r for r in sorted(self.rows.values(), key=lambda r: r.delivery.id)
            if r.status == "pending" and r.next_attempt_at <= (due_by or now)
            and (r.leased_until is None or r.leased_until <= now)
        ][:limit]
        for r in due:
            r.leased_until = now + timedelta(seconds=lease_seconds)
        return [replace(r.delivery, attempts=len(r.attempts)) for r in due]

    async def record_attempt(
        self, delivery_id: int, *, now: datetime, ok: bool, error: str | None,
        duration_ms: int, next_attempt_at: datetime | None,
    ) -> None:
        row = self.rows[delivery_id]
        assert row.status == "pending", f"delivery {delivery_id} recorded again after {row.status}"
        row.attempts.append(Attempt(now, ok, error, duration_ms, next_attempt_at))
        row.leased_until = None
        if ok:
            row.status = "sent"
        elif next_attempt_at is None:
            row.status = "failed"
        else:
            row.next_attempt_at = next_attempt_at


    async def release_deliveries(self, delivery_ids: list[int], *, next_attempt_at: datetime | None = None) -> None:
        for i in delivery_ids:
            row = self.rows[i]
            row.leased_until = None
            if next_attempt_at is not None:
                row.next_attempt_at = next_attempt_at


def _is_outbox(o: Outbox) -> Outbox:
    return o


@pytest.fixture
async def json_receiver() -> AsyncIterator[JsonReceiver]:
    async with JsonReceiver() as r:
        yield r


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as s:
        yield s


@pytest.fixture
def clock() -> Clock:
    return Clock()


def keyed(outbox: FakeOutbox, channels: dict[str, list[str]]) -> None:
    """Address each "#index" delivery by the key of the URL at that index, as storage would."""
    for row in outbox.rows.values():
        d = row.delivery
        if d.target_key and d.target_key.startswith("#"):
            urls = channels.get(d.channel, [])
            i = int(d.target_key[1:])
            row.delivery = replace(d, target_key=target_key(urls[i]) if i < len(urls) else "gone")


async def run(outbox: FakeOutbox, channels: dict[str, list[str]], clock: Clock,
              settings: DeliverySettings = FAST) -> DeliveryReport:
    keyed(outbox, channels)
    return await deliver_due(_is_outbox(outbox), channels, settings, now=clock, rng=lambda: 0.0)


# --- rendering --------------------------------------------------------------------------------


def test_title_is_party_stance_statement() -> None:
    assert render.title(delivery()) == "Kremlin denies: Elon Musk has held private talks with Vladimir Putin"


def test_body_carries_quote_outlet_title_url_and_time_in_desk_words() -> None:
    text = render.body(delivery())
    assert text.splitlines() == [
        "\"The only contact was one phone call about space,\" Peskov said.",
        "New: first time Kremlin takes a stance on this claim.",
        "Reuters: Kremlin says Musk and Putin spoke once",
        "https://www.reuters.com/world/kremlin-musk-putin-2024-10-25/",
        "Published 2024-10-25 10:00 UTC",
    ]
    assert "decided by" not in text and "musk-putin-talks" not in text


def test_body_says_when_publication_time_is_unknown_and_converts_to_utc() -> None:
    assert "Published at an unknown time" in render.body(delivery(published_at=None))
    cest = timezone(timedelta(hours=2))
    assert "Published 2024-10-25 10:00 UTC" in render.body(
        delivery(published_at=datetime(2024, 10, 25, 12, 0, tzinfo=cest)))


# --- delivery to real receivers ----------------------------------------------------------------


async def test_alert_reaches_a_real_json_receiver_exactly_once(json_receiver: JsonReceiver, clock: Clock) -> None:
    outbox = FakeOutbox(delivery())
    report = await run(outbox, {"desk": [json_receiver.url]}, clock)
    assert report == DeliveryReport(sent=1)
    [posted] = json_receiver.received
    assert posted["title"] == "Kremlin denies: Elon Musk has held private talks with Vladimir Putin"
    assert "Reuters: Kremlin says Musk and Putin spoke once" in posted["message"]
    row = outbox.rows[1]
    assert row.status == "sent" and len(row.attempts) == 1 and row.attempts[0].error is None
    assert row.attempts[0].duration_ms >= 0


async def test_alert_reaches_a_real_smtp_server_exactly_once(smtp_receiver: SmtpReceiver, clock: Clock) -> None:
    outbox = FakeOutbox(delivery())
    assert await run(outbox, {"desk": [smtp_receiver.url]}, clock) == DeliveryReport(sent=1)
    [mail] = smtp_receiver.messages
    assert mail.subject == "Kremlin denies: Elon Musk has held private talks with Vladimir Putin"
    assert mail.rcpt_to == ["desk@example.org"] and mail.mail_from == "claimwatch@example.org"
    assert "Reuters: Kremlin says Musk and Putin spoke once\n" in mail.body.replace("\r\n", "\n")
    assert "Published 2024-10-25 10:00 UTC" in mail.body
    assert mail.message.get_content_type() == "multipart/alternative"


async def test_sent_delivery_is_not_resent_on_a_second_run(json_receiver: JsonReceiver, clock: Clock) -> None:
    outbox = FakeOutbox(delivery())
    await run(outbox, {"desk": [json_receiver.url]}, clock)
    clock.advance(7200)
    assert await run(outbox, {"desk": [json_receiver.url]}, clock) == DeliveryReport()
    assert len(json_receiver.received) == 1 and json_receiver.hits == 1


@pytest.mark.parametrize("outage", ["503", "stopped"])
async def test_down_receiver_leaves_delivery_pending_then_next_run_delivers_once(
    json_receiver: JsonReceiver, clock: Clock, outage: str
) -> None:
    outbox = FakeOutbox(delivery())
    channels = {"desk": [json_receiver.url]}
    if outage == "503":
        json_receiver.down()
    else:
        await json_receiver.stop()

    assert await run(outbox, channels, clock) == DeliveryReport(retrying=1)
    row = outbox.rows[1]
    [failed] = row.attempts
    assert row.status == "pending" and not failed.ok and failed.error
    assert failed.next_attempt_at == T0 + timedelta(seconds=30)
    assert await run(outbox, channels, clock) == DeliveryReport()  # not due yet: nothing leased

    json_receiver.up()
    await json_receiver.start()
    clock.advance(30)
    assert await run(outbox, channels, clock) == DeliveryReport(sent=1)
    assert await run(outbox, channels, clock) == DeliveryReport()
    assert len(json_receiver.received) == 1
    assert row.status == "sent" and [a.ok for a in row.attempts] == [False, True]


async def test_hanging_receiver_times_out_and_is_retried(json_receiver: JsonReceiver, clock: Clock) -> None:
    json_receiver.hang()
    outbox = FakeOutbox(delivery())
    started = time.monotonic()
    report = await run(outbox, {"desk": [json_receiver.url]}, clock, replace(FAST, timeout_seconds=0.5))
    assert time.monotonic() - started < 3
    assert report == DeliveryReport(retrying=1)
    [attempt] = outbox.rows[1].attempts
    assert attempt.error == "timed out after 0.5s" and attempt.next_attempt_at is not None
    assert attempt.duration_ms >= 450


async def test_different_targets_are_served_concurrently(clock: Clock) -> None:
    async with JsonReceiver() as a, JsonReceiver() as b, JsonReceiver() as c:
        for r in (a, b, c):
            r.hang()
        outbox = FakeOutbox(delivery(1, target_index=0), delivery(2, target_index=1), delivery(3, target_index=2))
        started = time.monotonic()
        report = await run(outbox, {"desk": [a.url, b.url, c.url]}, clock, replace(FAST, timeout_seconds=0.5))
        assert report == DeliveryReport(retrying=3)
        assert time.monotonic() - started < 1.4


async def test_a_failing_target_is_not_hammered_with_its_backlog(json_receiver: JsonReceiver, clock: Clock) -> None:
    json_receiver.down()
    settings = replace(FAST, backoff_base_seconds=600)
    outbox = FakeOutbox(delivery(1), delivery(2), delivery(3))
    report = await run(outbox, {"desk": [json_receiver.url]}, clock, settings)
    assert report == DeliveryReport(retrying=1, deferred=2)
    assert json_receiver.hits == 1
    assert all(r.leased_until is None for r in outbox.rows.values()), "deferred ones are handed back"
    json_receiver.up()
    clock.advance(settings.lease_seconds)  # the backlog waits for the target's retry time
    assert await run(outbox, {"desk": [json_receiver.url]}, clock, settings) == DeliveryReport()
    clock.advance(600)
    assert await run(outbox, {"desk": [json_receiver.url]}, clock, settings) == DeliveryReport(sent=3)
    assert len(json_receiver.received) == 3


async def test_run_once_ignores_backoff_when_asked_to_deliver_everything_pending(
    json_receiver: JsonReceiver, clock: Clock
) -> None:
    json_receiver.down()
    outbox = FakeOutbox(delivery(1))
    assert await run(outbox, {"desk": [json_receiver.url]}, clock, FAST) == DeliveryReport(retrying=1)
    json_receiver.up()
    report = await deliver_due(outbox, {"desk": [json_receiver.url]}, FAST, now=clock,
                               due_by=clock() + timedelta(days=365))
    assert report == DeliveryReport(sent=1) and len(json_receiver.received) == 1


async def test_gives_up_for_good_after_max_attempts(json_receiver: JsonReceiver, clock: Clock) -> None:
    json_receiver.down()
    settings = replace(FAST, max_attempts=3)
    outbox = FakeOutbox(delivery())
    reports = []
    for _ in range(3):
        reports.append(await run(outbox, {"desk": [json_receiver.url]}, clock, settings))
        clock.advance(3600)
    assert reports == [DeliveryReport(retrying=1), DeliveryReport(retrying=1), DeliveryReport(failed=1)]
    row = outbox.rows[1]
    assert row.status == "failed" and len(row.attempts) == 3
    assert row.attempts[-1].next_attempt_at is None
    assert row.attempts[-1].error and row.attempts[-1].error.startswith("gave up after 3 attempts")
    assert await run(outbox, {"desk": [json_receiver.url]}, clock, settings) == DeliveryReport()


@pytest.mark.parametrize(
    ("channels", "message"),
    [
        ({"desk": ["json://127.0.0.1:9/x"]}, "target removed from channel 'desk'"),
        ({"desk": [""]}, "target removed from channel 'desk'"),  # switched off by an empty ${VAR:-}
        ({}, "target removed from channel 'desk' (the channel is no longer in the watchlist)"),
    ],
)
async def test_a_delivery_whose_target_was_removed_fails_for_good_with_the_reason(
    clock: Clock, channels: dict[str, list[str]], message: str
) -> None:
    outbox = FakeOutbox(delivery(target_index=2))
    assert await run(outbox, channels, clock) == DeliveryReport(failed=1)
    [attempt] = outbox.rows[1].attempts
    assert outbox.rows[1].status == "failed" and attempt.error == message and attempt.next_attempt_at is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("slack://not-a-token", "not a notification URL apprise understands: slack://…"),
        ("nosuchservice://x/y", "not a notification URL apprise understands: nosuchservice://…"),
    ],
)
async def test_invalid_apprise_url_fails_for_good(clock: Clock, url: str, message: str) -> None:
    outbox = FakeOutbox(delivery())
    assert await run(outbox, {"desk": [url]}, clock) == DeliveryReport(failed=1)
    [attempt] = outbox.rows[1].attempts
    assert attempt.error == message and attempt.next_attempt_at is None
    assert target_error(url) == message


# --- pure parts -------------------------------------------------------------------------------


def test_backoff_grows_exponentially_and_is_capped() -> None:
    s = DeliverySettings(backoff_base_seconds=30, backoff_max_seconds=3600)
    assert [backoff(n, s).total_seconds() for n in range(1, 10)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff(10_000, s) == timedelta(seconds=3600)


def test_backoff_jitter_only_shortens_within_its_fraction() -> None:
    s = DeliverySettings(backoff_base_seconds=30, backoff_max_seconds=3600, jitter_fraction=0.2)
    assert backoff(3, s, jitter=1.0) == timedelta(seconds=96)
    assert backoff(20, s, jitter=0.5) == timedelta(seconds=3240)
    assert backoff(20, s, jitter=0.0) == timedelta(seconds=3600)


def test_target_error_accepts_valid_urls() -> None:
    assert target_error("json://127.0.0.1:8080/hook") is None
    assert target_error("mailto://127.0.0.1:2525?mode=insecure&from=a@example.org&to=b@example.org") is None
    assert target_error("json://${HOOK_HOST}/x") == "URL still contains an unexpanded ${…} variable: json://…"


def test_privacy_label_masks_secrets() -> None:
    assert privacy_label("json://user:SECRETPASS@127.0.0.1:8080/hook") == (
        "json://user:****@127.0.0.1:8080/****?method=POST")
    label = privacy_label("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#desk")
    assert label.startswith("slack://") and "TIiajkdnlazkcOXrIdevi7FQ" not in label
    assert privacy_label("slack://abc") == "slack://…"
    assert privacy_label("not a url") == "(not a URL)"


async def test_secrets_in_urls_never_reach_logs_or_recorded_errors(
    json_receiver: JsonReceiver, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_url = json_receiver.url.replace("json://", "json://user:SECRETPASS@")
    channels = {"desk": [secret_url, "slack://SECRETTOKEN"]}
    outbox = FakeOutbox(delivery(1), delivery(2, target_index=1))
    json_receiver.down()
    await run(outbox, channels, clock)
    json_receiver.up()
    clock.advance(3600)
    await run(outbox, channels, clock)
    assert len(json_receiver.received) == 1
    records = [r for r in caplog.records if r.name.startswith("claimwatch.alerts")]
    assert any("user:****@127.0.0.1" in r.getMessage() for r in records)
    errors = [a.error or "" for row in outbox.rows.values() for a in row.attempts]
    for text in [r.getMessage() for r in caplog.records] + errors + [caplog.text]:
        for secret in ("SECRETPASS", "SECRETTOKEN"):
            assert secret not in text


async def test_apprise_logs_are_routed_to_ours_at_warning(
    json_receiver: JsonReceiver, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    json_receiver.down()
    await run(FakeOutbox(delivery()), {"desk": [json_receiver.url]}, clock)
    apprise_logger = logging.getLogger("apprise")
    assert not apprise_logger.propagate and apprise_logger.level == logging.WARNING
    routed = [r for r in caplog.records if r.name == "claimwatch.alerts.apprise"]
    assert routed and all(r.levelno >= logging.WARNING for r in routed)
    assert "Failed to send JSON POST notification" in routed[0].getMessage()


async def test_a_retry_leased_again_in_the_same_run_waits_for_the_next_run(
    json_receiver: JsonReceiver, clock: Clock
) -> None:
    json_receiver.down()
    outbox = FakeOutbox(delivery())
    zero = replace(FAST, backoff_base_seconds=0.0, batch=1)
    assert await asyncio.wait_for(run(outbox, {"desk": [json_receiver.url]}, clock, zero), 5) == (
        DeliveryReport(retrying=1))
