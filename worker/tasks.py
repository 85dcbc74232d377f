"""Celery tasks: thin. They take ids and paths, call worker.ingest, and return nothing useful.

All are idempotent (database constraints and upserts), so acks_late redelivery is safe.
Only transient infrastructure errors are retried; bad input is recorded by ingest, not raised.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from celery import Task
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.exc import OperationalError

from worker import fulltext, ingest, websub
from worker import reclean as reclean_module
from worker.celery_app import app
from worker.core.schedule import dispatch_room
from worker.settings import get_settings
from worker.storage import repo
from worker.storage.db import transaction

log = logging.getLogger(__name__)
TRANSIENT = (OperationalError, ConnectionError, BrokerError)
RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": True, "retry_backoff_max": 600,
         "retry_jitter": True, "max_retries": 8}
PAGE_TASK_LOST_AFTER = timedelta(hours=2)  # longer than a fetch_full_text task's retries take


@app.task(**RETRY)
def dispatch_due_sources() -> int:
    """Claim due feeds (a lease: a crashed or lost poll's source is due again when it expires)
    and enqueue one poll each, while fewer than `dispatch_max_in_flight` are in flight. Claims
    that could not be enqueued (broker gone) are released at once, so a broker outage does not
    hold sources back for a whole lease."""
    settings = get_settings()
    lease = timedelta(seconds=settings.poll_lease_seconds)
    with transaction() as session:
        now = ingest.utcnow()
        in_flight = repo.polls_in_flight(session, now) if settings.dispatch_max_in_flight else 0
        room = dispatch_room(settings.dispatch_batch_size, settings.dispatch_max_in_flight, in_flight)
        ids = repo.claim_due_feeds(session, now, room, lease) if room else []
    for position, source_id in enumerate(ids):
        try:
            poll_source.delay(source_id)
        except BrokerError:
            with transaction() as session:
                repo.release_claims(session, ids[position:], ingest.utcnow())
            raise
    # Full-text pages whose task was lost (a broker restart between commit and enqueue).
    for article_id in fulltext.pending_page_article_ids(ingest.utcnow() - PAGE_TASK_LOST_AFTER):
        fetch_full_text.delay(article_id)
    return len(ids)


@app.task(**RETRY)
def poll_source(source_id: int) -> str:
    report = ingest.poll_source(source_id)  # its transaction has committed when this returns
    log.info("polled %s: %s, %d new, %d duplicates", report.url, report.status, report.new,
             report.duplicates)
    for article_id in report.page_fetches:  # full text (issue 8): never in the poll's critical path
        fetch_full_text.delay(article_id)
    return report.status


@app.task(bind=True, **RETRY)
def fetch_full_text(self: Task, article_id: int) -> str:
    """Fetch and store the page of a summary-only article; idempotent (a page done is skipped)."""
    attempts = get_settings().full_text_attempts
    outcomes = fulltext.fetch_full_text(article_id, final=self.request.retries + 1 >= attempts)
    again = [o for o in outcomes if o.status in ("retry", "busy")]
    if again:
        delay = max((o.retry_after or 0 for o in again), default=0) or 30 * 2 ** self.request.retries
        raise self.retry(countdown=min(delay, 3600), max_retries=attempts - 1)
    return ", ".join(f"{o.status} {o.url}" for o in outcomes) or "nothing to fetch"


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
