"""Operator endpoints: /healthz, /readyz and Prometheus /metrics.

Metrics are computed from the database at scrape time, not counted in memory: the numbers that
matter are written by Celery worker processes, and the database is the one place every process
shares, so any web process answers the same (no prometheus multiprocess directory needed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import create_engine, func, select, text

from worker import __version__
from worker.settings import get_settings
from worker.storage import feed_queries, migrate
from worker.storage.db import get_engine, transaction
from worker.storage.models import Article, FetchLog, IngestError, Sighting, Source

router = APIRouter(tags=["operations"])
QUEUE = "feedwash"  # celery_app's task_default_queue
RECENT = timedelta(hours=24)
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0)  # seconds


@router.get("/healthz")
@router.head("/healthz", include_in_schema=False)  # uptime monitors often probe with HEAD
def healthz() -> dict[str, str]:
    """The process is up (no dependency is checked)."""
    return {"status": "ok", "version": __version__}


def _check_database() -> dict[str, str]:
    engine = get_engine()
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"database": "ok", "migrations": "current" if migrate.is_current(engine) else "pending"}


def check_broker(url: str) -> str:
    """"ok", or why the broker is not reachable."""
    if url.startswith(("redis://", "rediss://")):
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            return "ok" if client.ping() else "no PONG"
        finally:
            client.close()
    if url.startswith("sqla+sqlite:///"):
        path = Path(url.removeprefix("sqla+sqlite:///"))
        if not path.is_file():
            return f"broker database {path} does not exist yet (no worker or beat has started)"
        engine = create_engine(f"sqlite:///{path}")
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        finally:
            engine.dispose()
        return "ok"
    return "ok (not checked: unknown transport)"


@router.get("/readyz")
@router.head("/readyz", include_in_schema=False)
def readyz() -> JSONResponse:
    """Ready to serve: database reachable and at the newest migration, broker reachable."""
    report: dict[str, str] = {}
    try:
        report.update(_check_database())
    except Exception as exc:  # any failure means "not ready", reported, never raised
        report["database"] = f"unreachable: {type(exc).__name__}: {exc}"
    try:
        report["broker"] = check_broker(get_settings().resolved_broker_url())
    except Exception as exc:
        report["broker"] = f"unreachable: {type(exc).__name__}: {exc}"
    ready = (report.get("database") == "ok" and report.get("migrations") == "current"
             and report["broker"].startswith("ok"))
    return JSONResponse({"ready": ready, **report}, status_code=200 if ready else 503)


def _queue_length(url: str) -> int | None:
    if url.startswith(("redis://", "rediss://")):
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            return int(client.llen(QUEUE))
        finally:
            client.close()
    if url.startswith("sqla+sqlite:///") and Path(url.removeprefix("sqla+sqlite:///")).is_file():
        engine = create_engine(url.removeprefix("sqla+"))
        try:
            with engine.connect() as connection:
                query = text("SELECT count(*) FROM kombu_message m JOIN kombu_queue q "
                             "ON q.id = m.queue_id WHERE q.name = :q AND m.visible")
                return int(connection.execute(query.bindparams(q=QUEUE)).scalar_one())
        except Exception:  # tables appear with the first message
            return 0
        finally:
            engine.dispose()
    return None


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time (correct across worker processes)."""

    def collect(self) -> Iterable[Any]:
        now = datetime.now(UTC)
        with transaction() as session:
            health = feed_queries.source_health(session)
            articles = session.execute(select(func.count(Article.id))).scalar_one()
            sightings = session.execute(select(func.count(Sighting.id))).scalar_one()
            recent_errors = session.execute(select(func.count(IngestError.id)).where(
                IngestError.occurred_at >= now - RECENT)).scalar_one()
            oldest_due = session.execute(select(func.min(Source.next_poll_at)).where(
                Source.kind == "feed", Source.status.in_(("active", "error")))).scalar_one()
            polls = _poll_history(session)
        yield GaugeMetricFamily("feedwash_articles", "Articles stored (ingested, deduplicated)",
                                value=articles)
        yield GaugeMetricFamily("feedwash_sightings", "Entries seen across all sources", value=sightings)
        dups = GaugeMetricFamily("feedwash_duplicates", "Sightings folded into an existing article",
                                 labels=["kind"])
        dups.add_metric(["exact"], sum(h.duplicates for h in health))
        yield dups
        yield from polls
        yield from self._poll_metrics(health, now, recent_errors)
        lag = max((now - oldest_due).total_seconds(), 0.0) if oldest_due else 0.0
        yield GaugeMetricFamily("feedwash_dispatch_lag_seconds",
                                "How far past its due time the most overdue feed is", value=lag)
        length = _queue_length(get_settings().resolved_broker_url())
        if length is not None:
            yield GaugeMetricFamily("feedwash_queue_length", "Tasks waiting in the broker queue",
                                    value=length)

    @staticmethod
    def _poll_metrics(health: list[feed_queries.SourceHealth], now: datetime,
                      recent_errors: int) -> Iterable[Any]:
        outcomes = GaugeMetricFamily("feedwash_sources_by_last_poll_outcome",
                                     "Feeds by the outcome of their latest poll", labels=["outcome"])
        counts = {"ok": 0, "error": 0, "never": 0, "paused": 0}
        age = GaugeMetricFamily("feedwash_source_last_success_age_seconds",
                                "Seconds since the source's last successful poll or import",
                                labels=["source_id", "kind"])
        per_source = GaugeMetricFamily("feedwash_source_articles", "Articles a source carried",
                                       labels=["source_id"])
        for h in health:
            s = h.source
            per_source.add_metric([str(s.id)], h.articles)
            if h.last_success is not None:
                age.add_metric([str(s.id), s.kind], (now - h.last_success).total_seconds())
            if s.kind != "feed":
                continue
            if s.status == "paused":
                counts["paused"] += 1
            elif s.last_polled_at is None:
                counts["never"] += 1
            else:
                counts["error" if s.status == "error" else "ok"] += 1
        for outcome, n in counts.items():
            outcomes.add_metric([outcome], n)
        yield outcomes
        yield age
        yield per_source
        yield GaugeMetricFamily("feedwash_ingest_errors_recent",
                                "Ingest errors recorded in the last 24 hours", value=recent_errors)


def _poll_history(session: Any) -> list[Any]:
    """Poll outcomes, fetch latency and bytes over the fetch log. The log keeps the newest
    FEEDWASH_FETCH_LOG_KEEP polls per source, so these are gauges over that window (they may go
    down as old rows are pruned), not lifetime counters."""
    window = "over the newest FEEDWASH_FETCH_LOG_KEEP polls of each source"
    by_outcome = GaugeMetricFamily("feedwash_polls", f"Feed polls by outcome, {window}",
                                   labels=["outcome"])
    counts = dict.fromkeys(("ok", "not-modified", "error", "busy"), 0)
    counts.update(session.execute(
        select(FetchLog.outcome, func.count(FetchLog.id)).group_by(FetchLog.outcome)).all())
    for outcome, n in counts.items():
        by_outcome.add_metric([outcome], n)
    received, saved, new = session.execute(select(
        func.coalesce(func.sum(FetchLog.bytes), 0), func.coalesce(func.sum(FetchLog.bytes_saved), 0),
        func.coalesce(func.sum(FetchLog.new_entries), 0))).one()
    timed = FetchLog.fetch_ms.is_not(None)
    bucket_counts = session.execute(select(
        *(func.count(FetchLog.id).filter(FetchLog.fetch_ms <= le * 1000) for le in FETCH_BUCKETS),
        func.count(FetchLog.id), func.coalesce(func.sum(FetchLog.fetch_ms), 0) / 1000.0).where(timed)).one()
    latency = GaugeHistogramMetricFamily(
        "feedwash_fetch_seconds", f"Feed fetch latency (request to end of body), {window}")
    buckets = [(str(le), n) for le, n in zip(FETCH_BUCKETS, bucket_counts, strict=False)]
    latency.add_metric([], [*buckets, ("+Inf", bucket_counts[-2])], gsum_value=float(bucket_counts[-1]))
    return [
        by_outcome, latency,
        GaugeMetricFamily("feedwash_fetched_bytes", f"Feed bytes received, {window}", value=received),
        GaugeMetricFamily("feedwash_bytes_saved_by_304", "Bytes not transferred thanks to 304s (the "
                          f"size of the source's last full response), {window}", value=saved),
        GaugeMetricFamily("feedwash_polled_articles_new", f"New articles ingested by polls, {window}",
                          value=new),
    ]


_registry = CollectorRegistry()
_registry.register(DatabaseCollector())


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(generate_latest(_registry), media_type=CONTENT_TYPE_LATEST)
