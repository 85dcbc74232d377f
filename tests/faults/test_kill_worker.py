"""kill -9 of a Celery worker in the middle of a poll and in the middle of a seed import: the
task is redelivered (acks_late; Redis restores the unacknowledged message after the visibility
timeout) to a fresh worker, which redoes the work; nothing is lost, nothing duplicated."""

from __future__ import annotations

import os
import signal
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import psycopg
import pytest
from celery import Celery

from tests.faults import db_checks
from tests.faults.harness import (
    FeedServer,
    Proc,
    RedisServer,
    celery_worker,
    feedwash_env,
    rss,
    seed_post,
    send,
    static_feed,
    wait_for,
)
from worker import ingest
from worker.storage import repo
from worker.storage.db import transaction

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]
# Short on purpose: a killed worker's message comes back after this many seconds.
FAST_REDELIVERY = {"FEEDWASH_BROKER_VISIBILITY_TIMEOUT_SECONDS": "3",
                   "FEEDWASH_BROKER_RESTORE_INTERVAL_SECONDS": "1"}


def client(broker: str) -> Celery:
    app = Celery(broker=broker)
    app.conf.task_default_queue = "feedwash"
    return app


def hang_first_request(body: bytes) -> object:
    """The first request hangs (the worker is killed meanwhile); later ones are answered."""
    calls = {"n": 0}

    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            time.sleep(30)
        send(handler, 200, body)
    return behaviour


def test_kill_9_mid_poll_is_redone_once(fault_db: str, redis_server: RedisServer, feed_server: FeedServer,
                                        procs: list[Proc], tmp_path: Path) -> None:
    feeds = {f"/feed/{n}.xml": [(f"f{n}-item-{i}", f"story {i} of feed {n}") for i in range(3)]
             for n in range(4)}
    for path, items in feeds.items():
        feed_server.behaviours[path] = static_feed(rss(path, items))
    feed_server.behaviours["/feed/0.xml"] = hang_first_request(rss("/feed/0.xml", feeds["/feed/0.xml"]))
    with transaction() as session:  # /feed/0.xml is claimed first (lowest id)
        for path in feeds:
            repo.ensure_source(session, "feed", feed_server.url(path), ingest.utcnow())
    env = feedwash_env(fault_db, redis_server.url(), tmp_path / "data", **FAST_REDELIVERY)
    first = celery_worker("worker-1", env, tmp_path)
    procs.append(first)
    client(redis_server.url()).send_task("worker.tasks.dispatch_due_sources")
    wait_for(lambda: feed_server.requests["/feed/0.xml"] == 1, 30, "the slow poll under way")
    first.kill9()  # mid-poll: the HTTP response has not arrived yet
    assert db_checks.polled_sources() == {}

    procs.append(celery_worker("worker-2", env, tmp_path))
    wait_for(lambda: len(db_checks.polled_sources()) == 4, 30, "every feed polled after the kill")
    # Redone exactly once, the others polled once: nothing lost, nothing duplicated.
    assert dict(feed_server.requests) == {path: (2 if path == "/feed/0.xml" else 1) for path in feeds}
    assert db_checks.article_count() == 12
    assert db_checks.sighting_keys() == {(feed_server.url(p), f"id:{guid}") for p, items in feeds.items()
                                         for guid, _ in items}
    assert all(s.lease_until is None for s in db_checks.polled_sources().values())
    db_checks.assert_consistent()


def test_kill_9_of_the_pool_process_is_requeued_at_once(
    fault_db: str, redis_server: RedisServer, feed_server: FeedServer, procs: list[Proc], tmp_path: Path,
) -> None:
    """Only the pool process dies (the OOM killer's usual victim): the worker's main process sees
    it go and requeues the task at once (task_reject_on_worker_lost); no visibility timeout is
    involved (left at its one-hour default here)."""
    items = [(f"item-{i}", f"story {i}") for i in range(3)]
    feed_server.behaviours["/slow.xml"] = hang_first_request(rss("slow", items))
    with transaction() as session:
        repo.ensure_source(session, "feed", feed_server.url("/slow.xml"), ingest.utcnow())
    worker = celery_worker("worker", feedwash_env(fault_db, redis_server.url(), tmp_path / "data"), tmp_path)
    procs.append(worker)
    wait_for(lambda: len(worker.children()) == 1, 30, "the pool process started")
    client(redis_server.url()).send_task("worker.tasks.dispatch_due_sources")
    wait_for(lambda: feed_server.requests["/slow.xml"] == 1, 30, "the slow poll under way")
    os.kill(worker.children()[0], signal.SIGKILL)
    wait_for(lambda: len(db_checks.polled_sources()) == 1, 30, "the poll redone by a new pool process")
    assert feed_server.requests["/slow.xml"] == 2
    assert db_checks.sighting_keys() == {(feed_server.url("/slow.xml"), f"id:{guid}") for guid, _ in items}
    assert "WorkerLostError" in worker.log()
    db_checks.assert_consistent()


def _waiting_on_lock(database_url: str) -> bool:
    with psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql")) as connection:
        row = connection.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                 "AND datname = current_database()").fetchone()
        return bool(row and row[0])


def test_kill_9_mid_seed_import_is_redone(fault_db: str, redis_server: RedisServer, procs: list[Proc],
                                          tmp_path: Path) -> None:
    folder = tmp_path / "seeds-in"
    folder.mkdir()
    for n in range(3):
        (folder / f"post-{n}.md").write_bytes(seed_post(n))
    env = feedwash_env(fault_db, redis_server.url(), tmp_path / "data", **FAST_REDELIVERY)
    first = celery_worker("worker-1", env, tmp_path)
    procs.append(first)
    # Hold the seed_files table: the import writes its article and sighting, then waits on the
    # lock inside its one transaction; the kill lands there.
    dsn = fault_db.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn) as blocker:
        blocker.execute("LOCK TABLE seed_files IN EXCLUSIVE MODE")
        client(redis_server.url()).send_task("worker.tasks.import_seeds", args=[str(folder)])
        wait_for(lambda: _waiting_on_lock(fault_db), 30, "the import blocked mid-transaction")
        first.kill9()
        blocker.rollback()
    # The killed transaction was never committed: no article, no sighting, no file recorded.
    wait_for(lambda: not _waiting_on_lock(fault_db), 10, "the killed backend gone")
    assert db_checks.article_count() == 0 and db_checks.seed_files() == []

    procs.append(celery_worker("worker-2", env, tmp_path))
    wait_for(lambda: len(db_checks.seed_files()) == 3, 30, "every seed file imported after the kill")
    files = db_checks.seed_files()
    assert [(f.path, f.status) for f in files] == [(f"post-{n}.md", "imported") for n in range(3)]
    assert len({f.article_id for f in files}) == 3
    assert db_checks.article_count() == 3
    db_checks.assert_consistent()
