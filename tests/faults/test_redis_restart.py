"""Redis killed and restarted (no persistence: every queued and unacknowledged message is lost)
during a run: the worker and beat reconnect by themselves and carry on; a source whose poll
message was lost is due again when its lease expires, so none is skipped for longer than one
interval (here: the lease) after Redis is back."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.faults import db_checks
from tests.faults.conftest import LONG
from tests.faults.harness import (
    FeedServer,
    GrowingFeed,
    KeepDue,
    Proc,
    RedisServer,
    celery_beat,
    celery_worker,
    feedwash_env,
    wait_for,
)
from worker import ingest
from worker.storage import repo
from worker.storage.db import transaction
from worker.storage.models import FetchLog

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]
LEASE_SECONDS = 6  # the longest a lost poll message can hold a source back
INTERVAL_SECONDS = 2  # each feed is due again this long after its last poll


def polls_since(moment: datetime) -> dict[int, int]:
    with transaction() as session:
        rows = session.execute(select(FetchLog.source_id, func.count()).where(
            FetchLog.started_at >= moment, FetchLog.outcome == "ok").group_by(FetchLog.source_id))
        return dict(rows.all())


def every_source_polled(moment: datetime, ids: list[int], times: int = 1) -> Callable[[], bool]:
    """A condition: every source in `ids` has had `times` successful polls since `moment`."""
    def condition() -> bool:
        counts = polls_since(moment)
        return set(counts) == set(ids) and min(counts.values()) >= times
    return condition


def test_redis_restart_workers_and_beat_carry_on(
    fault_db: str, redis_server: RedisServer, feed_server: FeedServer, procs: list[Proc], tmp_path: Path,
) -> None:
    feeds = {f"/feed/{n}.xml": GrowingFeed(f"feed{n}", delay=0.3) for n in range(8)}
    feed_server.behaviours.update(feeds)
    with transaction() as session:
        ids = [repo.ensure_source(session, "feed", feed_server.url(path), ingest.utcnow()) for path in feeds]
    env = feedwash_env(fault_db, redis_server.url(), tmp_path / "data",
                       FEEDWASH_POLL_LEASE_SECONDS=str(LEASE_SECONDS))
    worker = celery_worker("worker", env, tmp_path, concurrency=2)
    beat = celery_beat("beat", env, tmp_path)
    procs.extend([worker, beat])
    with KeepDue(fault_db, INTERVAL_SECONDS):
        for _ in range(3 if LONG else 1):
            wait_for(lambda: all(feed.calls >= 1 for feed in feeds.values()), 30, "a first round")
            redis_server.restart(down_seconds=3)  # polls in flight, messages queued: all lost
            back = datetime.now(UTC)
            # Within one lease + interval + a reconnect, every source has been polled again...
            started = time.monotonic()
            wait_for(every_source_polled(back, ids), LEASE_SECONDS + INTERVAL_SECONDS + 20,
                     "every source polled after Redis came back")
            print(f"every source polled {time.monotonic() - started:.1f} s after Redis came back")
            # ...and keeps being polled: the run carries on, it did not just drain.
            wait_for(every_source_polled(back, ids, 2), 30, "a second round after the restart")
            time.sleep(1)
    for proc in procs:
        proc.stop()
    assert worker.popen.returncode is not None and beat.popen.returncode is not None
    assert "Connection to broker lost" in worker.log() or "Cannot connect to redis" in worker.log()
    served = {(feed_server.url(path), f"id:{guid}") for path, feed in feeds.items() for guid in feed.served}
    stored = db_checks.sighting_keys()
    assert stored <= served
    assert db_checks.article_count() == len(stored)
    db_checks.assert_consistent()
