"""Polling one feed like a good citizen (issue 3): fetch -> archive -> parse/clean/store ->
schedule. worker.ingest.poll_source (used by the task and the CLI) delegates here.

Transactions: one short read of the source, the HTTP request outside any transaction, then one
transaction that stores entries, the raw payload, the source's bookkeeping and its fetch_log row.
A 304 writes only the bookkeeping and the log row.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from worker import config, websub
from worker.core.feed import parse_feed
from worker.core.moves import RedirectState, track_redirects
from worker.core.pipeline import clean_body, finish_entry
from worker.core.rules import Rule
from worker.core.schedule import (
    Decision,
    PollFacts,
    Random,
    ScheduleLimits,
    SourceState,
    entry_rate,
    max_age_seconds,
    next_poll,
)
from worker.core.types import InputError, ParsedEntry, ParsedFeed
from worker.fetch import FetchError, FetchResult, fetch
from worker.fulltext import PageQueue
from worker.ingest import PollReport, raw_entry_hash, unique_entries, utcnow
from worker.limits import bounded_entry
from worker.settings import Settings, get_settings
from worker.storage import bulk, polling, repo
from worker.storage.bulk import Pending
from worker.storage.db import transaction
from worker.storage.polling import PollRecord, PollTarget

log = logging.getLogger(__name__)
T = TypeVar("T")
_rng = random.Random()
STORE_CHUNK = 100  # entries cleaned, then stored together: bounds the memory a 10,000-item feed takes


def limits_for(target: PollTarget, settings: Settings) -> ScheduleLimits:
    minimum = target.min_interval_minutes or settings.min_interval_minutes
    maximum = max(target.max_interval_minutes or settings.max_interval_minutes, minimum)
    return ScheduleLimits(
        min_interval=timedelta(minutes=minimum), max_interval=timedelta(minutes=maximum),
        default_interval=timedelta(minutes=target.interval_minutes),
        backoff_base=timedelta(minutes=settings.backoff_base_minutes),
        backoff_cap=timedelta(minutes=settings.backoff_cap_minutes),
        dead_after=timedelta(days=settings.dead_after_days), jitter=settings.schedule_jitter,
    )


@dataclass(frozen=True)
class _Poll:
    """One poll in progress: where, when, with which limits."""

    target: PollTarget
    settings: Settings
    now: datetime
    started: float  # perf_counter
    rng: Random

    def decide(self, facts: PollFacts) -> Decision:
        target = self.target
        state = SourceState(target.error_count, target.failing_since, target.entry_rate_per_day)
        return next_poll(self.now, state, facts, limits_for(self.target, self.settings), self.rng)

    def record(self, outcome: str, decision: Decision, **fields: Any) -> PollRecord:
        elapsed = int((time.perf_counter() - self.started) * 1000)
        return PollRecord(self.now, elapsed, outcome, decision, **fields)


def poll_source(
    source_id: int, settings: Settings | None = None, *, now: datetime | None = None,
    rng: Random | None = None,
) -> PollReport:
    """Fetch, parse, clean and store one feed; always records the outcome and the next poll."""
    settings = settings or get_settings()
    with transaction() as session:
        target = polling.poll_target(session, source_id)
    if target is None:
        return PollReport(source_id, "", status="error", errors=[f"source {source_id} not found"])
    if target.status in ("paused", "dead"):  # e.g. a task queued before the operator paused it
        return PollReport(source_id, target.url, status="skipped")
    poll = _Poll(target, settings, now or utcnow(), time.perf_counter(), rng or _rng)
    try:
        result = fetch(target.url, etag=target.etag, last_modified=target.last_modified,
                       settings=settings, extra_headers=target.extra_headers or None)
    except FetchError as exc:
        if exc.kind == "busy":
            return _record_busy(poll, str(exc), exc.retry_after)
        return _record_error(poll, str(exc), exc.status, exc.retry_after)
    if result.not_modified:
        return _record_not_modified(poll, result)
    try:
        parsed = parse_feed(result.content, result.url, result.headers)
    except InputError as exc:
        return _record_error(poll, str(exc), result.status, None, archive=result)
    try:
        return _store(poll, result, parsed)
    except (OperationalError, InterfaceError):
        raise  # the database is unreachable: nothing can be recorded; the task is retried
    except Exception as exc:  # input the database refuses, or a bug: recorded, then backoff
        log.exception("storing %s failed", target.url)
        reason = (str(exc).splitlines() or [""])[0][:300]  # a DataError's text goes on with the SQL
        return _record_error(poll, f"{target.url}: could not store the feed ({type(exc).__name__}: "
                             f"{reason})", result.status, None, archive=result)


def _ms(result: FetchResult) -> int:
    return round(result.elapsed * 1000)


def _hints(result: FetchResult) -> dict[str, int | None]:
    return {"max_age_seconds": max_age_seconds(result.headers.get("cache-control"))}


def _record_not_modified(poll: _Poll, result: FetchResult) -> PollReport:
    decision = poll.decide(PollFacts("not-modified", 304, **_hints(result)))
    moved = track_redirects(poll.target.redirect, result.redirects)
    record = poll.record("not-modified", decision, status_code=304, fetch_ms=_ms(result),
                         etag=result.headers.get("etag"),
                         last_modified=result.headers.get("last-modified"), redirect=moved.state)
    with transaction() as session:
        _apply_move(session, poll.target, moved.move_to, record)
        polling.record_poll(session, poll.target.id, record, poll.settings.fetch_log_keep)
    return PollReport(poll.target.id, poll.target.url, status="not-modified")


def _record_busy(poll: _Poll, message: str, retry_after: float | None) -> PollReport:
    decision = poll.decide(PollFacts("busy", retry_after_seconds=retry_after))
    record = poll.record("busy", decision, message=message)
    with transaction() as session:
        polling.record_poll(session, poll.target.id, record, poll.settings.fetch_log_keep)
    return PollReport(poll.target.id, poll.target.url, status="busy")


def _record_error(
    poll: _Poll, message: str, status: int | None, retry_after: float | None,
    archive: FetchResult | None = None,
) -> PollReport:
    log.warning("poll failed: %s", message)
    decision = poll.decide(PollFacts("error", status, retry_after_seconds=retry_after))
    record = poll.record("error", decision, status_code=status, message=message,
                         size=len(archive.content) if archive else 0,
                         fetch_ms=_ms(archive) if archive else None)
    with transaction() as session:
        if archive is not None:  # kept so a parser fix can reprocess it
            polling.archive_payload(session, poll.target.id, archive.url, archive.content,
                                    archive.headers, poll.now)
        repo.record_error(session, poll.target.id, poll.target.url, message, poll.now)
        polling.record_poll(session, poll.target.id, record, poll.settings.fetch_log_keep)
    return PollReport(poll.target.id, poll.target.url, status="error", errors=[message])


def _store(poll: _Poll, result: FetchResult, parsed: ParsedFeed) -> PollReport:
    target, now = poll.target, poll.now
    rate = entry_rate([e.published for e in parsed.entries], now, timedelta(days=30))
    decision = poll.decide(PollFacts(
        "ok", result.status, entry_rate_per_day=rate, ttl_minutes=parsed.ttl_minutes,
        update_period_minutes=parsed.update_period_minutes, **_hints(result)))
    moved = track_redirects(target.redirect, result.redirects)
    report = PollReport(target.id, target.url)
    with transaction() as session:
        polling.archive_payload(session, target.id, result.url, result.content, result.headers, now)
        store_entries(session, target, parsed, report, now, poll.settings, skip_unchanged=True)
        record = poll.record("ok", decision, status_code=result.status, size=len(result.content),
                             fetch_ms=_ms(result),
                             new_entries=report.new, duplicates=report.duplicates,
                             etag=result.headers.get("etag"),
                             last_modified=result.headers.get("last-modified"), title=parsed.title,
                             redirect=moved.state)
        _apply_move(session, target, moved.move_to, record)
        polling.record_poll(session, target.id, record, poll.settings.fetch_log_keep)
    websub.announce_changes(now)  # after the commit: the hub fetches what we now serve
    return report


def store_entries(
    session: Session, target: PollTarget, parsed: ParsedFeed, report: PollReport, now: datetime,
    settings: Settings, *, skip_unchanged: bool,
) -> None:
    """Clean and store the feed's entries; unchanged ones only get their sighting touched."""
    rules = config.load_rules(settings.rules_dir)
    page_queue = PageQueue(session, target.id, settings)  # full text (issue 8): fetched after commit
    known = repo.known_entries(session, target.id, (e.entry_key for e in parsed.entries))
    unchanged: list[str] = []
    todo: list[tuple[ParsedEntry, str]] = []  # (entry, hash of its raw form)
    store = partial(_clean_and_store, session, target, rules, page_queue, report, now, settings,
                    refresh=not skip_unchanged)
    for entry in unique_entries(parsed.entries):
        raw = raw_entry_hash(entry)
        if skip_unchanged and known.get(entry.entry_key) == raw:
            unchanged.append(entry.entry_key)
            continue
        entry, cut = bounded_entry(entry, settings.entry_max_chars)
        if cut:
            repo.record_error(session, target.id, target.url, f"{target.url}: {cut}", now)
        todo.append((entry, raw))
        if len(todo) == STORE_CHUNK:
            store(todo)
            todo = []
    store(todo)
    report.page_fetches.extend(page_queue.article_ids)
    repo.touch_sightings(session, target.id, unchanged, now)
    report.unchanged += len(unchanged)
    for warning in parsed.warnings:
        repo.record_error(session, target.id, target.url,
                          f"{target.url}: feed parsed with warnings: {warning}", now)


def _clean_and_store(
    session: Session, target: PollTarget, rules: tuple[Rule, ...], page_queue: PageQueue,
    report: PollReport, now: datetime, settings: Settings, todo: list[tuple[ParsedEntry, str]], *,
    refresh: bool,
) -> None:
    """Clean a chunk of entries, every body first and then their derived fields (cheaper in that
    order: pipeline.clean_body), and store it. An entry the cleaner fails on is recorded as an
    error naming it and left out: a cleaner bug on one odd entry must not cost the feed's others."""
    def attempt(entry: ParsedEntry, step: Callable[[], T]) -> T | None:
        try:
            return step()
        except Exception as exc:
            log.exception("%s: cleaning entry %s failed", target.url, entry.entry_key)
            message = f"{target.url}: entry {entry.entry_key}: not cleaned ({type(exc).__name__}: {exc})"
            repo.record_error(session, target.id, target.url, message, now)
            report.errors.append(message)
            return None

    bodies = [(entry, raw, attempt(entry, partial(clean_body, entry, rules, target.url)))
              for entry, raw in todo]
    chunk: list[tuple[ParsedEntry, Pending]] = []
    for entry, raw, body in bodies:
        article = attempt(entry, partial(finish_entry, body, settings.short_text_chars)) if body else None
        if article is not None:
            chunk.append((entry, Pending(article, raw)))
    _store_chunk(session, target, chunk, page_queue, report, now, refresh=refresh)


def _store_chunk(
    session: Session, target: PollTarget, chunk: list[tuple[ParsedEntry, Pending]], page_queue: PageQueue,
    report: PollReport, now: datetime, *, refresh: bool,
) -> None:
    """Store cleaned entries together (worker/storage/bulk.py); `refresh` (reprocessing): an
    article already stored takes the new cleaning."""
    if not chunk:
        return
    results = bulk.store_articles(session, target.id, target.url, [p for _, p in chunk], now)
    for (entry, pending), stored in zip(chunk, results, strict=True):
        if stored.article_id is None:  # deleted by an operator: tombstoned, never comes back
            continue
        article = pending.article
        if refresh and not stored.created:
            polling.refresh_article(session, stored.article_id, article.html, article.text,
                                    article.summary, article.cleaner_version, article.removed)
        page_queue.consider(entry, article, stored.article_id, now, fresh=stored.created)
        report.new += stored.created
        report.duplicates += not stored.created


def _apply_move(session: Session, target: PollTarget, move_to: str | None, record: PollRecord) -> None:
    if move_to and move_to != target.url:
        record.notes.append(polling.move_source(session, target.id, target.url, move_to))
        record.redirect = RedirectState()


# ---- raw archive -----------------------------------------------------------------------------

def reprocess_source(source_id: int, settings: Settings | None = None) -> PollReport:
    """Re-run parse/clean/store over the source's archived payloads, newest first, without
    fetching: after a cleaning change, every entry is cleaned again (nothing is skipped)."""
    settings = settings or get_settings()
    with transaction() as session:
        target = polling.poll_target(session, source_id)
        payloads = polling.archived_payloads(session, source_id) if target else []
    if target is None:
        return PollReport(source_id, "", status="error", errors=[f"source {source_id} not found"])
    report = PollReport(source_id, target.url)
    seen: set[str] = set()  # an entry in several payloads: its newest version wins
    for payload in payloads:
        try:
            parsed = parse_feed(payload.content, payload.url, payload.headers)
        except InputError as exc:
            report.errors.append(f"archived payload {payload.sha256[:12]}: {exc}")
            continue
        fresh = tuple(e for e in parsed.entries if e.entry_key not in seen)
        seen.update(e.entry_key for e in fresh)
        with transaction() as session:
            store_entries(session, target, ParsedFeed(parsed.title, parsed.link, fresh, parsed.warnings),
                          report, utcnow(), settings, skip_unchanged=False)
    if report.errors:
        report.status = "error"
    return report


def prune_archive(settings: Settings | None = None, now: datetime | None = None) -> int:
    """Drop raw payloads older than `archive_days`, and ingest_errors rows as old (nothing else
    bounds them: a source that fails now and then never turns `dead`). Returns the payloads."""
    settings = settings or get_settings()
    cutoff = (now or utcnow()) - timedelta(days=settings.archive_days)
    with transaction() as session:
        polling.prune_ingest_errors(session, cutoff)
        return polling.prune_archive(session, cutoff)
