"""`feedwash run` (what `make run` starts) on the embedded defaults: no broker URL, no database
URL. Its web server must serve the shipped seed, and its worker and beat must poll a feed added
while it runs (through kombu's SQLAlchemy broker over a SQLite file), and none of its processes
may die. A run of `make run` found the worker and beat dying on their first broker message:
Redis-only transport options reached SQLAlchemy's create_engine()."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import httpx
import pytest
from pytest_httpserver import HTTPServer

from tests.publishing_support import free_port

ROOT = Path(__file__).resolve().parent.parent
SEED_TITLE = "北京市多措并举推动消费帮扶工作取得新成效"  # the shipped seed
FEED_TITLE = "Embedded broker story"
STORY = " ".join(f"Sentence {n} of a story that the embedded worker must poll and store." for n in range(40))
RSS = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Local</title><link>http://127.0.0.1/</link><description>d</description>
<item><title>{FEED_TITLE}</title><link>http://127.0.0.1/story</link><guid>story-1</guid>
<description><![CDATA[<p>{STORY}</p>]]></description></item>
</channel></rss>"""


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("FEEDWASH_")}
    env.update({
        "PYTHONPATH": str(ROOT),
        "FEEDWASH_DATA_DIR": str(tmp_path / "data"),
        "FEEDWASH_SEEDS_DIR": str(tmp_path / "seeds"),
        "FEEDWASH_SOURCES_FILE": str(tmp_path / "sources.yaml"),
        "FEEDWASH_DISPATCH_INTERVAL_SECONDS": "2",
        "FEEDWASH_ALLOW_PRIVATE_NETWORKS": "1",  # the feed server is on 127.0.0.1
    })
    return env


def _titles(base: str) -> list[str]:
    try:
        response = httpx.get(f"{base}/feeds/all.atom", timeout=5)
    except httpx.TransportError:
        return []
    if response.status_code != 200:
        return []
    return [entry.title for entry in feedparser.parse(response.content).entries]


def _wait_for(base: str, title: str, process: subprocess.Popen[bytes], seconds: float) -> list[str]:
    deadline = time.monotonic() + seconds
    titles: list[str] = []
    while time.monotonic() < deadline and process.poll() is None:
        titles = _titles(base)
        if any(title in t for t in titles):
            return titles
        time.sleep(0.5)
    return titles


def test_feedwash_run_serves_the_seed_and_polls_a_feed_through_the_embedded_broker(
        tmp_path: Path, httpserver: HTTPServer) -> None:
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    httpserver.expect_request("/feed.xml").respond_with_data(RSS, content_type="application/rss+xml")
    env = _environment(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "run.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "worker.cli", "run", "--port", str(port)],
                               cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        titles = _wait_for(base, SEED_TITLE, process, 60)
        assert any(SEED_TITLE in t for t in titles), titles
        subprocess.run([sys.executable, "-m", "worker.cli", "feeds", "add", httpserver.url_for("/feed.xml")],
                       cwd=tmp_path, env=env, check=True, capture_output=True)
        titles = _wait_for(base, FEED_TITLE, process, 60)
        output = (tmp_path / "run.log").read_text(errors="replace")
        assert FEED_TITLE in titles, output[-3000:]
        assert process.poll() is None, output[-3000:]
        assert "Unrecoverable error" not in output and "create_engine" not in output, output[-3000:]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
    assert process.returncode == 0


def test_only_redis_gets_the_redis_transport_options() -> None:
    from worker.celery_app import broker_transport_options

    assert broker_transport_options("sqla+sqlite:////tmp/broker.db") == {}
    redis_options = broker_transport_options("redis://127.0.0.1:6379/0")
    assert redis_options["visibility_timeout"] > 0 and redis_options["unacked_restore_throttle"] == 1


def test_the_embedded_queue_exists_before_worker_or_beat_declares_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kombu's SQLAlchemy transport creates a queue's row by check-then-insert under a lock of its
    own process only. `feedwash run` starts worker and beat together: both inserted the row, and
    when the worker lost ("UNIQUE constraint failed: kombu_queue.name") it died with an
    Unrecoverable error, and `run` stopped everything. Each creates the row at start-up instead,
    taking "another process was first" for success; then kombu only ever finds it."""
    from kombu.transport.sqlalchemy import Channel
    from sqlalchemy.exc import IntegrityError

    from worker import celery_app

    url = f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    celery_app.declare_embedded_queue(url, "feedwash")
    celery_app.declare_embedded_queue(url, "feedwash")  # idempotent
    with sqlite3.connect(tmp_path / "broker.db") as db:
        assert db.execute("SELECT name FROM kombu_queue").fetchall() == [("feedwash",)]

    def lost_the_race(self: Channel, queue: str, **_: object) -> None:
        raise IntegrityError("INSERT INTO kombu_queue", {}, Exception("UNIQUE constraint failed"))

    monkeypatch.setattr(Channel, "_new_queue", lost_the_race)
    celery_app.declare_embedded_queue(url, "feedwash")  # the row is there: no error
    celery_app.declare_embedded_queue("redis://127.0.0.1:1/0", "feedwash")  # not embedded: nothing done
    # Worker and beat do it before they touch the queue themselves.
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(celery_app, "declare_embedded_queue", lambda *args: calls.append(args))
    monkeypatch.setattr(celery_app, "tune_for_ingest", lambda: None)
    celery_app._before_fork()
    assert calls == [(celery_app.settings.resolved_broker_url(), "feedwash")]
