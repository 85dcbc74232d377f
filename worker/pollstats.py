"""Poll history for /metrics: one `poll_events` row per feed poll, written by ingest after the
poll's outcome is known. Keeping it in the database (not in process memory) makes the numbers
the same whichever web process Prometheus scrapes, whichever worker process polled."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from sqlalchemy import select

from worker.fetch import FetchResult
from worker.storage.db import transaction
from worker.storage.models import PollEvent

log = logging.getLogger(__name__)


class PollOutcome(Protocol):  # ingest.PollReport, without importing ingest (it imports us)
    source_id: int
    status: str
    new: int
    duplicates: int


def record_poll(report: PollOutcome, started_at: datetime, result: FetchResult | None) -> None:
    """Store one poll. A 304's saving is the size of the last full body from that source.
    Never raises: statistics must not fail a poll that already committed."""
    try:
        with transaction() as session:
            saved = 0
            if result is not None and result.not_modified:
                saved = session.execute(
                    select(PollEvent.bytes_received)
                    .where(PollEvent.source_id == report.source_id, PollEvent.outcome == "ok")
                    .order_by(PollEvent.id.desc()).limit(1)
                ).scalar_one_or_none() or 0
            session.add(PollEvent(
                source_id=report.source_id, started_at=started_at, outcome=report.status,
                fetch_seconds=result.elapsed if result is not None else None,
                bytes_received=len(result.content) if result is not None else 0,
                bytes_saved=saved, new_articles=report.new, duplicates=report.duplicates,
            ))
    except Exception:
        log.exception("could not record the poll of source %s", report.source_id)
