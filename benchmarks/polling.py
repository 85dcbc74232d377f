"""Polling benchmark (issue 3): N sources on one local server process, 2 worker processes.

    PYTHONPATH=$PWD python benchmarks/polling.py [--sources 2000] [--items 10] [--workers 2]

Creates a throwaway PostgreSQL database (FEEDWASH_BENCH_PG, default
postgresql+psycopg://postgres@127.0.0.1:5432), adds the sources, then measures two passes:
  200 path: every feed is new (fetch, archive, parse, clean, store, schedule);
  304 path: every feed answers 304 to the stored ETag (fetch, bookkeeping, fetch_log row).
Each worker process claims batches of due sources with repo.claim_due_feeds (the dispatcher's
lease query) and runs ingest.poll_source on them. Reports polls per minute (wall clock), worker
CPU per poll and peak RSS per worker. Not a test: figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ingest_text import sentence  # noqa: E402 - after the path tweak


def story_html(n: int, i: int) -> str:
    """Story i of feed n: its own text, ~1.3 KB of Chinese/English news HTML. (A single template
    paragraph made every article a near duplicate of every other: one giant cluster, and two
    workers taking turns on the same near-duplicate band locks instead of polling.)"""
    rng = random.Random(f"story-{n}-{i}")
    paragraphs = "".join(f"<p style='text-indent:2em'>\u3000\u3000{sentence(rng, i)}{sentence(rng, i)}</p>"
                         for _ in range(3))
    return f"<div class='article'>{paragraphs}<p>Feed {n}, story {i}.</p><script>track()</script></div>"


def feed_body(n: int, items: int) -> bytes:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    entries = "".join(
        f"<item><title>Feed {n} story {i}</title><guid>feed-{n}-story-{i}</guid>"
        f"<link>https://news.example/{n}/{i}</link>"
        f"<pubDate>{format_datetime(now - timedelta(hours=3 * (i + 1)))}</pubDate>"
        f"<description><![CDATA[{story_html(n, i)}]]></description></item>" for i in range(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Bench feed {n}</title><link>https://news.example/{n}/</link>"
            f"{entries}</channel></rss>").encode()


def serve(port_queue: Any, items: int) -> None:
    cache: dict[int, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            try:
                n = int(self.path.removeprefix("/feed/").removesuffix(".xml"))
            except ValueError:
                self.send_error(404)
                return
            etag = f'"feed-{n}-v1"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = cache.setdefault(n, feed_body(n, items))
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
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


def worker(results: Any, ready: Any, go: Any, batch: int, profile_to: str | None = None) -> None:
    from worker import ingest, poll  # noqa: F401 (imported before the clock starts)
    from worker.gctuning import tune_for_ingest
    from worker.storage import repo
    from worker.storage.db import transaction

    with transaction() as session:  # connect before the clock starts
        repo.count_articles(session)
    tune_for_ingest()  # as a Celery worker process does (worker/gctuning.py)
    polls, statuses = 0, {}
    ready.put(os.getpid())
    go.wait()
    profiler = None
    if profile_to:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU, not time spent waiting on PG
        profiler.enable()
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    while True:
        with transaction() as session:
            ids = repo.claim_due_feeds(session, ingest.utcnow(), batch, timedelta(minutes=15))
        if not ids:
            break
        for source_id in ids:
            report = ingest.poll_source(source_id)
            statuses[report.status] = statuses.get(report.status, 0) + 1
            polls += 1
    usage = resource.getrusage(resource.RUSAGE_SELF)
    if profiler is not None and profile_to:
        profiler.disable()
        profiler.dump_stats(profile_to)
    cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
    results.put({"polls": polls, "statuses": statuses, "cpu": cpu,
                 "seconds": time.perf_counter() - started, "max_rss_kb": usage.ru_maxrss})


def run_pass(ctx: Any, workers: int, batch: int, profile_to: str | None = None) -> dict[str, Any]:
    """`profile_to`: the first worker runs under cProfile and dumps its stats there (its CPU
    figure then includes the profiler's overhead)."""
    results, ready, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=worker, args=(results, ready, go, batch, profile_to if i == 0 else None))
             for i in range(workers)]
    for proc in procs:
        proc.start()
    for _ in procs:  # imports and connections are not what is measured
        ready.get(timeout=120)
    go.set()
    outcomes = [results.get() for _ in procs]
    for proc in procs:
        proc.join()
    wall = max(o["seconds"] for o in outcomes)
    polls = sum(o["polls"] for o in outcomes)
    statuses: dict[str, int] = {}
    for o in outcomes:
        for key, value in o["statuses"].items():
            statuses[key] = statuses.get(key, 0) + value
    return {
        "polls": polls, "statuses": statuses, "wall_seconds": round(wall, 2),
        "polls_per_minute": round(polls / wall * 60),
        "worker_cpu_ms_per_poll": round(sum(o["cpu"] for o in outcomes) / polls * 1000, 2),
        "peak_rss_mb_per_worker": round(max(o["max_rss_kb"] for o in outcomes) / 1024, 1),
    }


def print_profile(label: str, path: str, top: int = 40) -> None:
    import pstats

    for order in ("tottime", "cumulative"):
        print(f"==== {label}: one worker's polls, top {top} by {order} ====", file=sys.stderr)
        pstats.Stats(path, stream=sys.stderr).strip_dirs().sort_stats(order).print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--items", type=int, default=10, help="items per feed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=20, help="sources claimed per dispatch")
    parser.add_argument("--profile", action="store_true",
                        help="run one worker's polls under cProfile; print its top functions per pass")
    args = parser.parse_args()

    from sqlalchemy import create_engine, text, update

    pg_server = os.environ.get("FEEDWASH_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
    name = f"feedwash_bench_polling_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{pg_server}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    data_dir = tempfile.mkdtemp(prefix="feedwash-bench-")
    os.environ.update(FEEDWASH_DATABASE_URL=f"{pg_server}/{name}", FEEDWASH_DATA_DIR=data_dir,
                      FEEDWASH_ALLOW_PRIVATE_NETWORKS="1")
    ctx = mp.get_context("spawn")  # children read the environment afresh
    ports = ctx.Queue()
    server = ctx.Process(target=serve, args=(ports, args.items), daemon=True)
    server.start()
    try:
        port = ports.get(timeout=30)
        from worker import ingest
        from worker.storage import repo
        from worker.storage.db import get_engine, transaction
        from worker.storage.migrate import upgrade
        from worker.storage.models import Source

        upgrade(os.environ["FEEDWASH_DATABASE_URL"])
        with transaction() as session:
            for n in range(args.sources):
                repo.ensure_source(session, "feed", f"http://127.0.0.1:{port}/feed/{n}.xml", ingest.utcnow())
        profiles = [os.path.join(data_dir, f"pass{n}.prof") if args.profile else None for n in (1, 2)]
        first = run_pass(ctx, args.workers, args.batch, profiles[0])
        with transaction() as session:  # everything due again; ETags are stored now
            session.execute(update(Source).values(next_poll_at=ingest.utcnow()))
        second = run_pass(ctx, args.workers, args.batch, profiles[1])
        for label, path in zip(("200 path", "304 path"), profiles, strict=True):
            if path:
                print_profile(label, path)
        get_engine().dispose()
        print(json.dumps({"sources": args.sources, "items_per_feed": args.items, "workers": args.workers,
                          "cpus": os.cpu_count(), "200_path": first, "304_path": second}, indent=2))
    finally:
        server.terminate()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
