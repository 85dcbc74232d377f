"""worker.core.schedule and worker.core.moves: pure rules, fixed `now`, injected randomness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from worker.core.moves import RedirectState, permanent_target, track_redirects
from worker.core.schedule import (
    PollFacts,
    ScheduleLimits,
    SourceState,
    backoff,
    entry_rate,
    format_rate,
    max_age_seconds,
    next_poll,
    update_period_minutes,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
LIMITS = ScheduleLimits()  # min 10 min, max 24 h, default 1 h, backoff 5 min .. 24 h, dead after 7 d


class FixedRandom:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


MID, LOW, HIGH = FixedRandom(0.5), FixedRandom(0.0), FixedRandom(0.999999)


def error(status: int | None = 500, retry_after: float | None = None) -> PollFacts:
    return PollFacts("error", status, retry_after_seconds=retry_after)


def test_first_error_waits_the_base_backoff() -> None:
    decision = next_poll(NOW, SourceState(), error(), LIMITS, MID)
    assert decision.when == NOW + timedelta(minutes=5)
    assert decision.reason == "backoff after 1 error (±10% jitter)"
    assert (decision.status, decision.failing_since) == ("error", NOW)


@pytest.mark.parametrize(("errors_before", "minutes"), [(1, 10), (2, 20), (3, 40), (8, 1280), (9, 1440),
                                                         (40, 1440)])
def test_backoff_doubles_up_to_the_cap(errors_before: int, minutes: int) -> None:
    state = SourceState(error_count=errors_before, failing_since=NOW - timedelta(hours=1))
    decision = next_poll(NOW, state, error(), LIMITS, MID)
    assert decision.when == NOW + timedelta(minutes=minutes)
    assert decision.reason == f"backoff after {errors_before + 1} errors (±10% jitter)"
    assert decision.failing_since == NOW - timedelta(hours=1)


def test_backoff_jitter_stays_within_ten_percent_and_under_the_cap() -> None:
    state = SourceState(error_count=2, failing_since=NOW)
    assert next_poll(NOW, state, error(), LIMITS, LOW).when == NOW + timedelta(minutes=18)
    high = next_poll(NOW, state, error(), LIMITS, HIGH).when
    assert high is not None and NOW + timedelta(minutes=21.99) < high < NOW + timedelta(minutes=22)
    capped = next_poll(NOW, SourceState(error_count=20, failing_since=NOW), error(), LIMITS, HIGH)
    assert capped.when == NOW + timedelta(hours=24)


def test_backoff_function() -> None:
    assert [backoff(n, LIMITS) for n in (0, 1, 2, 3)] == [timedelta(minutes=m) for m in (5, 5, 10, 20)]
    assert backoff(10_000, LIMITS) == timedelta(hours=24)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_exactly(status: int) -> None:
    decision = next_poll(NOW, SourceState(error_count=5, failing_since=NOW), error(status, 120), LIMITS, MID)
    assert decision.when == NOW + timedelta(seconds=120)
    assert decision.reason == f"retry-after 120 s (HTTP {status})"


def test_retry_after_is_capped_and_ignored_for_other_statuses() -> None:
    week = 7 * 86400.0
    capped = next_poll(NOW, SourceState(), error(429, week), LIMITS, MID)
    assert capped.when == NOW + timedelta(hours=24)
    other = next_poll(NOW, SourceState(), error(500, 120), LIMITS, MID)
    assert other.reason.startswith("backoff after 1 error")
    no_header = next_poll(NOW, SourceState(), error(429, None), LIMITS, MID)
    assert no_header.reason.startswith("backoff after 1 error")


def test_gone_pauses_the_source() -> None:
    decision = next_poll(NOW, SourceState(), error(410), LIMITS, MID)
    assert (decision.when, decision.reason, decision.status) == (None, "gone (HTTP 410)", "paused")


def test_dead_after_seven_days_failing_but_not_before() -> None:
    almost = SourceState(error_count=30, failing_since=NOW - timedelta(days=7) + timedelta(minutes=1))
    assert next_poll(NOW, almost, error(), LIMITS, MID).status == "error"
    dead = next_poll(NOW, SourceState(error_count=31, failing_since=NOW - timedelta(days=7)), error(),
                     LIMITS, MID)
    assert (dead.when, dead.status) == (None, "dead")
    assert dead.reason == "dead: failing for 7 days (32 errors); resume to poll again"


def test_success_clears_failing_since() -> None:
    state = SourceState(error_count=3, failing_since=NOW - timedelta(days=1))
    decision = next_poll(NOW, state, PollFacts("ok", 200), LIMITS, MID)
    assert (decision.status, decision.failing_since) == ("active", None)


def test_unknown_rate_uses_the_default_interval() -> None:
    decision = next_poll(NOW, SourceState(), PollFacts("ok", 200), LIMITS, MID)
    assert decision.when == NOW + timedelta(hours=1)
    assert decision.reason == "interval 1 h (±10% jitter)"


def test_entry_rate_sets_the_interval() -> None:
    decision = next_poll(NOW, SourceState(), PollFacts("ok", 200, entry_rate_per_day=4), LIMITS, MID)
    assert decision.when == NOW + timedelta(hours=6)
    assert decision.reason == "entry rate 4/day (±10% jitter)"
    assert decision.entry_rate_per_day == 4


def test_not_modified_reuses_the_stored_rate() -> None:
    state = SourceState(entry_rate_per_day=2)
    decision = next_poll(NOW, state, PollFacts("not-modified", 304), LIMITS, LOW)
    assert decision.when == NOW + timedelta(hours=12) * 0.9
    assert decision.entry_rate_per_day == 2


def test_busy_feed_is_bounded_by_the_minimum_and_quiet_feed_by_the_maximum() -> None:
    busy = next_poll(NOW, SourceState(), PollFacts("ok", 200, entry_rate_per_day=1000), LIMITS, MID)
    assert busy.when == NOW + timedelta(minutes=10)
    assert busy.reason == "entry rate 1000/day, raised to min 10 min (±10% jitter)"
    quiet = next_poll(NOW, SourceState(), PollFacts("ok", 200, entry_rate_per_day=0.1), LIMITS, MID)
    assert quiet.when == NOW + timedelta(hours=24)
    assert quiet.reason == "entry rate 0.7/week, capped at max 24 h (±10% jitter)"
    idle = next_poll(NOW, SourceState(), PollFacts("ok", 200, entry_rate_per_day=0), LIMITS, MID)
    assert idle.reason == "no new entries lately (±10% jitter)"


def test_per_source_bounds() -> None:
    limits = ScheduleLimits(min_interval=timedelta(hours=2), max_interval=timedelta(hours=3))
    fast = next_poll(NOW, SourceState(), PollFacts("ok", 200, entry_rate_per_day=48), limits, MID)
    assert fast.when == NOW + timedelta(hours=2)
    slow = next_poll(NOW, SourceState(), PollFacts("ok", 200, entry_rate_per_day=1), limits, MID)
    assert slow.when == NOW + timedelta(hours=3)


@pytest.mark.parametrize(("facts", "minutes", "reason"), [
    (PollFacts("ok", 200, entry_rate_per_day=96, ttl_minutes=120), 120,
     "entry rate 96/day, raised to ttl 120 min"),
    (PollFacts("ok", 200, entry_rate_per_day=96, update_period_minutes=30.0), 30,
     "entry rate 96/day, raised to sy:updatePeriod 30 min"),
    (PollFacts("not-modified", 304, max_age_seconds=5400), 90, "interval 1 h, raised to max-age 5400 s"),
    (PollFacts("ok", 200, entry_rate_per_day=96, ttl_minutes=60, max_age_seconds=7200), 120,
     "entry rate 96/day, raised to max-age 7200 s"),
    (PollFacts("ok", 200, entry_rate_per_day=1, ttl_minutes=60), 1440, "entry rate 1/day"),
    (PollFacts("ok", 200, ttl_minutes=10080), 1440,
     "interval 1 h, raised to ttl 10080 min, capped at max 24 h"),
])
def test_publisher_hints_raise_the_floor(facts: PollFacts, minutes: int, reason: str) -> None:
    decision = next_poll(NOW, SourceState(), facts, LIMITS, MID)
    assert decision.when == NOW + timedelta(minutes=minutes)
    assert decision.reason == f"{reason} (±10% jitter)"


def test_jitter_spreads_sources() -> None:
    whens = {next_poll(NOW, SourceState(), PollFacts("ok", 200), LIMITS, FixedRandom(r / 10)).when
             for r in range(10)}
    assert len(whens) == 10
    low, high = NOW + timedelta(minutes=54), NOW + timedelta(minutes=66)
    assert all(w is not None and low <= w < high for w in whens)


def test_entry_rate_from_publish_times() -> None:
    day = timedelta(days=1)
    assert entry_rate([], NOW, 30 * day) is None
    assert entry_rate([None, None], NOW, 30 * day) is None
    assert entry_rate([NOW - 400 * day], NOW, 30 * day) == 0.0
    assert entry_rate([NOW - timedelta(hours=i * 6) for i in range(1, 9)], NOW, 30 * day) == 4.0
    burst = [NOW - timedelta(minutes=i) for i in range(1, 6)]  # five in five minutes: 5/day, not 1440
    assert entry_rate(burst, NOW, 30 * day) == 5.0
    assert entry_rate([NOW + day, NOW - 2 * day], NOW, 30 * day) == 0.5  # future dates are ignored


def test_format_rate() -> None:
    assert [format_rate(r) for r in (4, 2.5, 24.4, 0.5)] == ["4/day", "2.5/day", "24/day", "3.5/week"]


def test_syndication_and_cache_control_hints() -> None:
    assert update_period_minutes("hourly", "2") == 30
    assert update_period_minutes("daily", None) == 1440
    assert update_period_minutes(" Weekly ", "bogus") == 10080
    assert update_period_minutes("fortnightly", "1") is None
    assert update_period_minutes(None, "3") is None
    assert update_period_minutes("hourly", "0") == 60
    assert max_age_seconds("public, max-age=600") == 600
    assert max_age_seconds('max-age="30"') == 30
    assert max_age_seconds("no-cache") is None
    assert max_age_seconds(None) is None
    assert max_age_seconds("s-maxage=99") is None


# ---- permanent redirects --------------------------------------------------------------------------

A, B = "http://new.example/feed", "http://other.example/feed"


def test_three_permanent_redirects_in_a_row_move_the_source() -> None:
    state = RedirectState()
    for expected_streak in (1, 2):
        decision = track_redirects(state, [(301, A)])
        assert (decision.move_to, decision.state) == (None, RedirectState(A, expected_streak))
        state = decision.state
    final = track_redirects(state, [(308, A)])
    assert (final.move_to, final.state) == (A, RedirectState())


def test_temporary_redirects_never_move_and_break_the_streak() -> None:
    state = RedirectState(A, 2)
    assert track_redirects(state, [(302, A)]).state == RedirectState()
    assert track_redirects(state, [(307, A)]).move_to is None
    assert track_redirects(state, []).state == RedirectState()


def test_another_target_restarts_the_streak() -> None:
    assert track_redirects(RedirectState(A, 2), [(301, B)]).state == RedirectState(B, 1)


def test_permanent_target_is_the_end_of_the_leading_permanent_hops() -> None:
    assert permanent_target([(301, A), (301, B)]) == B
    assert permanent_target([(301, A), (302, B)]) == A
    assert permanent_target([(302, A), (301, B)]) is None
    assert permanent_target([]) is None


def test_busy_host_retries_soon_without_counting_an_error() -> None:
    state = SourceState(error_count=0, entry_rate_per_day=3)
    decision = next_poll(NOW, state, PollFacts("busy"), LIMITS, MID)
    assert decision.when == NOW + timedelta(seconds=60)
    assert (decision.reason, decision.status) == ("host busy, retry in 60 s (±10% jitter)", "active")
    assert decision.entry_rate_per_day == 3
    failing = SourceState(error_count=2, failing_since=NOW - timedelta(hours=1))
    later = next_poll(NOW, failing, PollFacts("busy", retry_after_seconds=5), LIMITS, MID)
    assert (later.when, later.status, later.failing_since) == (
        NOW + timedelta(seconds=5), "error", NOW - timedelta(hours=1))
