"""Operator endpoints (/healthz, /readyz on real Redis and databases, /metrics) and the admin
API: off without a token, bearer-protected with one, and queueing real Celery messages on Redis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import REDIS_URL
from tests.publishing_support import import_fixture_seeds
from tests.test_poll import sina_feed
from worker import ingest
from worker.settings import get_settings
from worker.web.app import app

client = TestClient(app)
BROKER = f"{REDIS_URL}/15"
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def redis_broker(monkeypatch: pytest.MonkeyPatch) -> redis.Redis:
    monkeypatch.setenv("FEEDWASH_BROKER_URL", BROKER)
    get_settings.cache_clear()
    connection = redis.Redis.from_url(BROKER)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def admin_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDWASH_ADMIN_TOKEN", TOKEN)
    get_settings.cache_clear()


def test_healthz_and_readyz(database_url: str, redis_broker: redis.Redis) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "database": "ok", "migrations": "current", "broker": "ok"}


def test_readyz_reports_what_is_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDWASH_DATABASE_URL", f"sqlite:///{tmp_path / 'never-migrated.db'}")
    monkeypatch.setenv("FEEDWASH_BROKER_URL", "redis://127.0.0.1:1/15")  # nothing listens there
    get_settings.cache_clear()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False and body["database"] == "ok" and body["migrations"] == "pending"
    assert body["broker"].startswith("unreachable: ConnectionError")


def test_readyz_embedded_broker(sqlite_url: str, tmp_path: Path) -> None:
    body = client.get("/readyz").json()  # no worker has created the broker file yet
    assert body["ready"] is False and "does not exist yet" in body["broker"]
    broker_file = tmp_path / "data" / "broker.db"
    broker_file.parent.mkdir(parents=True, exist_ok=True)
    import sqlite3

    sqlite3.connect(broker_file).close()
    assert client.get("/readyz").json()["ready"] is True


def test_metrics_are_computed_from_the_database(database_url: str, tmp_path: Path,
                                                redis_broker: redis.Redis) -> None:
    import_fixture_seeds(tmp_path)
    with ingest.transaction() as session:
        from worker.storage import repo

        repo.ensure_source(session, "feed", "https://never-polled.example/feed", ingest.utcnow())
    redis_broker.lpush("feedwash", b"{}", b"{}")
    text = client.get("/metrics").text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[("feedwash_articles", ())] == 2
    assert samples[("feedwash_sightings", ())] == 3
    assert samples[("feedwash_duplicates", (("kind", "exact"),))] == 1
    assert samples[("feedwash_sources_by_last_poll_outcome", (("outcome", "never"),))] == 1
    assert samples[("feedwash_source_articles", (("source_id", "1"),))] == 2
    age = samples[("feedwash_source_last_success_age_seconds", (("kind", "seed"), ("source_id", "1")))]
    assert 0 <= age < 600
    assert samples[("feedwash_queue_length", ())] == 2
    assert samples[("feedwash_ingest_errors_recent", ())] == 0
    assert samples[("feedwash_dispatch_lag_seconds", ())] >= 0


def test_admin_api_is_off_without_a_token(sqlite_url: str) -> None:
    assert client.get("/api/sources").status_code == 404
    add = client.post("/api/sources", json={"url": "https://a.example/feed"}, headers=AUTH)
    assert add.status_code == 404
    assert client.get("/feeds/all.atom").status_code == 200  # public feeds stay open


def test_admin_api_needs_the_bearer_token(sqlite_url: str, admin_on: None) -> None:
    assert client.get("/api/sources").status_code == 401
    wrong = client.get("/api/sources", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/sources", headers=AUTH).json() == []


def test_admin_manages_sources_and_queues_work(database_url: str, admin_on: None,
                                               redis_broker: redis.Redis, tmp_path: Path) -> None:
    created = client.post("/api/sources", json={"url": "https://a.example/feed.xml",
                                                "interval_minutes": 30, "full_text": "always"},
                          headers=AUTH)
    assert created.status_code == 201
    source = created.json()
    assert source["status"] == "active" and source["interval_minutes"] == 30
    assert source["full_text"] == "always"
    sid = source["id"]
    changed = client.patch(f"/api/sources/{sid}", json={"full_text": "never"}, headers=AUTH)
    assert changed.json()["full_text"] == "never"
    assert client.patch(f"/api/sources/{sid}", json={"full_text": "sometimes"},
                        headers=AUTH).status_code == 422
    paused = client.post(f"/api/sources/{sid}/pause", headers=AUTH).json()
    assert paused["status"] == "paused" and ingest.due_source_ids(force=True) == []
    resumed = client.post(f"/api/sources/{sid}/resume", headers=AUTH).json()
    assert resumed["status"] == "active" and ingest.due_source_ids() == [sid]

    queued = client.post(f"/api/sources/{sid}/poll", headers=AUTH)
    assert queued.status_code == 202 and queued.json()["task"] == "worker.tasks.poll_source"
    import_fixture_seeds(tmp_path)
    assert client.post("/api/articles/1/reclean", headers=AUTH).status_code == 202
    messages = [json.loads(raw) for raw in reversed(redis_broker.lrange("feedwash", 0, -1))]
    assert [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in messages] == [
        ("worker.tasks.poll_source", f"[{sid}]"), ("worker.tasks.reclean_article", "[1]")]
    assert messages[0]["headers"]["id"] == queued.json()["task_id"]

    assert client.post("/api/sources/999/poll", headers=AUTH).status_code == 404
    assert client.post("/api/articles/999/reclean", headers=AUTH).status_code == 404
    assert client.delete(f"/api/sources/{sid}", headers=AUTH).status_code == 204
    assert client.delete(f"/api/sources/{sid}", headers=AUTH).status_code == 404


def test_openapi_describes_the_admin_api(sqlite_url: str) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/sources", "/api/sources/{source_id}/pause", "/api/sources/{source_id}/resume",
            "/api/sources/{source_id}", "/api/sources/{source_id}/poll",
            "/api/articles/{article_id}/reclean"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_poll_history_metrics(database_url: str, httpserver: HTTPServer) -> None:
    body = sina_feed()
    state = {"fail": False}

    def handler(request: Request) -> Response:
        if state["fail"]:
            return Response("boom", status=500)
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(body, content_type="application/rss+xml", headers={"ETag": '"v1"'})

    httpserver.expect_request("/feed.rss").respond_with_handler(handler)
    with ingest.transaction() as session:
        from worker.storage import repo

        source_id = repo.ensure_source(session, "feed", httpserver.url_for("/feed.rss"), ingest.utcnow())
    assert ingest.poll_source(source_id).status == "ok"
    assert ingest.poll_source(source_id).status == "not-modified"
    state["fail"] = True
    assert ingest.poll_source(source_id).status == "error"
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    outcomes = {s.labels["outcome"]: s.value for s in families["feedwash_polls"].samples}
    assert outcomes == {"ok": 1, "not-modified": 1, "error": 1, "busy": 0}
    assert families["feedwash_bytes_saved_by_304"].samples[0].value == len(body)
    assert families["feedwash_fetched_bytes"].samples[0].value == len(body)
    assert families["feedwash_polled_articles_new"].samples[0].value == 2
    # A gauge histogram (the window of kept polls): text format carries _gcount/_gsum as gauges.
    assert families["feedwash_fetch_seconds_gcount"].samples[0].value == 2  # the failed fetch: no timing
    assert 0 < families["feedwash_fetch_seconds_gsum"].samples[0].value < 20
