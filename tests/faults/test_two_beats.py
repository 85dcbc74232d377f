"""Two beat processes started by mistake: both dispatch every second, two workers with two
processes each run the dispatches concurrently; the claim (FOR UPDATE SKIP LOCKED + lease)
still hands each source to one poll at a time, and nothing is stored twice."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

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

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]


def test_two_beats_never_poll_a_source_twice_at_once(
    fault_db: str, redis_server: RedisServer, feed_server: FeedServer, procs: list[Proc], tmp_path: Path,
) -> None:
    feeds = {f"/feed/{n}.xml": GrowingFeed(f"feed{n}", delay=0.4) for n in range(6)}
    feed_server.behaviours.update(feeds)
    with transaction() as session:
        for path in feeds:
            repo.ensure_source(session, "feed", feed_server.url(path), ingest.utcnow())
    env = feedwash_env(fault_db, redis_server.url(), tmp_path / "data")
    procs.extend(celery_worker(f"worker-{i}", env, tmp_path, concurrency=2) for i in (1, 2))
    procs.extend(celery_beat(f"beat-{i}", env, tmp_path) for i in (1, 2))
    with KeepDue(fault_db):
        time.sleep(60 if LONG else 12)
        wait_for(lambda: all(feed.calls >= 3 for feed in feeds.values()), 30, "several rounds per feed")
    for proc in procs:
        proc.stop()

    assert all("Sending due task dispatch-due-sources" in p.log() for p in procs if "beat" in p.name)
    assert {path: feed_server.max_in_flight[path] for path in feeds} == {path: 1 for path in feeds}
    # Every served item stored exactly once, under its own source.
    served = {(feed_server.url(path), f"id:{guid}") for path, feed in feeds.items() for guid in feed.served}
    stored = db_checks.sighting_keys()
    assert stored <= served and len(served - stored) <= len(feeds)  # an item served by the poll still
    # running when the workers were stopped may be missing; nothing extra, nothing twice.
    assert db_checks.article_count() == len(stored)
    db_checks.assert_consistent()
