"""What writing a poll's LSH band rows costs SQLite once the store is large (issue 2).

    .venv/bin/python benchmarks/band_writes_at_scale.py [--articles 100000] [--page-sizes 4096 16384]

benchmarks/ingest.py starts from an empty database, where the band key b-tree is small and each
commit rewrites few pages. Here an `article_bands` table of the shipped shape (WITHOUT ROWID,
key (band, hash, article_id), 32 random band hashes per article) first holds --articles stored
articles' rows, then takes three polls of 200 new articles (6,400 rows each, one transaction
each) in WAL mode with synchronous=NORMAL and the workers' 8 MiB cache, for each page size. A
random key lands on a random leaf page, so a commit writes a page per row to the WAL once the
tree has many more leaves than a poll has rows. Prints the WAL bytes and the CPU of the inserts
with their commits, and of one checkpoint afterwards, per article. Only the band table is here:
the article rows themselves are appended in rowid order and do not grow this way.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import tempfile
import time

BANDS = 32
POLLS, PER_POLL = 3, 200
TABLE = ("CREATE TABLE article_bands (band SMALLINT NOT NULL, hash BIGINT NOT NULL,"
         " article_id INTEGER NOT NULL, PRIMARY KEY (band, hash, article_id)) WITHOUT ROWID")
INSERT = "INSERT INTO article_bands (band, hash, article_id) VALUES (?, ?, ?)"


def band_rows(rng: random.Random, first: int, count: int) -> list[tuple[int, int, int]]:
    return [(band, rng.getrandbits(64) - 2**63, article)
            for article in range(first, first + count) for band in range(BANDS)]


def build(path: str, page_size: int, articles: int) -> None:
    """The stored articles' rows, loaded without a journal (not measured)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute(f"PRAGMA page_size={page_size}")
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA cache_size=-262144")
    con.execute(TABLE)
    con.execute("BEGIN")
    con.executemany(INSERT, band_rows(random.Random(1), 1, articles))
    con.execute("COMMIT")
    con.close()


def polls(path: str, articles: int) -> tuple[int, float, float]:
    """WAL bytes, CPU seconds of the polls (inserts and commits), CPU seconds of the checkpoint."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA cache_size=-8192")
    con.execute("PRAGMA wal_autocheckpoint=0")  # the checkpoint is measured on its own
    con.execute("SELECT count(*) FROM article_bands").fetchone()  # the file in the OS cache
    rng = random.Random(2)
    started = time.process_time()
    for poll in range(POLLS):
        con.execute("BEGIN IMMEDIATE")
        con.executemany(INSERT, band_rows(rng, articles + 1 + poll * PER_POLL, PER_POLL))
        con.execute("COMMIT")
    inserts = time.process_time() - started
    wal = os.path.getsize(path + "-wal")
    started = time.process_time()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    checkpoint = time.process_time() - started
    con.close()
    return wal, inserts, checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000, help="stored articles (default 100000)")
    parser.add_argument("--page-sizes", type=int, nargs="+", default=[4096, 16384])
    parser.add_argument("--runs", type=int, default=2, help="runs per page size (default 2)")
    args = parser.parse_args()
    new = POLLS * PER_POLL
    print(f"{args.articles:,} stored articles ({args.articles * BANDS:,} band rows), then "
          f"{POLLS} polls of {PER_POLL} new articles; per new article:")
    print("| page size | WAL KiB | inserts + commits, CPU ms | checkpoint, CPU ms |")
    print("|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="feedwash-bands-") as folder:
        for page_size in args.page_sizes:
            base = os.path.join(folder, f"bands-{page_size}.db")
            build(base, page_size, args.articles)
            for _ in range(args.runs):
                trial = base + ".trial"
                shutil.copy(base, trial)
                wal, inserts, checkpoint = polls(trial, args.articles)
                print(f"| {page_size:,} | {wal / new / 1024:.0f} | {inserts * 1000 / new:.3f} "
                      f"| {checkpoint * 1000 / new:.3f} |", flush=True)
                for leftover in (trial, trial + "-wal", trial + "-shm"):
                    if os.path.exists(leftover):
                        os.remove(leftover)
            os.remove(base)


if __name__ == "__main__":
    main()
