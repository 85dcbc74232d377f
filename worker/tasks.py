"""Celery tasks: thin. They take ids and paths, call worker.ingest, and return nothing useful.

All are idempotent (database constraints and upserts), so acks_late redelivery is safe.
Only transient infrastructure errors are retried; bad input is recorded by ingest, not raised.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from sqlalchemy.exc import OperationalError

from worker import ingest, websub
from worker import reclean as reclean_module
from worker.celery_app import app
from worker.settings import get_settings
from worker.storage import repo
from worker.storage.db import transaction

log = logging.getLogger(__name__)
TRANSIENT = (OperationalError, ConnectionError)
RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": True, "retry_backoff_max": 600,
         "retry_jitter": True, "max_retries": 8}
POLL_LEASE = timedelta(minutes=15)  # a crashed poll's source becomes due again after this


@app.task(**RETRY)
def dispatch_due_sources() -> int:
    settings = get_settings()
    with transaction() as session:
        ids = repo.claim_due_feeds(session, ingest.utcnow(), settings.dispatch_batch_size, POLL_LEASE)
    for source_id in ids:
        poll_source.delay(source_id)
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
    started = ingest.utcnow()
    outcome = ingest.import_seed_file(source_id, Path(folder), relpath)
    websub.announce_changes(started)
    return outcome


@app.task(**RETRY)
def reclean(source_id: int | None = None) -> int:
    """Queue one reclean_article task per stored article (of one source)."""
    ids = reclean_module.article_ids(source_id)
    for article_id in ids:
        reclean_article.delay(article_id)
    return len(ids)


@app.task(**RETRY)
def reclean_article(article_id: int) -> str:
    return reclean_module.reclean_article(article_id)
