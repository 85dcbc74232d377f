"""Celery tasks: thin. They take ids and paths, call worker.ingest, and return nothing useful.

All are idempotent (database constraints and upserts), so acks_late redelivery is safe.
Only transient infrastructure errors are retried; bad input is recorded by ingest, not raised.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.exc import OperationalError

from worker import ingest
from worker.celery_app import app
from worker.settings import get_settings
from worker.storage import repo
from worker.storage.db import transaction

log = logging.getLogger(__name__)
TRANSIENT = (OperationalError, ConnectionError, BrokerError)
RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": True, "retry_backoff_max": 600,
         "retry_jitter": True, "max_retries": 8}


@app.task(**RETRY)
def dispatch_due_sources() -> int:
    """Claim due feeds (a lease: a crashed or lost poll's source is due again when it expires)
    and enqueue one poll each. Claims that could not be enqueued (broker gone) are released at
    once, so a broker outage does not hold sources back for a whole lease."""
    settings = get_settings()
    lease = timedelta(seconds=settings.poll_lease_seconds)
    with transaction() as session:
        ids = repo.claim_due_feeds(session, ingest.utcnow(), settings.dispatch_batch_size, lease)
    for position, source_id in enumerate(ids):
        try:
            poll_source.delay(source_id)
        except BrokerError:
            with transaction() as session:
                repo.release_claims(session, ids[position:], ingest.utcnow())
            raise
    return len(ids)


@app.task(**RETRY)
def poll_source(source_id: int) -> str:
    report = ingest.poll_source(source_id)
    log.info("polled %s: %s, %d new, %d duplicates", report.url, report.status, report.new,
             report.duplicates)
    return report.status


@app.task(**RETRY)
def prune_archive() -> int:
    from worker import poll

    return poll.prune_archive()


@app.task(**RETRY)
def import_seeds(folder: str | None = None) -> int:
    root = Path(folder) if folder else get_settings().seeds_dir
    if not root.is_dir():
        log.warning("seeds folder %s does not exist", root)
        return 0
    source_id, changed, _ = ingest.changed_seed_files(root)
    for stat in changed:
        import_seed.delay(source_id, str(root), stat.path)
    return len(changed)


@app.task(**RETRY)
def import_seed(source_id: int, folder: str, relpath: str) -> str:
    return ingest.import_seed_file(source_id, Path(folder), relpath)
