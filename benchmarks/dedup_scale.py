"""Does ingesting one article cost the same with 1k, 10k and 100k stored? (docs/dedup.md "Scale")

    PYTHONPATH=. python benchmarks/dedup_scale.py [--sizes 1000,10000,100000] [--backends sqlite,postgresql]

One database per backend grows through the sizes: synthetic articles with their LSH band rows
and sightings are bulk-loaded (SQLite executemany, PostgreSQL COPY), then PROBES articles are
stored one transaction each through repo.store_article, the production path: tombstone check,
sighting lookup, content-hash lookup, canonical-URL lookup, insert, first version, MinHash,
band-candidate lookup, cluster join, band insert, sighting upsert. Half the probes are near
duplicates of stored articles (so candidate verification and clustering are exercised), half
are new stories. Prints the median and 90th percentile per article.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from worker.core import neardup
from worker.core.pipeline import clean_entry
from worker.core.types import CleanArticle, ParsedEntry
from worker.settings import get_settings
from worker.storage import db as storage_db
from worker.storage import repo
from worker.storage.migrate import upgrade

PROBES = 60
REAL_ROWS = 500  # stored rows with real text and sketches: the probes' near duplicates
PG_SERVER = os.environ.get("FEEDWASH_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
# CJK ideographs: random sentences over 1,500 of them share few 5-character shingles.
POOL = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 1500))


def story(rng: random.Random, chars: int) -> str:
    sentences = []
    while sum(map(len, sentences)) < chars:
        sentences.append("".join(rng.choice(POOL) for _ in range(rng.randint(12, 30))) + "。")
    return "".join(sentences)


def clean(key: str, title: str, body: str) -> CleanArticle:
    entry = ParsedEntry(entry_key=key, title=title, html=f"<p>{body}</p>", link=f"https://bench.test/{key}",
                        published=T0)
    return clean_entry(entry, [], None, 120)


def synthetic_rows(start: int, stop: int, first_id: int,
                   rng: random.Random) -> Iterator[tuple[dict[str, object], list[int]]]:
    """Article rows and their band hashes. Most rows carry random band hashes (what distinct
    articles look like to the index) and a short text; the first REAL_ROWS carry real ones."""
    for i in range(start, stop):
        if i < REAL_ROWS:
            body = story(rng, 800)
            sk = neardup.sketch(body)
            bands = neardup.band_hashes(sk.signature)
        else:
            body = f"synthetic article {i}"
            sk = neardup.Sketch(tuple(rng.getrandbits(32) for _ in range(neardup.NUM_PERM)), 600)
            bands = [rng.getrandbits(64) - (1 << 63) for _ in range(neardup.NUM_BANDS)]
        published = T0 - timedelta(minutes=i)
        yield {
            "id": first_id + i - start, "real": i < REAL_ROWS, "public_id": f"bench{i:08d}",
            "content_hash": f"v1:{uuid.UUID(int=rng.getrandbits(128)).hex}",
            "title": f"synthetic {i}", "link": f"https://bench.test/a/{i}", "author": None,
            "categories": "[]", "lead_image": None, "html": f"<p>{body}</p>", "text": body,
            "summary": body[:80],
            "cleaner_version": "bench", "removed": "{}", "published_at": published, "updated_at": published,
            "created_at": published, "canonical_url": f"https://bench.test/a/{i}", "cluster_id": None,
            "minhash": neardup.pack(sk),
        }, bands


ARTICLE_COLUMNS = ["id", "public_id", "content_hash", "title", "link", "author", "categories", "lead_image",
                   "html", "text", "summary", "cleaner_version", "removed", "published_at", "updated_at",
                   "created_at", "canonical_url", "cluster_id", "minhash"]


def bulk_load(url: str, start: int, stop: int, source_id: int, rng: random.Random) -> list[str]:
    """Insert rows [start, stop); returns the texts of the real rows (for near-duplicate probes)."""
    engine = storage_db.get_engine(url)
    with engine.connect() as connection:
        first_id = (connection.execute(text("SELECT max(id) FROM articles")).scalar() or 0) + 1
    rows = list(synthetic_rows(start, stop, first_id, rng))
    real = [str(r["text"]) for r, _ in rows if r["real"]]
    bands = [(b, h, r["id"]) for r, hashes in rows for b, h in enumerate(hashes)]
    sightings = [(r["id"], source_id, f"bench:{r['id']}", r["link"], "x", r["created_at"], r["created_at"])
                 for r, _ in rows]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if url.startswith("sqlite"):
            cursor.execute("BEGIN")
            marks = ", ".join("?" for _ in ARTICLE_COLUMNS)
            cursor.executemany(f"INSERT INTO articles ({', '.join(ARTICLE_COLUMNS)}) VALUES ({marks})",
                               [tuple(_sqlite(r[c]) for c in ARTICLE_COLUMNS) for r, _ in rows])
            cursor.executemany("INSERT INTO article_bands (band, hash, article_id) VALUES (?, ?, ?)", bands)
            cursor.executemany("INSERT INTO sightings (article_id, source_id, entry_key, url, raw_hash, "
                               "first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                               [tuple(_sqlite(v) for v in s) for s in sightings])
            cursor.execute("COMMIT")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the load's WAL is not the probes' cost
        else:
            with cursor.copy(f"COPY articles ({', '.join(ARTICLE_COLUMNS)}) FROM STDIN") as copy:
                for r, _ in rows:
                    copy.write_row([r[c] for c in ARTICLE_COLUMNS])
            with cursor.copy("COPY article_bands (band, hash, article_id) FROM STDIN") as copy:
                for row in bands:
                    copy.write_row(row)
            with cursor.copy("COPY sightings (article_id, source_id, entry_key, url, raw_hash, "
                             "first_seen_at, last_seen_at) FROM STDIN") as copy:
                for row in sightings:
                    copy.write_row(row)
            cursor.execute("SELECT setval('articles_id_seq', (SELECT max(id) FROM articles))")
            cursor.execute("SELECT setval('sightings_id_seq', (SELECT max(id) FROM sightings))")
            raw.commit()
            # Settle what a bulk load leaves behind (autovacuum, a checkpoint) before measuring:
            # otherwise the probes time the background work of 3 million fresh rows.
            driver = raw.driver_connection
            driver.autocommit = True  # type: ignore[union-attr]
            with driver.cursor() as plain:  # type: ignore[union-attr]
                plain.execute("VACUUM ANALYZE")
                plain.execute("CHECKPOINT")
            driver.autocommit = False  # type: ignore[union-attr]
    finally:
        raw.close()
    return real


def _sqlite(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    return value


def probe(url: str, real_texts: list[str], size: int, rng: random.Random) -> tuple[list[float], int]:
    """Seconds per stored article, one transaction each (commit included); clusters joined."""
    timings, joined = [], 0
    for n in range(PROBES):
        key = f"probe-{size}-{n}"
        if n % 2 and real_texts:  # a reprint: a stored story with its own intro and footer
            body = "来源：合作媒体。" + rng.choice(real_texts) + "本文为转载，如有侵权请联系删除。"
        else:
            body = story(rng, 800)
        article = clean(key, f"probe {key}", body)
        started = time.perf_counter()
        with storage_db.transaction() as session:
            source_id = repo.ensure_source(session, "feed", "https://bench.test/probe.xml", T0)
            stored = repo.store_article(session, source_id, "https://bench.test/probe.xml", article, key, T0)
        timings.append(time.perf_counter() - started)
        joined += stored.cluster_id is not None
    return timings, joined


def run_backend(name: str, sizes: list[int]) -> list[tuple[str, int, float, float, float]]:
    folder = Path(tempfile.mkdtemp(prefix="feedwash-bench-"))
    if name == "sqlite":
        url = f"sqlite:///{folder / 'bench.db'}"
        admin = None
        db_name = ""
    else:
        db_name = f"feedwash_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{db_name}"'))
        url = f"{PG_SERVER}/{db_name}"
    os.environ["FEEDWASH_DATABASE_URL"] = url
    get_settings.cache_clear()
    upgrade(url)
    rng = random.Random(5)
    results = []
    try:
        with storage_db.transaction() as session:
            source_id = repo.ensure_source(session, "feed", "https://bench.test/bulk.xml", T0)
        loaded, real = 0, []
        for size in sizes:
            started = time.perf_counter()
            real += bulk_load(url, loaded, size, source_id, rng)
            load_seconds = time.perf_counter() - started
            loaded = size
            timings, joined = probe(url, real, size, rng)
            median = statistics.median(timings) * 1000
            p90 = sorted(timings)[int(len(timings) * 0.9)] * 1000
            results.append((name, size, median, p90, load_seconds))
            print(f"{name:<10} {size:>7} stored: {median:6.2f} ms median, {p90:6.2f} ms p90 per article "
                  f"({joined}/{PROBES} joined a cluster; bulk load {load_seconds:.1f} s)", flush=True)
    finally:
        storage_db.get_engine(url).dispose()
        shutil.rmtree(folder, ignore_errors=True)
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
            admin.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    out = io.StringIO()
    out.write("| backend | stored articles | median ms / article | p90 ms / article |\n")
    out.write("|---|---:|---:|---:|\n")
    for backend in args.backends.split(","):
        for name, size, median, p90, _ in run_backend(backend, sizes):
            out.write(f"| {name} | {size:,} | {median:.2f} | {p90:.2f} |\n")
    sys.stdout.write(out.getvalue())


if __name__ == "__main__":
    main()
