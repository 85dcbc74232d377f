"""Load and soak (issue 7): N sources on one local generator server, real Celery workers and
beat over a private Redis, a throwaway PostgreSQL database; samples every few seconds.

    PYTHONPATH=$PWD python benchmarks/soak.py --sources 10000 --minutes 30 --workers 2 \
        --json docs/reliability-soak.json --chart docs/reliability-soak.png

The generator server (one process) serves /feed/<n>.xml: n % 10 == 0 fails (500, or 404 for
n % 20 == 10), n % 10 in 1..3 changes every minute (a new item per minute, 5 items), the rest are
static and answer 304 to their ETag. Beat dispatches every --dispatch-seconds, --batch sources at
a time; intervals are clamped to [--min-interval, --max-interval] minutes so sources come due
again during the run. Samples: polls (fetch_log rows), queue length (Redis LLEN), queue lag (age
of the oldest claimed-but-not-yet-polled source), database size, each worker process's RSS and
CPU. Prints a JSON summary; optionally writes the samples as JSON and a PNG chart.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ingest_text import sentence  # noqa: E402 - after the path tweak
from tests.faults.harness import (  # noqa: E402
    Proc,
    RedisServer,
    celery_beat,
    celery_worker,
    feedwash_env,
)

CLK_TCK = os.sysconf("SC_CLK_TCK")
WIRE_EVERY = 20  # one story in 20 is a wire story that every feed posting that minute reprints


def story_html(n: int, k: int) -> str:
    """Story k of feed n: its own text (the same on every fetch), ~1 KB of Chinese/English news
    HTML with an inline style and a script. One story in WIRE_EVERY is wire copy: the text of
    wire story k, shared by every feed that carries it, under the feed's own intro line; those
    reprints are near duplicates and form clusters, as agency copy does."""
    wire = (n + k) % WIRE_EVERY == 0
    rng = random.Random(f"wire-{k}" if wire else f"story-{n}-{k}")
    paragraphs = "".join(
        f"<p style='text-indent:2em'>\u3000\u3000{sentence(rng, k)}{sentence(rng, k)}{sentence(rng, k)}</p>"
        for _ in range(4))
    intro = f"<p>Feed {n} ({'wire copy' if wire else 'own reporting'}), story {k}.</p>"
    return f"<div class='article'>{intro}{paragraphs}<script>track()</script></div>"


def feed_body(n: int, minute: int, changing: bool, base: str) -> bytes:
    now = datetime.now(UTC)
    newest = minute if changing else 0
    items = "".join(
        f"<item><title>Feed {n} story {k}</title><guid>feed-{n}-story-{k}</guid>"
        f"<link>{base}/article/{n}/{k}.html</link>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=newest - k))}</pubDate>"
        f"<description><![CDATA[{story_html(n, k)}]]></description></item>"
        for k in range(newest, newest - 5, -1))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Soak feed {n}</title><link>{base}/</link>{items}"
            f"</channel></rss>").encode()


def serve(port_queue: Any) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle(self) -> None:
            with contextlib.suppress(ConnectionResetError):  # a worker closed its connection
                super().handle()

        def do_GET(self) -> None:
            if self.path.startswith("/article/"):  # a full-text fetch: the story as a web page
                parts = self.path.removeprefix("/article/").removesuffix(".html").split("/")
                n, k = (int(part) for part in parts)
                page = f"<html><head><title>Story {k}</title></head><body><article>{story_html(n, k)}"
                return self._send(200, f"{page}</article></body></html>".encode(), content_type="text/html")
            try:
                n = int(self.path.removeprefix("/feed/").removesuffix(".xml"))
            except ValueError:
                return self._send(404, b"")
            if n % 10 == 0:
                return self._send(404 if n % 20 == 10 else 500, b"broken on purpose")
            changing = n % 10 in (1, 2, 3)
            minute = int(time.time() // 60)
            etag = f'"{n}-{minute if changing else 0}"'
            if self.headers.get("If-None-Match") == etag:
                return self._send(304, b"", etag)
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            return self._send(200, feed_body(n, minute, changing, base), etag)

        def _send(self, status: int, body: bytes, etag: str | None = None,
                  content_type: str = "application/rss+xml") -> None:
            self.send_response(status)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            if etag:
                self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


# ---- sampling --------------------------------------------------------------------------------

def process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            todo.extend(int(c) for c in task.read_text().split())
    return pids


def rss_and_cpu(pid: int) -> tuple[float, float]:
    """(RSS in MB, CPU seconds) of one process."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return rss / 1024, (int(stat[11]) + int(stat[12])) / CLK_TCK


def sample(workers: list[Proc], redis_url: str, lease_seconds: int, started: float) -> dict[str, Any]:
    import redis
    from sqlalchemy import func, select, text

    from worker.storage.db import transaction
    from worker.storage.models import Article, FetchLog, Source

    now = datetime.now(UTC)
    with transaction() as session:
        outcomes = dict(session.execute(
            select(FetchLog.outcome, func.count()).group_by(FetchLog.outcome)).all())
        articles = session.execute(select(func.count(Article.id))).scalar_one()
        clustered, clusters = session.execute(select(
            func.count(Article.cluster_id), func.count(func.distinct(Article.cluster_id)))).one()
        oldest_claim = session.execute(select(func.min(Source.next_poll_at)).where(
            Source.next_poll_reason == "queued for polling")).scalar_one()
        overdue = session.execute(select(func.min(Source.next_poll_at)).where(
            Source.next_poll_reason != "queued for polling", Source.status.in_(("active", "error")),
            Source.kind == "feed")).scalar_one()
        db_bytes = session.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        backends = session.execute(text(  # PostgreSQL runs on this machine: read its CPU too
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")).scalars().all()
        tables = dict(session.execute(text(
            "SELECT relname, pg_total_relation_size(relid) FROM pg_catalog.pg_statio_user_tables")).all())
    lag = (now - (oldest_claim - timedelta(seconds=lease_seconds))).total_seconds() if oldest_claim else 0.0
    procs = []
    for worker in workers:
        for pid in process_tree(worker.popen.pid):
            rss, cpu = rss_and_cpu(pid)
            procs.append({"worker": worker.name, "pid": pid, "rss_mb": round(rss, 1), "cpu_s": round(cpu, 2)})
    return {
        "t": round(time.monotonic() - started, 1), "polls": sum(outcomes.values()), "outcomes": outcomes,
        "articles": articles, "clustered_articles": clustered, "clusters": clusters,
        "queue_length": redis.Redis.from_url(redis_url).llen("feedwash"),
        "queue_lag_s": round(max(lag, 0.0), 1),
        "oldest_due_overdue_s": round(max((now - overdue).total_seconds(), 0.0), 1) if overdue else 0.0,
        "db_bytes": db_bytes, "table_bytes": tables, "processes": procs,
        "postgres_cpu_s": round(sum(rss_and_cpu(pid)[1] for pid in backends), 2),
    }


# ---- the run ---------------------------------------------------------------------------------

def add_sources(count: int, port: int) -> None:
    from sqlalchemy import insert

    from worker.storage.db import transaction
    from worker.storage.models import Source

    now = datetime.now(UTC)
    rows = [{"kind": "feed", "url": f"http://127.0.0.1:{port}/feed/{n}.xml", "status": "active",
             "interval_minutes": 10, "created_at": now, "next_poll_at": now, "error_count": 0,
             "redirect_streak": 0} for n in range(count)]
    with transaction() as session:
        for start in range(0, count, 1000):
            session.execute(insert(Source), rows[start:start + 1000])


def summarise(samples: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    first, last = samples[0], samples[-1]
    minutes = (last["t"] - first["t"]) / 60
    polls = last["polls"] - first["polls"]
    cpu = sum(p["cpu_s"] for p in last["processes"]) - sum(p["cpu_s"] for p in first["processes"])
    worker_rss = [sum(p["rss_mb"] for p in s["processes"] if p["worker"] == w)
                  for s in samples for w in {p["worker"] for p in s["processes"]}]
    grown = last["db_bytes"] - first["db_bytes"]
    new_articles = last["articles"] - first["articles"]
    tail = samples[len(samples) // 2:]  # after warm-up: is memory still growing?
    per_worker_tail = {w: [sum(p["rss_mb"] for p in s["processes"] if p["worker"] == w) for s in tail]
                       for w in {p["worker"] for p in last["processes"]}}
    return {
        "sources": args.sources, "workers": args.workers, "minutes": round(minutes, 1),
        "cpus": os.cpu_count(), "polls": polls, "polls_per_minute": round(polls / minutes) if minutes else 0,
        "outcomes": last["outcomes"], "articles": last["articles"],
        "clustered_articles": last.get("clustered_articles"), "clusters": last.get("clusters"),
        "worker_cpu_ms_per_poll": round(cpu / polls * 1000, 1) if polls else None,
        # Backends of this database only; a backend that closed takes its CPU with it (a floor).
        "postgres_cpu_ms_per_poll": round((last.get("postgres_cpu_s", 0) - first.get("postgres_cpu_s", 0))
                                          / polls * 1000, 1) if polls else None,
        "max_queue_length": max(s["queue_length"] for s in samples),
        "max_queue_lag_s": max(s["queue_lag_s"] for s in samples),
        "db_bytes_start": first["db_bytes"], "db_bytes_end": last["db_bytes"],
        "db_bytes_per_1000_articles": round(grown / new_articles * 1000) if new_articles else None,
        "table_bytes_end": last["table_bytes"],
        "worker_rss_mb_max": round(max(worker_rss), 1) if worker_rss else None,
        "worker_rss_mb_second_half": {w: [round(min(v), 1), round(max(v), 1)]
                                      for w, v in per_worker_tail.items()},
    }


def chart(samples: list[dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [s["t"] / 60 for s in samples]
    fig, axes = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    rates = [0.0] + [(b["polls"] - a["polls"]) / ((b["t"] - a["t"]) / 60)
                     for a, b in itertools.pairwise(samples)]
    axes[0].plot(minutes, rates)
    axes[0].set_ylabel("polls per minute")
    axes[1].plot(minutes, [s["queue_lag_s"] for s in samples], label="queue lag (s)")
    axes[1].plot(minutes, [s["queue_length"] for s in samples], label="queue length")
    axes[1].legend()
    for worker in sorted({p["worker"] for s in samples for p in s["processes"]}):
        axes[2].plot(minutes, [sum(p["rss_mb"] for p in s["processes"] if p["worker"] == worker)
                               for s in samples], label=f"{worker} RSS (main + pool)")
    axes[2].set_ylabel("MB")
    axes[2].set_ylim(bottom=0)
    axes[2].legend()
    axes[2].set_xlabel("minutes")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=10000)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dispatch-seconds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--min-interval", type=int, default=10)
    parser.add_argument("--max-interval", type=int, default=15)
    parser.add_argument("--sample-seconds", type=float, default=15)
    parser.add_argument("--json", type=Path, help="write every sample and the summary here")
    parser.add_argument("--chart", type=Path, help="write a PNG chart here")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs (printed path)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # `kill` still cleans up (finally)

    from sqlalchemy import create_engine, text

    pg_server = os.environ.get("FEEDWASH_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
    name = f"feedwash_bench_soak_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{pg_server}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    work = Path(tempfile.mkdtemp(prefix="feedwash-soak-"))
    database_url = f"{pg_server}/{name}"
    os.environ.update(FEEDWASH_DATABASE_URL=database_url, FEEDWASH_DATA_DIR=str(work / "data"))
    ctx = mp.get_context("spawn")
    ports = ctx.Queue()
    server = ctx.Process(target=serve, args=(ports,), daemon=True)
    server.start()
    redis_server = RedisServer(work)
    redis_server.start()
    procs: list[Proc] = []
    samples: list[dict[str, Any]] = []
    try:
        port = ports.get(timeout=30)
        from worker.storage.migrate import upgrade

        upgrade(database_url)
        add_sources(args.sources, port)
        env = feedwash_env(database_url, redis_server.url(), work / "data",
                           FEEDWASH_DISPATCH_INTERVAL_SECONDS=str(args.dispatch_seconds),
                           FEEDWASH_DISPATCH_BATCH_SIZE=str(args.batch),
                           FEEDWASH_MIN_INTERVAL_MINUTES=str(args.min_interval),
                           FEEDWASH_MAX_INTERVAL_MINUTES=str(args.max_interval),
                           FEEDWASH_MAX_REQUESTS_PER_HOST="8")  # one host serves every feed
        workers = [celery_worker(f"worker-{i + 1}", env, work) for i in range(args.workers)]
        procs.extend(workers)
        procs.append(celery_beat("beat", env, work))
        started = time.monotonic()
        deadline = started + args.minutes * 60
        while time.monotonic() < deadline:
            samples.append(sample(workers, redis_server.url(), 15 * 60, started))
            print(json.dumps({k: samples[-1][k] for k in ("t", "polls", "articles", "queue_length",
                                                          "queue_lag_s")}), flush=True)
            time.sleep(args.sample_seconds)
        samples.append(sample(workers, redis_server.url(), 15 * 60, started))
        summary = summarise(samples, args)
        print(json.dumps(summary, indent=2))
        if args.json:
            args.json.write_text(json.dumps({"summary": summary, "samples": samples}, indent=1))
        if args.chart:
            chart(samples, args.chart, f"soak: {args.sources:,} sources, {args.workers} workers, "
                                       f"{summary['minutes']} min (PostgreSQL + Redis, 2-core VM)")
    finally:
        for proc in procs:
            proc.stop()
        redis_server.kill()
        server.terminate()
        from worker.storage.db import dispose_engines

        dispose_engines()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        if args.keep_logs:
            print(f"logs kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
