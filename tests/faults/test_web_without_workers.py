"""The web app keeps serving feeds while every worker is dead and the broker is gone: it reads
only the database, never Redis."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.faults import db_checks
from tests.faults.harness import (
    FeedServer,
    Proc,
    RedisServer,
    celery_worker,
    feedwash_env,
    free_port,
    rss,
    static_feed,
    wait_for,
    web_app,
)
from tests.faults.test_kill_worker import client
from worker import ingest
from worker.storage import repo
from worker.storage.db import transaction

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]


def test_feeds_served_with_workers_down_and_broker_gone(
    fault_db: str, redis_server: RedisServer, feed_server: FeedServer, procs: list[Proc], tmp_path: Path,
) -> None:
    for n in range(2):
        feed_server.behaviours[f"/feed/{n}.xml"] = static_feed(
            rss(f"Feed {n}", [(f"f{n}-{i}", f"story {i} of feed {n}") for i in range(3)]))
        with transaction() as session:
            repo.ensure_source(session, "feed", feed_server.url(f"/feed/{n}.xml"), ingest.utcnow())
    env = feedwash_env(fault_db, redis_server.url(), tmp_path / "data")
    worker = celery_worker("worker", env, tmp_path)
    procs.append(worker)
    client(redis_server.url()).send_task("worker.tasks.dispatch_due_sources")
    wait_for(lambda: db_checks.article_count() == 6, 30, "both feeds stored")

    port = free_port()
    procs.append(web_app(env, tmp_path, port))
    worker.kill9()
    redis_server.kill()
    # A web app started after the broker died serves too (it never connects to it).
    second_port = free_port()
    procs.append(web_app(env, tmp_path / "data", second_port))

    for base in (f"http://127.0.0.1:{port}", f"http://127.0.0.1:{second_port}"):
        atom = httpx.get(f"{base}/feeds/all.atom", timeout=10)
        assert atom.status_code == 200 and atom.text.count("<entry>") == 6
        rss_feed = httpx.get(f"{base}/feeds/all.rss", timeout=10)
        assert rss_feed.status_code == 200 and rss_feed.text.count("<item>") == 6
        feed = httpx.get(f"{base}/feeds/all.json", timeout=10)
        assert feed.status_code == 200 and len(json.loads(feed.text)["items"]) == 6
        page = httpx.get(f"{base}/", timeout=10)
        assert page.status_code == 200 and "Feed 1 f1-2" in page.text
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        # Conditional GET still answers 304 from the database alone.
        again = httpx.get(f"{base}/feeds/all.atom", headers={"If-None-Match": atom.headers["etag"]},
                          timeout=10)
        assert again.status_code == 304
