"""When to poll a source next, and why: pure, so every rule is a unit test with a fixed `now`.

    next_poll(now, state, response, limits, rng) -> Decision(when, reason, status)

Rules (issue 3):
- 410 Gone pauses the source ("gone (HTTP 410)"): it is not polled until someone resumes it.
- An error after `dead_after` of failing marks the source `dead`: visible, not polled.
- 429/503 with Retry-After wait exactly that long ("retry-after 120 s").
- Other errors back off exponentially from `backoff_base`, with jitter, up to `backoff_cap`.
- "busy" (our own per-host limit; no request was sent) retries in a minute, no error counted.
- Success: the interval follows the observed rate of new entries (one expected new entry per
  poll), bounded by the source's minimum and maximum; the publisher's hints (RSS <ttl>,
  sy:updatePeriod/updateFrequency, Cache-Control max-age) raise the floor, since they say
  "not more often than this". Jitter spreads sources so they do not poll in lockstep.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

BUSY_RETRY_SECONDS = 60


class Random(Protocol):
    def random(self) -> float: ...


@dataclass(frozen=True)
class ScheduleLimits:
    min_interval: timedelta = timedelta(minutes=10)
    max_interval: timedelta = timedelta(hours=24)
    default_interval: timedelta = timedelta(hours=1)  # when the rate is unknown
    backoff_base: timedelta = timedelta(minutes=5)
    backoff_cap: timedelta = timedelta(hours=24)
    dead_after: timedelta = timedelta(days=7)
    jitter: float = 0.1  # ±10 %
    rate_window: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class SourceState:
    """What the source had before this poll."""

    error_count: int = 0  # consecutive failed polls before this one
    failing_since: datetime | None = None  # first failure of the current run of failures
    entry_rate_per_day: float | None = None  # last estimate, reused on 304


@dataclass(frozen=True)
class PollFacts:
    """What this poll saw. `outcome` is "ok", "not-modified", "error", or "busy" (the per-host
    concurrency limit refused the request before it was sent)."""

    outcome: str
    status: int | None = None
    retry_after_seconds: float | None = None
    entry_rate_per_day: float | None = None  # from this response's entries (see entry_rate)
    ttl_minutes: int | None = None
    update_period_minutes: float | None = None
    max_age_seconds: int | None = None


@dataclass(frozen=True)
class Decision:
    when: datetime | None  # None: not scheduled (paused or dead) until someone acts
    reason: str
    status: str  # "active", "error", "paused" or "dead"
    failing_since: datetime | None = None
    entry_rate_per_day: float | None = None


def next_poll(
    now: datetime, state: SourceState, facts: PollFacts, limits: ScheduleLimits, rng: Random
) -> Decision:
    if facts.outcome == "error":
        return _after_error(now, state, facts, limits, rng)
    if facts.outcome == "busy":
        return _after_busy(now, state, facts, limits, rng)
    rate = facts.entry_rate_per_day if facts.entry_rate_per_day is not None else state.entry_rate_per_day
    interval, reason = adaptive_interval(rate, facts, limits)
    delay, jitter_note = _jittered(interval, limits.jitter, rng)
    return Decision(now + delay, f"{reason} ({jitter_note})", "active", None, rate)


def _after_error(
    now: datetime, state: SourceState, facts: PollFacts, limits: ScheduleLimits, rng: Random
) -> Decision:
    failing_since = state.failing_since or now
    errors = state.error_count + 1
    if facts.status == 410:
        return Decision(None, "gone (HTTP 410)", "paused", failing_since, state.entry_rate_per_day)
    if now - failing_since >= limits.dead_after:
        days = (now - failing_since) / timedelta(days=1)
        reason = f"dead: failing for {days:.0f} days ({errors} errors); resume to poll again"
        return Decision(None, reason, "dead", failing_since, state.entry_rate_per_day)
    if facts.status in (429, 503) and facts.retry_after_seconds is not None:
        wait = min(timedelta(seconds=max(facts.retry_after_seconds, 0)), limits.backoff_cap)
        reason = f"retry-after {wait.total_seconds():.0f} s (HTTP {facts.status})"
        return Decision(now + wait, reason, "error", failing_since, state.entry_rate_per_day)
    delay, jitter_note = _jittered(backoff(errors, limits), limits.jitter, rng)
    delay = min(delay, limits.backoff_cap)
    noun = "error" if errors == 1 else "errors"
    reason = f"backoff after {errors} {noun} ({jitter_note})"
    return Decision(now + delay, reason, "error", failing_since, state.entry_rate_per_day)


def _after_busy(
    now: datetime, state: SourceState, facts: PollFacts, limits: ScheduleLimits, rng: Random
) -> Decision:
    """Our own per-host limit said "not now": no request was made, so nothing is held against
    the source; try again soon (jittered, so the waiting sources do not return together)."""
    wait = timedelta(seconds=facts.retry_after_seconds or BUSY_RETRY_SECONDS)
    delay, jitter_note = _jittered(wait, limits.jitter, rng)
    status = "error" if state.error_count else "active"
    reason = f"host busy, retry in {wait.total_seconds():.0f} s ({jitter_note})"
    return Decision(now + delay, reason, status, state.failing_since, state.entry_rate_per_day)


def backoff(errors: int, limits: ScheduleLimits) -> timedelta:
    """base, 2·base, 4·base, ... capped: errors=1 waits `backoff_base`."""
    exponent = min(max(errors - 1, 0), 30)  # 2**30 · base is far past any cap
    return min(limits.backoff_base * (2**exponent), limits.backoff_cap)


def adaptive_interval(
    rate_per_day: float | None, facts: PollFacts, limits: ScheduleLimits
) -> tuple[timedelta, str]:
    """(interval, reason) before jitter."""
    if rate_per_day is None:
        interval, reason = limits.default_interval, f"interval {_duration(limits.default_interval)}"
    elif rate_per_day <= 0:
        interval, reason = limits.max_interval, "no new entries lately"
    else:
        interval, reason = timedelta(days=1) / rate_per_day, f"entry rate {format_rate(rate_per_day)}"
    floor, floor_reason = limits.min_interval, f"min {_duration(limits.min_interval)}"
    for hint, name in _publisher_hints(facts):
        if hint > floor:
            floor, floor_reason = hint, name
    if interval < floor:
        interval, reason = floor, f"{reason}, raised to {floor_reason}"
    if interval > limits.max_interval:
        interval, reason = limits.max_interval, f"{reason}, capped at max {_duration(limits.max_interval)}"
    return interval, reason


def _publisher_hints(facts: PollFacts) -> list[tuple[timedelta, str]]:
    hints = []
    if facts.ttl_minutes:
        hints.append((timedelta(minutes=facts.ttl_minutes), f"ttl {facts.ttl_minutes} min"))
    if facts.update_period_minutes:
        period = timedelta(minutes=facts.update_period_minutes)
        hints.append((period, f"sy:updatePeriod {_duration(period)}"))
    if facts.max_age_seconds:
        hints.append((timedelta(seconds=facts.max_age_seconds), f"max-age {facts.max_age_seconds} s"))
    return hints


def _jittered(delay: timedelta, jitter: float, rng: Random) -> tuple[timedelta, str]:
    factor = 1 + jitter * (2 * rng.random() - 1)
    return delay * factor, f"±{jitter * 100:.0f}% jitter"


def entry_rate(published: Sequence[datetime | None], now: datetime, window: timedelta) -> float | None:
    """New entries per day, from the publish times a feed carries.

    Counts the entries published within `window` before `now` over the time they span (at least a
    day, so a burst of five in an hour reads as 5/day, not 120/day). None when the feed has no
    dates at all; 0.0 when every dated entry is older than the window.
    """
    dated = [t for t in published if t is not None and t <= now]
    if not dated:
        return None
    recent = [t for t in dated if now - t <= window]
    if not recent:
        return 0.0
    span = max(now - min(recent), timedelta(days=1))
    return len(recent) / (span / timedelta(days=1))


def format_rate(per_day: float) -> str:
    if per_day >= 1:
        return f"{per_day:.0f}/day" if per_day >= 10 or float(per_day).is_integer() else f"{per_day:.1f}/day"
    return f"{per_day * 7:.1f}/week"


_SY_PERIOD_MINUTES = {"hourly": 60, "daily": 1440, "weekly": 10080, "monthly": 43200, "yearly": 525600}


def update_period_minutes(period: str | None, frequency: str | int | None) -> float | None:
    """sy:updatePeriod / sy:updateFrequency (RSS 1.0 syndication module) as minutes per update."""
    if not period:
        return None
    minutes = _SY_PERIOD_MINUTES.get(str(period).strip().lower())
    if minutes is None:
        return None
    try:
        times = int(str(frequency).strip()) if frequency not in (None, "") else 1
    except ValueError:
        times = 1
    return minutes / max(times, 1)


_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def max_age_seconds(cache_control: str | None) -> int | None:
    """Cache-Control max-age in seconds (RFC 9111 §5.2.2.1); no-store/no-cache mean no hint."""
    if not cache_control:
        return None
    match = _MAX_AGE.search(cache_control)
    return int(match.group(1)) if match else None


def _duration(value: timedelta) -> str:
    minutes = value.total_seconds() / 60
    if minutes >= 2880 and minutes % 1440 == 0:
        return f"{minutes / 1440:.0f} d"
    if minutes >= 60 and minutes % 60 == 0:
        return f"{minutes / 60:.0f} h"
    return f"{minutes:.0f} min"


def dispatch_room(batch_size: int, max_in_flight: int, in_flight: int) -> int:
    """How many due sources one dispatch may claim: a batch, less whatever would take the polls
    queued or running past `max_in_flight` (0: no limit). Backpressure: a fleet that falls
    behind stops queueing more instead of queueing hours of work."""
    if max_in_flight <= 0:
        return batch_size
    return max(0, min(batch_size, max_in_flight - in_flight))
