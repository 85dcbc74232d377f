"""Engines and transactions. SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE so that two
processes importing at once queue up instead of failing with "database is locked"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from worker.settings import get_settings


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, insertmanyvalues_page_size=500)


# SQLite's own 4 KiB pages, said here because 16 KiB looked better and is not. On the ingest
# benchmark's empty database 16 KiB pages made the commit of a 200-item poll cheaper (0.13 -> 0.09
# ms per item: a ~20 KB article row spans 2 overflow pages instead of 6). But each new article's
# 32 band rows land on random leaves of the band b-tree, and a commit writes every leaf it touched
# to the WAL: with 100,000 articles stored, band writes cost 0.48 ms of CPU per new article at
# 4 KiB and 0.70 at 16 KiB (benchmarks/band_writes_at_scale.py; docs/benchmarks.md). It takes
# effect only when the file is created (before journal_mode, which creates it).
SQLITE_PAGE_SIZE = 4096
# A page cache of 8 MiB instead of SQLite's 2 MB, ~500 pages of 4 KiB: a
# 200-item first poll writes ~5 MB of article rows in one transaction, so pages were spilled to
# the WAL and read back while the same transaction still needed them (the band probe, the unique
# indexes). On benchmarks/ingest.py's first poll: inserts 0.207 -> 0.199 and the band probe 0.051
# -> 0.030 ms of CPU per item (docs/benchmarks.md). It is a ceiling, per connection, reached only
# by transactions that touch that much.
SQLITE_CACHE_KIB = 8192


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let the "begin" hook own transactions
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


_engines: dict[str, Engine] = {}


def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().resolved_database_url()
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def dispose_engines() -> None:
    """After a fork, pooled connections belong to the parent: drop them (Celery's guidance)."""
    for engine in _engines.values():
        engine.dispose(close=False)


# One session factory per engine: building a sessionmaker per transaction (a poll opens three)
# cost ~0.1 ms of CPU each (benchmarks/polling.py --profile).
_factories: dict[Engine, sessionmaker[Session]] = {}


@contextmanager
def transaction(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    engine = engine or get_engine()
    factory = _factories.get(engine)
    if factory is None:
        factory = _factories[engine] = sessionmaker(engine, expire_on_commit=False)
    with factory.begin() as session:
        yield session
