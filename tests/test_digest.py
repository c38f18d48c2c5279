"""Digest and rate-limited channels: schedule arithmetic (pure, fixed times), and the held
deliveries in the real outbox on SQLite and PostgreSQL, sent to a real local receiver.

The daemon-as-a-process test (kill -9 in the middle of a digest period) is in
tests/test_digest_restart.py.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta

import pytest

from alerts.deliver import DeliveryReport, DeliverySettings, deliver_due, target_key
from alerts.timing import digest_due, digest_period, fold_due, over_limit
from matcher.match import Finding, Stance
from monitor.watchlist import ChannelOptions, Digest, parse_digest
from storage.records import ArticleRecord, ClaimRouting, SourceSpec, Target
from storage.repository import Repository
from tests.receivers import JsonReceiver

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
FAST = DeliverySettings(timeout_seconds=5.0, backoff_base_seconds=30.0)
LONDON_8 = Digest("daily", time(8, 0), "Europe/London")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --- when a digest or fold goes out (pure) ---------------------------------------------------


def test_an_hourly_digest_goes_out_at_the_next_full_hour_and_an_alert_on_the_hour_waits_a_full_one() -> None:
    hourly = parse_digest("hourly")
    assert digest_due(utc("2025-03-01T12:00:01+00:00"), hourly) == utc("2025-03-01T13:00:00+00:00")
    assert digest_due(utc("2025-03-01T12:59:59+00:00"), hourly) == utc("2025-03-01T13:00:00+00:00")
    assert digest_due(utc("2025-03-01T12:00:00+00:00"), hourly) == utc("2025-03-01T13:00:00+00:00")
    assert digest_period(utc("2025-03-01T13:00:00+00:00"), hourly) == (
        utc("2025-03-01T12:00:00+00:00"), utc("2025-03-01T13:00:00+00:00"))


def test_an_hourly_digest_in_a_half_hour_zone_keeps_its_own_full_hours() -> None:
    kolkata = Digest("hourly", tz="Asia/Kolkata")
    assert digest_due(utc("2025-03-01T12:10:00+00:00"), kolkata) == utc("2025-03-01T12:30:00+00:00")


def test_a_daily_digest_is_sent_at_its_wall_clock_time_on_both_sides_of_a_daylight_saving_change() -> None:
    # winter: 08:00 London is 08:00 UTC; summer: 07:00 UTC; both on the change days themselves
    assert digest_due(utc("2025-03-29T07:59:00+00:00"), LONDON_8) == utc("2025-03-29T08:00:00+00:00")
    assert digest_due(utc("2025-03-29T08:00:00+00:00"), LONDON_8) == utc("2025-03-30T08:00:00+01:00")
    assert digest_due(utc("2025-03-30T07:30:00+00:00"), LONDON_8) == utc("2025-03-31T08:00:00+01:00")
    assert digest_due(utc("2025-10-25T07:30:00+00:00"), LONDON_8) == utc("2025-10-26T08:00:00+00:00")
    # the periods around the changes are 23 and 25 hours long and follow one another
    start, end = digest_period(utc("2025-03-30T07:00:00+00:00"), LONDON_8)
    assert (start, end - start) == (utc("2025-03-29T08:00:00+00:00"), timedelta(hours=23))
    start, end = digest_period(utc("2025-10-26T08:00:00+00:00"), LONDON_8)
    assert end - start == timedelta(hours=25)


def test_a_daily_time_skipped_by_spring_forward_goes_after_the_gap_and_a_repeated_one_at_its_first_occurrence() -> None:
    skipped = Digest("daily", time(1, 30), "Europe/London")  # 01:00 → 02:00 on 2025-03-30
    assert digest_due(utc("2025-03-29T12:00:00+00:00"), skipped) == utc("2025-03-30T02:30:00+01:00")
    repeated = Digest("daily", time(1, 30), "Europe/London")  # 02:00 → 01:00 on 2025-10-26
    assert digest_due(utc("2025-10-25T12:00:00+00:00"), repeated) == utc("2025-10-26T01:30:00+01:00")
    assert digest_due(utc("2025-10-26T00:30:00+00:00"), repeated) == utc("2025-10-27T01:30:00+00:00"), \
        "the second 01:30 of the night is not a second digest"


def test_an_alert_over_the_limit_joins_the_waiting_fold_or_waits_fold_every() -> None:
    assert fold_due(T0, 900, None) == T0 + timedelta(minutes=15)
    waiting = T0 + timedelta(minutes=3)
    assert fold_due(T0, 900, waiting) == waiting
    assert not over_limit(2, 3) and over_limit(3, 3) and not over_limit(99, None)


# --- held deliveries in the real outbox ------------------------------------------------------


class Clock:
    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, **delta: float) -> datetime:
        self.at = T0 + timedelta(**delta)
        return self.at


@pytest.fixture
async def receiver() -> AsyncIterator[JsonReceiver]:
    async with JsonReceiver() as r:
        yield r


def routing(channel: str, url: str) -> dict[str, ClaimRouting]:
    target = (Target(channel, target_key(url), "json://127.0.0.1/hook"),)
    return {
        "merger": ClaimRouting("Acme will merge with Globex", target),
        "recall": ClaimRouting("Initech recalled its printers", target),
    }


class Newsdesk:
    """Stores articles whose findings alert (one per new party), at given times."""

    def __init__(self, repo: Repository, channel: str, receiver: JsonReceiver) -> None:
        self.repo, self.claims, self.n = repo, routing(channel, receiver.url), 0

    async def alerts(self, at: datetime, *parties: str, claim: str = "merger") -> list[int]:
        if self.n == 0:
            await self.repo.sync_sources([SourceSpec("wire", "feed", "https://wire.example/rss", 300)], T0)
        self.n += 1
        [source] = await self.repo.source_states()
        findings = [Finding(claim_id=claim, stance=Stance.CONFIRMS, party=p, party_kind="entity",
                            quote=f"{p} said so.", cue="said", sentence=1) for p in parties]
        stored = await self.repo.store_article(ArticleRecord(
            source_id=source.id, url=f"https://news.example/{self.n}", content_hash=f"h{self.n}",
            title=f"Story {self.n}", text="body", outlet="News", published_at=at, fetched_at=at,
        ), findings, self.claims, at)
        assert stored is not None and len(stored[1]) == len(parties)
        return stored[1]


async def deliver(repo: Repository, receiver: JsonReceiver, channel: str, options: ChannelOptions,
                  clock: Clock | datetime, *, due_by: datetime | None = None) -> DeliveryReport:
    """One deliverer run at the clock's time (a datetime: at that time)."""
    now = Clock(clock) if isinstance(clock, datetime) else clock
    return await deliver_due(repo, {channel: (receiver.url,)}, FAST, now=now, rng=lambda: 0.0,
                             due_by=due_by, options={channel: options})


def parties_in(message: dict[str, str], parties: list[str]) -> list[str]:
    text = f"{message['title']}\n{message['message']}"
    return [p for p in parties if f"{p} confirms" in text]


async def test_an_hourly_digest_channel_gets_one_message_per_hour_listing_every_alert_of_that_hour(
    repo: Repository, receiver: JsonReceiver
) -> None:
    clock, news = Clock(), Newsdesk(repo, "night", receiver)
    hourly = ChannelOptions(digest=parse_digest("hourly"))
    first_hour = ["Acme", "Globex", "Hooli", "Initech", "Umbrella"]
    await news.alerts(clock.set(minutes=10), "Acme", "Globex")
    assert await deliver(repo, receiver, "night", hourly, clock) == DeliveryReport(deferred=2)
    await news.alerts(clock.set(minutes=40), "Hooli", "Initech", claim="recall")
    await news.alerts(clock.set(minutes=41), "Umbrella")
    await deliver(repo, receiver, "night", hourly, clock)
    await deliver(repo, receiver, "night", hourly, clock.set(minutes=59, seconds=59))
    assert receiver.received == [], "nothing before the hour"

    await news.alerts(clock.set(minutes=61), "Wayne")  # the next hour's
    report = await deliver(repo, receiver, "night", hourly, clock)
    assert report.sent == 5 and report.deferred == 1, report
    [digest] = receiver.received
    assert sorted(parties_in(digest, first_hour + ["Wayne"])) == sorted(first_hour)
    body = digest["message"]
    assert body.index("Acme") < body.index("Globex") < body.index("Umbrella"), "time order"
    assert body.index("Acme will merge") < body.index("Initech recalled"), "grouped by claim"

    assert await deliver(repo, receiver, "night", hourly, clock.set(minutes=90)) == DeliveryReport()
    await deliver(repo, receiver, "night", hourly, clock.set(minutes=120))
    assert len(receiver.received) == 2 and parties_in(receiver.received[1], ["Wayne"]) == ["Wayne"]

    rows = await repo.deliveries()
    assert all(d.status == "sent" for d in rows) and len(rows) == 6
    first = [d for d in rows if d.sent_at == T0 + timedelta(minutes=61)]
    assert len(first) == 5 and len({d.batch_id for d in first}) == 1, "sent together, as one message"
    assert [len(await repo.attempts(d.id)) for d in rows] == [1] * 6, "each attempt recorded once"


async def test_ten_alerts_over_a_limit_of_three_per_hour_deliver_three_then_one_fold_message_with_the_other_seven(
    db_url: str, receiver: JsonReceiver
) -> None:
    clock = Clock()
    busy = ChannelOptions(max_per_hour=3, fold_every_seconds=900)
    parties = [f"Party {c}" for c in "ABCDEFGHIJ"]
    repo = await Repository.open(db_url)
    try:
        news = Newsdesk(repo, "busy", receiver)
        await news.alerts(clock.set(minutes=0), *parties[:4])
        report = await deliver(repo, receiver, "busy", busy, clock)
        assert report == DeliveryReport(sent=3, deferred=1), report
        assert [m["title"] for m in receiver.received] == [
            f"{p} confirms: Acme will merge with Globex" for p in parties[:3]]
    finally:
        await repo.close()

    repo = await Repository.open(db_url)  # a restart: the count and the waiting fold are in storage
    try:
        news = Newsdesk(repo, "busy", receiver)
        news.n = 1
        for minute, party in zip(range(1, 7), parties[4:], strict=True):
            await news.alerts(clock.set(minutes=minute), party)
            await deliver(repo, receiver, "busy", busy, clock)
        assert await deliver(repo, receiver, "busy", busy, clock.set(minutes=14, seconds=59)) == DeliveryReport()
        assert len(receiver.received) == 3, "the other seven wait for their fold"

        report = await deliver(repo, receiver, "busy", busy, clock.set(minutes=15))
        assert report == DeliveryReport(sent=7), report
        assert len(receiver.received) == 4
        assert parties_in(receiver.received[3], parties) == parties[3:], "one fold message, in order"
        assert await deliver(repo, receiver, "busy", busy, clock.set(minutes=40)) == DeliveryReport()
        assert len(receiver.received) == 4, "nothing twice"
        counts = await repo.delivery_counts()
        assert counts == {"pending": 0, "sent": 10, "failed": 0}

        # four messages in the last hour: still over the limit, so the next alert folds too
        await news.alerts(clock.set(minutes=50), "Late")
        assert await deliver(repo, receiver, "busy", busy, clock) == DeliveryReport(deferred=1)
        assert await deliver(repo, receiver, "busy", busy, clock.set(minutes=65)) == DeliveryReport(sent=1)
        assert parties_in(receiver.received[4], ["Late"]) == ["Late"]
        # over an hour after the first three: two messages (the folds) in the window, so it goes at once
        await news.alerts(clock.set(minutes=70), "Later")
        assert await deliver(repo, receiver, "busy", busy, clock) == DeliveryReport(sent=1)
        assert receiver.received[5]["title"] == "Later confirms: Acme will merge with Globex"
    finally:
        await repo.close()


async def test_a_digest_that_fails_is_retried_as_one_message_and_sent_once(
    repo: Repository, receiver: JsonReceiver
) -> None:
    clock, news = Clock(), Newsdesk(repo, "night", receiver)
    hourly = ChannelOptions(digest=parse_digest("hourly"))
    await news.alerts(clock.set(minutes=5), "Acme", "Globex", "Hooli")
    await deliver(repo, receiver, "night", hourly, clock)
    receiver.down()
    report = await deliver(repo, receiver, "night", hourly, clock.set(minutes=60))
    assert report == DeliveryReport(retrying=3), report
    assert await deliver(repo, receiver, "night", hourly, clock.set(minutes=60, seconds=10)) == DeliveryReport()
    receiver.up()
    report = await deliver(repo, receiver, "night", hourly, clock.set(minutes=61))
    assert report == DeliveryReport(sent=3), report
    [digest] = receiver.received
    assert parties_in(digest, ["Acme", "Globex", "Hooli"]) == ["Acme", "Globex", "Hooli"]
    for d in await repo.deliveries():
        assert [a.ok for a in await repo.attempts(d.id)] == [False, True] and d.attempts == 2


async def test_run_once_ignores_retry_backoffs_but_never_sends_a_digest_before_its_time(
    repo: Repository, receiver: JsonReceiver
) -> None:
    clock, news = Clock(), Newsdesk(repo, "night", receiver)
    daily = ChannelOptions(digest=LONDON_8)
    far = datetime(9999, 1, 1, tzinfo=UTC)
    await news.alerts(clock.set(hours=1), "Acme")
    assert await deliver(repo, receiver, "night", daily, clock, due_by=far) == DeliveryReport(deferred=1)
    assert await deliver(repo, receiver, "night", daily, clock, due_by=far) == DeliveryReport()
    [held] = await repo.deliveries()
    assert (held.hold, held.hold_until) == ("digest", utc("2025-03-02T08:00:00+00:00"))
    await deliver(repo, receiver, "night", daily, Clock(utc("2025-03-02T08:00:00+00:00")), due_by=far)
    assert len(receiver.received) == 1


async def test_an_alert_whose_digest_period_ended_while_claimwatch_was_down_goes_in_the_next_send(
    repo: Repository, receiver: JsonReceiver
) -> None:
    clock, news = Clock(), Newsdesk(repo, "night", receiver)
    hourly = ChannelOptions(digest=parse_digest("hourly"))
    await news.alerts(clock.set(minutes=5), "Acme")  # never leased before the hour: we were down
    await news.alerts(clock.set(minutes=30), "Globex")
    report = await deliver(repo, receiver, "night", hourly, clock.set(minutes=75))
    assert report.sent == 2
    [digest] = receiver.received
    assert parties_in(digest, ["Acme", "Globex"]) == ["Acme", "Globex"]
