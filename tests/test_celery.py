"""A real Celery worker over the real Redis (127.0.0.1:6379) runs the beat-scheduled tasks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select

from tests.conftest import REDIS_URL, SEED_FILE
from tests.test_poll import sina_feed
from worker import ingest
from worker.storage import repo
from worker.storage.db import transaction
from worker.storage.models import Article, Source

pytestmark = [pytest.mark.redis, pytest.mark.slow]
# Overridable so that parallel checkouts on one Redis do not consume each other's tasks.
BROKER = f"{REDIS_URL}/{os.environ.get('FEEDWASH_TEST_REDIS_DB', '12')}"


@pytest.fixture
def celery_worker(database_url: str, tmp_path: Path) -> Iterator[Celery]:
    redis.Redis.from_url(BROKER).flushdb()
    env = {**os.environ, "FEEDWASH_DATABASE_URL": database_url, "FEEDWASH_BROKER_URL": BROKER,
           "FEEDWASH_DATA_DIR": str(tmp_path / "data")}
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "worker.celery_app:app", "worker",
         "--concurrency=2", "--loglevel=INFO", "--without-gossip", "--without-mingle"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    client = Celery(broker=BROKER)
    client.conf.task_default_queue = "feedwash"
    try:
        yield client
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
        print((tmp_path / "worker.log").read_text()[-3000:])


def _wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def _article_count() -> int:
    with transaction() as session:
        return session.execute(select(func.count(Article.id))).scalar_one()


def test_worker_imports_seeds_over_redis(celery_worker: Celery, tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "a.txt").write_bytes(SEED_FILE.read_bytes())
    (folder / "b.txt").write_bytes(SEED_FILE.read_bytes())  # same post twice: one article
    (folder / "broken.md").write_bytes(b"\x00binary")
    celery_worker.send_task("worker.tasks.import_seeds", args=[str(folder)])
    _wait_for(lambda: _article_count() == 1)
    # Idempotent: the same task again (a redelivery) changes nothing.
    celery_worker.send_task("worker.tasks.import_seeds", args=[str(folder)])
    time.sleep(2)
    assert _article_count() == 1


def test_dispatcher_polls_due_feeds_over_redis(celery_worker: Celery, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.rss").respond_with_data(sina_feed())
    with transaction() as session:
        source_id = repo.ensure_source(session, "feed", httpserver.url_for("/feed.rss"), ingest.utcnow())
    celery_worker.send_task("worker.tasks.dispatch_due_sources")
    _wait_for(lambda: _article_count() == 2)

    def polled() -> bool:
        with transaction() as session:
            source = session.get(Source, source_id)
            return source is not None and source.last_success_at is not None

    _wait_for(polled)
    with transaction() as session:
        source = session.get(Source, source_id)
        assert source is not None and source.lease_until is None  # the poll cleared its lease
        # The fixture's entries are from 2022: the adaptive interval goes to the maximum.
        assert source.next_poll_reason == "no new entries lately (±10% jitter)"
    # Claimed and polled: a second dispatch right away finds nothing due.
    celery_worker.send_task("worker.tasks.dispatch_due_sources")
    time.sleep(2)
    assert len(httpserver.log) == 1


def test_full_text_pages_are_fetched_by_their_own_tasks(
    celery_worker: Celery, httpserver: HTTPServer, tmp_path: Path,
) -> None:
    from tests.pages import article_page, summary_feed
    from worker.storage import pages

    for path in ("/a", "/b"):  # different stories: two articles
        body = "".join(f"<p>{path}第{i}段。{'正文内容，足够长的一段文字。' * 8}</p>" for i in range(6))
        httpserver.expect_request(path).respond_with_data(article_page("标题", body, body_id="story"),
                                                          content_type="text/html")
    items = [{"title": f"标题{p}", "link": httpserver.url_for(p), "summary": "摘要……"} for p in ("/a", "/b")]
    httpserver.expect_request("/feed.rss").respond_with_data(summary_feed(items))
    with transaction() as session:
        source_id = repo.ensure_source(session, "feed", httpserver.url_for("/feed.rss"), ingest.utcnow())
        pages.set_full_text_mode(session, source_id, "auto")
    celery_worker.send_task("worker.tasks.dispatch_due_sources")

    def full_articles() -> int:
        with transaction() as session:
            return len(session.execute(
                select(Article.id).where(Article.content_source == "page (readability)")).all())

    _wait_for(lambda: full_articles() == 2)
    log = (tmp_path / "worker.log").read_text()
    assert log.count("Task worker.tasks.fetch_full_text[") >= 2  # one task per page, not the poll's
