"""When a source is next polled: pure arithmetic on fixed times, no test sleeps."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from monitor.schedule import next_due

NOW = datetime(2024, 10, 25, 12, 0, tzinfo=timezone.utc)


def test_a_healthy_source_is_polled_again_after_its_interval() -> None:
    assert next_due(NOW, 300) == NOW + timedelta(minutes=5)


def test_jitter_spreads_polls_by_at_most_a_tenth_of_the_interval() -> None:
    assert next_due(NOW, 600, jitter=1.0) == NOW + timedelta(minutes=11)
    assert next_due(NOW, 600, jitter=-1.0) == NOW + timedelta(minutes=9)
    assert next_due(NOW, 600, jitter=7.0) == NOW + timedelta(minutes=11), "jitter is clamped"


def test_a_failing_source_backs_off_exponentially_up_to_six_hours() -> None:
    waits = [next_due(NOW, 300, error_count=n) - NOW for n in (1, 2, 3, 4)]
    assert waits == [timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20), timedelta(minutes=40)]
    assert next_due(NOW, 300, error_count=50) - NOW == timedelta(hours=6)


def test_a_daily_source_is_not_shortened_by_the_error_cap() -> None:
    assert next_due(NOW, 86400, error_count=3) - NOW == timedelta(days=1)


def test_retry_after_is_honoured_but_capped_at_a_day() -> None:
    assert next_due(NOW, 300, error_count=1, retry_after=3600) - NOW == timedelta(hours=1)
    assert next_due(NOW, 300, error_count=1, retry_after=10**7) - NOW == timedelta(days=1)


def test_cache_control_stretches_but_never_shortens_the_interval() -> None:
    assert next_due(NOW, 300, max_age=1800) - NOW == timedelta(minutes=30)
    assert next_due(NOW, 300, max_age=60) - NOW == timedelta(minutes=5)
