"""The Celery app and its beat schedule: three entries, whatever the number of feeds.

Embedded default broker: kombu's SQLAlchemy transport over a SQLite file, so `make run` needs
no server. Production sets FEEDWASH_BROKER_URL=redis://...
"""

from __future__ import annotations

import contextlib
from typing import Any

from celery import Celery
from celery.signals import beat_init, worker_init, worker_process_init
from kombu import Connection
from sqlalchemy.exc import IntegrityError

from worker.gctuning import tune_for_ingest
from worker.settings import get_settings
from worker.storage.db import dispose_engines

settings = get_settings()


def broker_transport_options(broker_url: str) -> dict[str, Any]:
    """Redis has no acks: an unacknowledged message is restored after the visibility timeout
    (docs/reliability.md "kill -9"). The embedded SQLAlchemy broker must get none of these: its
    transport hands its options to create_engine(), which refuses unknown ones, and every
    worker and beat then died on their first message (`make run` did, until session 4)."""
    if not broker_url.startswith(("redis://", "rediss://", "redis+socket://")):
        return {}
    return {
        "visibility_timeout": settings.broker_visibility_timeout_seconds,
        "unacked_restore_interval": settings.broker_restore_interval_seconds,
        "unacked_restore_throttle": 1,
    }


app = Celery("feedwash", broker=settings.resolved_broker_url(), include=["worker.tasks"])
app.conf.update(
    task_acks_late=True,  # a task killed mid-way is redelivered; tasks are idempotent
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_default_queue="feedwash",
    timezone="UTC",
    broker_connection_retry_on_startup=True,
    broker_connection_max_retries=None,  # a restarted broker is waited for, never given up on
    broker_transport_options=broker_transport_options(settings.resolved_broker_url()),
    beat_schedule_filename=str(settings.data_dir / "celerybeat-schedule"),
    beat_schedule={
        "dispatch-due-sources": {
            "task": "worker.tasks.dispatch_due_sources",
            "schedule": float(settings.dispatch_interval_seconds),
        },
        "import-seeds": {
            "task": "worker.tasks.import_seeds",
            "schedule": float(settings.seed_import_interval_seconds),
        },
        "prune-archive": {  # raw payloads and ingest_errors older than FEEDWASH_ARCHIVE_DAYS
            "task": "worker.tasks.prune_archive",
            "schedule": 24 * 3600.0,
        },
    },
)


def declare_embedded_queue(broker_url: str, queue: str) -> None:
    """Create the embedded broker's queue row now, taking "another process was first" for
    success. kombu's SQLAlchemy transport creates it on first use by check-then-insert under a
    lock of its own process only: worker and beat starting together (`feedwash run`) both
    inserted it, and a worker that lost died ("Unrecoverable error: IntegrityError ...
    kombu_queue.name"), which stopped `run`. Once the row exists, kombu only finds it."""
    if not broker_url.startswith("sqla+"):
        return
    # IntegrityError: the other process created it between kombu's check and its insert.
    with Connection(broker_url) as connection, contextlib.suppress(IntegrityError):
        connection.default_channel.queue_declare(queue)


@worker_init.connect
def _before_fork(**_: Any) -> None:
    tune_for_ingest()  # in the parent: the pool's children inherit the frozen start-up objects
    declare_embedded_queue(settings.resolved_broker_url(), app.conf.task_default_queue)


@worker_process_init.connect
def _after_fork(**_: Any) -> None:
    dispose_engines()
    tune_for_ingest()


@beat_init.connect
def _on_beat_start(sender: Any = None, **_: Any) -> None:
    """Interval entries first fire one interval after beat starts: kick both now, so a fresh
    deployment imports seeds and polls feeds at once instead of after five minutes. Sources in
    the sources file are synced first, so compose deployments pick them up too."""
    from worker.config import load_sources
    from worker.ingest import sync_sources

    sync_sources(load_sources(settings.sources_file))
    declare_embedded_queue(settings.resolved_broker_url(), app.conf.task_default_queue)
    app.send_task("worker.tasks.import_seeds")
    app.send_task("worker.tasks.dispatch_due_sources")
