"""What a new article costs on disk, and what writing fewer of those bytes would save (issue 2).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/storage_bytes.py [--feeds 5] [--items 200] [--rounds 0]

Accounting: the first poll of benchmarks/ingest.py's feeds (production `poll_source`, only the
HTTP fetch stubbed) into a fresh SQLite database, then, after a checkpoint, SQLite's `dbstat`
virtual table (sqlite3_analyzer's source) per table and index, the average stored size of each
column, and the bytes the process handed to write() during the polls (Linux /proc/self/io:
the WAL frames and the checkpoint's copy of them).

With --rounds N, an A/B of the write path on the same cleaned entries: one sample is one feed's
first-poll transaction (archive_payload, bulk.store_articles in chunks of 100, commit with its
checkpoint) into a copy of a migrated database; the variants alternate sample by sample in one
process (the VM's speed drifts), CPU time per article, medians and the paired differences.
The raw body (`articles.raw_html`) as stored, left out (a diagnosis: what its bytes cost), or
compressed per row with brotli quality 1 or zlib level 1 (what compressing it would net).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import brotli

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# benchmarks.ingest first: it points the settings at a scratch folder before worker is imported
import benchmarks.ingest as bench
from worker.gctuning import tune_for_ingest
from worker.settings import get_settings
from worker.storage import bulk, db, polling, repo
from worker.storage.db import transaction
from worker.storage.migrate import upgrade

RAW_BODY: dict[str, Callable[[str], Any] | None] = {
    "as stored": None,
    "left out (diagnosis)": lambda raw: None,
    "brotli q1": lambda raw: brotli.compress(raw.encode(), quality=1),
    "zlib 1": lambda raw: zlib.compress(raw.encode(), 1),
}
ARTICLE_VALUES = repo.article_values


def written_bytes() -> int:
    """Bytes this process passed to write() so far (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def use_database(path: Path) -> str:
    url = f"sqlite:///{path}"
    os.environ["FEEDWASH_DATABASE_URL"] = url
    get_settings.cache_clear()
    return url


def drop_engine(url: str) -> None:
    db.get_engine(url).dispose()
    db._engines.pop(url, None)


def first_poll(feeds: dict[str, bytes], path: Path) -> tuple[int, list[tuple[Any, list[Any]]]]:
    """Poll every feed once into a fresh database at `path`; (bytes written while polling, the
    archive_payload arguments and store_articles calls of each feed, for the replay)."""
    url = use_database(path)
    upgrade(url)
    source_ids = bench.add_sources(list(feeds))
    store, archive = bulk.store_articles, polling.archive_payload
    work: list[tuple[Any, list[Any]]] = []

    def recorded_archive(session: Any, *args: Any) -> None:
        work.append((args, []))
        archive(session, *args)

    def recorded_store(session: Any, *args: Any) -> Any:
        work[-1][1].append((*args[:2], list(args[2]), args[3]))
        return store(session, *args)

    bulk.store_articles, polling.archive_payload = recorded_store, recorded_archive  # type: ignore[assignment]
    try:
        with bench.patched(feeds, None):
            before = written_bytes()
            bench.poll_all(source_ids)
            written = written_bytes() - before
    finally:
        bulk.store_articles, polling.archive_payload = store, archive  # type: ignore[assignment]
    drop_engine(url)
    return written, work


def account(path: Path, written: int) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    n = con.execute("SELECT count(*) FROM articles").fetchone()[0]
    rows = con.execute("SELECT name, count(*), sum(pgsize), sum(payload), sum(unused) FROM dbstat"
                       " GROUP BY name HAVING sum(payload) > 0 ORDER BY 3 DESC").fetchall()
    total = sum(r[2] for r in rows)
    print(f"## {n} articles: {path.stat().st_size / n:,.0f} bytes of database file per article; "
          f"{written / n:,.0f} bytes written per article during the polls (WAL + checkpoint)\n")
    print("| table or index | pages | bytes per article | payload | unused in its pages |")
    print("|---|---:|---:|---:|---:|")
    for name, pages, size, payload, unused in rows:
        print(f"| {name} | {pages:,} | {size / n:,.0f} | {payload / n:,.0f} | {unused / n:,.0f} |")
    print(f"| **all** | | **{total / n:,.0f}** | | |\n")
    for table in ("articles", "sightings", "article_versions", "article_bands", "raw_payloads", "fetch_log"):
        count = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        info = con.execute(f"PRAGMA table_info({table})").fetchall()
        keys = [r for r in info if r[5]]
        rowid = keys[0][1] if len(keys) == 1 and keys[0][2].upper() == "INTEGER" else None
        columns = [r[1] for r in info if r[1] != rowid]  # the rowid lives in the cell, not the record
        sizes = [(c, con.execute(f"SELECT sum({stored_size(c)}) FROM {table}").fetchone()[0] or 0)
                 for c in columns]
        listed = ", ".join(f"{c} {s / n:,.0f}" for c, s in sorted(sizes, key=lambda x: -x[1]) if s)
        print(f"- `{table}` ({count:,} rows), stored bytes per article by column: {listed}")
    con.close()


def stored_size(column: str) -> str:
    """SQL for the bytes a value takes in SQLite's record format (its header byte aside): text
    and blobs their length, an integer 0-8 bytes by its magnitude (0 and 1 none), a real 8."""
    magnitude = f"abs({column})"
    return (f"CASE typeof({column}) WHEN 'null' THEN 0 WHEN 'real' THEN 8 WHEN 'integer' THEN CASE"
            f" WHEN {column} IN (0, 1) THEN 0 WHEN {magnitude} < 128 THEN 1 WHEN {magnitude} < 32768 THEN 2"
            f" WHEN {magnitude} < 8388608 THEN 3 WHEN {magnitude} < 2147483648 THEN 4"
            f" WHEN {magnitude} < 140737488355328 THEN 6 ELSE 8 END ELSE length(CAST({column} AS BLOB)) END")


Feed = tuple[Any, list[Any]]  # archive_payload's arguments, store_articles' calls


def replay_sample(template: Path, folder: Path, feed: Feed, raw_body: Callable[[str], Any] | None,
                  serial: int) -> float:
    """CPU seconds of one feed's first-poll transaction into a copy of `template`."""
    path = folder / f"sample{serial}.db"
    shutil.copyfile(template, path)
    url = use_database(path)
    if raw_body is not None:
        def values(article: Any, now: Any) -> dict[str, object]:
            found = ARTICLE_VALUES(article, now)
            found["raw_html"] = raw_body(str(found["raw_html"]))
            return found
        repo.article_values = values  # type: ignore[assignment]
    try:
        with transaction() as session:  # connect before the clock starts
            session.connection().exec_driver_sql("SELECT 1")
        archive_args, calls = feed
        start = time.process_time()
        with transaction() as session:
            polling.archive_payload(session, *archive_args)
            for source_id, source_url, pending, now in calls:
                bulk.store_articles(session, source_id, source_url, pending, now)
        return time.process_time() - start
    finally:
        repo.article_values = ARTICLE_VALUES  # type: ignore[assignment]
        drop_engine(url)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def ab(feeds: dict[str, bytes], work: list[Feed], folder: Path, rounds: int, items: int) -> None:
    template = folder / "template.db"
    upgrade(use_database(template))
    bench.add_sources(list(feeds))
    drop_engine(f"sqlite:///{template}")
    cpu: dict[str, list[float]] = {name: [] for name in RAW_BODY}
    serial = 0
    for round_no in range(rounds):
        order = list(RAW_BODY)
        random.shuffle(order)
        for name in order:
            serial += 1
            feed = work[round_no % len(work)]
            cpu[name].append(replay_sample(template, folder, feed, RAW_BODY[name], serial))
    print(f"\n## The raw body's bytes, {rounds} alternated samples of one {items}-item feed's transaction\n")
    print("| articles.raw_html | CPU ms per article (median) | paired difference (median)"
          " | interquartile range |")
    print("|---|---:|---:|---:|")
    base = cpu["as stored"]
    for name, seconds in cpu.items():
        diffs = sorted(1000 * (s - b) / items for s, b in zip(seconds, base, strict=True))
        q = len(diffs) // 4
        print(f"| {name} | {1000 * statistics.median(seconds) / items:.3f} | {statistics.median(diffs):+.4f} "
              f"| {diffs[q]:+.4f} to {diffs[-q - 1]:+.4f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--feeds", type=int, default=5)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=0, help="A/B samples per variant (0: accounting only)")
    args = parser.parse_args(argv)
    tune_for_ingest()
    feeds = {f"{bench.FEED_BASE}/{n}.rss": bench.feed_bytes(n, args.items) for n in range(args.feeds)}
    with tempfile.TemporaryDirectory(prefix="feedwash-bytes-") as name:
        folder = Path(name)
        written, work = first_poll(feeds, folder / "bench.db")
        account(folder / "bench.db", written)
        if args.rounds:
            ab(feeds, work, folder, args.rounds, args.items)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
