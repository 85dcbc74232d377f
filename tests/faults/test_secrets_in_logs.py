"""No secrets in logs: the database password (in FEEDWASH_DATABASE_URL), the broker password (in
FEEDWASH_BROKER_URL), the admin token and a feed's secret request header never appear in what
the worker, beat, web app and CLI print, including the errors of a failing feed and of a
database restart mid-run."""

from __future__ import annotations

import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.faults import db_checks
from tests.faults.harness import (
    ROOT,
    FeedServer,
    PostgresCluster,
    Proc,
    RedisServer,
    celery_beat,
    celery_worker,
    feedwash_env,
    free_port,
    rss,
    send,
    static_feed,
    wait_for,
    web_app,
)

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]
DB_PASSWORD = "Db-Pa55word-7f3c9"
BROKER_PASSWORD = "Br0ker-Pa55-a81d2"
ADMIN_TOKEN = "admin-T0ken-5e2b7"
HEADER_SECRET = "Header-Secret-9c1f4"


def failing(handler: BaseHTTPRequestHandler) -> None:
    send(handler, 500, b"internal error", "text/plain")


def test_no_secret_in_any_log(fault_db: str, pg_cluster: PostgresCluster, feed_server: FeedServer,
                              procs: list[Proc], tmp_path: Path) -> None:
    feed_server.behaviours["/good.xml"] = static_feed(rss("good", [("s-1", "one"), ("s-2", "two")]))
    feed_server.behaviours["/broken.xml"] = failing
    redis_server = RedisServer(tmp_path, password=BROKER_PASSWORD)
    redis_server.start()
    try:
        secret_url = fault_db.replace("postgres@", f"postgres:{DB_PASSWORD}@")  # trust auth: accepted
        env = feedwash_env(secret_url, redis_server.url(), tmp_path / "data",
                           FEEDWASH_ADMIN_TOKEN=ADMIN_TOKEN)
        cli = [sys.executable, "-m", "worker.cli"]
        outputs = [subprocess.run([*cli, "feeds", "add", feed_server.url(path), *extra], env=env, cwd=ROOT,
                                  capture_output=True, text=True, timeout=60)
                   for path, extra in (("/good.xml", ["--header", f"Authorization: Bearer {HEADER_SECRET}"]),
                                       ("/broken.xml", []))]
        procs.extend([celery_worker("worker", env, tmp_path), celery_beat("beat", env, tmp_path)])
        wait_for(lambda: db_checks.article_count() == 2, 30, "the good feed stored")
        pg_cluster.restart(down_seconds=1)  # connection errors and retries in the worker's log
        with create_engine(fault_db).begin() as connection:  # everything due again
            connection.execute(text("UPDATE sources SET next_poll_at = now() WHERE kind = 'feed'"))
        wait_for(lambda: feed_server.requests["/broken.xml"] >= 2, 30, "the broken feed polled again")
        port = free_port()
        procs.append(web_app(env, tmp_path, port))
        for path in ("/feeds/all.atom", "/", "/healthz", "/api/sources", "/nope"):
            httpx.get(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}x"})
        outputs.append(subprocess.run([*cli, "feeds", "list"], env=env, cwd=ROOT, capture_output=True,
                                      text=True, timeout=60))
        for proc in procs:
            proc.stop()
    finally:
        redis_server.kill()
    logs = {proc.name: proc.log() for proc in procs}
    logs["cli"] = "".join(o.stdout + o.stderr for o in outputs)
    logs["redis"] = redis_server.log_path.read_text(errors="replace")
    assert "Retry in" in logs["worker"] or "OperationalError" in logs["worker"]  # errors were logged
    assert "broken.xml" in logs["worker"]
    for name, log in logs.items():
        for secret in (DB_PASSWORD, BROKER_PASSWORD, ADMIN_TOKEN, HEADER_SECRET):
            assert secret not in log, f"{secret} in the {name} log"
