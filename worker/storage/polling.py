"""Polling bookkeeping: the source's schedule state, its fetch history, the raw archive.

Every function runs inside the caller's transaction, so a poll's bookkeeping, its fetch_log row
and the pruning of old rows commit (or roll back) together.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import brotli
from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from worker.core.moves import RedirectState
from worker.core.schedule import Decision
from worker.storage.models import Article, FetchLog, IngestError, RawPayload, Source
from worker.storage.upsert import insert_for

# New payloads: brotli quality 1. For the 1.7 MB feeds of benchmarks/ingest.py it takes 4.5 ms of
# CPU and gives 330 KB, where zlib level 1 (before) took 10.0 ms for 412 KB (levels 3 / 6: 13.0 /
# 26.7 ms, 378 / 335 KB); on smaller and English feeds it was 1.3-3x faster than zlib level 1, at
# sizes within 10% of it. The archive is pruned after FEEDWASH_ARCHIVE_DAYS, so CPU per poll
# matters more than the last bytes. Rows written as "zlib" before are still read.
ARCHIVE_CODEC = "br"
ARCHIVE_BROTLI_QUALITY = 1


def compress_archived(content: bytes) -> tuple[str, bytes]:
    """(compression name, compressed bytes) of a body for raw_payloads."""
    return ARCHIVE_CODEC, brotli.compress(content, quality=ARCHIVE_BROTLI_QUALITY)


def decompress_archived(kind: str, data: bytes) -> bytes:
    if kind == "br":
        return cast(bytes, brotli.decompress(data))
    if kind == "zlib":
        return zlib.decompress(data)
    raise ValueError(f"unknown archive compression {kind!r}")


def can_decompress(kind: str) -> bool:
    return kind in ("br", "zlib")


# Every poll writes these: Core statements on the tables, not the mapped classes, so that no ORM
# bulk-update bookkeeping runs (record_poll and archive_payload cost 2.2 ms of a 6.6 ms poll of a
# one-item feed that way; benchmarks/ingest.py measures the per-item part).
SOURCES = cast(Table, Source.__table__)
FETCH_LOG = cast(Table, FetchLog.__table__)
PAYLOADS = cast(Table, RawPayload.__table__)
_REFRESH_PAYLOAD = update(PAYLOADS).where(PAYLOADS.c.sha256 == bindparam("sha")).values(
    fetched_at=bindparam("now"), source_id=bindparam("source"), url=bindparam("where"))


@dataclass(frozen=True)
class PollTarget:
    """What a poll needs to know about its source, read in a short transaction of its own."""

    id: int
    url: str
    status: str
    etag: str | None
    last_modified: str | None
    interval_minutes: int
    min_interval_minutes: int | None
    max_interval_minutes: int | None
    extra_headers: dict[str, str]
    error_count: int
    failing_since: datetime | None
    entry_rate_per_day: float | None
    redirect: RedirectState


# A poll's first read: a Core select of the columns it needs (session.get loaded and tracked the
# whole Source object, ~0.4 ms of worker CPU per poll on PostgreSQL, benchmarks/polling.py
# --profile).
_POLL_TARGET = select(*(SOURCES.c[name] for name in (
    "id", "url", "status", "etag", "last_modified", "interval_minutes", "min_interval_minutes",
    "max_interval_minutes", "extra_headers", "error_count", "failing_since", "entry_rate_per_day",
    "redirect_url", "redirect_streak"))).where(SOURCES.c.id == bindparam("source_id"))


def poll_target(session: Session, source_id: int) -> PollTarget | None:
    source = session.execute(_POLL_TARGET, {"source_id": source_id}).one_or_none()
    if source is None:
        return None
    return PollTarget(
        id=source.id, url=source.url, status=source.status, etag=source.etag,
        last_modified=source.last_modified, interval_minutes=source.interval_minutes,
        min_interval_minutes=source.min_interval_minutes, max_interval_minutes=source.max_interval_minutes,
        extra_headers={str(k): str(v) for k, v in (source.extra_headers or {}).items()},
        error_count=source.error_count, failing_since=source.failing_since,
        entry_rate_per_day=source.entry_rate_per_day,
        redirect=RedirectState(source.redirect_url, source.redirect_streak or 0),
    )


@dataclass
class PollRecord:
    """The outcome of one poll, as the source and its fetch_log will show it."""

    started_at: datetime
    duration_ms: int
    outcome: str  # "ok", "not-modified", "error" or "busy"
    decision: Decision
    status_code: int | None = None
    size: int = 0
    new_entries: int = 0
    duplicates: int = 0
    fetch_ms: int | None = None
    message: str | None = None  # the error, or a note (a move)
    etag: str | None = None
    last_modified: str | None = None
    title: str | None = None
    redirect: RedirectState | None = None  # None: leave the streak as it is (errors)
    notes: list[str] = field(default_factory=list)


def record_poll(session: Session, source_id: int, record: PollRecord, keep: int) -> None:
    """Update the source's bookkeeping, clear its lease, log the poll, prune the log."""
    decision = record.decision
    values: dict[str, Any] = {
        "last_polled_at": record.started_at, "next_poll_at": decision.when,
        "next_poll_reason": decision.reason, "lease_until": None, "status": decision.status,
        "failing_since": decision.failing_since, "entry_rate_per_day": decision.entry_rate_per_day,
        "paused_reason": decision.reason if decision.status in ("paused", "dead") else None,
    }
    if record.outcome == "error":
        values.update(last_error=record.message)  # and error_count + 1: _source_update
    elif record.outcome == "busy":
        pass  # no request was made: nothing to count for or against the source
    else:
        values.update(last_success_at=record.started_at, error_count=0, last_error=None)
        values.update({k: v for k, v in (("etag", record.etag), ("last_modified", record.last_modified),
                                         ("title", record.title)) if v})
    if record.redirect is not None:
        values.update(redirect_url=record.redirect.candidate_url, redirect_streak=record.redirect.streak)
    update_source = _source_update(tuple(values), count_error=record.outcome == "error")
    session.execute(update_source, {"source_id": source_id, **{f"new_{k}": v for k, v in values.items()}})
    message = "; ".join(m for m in (record.message, *record.notes) if m) or None
    session.execute(_INSERT_LOG, {
        "source_id": source_id, "started_at": record.started_at, "duration_ms": record.duration_ms,
        "fetch_ms": record.fetch_ms,
        "status_code": record.status_code, "outcome": record.outcome, "bytes": record.size,
        "new_entries": record.new_entries, "duplicates": record.duplicates,
        "bytes_saved": _last_full_size(session, source_id) if record.outcome == "not-modified" else 0,
        "message": message, "next_poll_at": decision.when, "reason": decision.reason,
    })
    prune_fetch_log(session, source_id, keep)


# record_poll's statements, built once (per set of columns for the source's update): composing
# them per poll cost ~0.3 ms of worker CPU on PostgreSQL (benchmarks/polling.py --profile).
_INSERT_LOG = insert(FETCH_LOG)
_SOURCE_UPDATES: dict[tuple[tuple[str, ...], bool], Any] = {}


def _source_update(names: tuple[str, ...], *, count_error: bool) -> Any:
    """UPDATE sources SET each of `names` = :new_<name> (and error_count + 1) WHERE id = :source_id."""
    key = (names, count_error)
    found = _SOURCE_UPDATES.get(key)
    if found is None:
        values: dict[str, Any] = {
            name: bindparam(f"new_{name}", type_=SOURCES.c[name].type) for name in names}
        if "title" in values:  # a title the operator gave (OPML, sources.yaml) stays
            values["title"] = func.coalesce(SOURCES.c.title, values["title"])
        if count_error:
            values["error_count"] = SOURCES.c.error_count + 1
        found = _SOURCE_UPDATES[key] = update(SOURCES).where(
            SOURCES.c.id == bindparam("source_id")).values(values)
    return found


def _last_full_size(session: Session, source_id: int) -> int:
    """What a 304 saved: the size of this source's last full (200) response."""
    query = (select(FETCH_LOG.c.bytes).where(FETCH_LOG.c.source_id == source_id, FETCH_LOG.c.outcome == "ok")
             .order_by(FETCH_LOG.c.id.desc()).limit(1))
    return session.execute(query).scalar_one_or_none() or 0


def prune_fetch_log(session: Session, source_id: int, keep: int) -> None:
    """Keep the newest `keep` rows of this source."""
    session.execute(_PRUNE_FETCH_LOG, {"source_id": source_id, "skip": max(keep, 1) - 1})


# One statement, built once: rows older than the oldest kept one (none while fewer than `keep`
# rows exist: the subquery is then NULL). It was a lookup then a DELETE, two round trips a poll.
_OLDEST_KEPT = (select(FETCH_LOG.c.id).where(FETCH_LOG.c.source_id == bindparam("source_id"))
                .order_by(FETCH_LOG.c.id.desc()).offset(bindparam("skip")).limit(1).scalar_subquery())
_PRUNE_FETCH_LOG = delete(FETCH_LOG).where(FETCH_LOG.c.source_id == bindparam("source_id"),
                                           FETCH_LOG.c.id < _OLDEST_KEPT)


def move_source(session: Session, source_id: int, old_url: str, new_url: str) -> str:
    """Point the source at `new_url`; returns the note for its history. A URL another source
    already has is not taken (the unique key would refuse it): the note says so instead."""
    holder = session.execute(select(Source.id).where(Source.url == new_url)).scalar_one_or_none()
    if holder is not None and holder != source_id:
        return f"permanent redirect to {new_url} not applied: source {holder} already has that URL"
    session.execute(update(Source).where(Source.id == source_id).values(url=new_url))
    return f"moved permanently: {old_url} -> {new_url} (301/308 on 3 polls in a row)"


def recent_fetches(session: Session, source_id: int, limit: int = 20) -> Sequence[FetchLog]:
    query = select(FetchLog).where(FetchLog.source_id == source_id).order_by(FetchLog.id.desc()).limit(limit)
    return session.execute(query).scalars().all()


def set_paused(session: Session, source_id: int, reason: str) -> bool:
    result: Any = session.execute(update(Source).where(Source.id == source_id).values(
        status="paused", paused_reason=reason, next_poll_at=None, next_poll_reason=reason, lease_until=None))
    return bool(result.rowcount)


def resume(session: Session, source_id: int, now: datetime) -> bool:
    """Back to polling now, with a clean slate: an operator looked at it."""
    result: Any = session.execute(update(Source).where(Source.id == source_id).values(
        status="active", paused_reason=None, failing_since=None, error_count=0, next_poll_at=now,
        next_poll_reason="resumed by operator", lease_until=None))
    return bool(result.rowcount)


# ---- raw archive -----------------------------------------------------------------------------

def archive_payload(
    session: Session, source_id: int, url: str, content: bytes, headers: dict[str, str], now: datetime,
) -> str:
    """Store the body once per content hash (a re-fetch of the same bytes refreshes its date)."""
    sha = hashlib.sha256(content).hexdigest()
    # Most 200s of a feed without validators repeat bytes already archived: refresh the row
    # first and compress only when there is none (compressing was 13% of a re-poll).
    seen = session.execute(_REFRESH_PAYLOAD, {"sha": sha, "now": now, "source": source_id, "where": url})
    if cast(Any, seen).rowcount:
        return sha
    compression, compressed = compress_archived(content)
    session.execute(_archive_upsert(session), {
        "sha256": sha, "source_id": source_id, "url": url, "compression": compression,
        "content": compressed, "size": len(content),
        "headers": dict(headers), "fetched_at": now,
    })
    return sha


_ARCHIVE_UPSERTS: dict[str, Any] = {}


def _archive_upsert(session: Session) -> Any:
    """INSERT a payload; a concurrent poll's row of the same bytes gets this poll's date and source."""
    dialect = session.get_bind().dialect.name
    if dialect not in _ARCHIVE_UPSERTS:
        stmt = insert_for(session, PAYLOADS)
        _ARCHIVE_UPSERTS[dialect] = stmt.on_conflict_do_update(
            index_elements=["sha256"],
            set_={name: stmt.excluded[name] for name in ("fetched_at", "source_id", "url")})
    return _ARCHIVE_UPSERTS[dialect]


@dataclass(frozen=True)
class ArchivedPayload:
    sha256: str
    url: str
    content: bytes
    headers: dict[str, str]
    fetched_at: datetime


def archived_payloads(session: Session, source_id: int) -> list[ArchivedPayload]:
    """This source's archived feed bodies (not its full-text pages), newest first, decompressed."""
    rows = session.execute(
        select(RawPayload).where(RawPayload.source_id == source_id, RawPayload.kind == "feed")
        .order_by(RawPayload.fetched_at.desc())
    ).scalars()
    return [ArchivedPayload(r.sha256, r.url, decompress_archived(r.compression, r.content),
                            {str(k): str(v) for k, v in r.headers.items()}, r.fetched_at) for r in rows]


def prune_archive(session: Session, before: datetime) -> int:
    result: Any = session.execute(delete(RawPayload).where(RawPayload.fetched_at < before))
    return int(result.rowcount or 0)


def prune_ingest_errors(session: Session, before: datetime) -> int:
    result: Any = session.execute(delete(IngestError).where(IngestError.occurred_at < before))
    return int(result.rowcount or 0)


# ---- operator settings -----------------------------------------------------------------------

def configure_source(session: Session, source_id: int, **values: Any) -> None:
    """Set the given per-source options (None values are left alone)."""
    values = {k: v for k, v in values.items() if v is not None}
    if values:
        session.execute(update(Source).where(Source.id == source_id).values(**values))


def add_categories(session: Session, source_id: int, categories: Sequence[str]) -> None:
    source = session.get(Source, source_id)
    if source is not None and categories:
        source.categories = list(dict.fromkeys([*(source.categories or []), *categories]))


def refresh_article(session: Session, article_id: int, html: str, text: str, summary: str,
                    cleaner_version: str, removed: dict[str, int]) -> None:
    """Reprocessing re-cleaned an entry to the same content hash: keep the new cleaning output
    (markup or provenance may differ even when the text, and so the hash, does not)."""
    session.execute(update(Article).where(Article.id == article_id).values(
        html=html, text=text, summary=summary, cleaner_version=cleaner_version, removed=removed))
