"""PostgreSQL restarted (fast shutdown: open transactions are rolled back) while polls are
storing: tasks hit OperationalError and retry with backoff, the dispatcher recovers, and no
partial article is left (each poll stores its entries in one transaction)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.faults import db_checks
from tests.faults.conftest import LONG
from tests.faults.harness import (
    FeedServer,
    GrowingFeed,
    KeepDue,
    PostgresCluster,
    Proc,
    RedisServer,
    celery_beat,
    celery_worker,
    feedwash_env,
    wait_for,
)
from tests.faults.test_redis_restart import every_source_polled
from worker import ingest
from worker.storage import repo
from worker.storage.db import transaction

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]


def test_postgres_restart_tasks_retry_nothing_partial(
    fault_db: str, pg_cluster: PostgresCluster, redis_server: RedisServer, feed_server: FeedServer,
    procs: list[Proc], tmp_path: Path,
) -> None:
    # 40 items per response: each poll's store transaction is long enough to be cut by the restart.
    feeds = {f"/feed/{n}.xml": GrowingFeed(f"feed{n}", delay=0.1, window=40) for n in range(6)}
    feed_server.behaviours.update(feeds)
    with transaction() as session:
        ids = [repo.ensure_source(session, "feed", feed_server.url(path), ingest.utcnow()) for path in feeds]
    env = feedwash_env(fault_db, redis_server.url(), tmp_path / "data", FEEDWASH_POLL_LEASE_SECONDS="8")
    worker = celery_worker("worker", env, tmp_path, concurrency=2)
    procs.extend([worker, celery_beat("beat", env, tmp_path)])
    with KeepDue(fault_db, 0.5):
        for _ in range(3 if LONG else 1):
            wait_for(lambda: all(feed.calls >= 2 for feed in feeds.values()), 30, "polls under way")
            pg_cluster.restart(down_seconds=2)
            back = datetime.now(UTC)
            started = time.monotonic()
            wait_for(every_source_polled(back, ids), 40, "every source polled after the restart")
            print(f"every source polled {time.monotonic() - started:.1f} s after PostgreSQL came back")
            wait_for(every_source_polled(back, ids, 2), 30, "polling carries on")
        time.sleep(1)
    for proc in procs:
        proc.stop()
    log = worker.log()
    assert "OperationalError" in log and "Retry in" in log  # tasks failed on the restart and retried
    served = {(feed_server.url(path), f"id:{guid}") for path, feed in feeds.items() for guid in feed.served}
    stored = db_checks.sighting_keys()
    assert stored <= served and len(stored) >= 3 * len(feeds)
    assert db_checks.article_count() == len(stored)
    db_checks.assert_consistent()
