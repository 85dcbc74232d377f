"""Fixtures for the fault scenarios: a private PostgreSQL cluster (one per session, a fresh
database per test), a private Redis per test, the feed server, and a process list that is
always stopped (and its logs shown) at the end."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import configure
from tests.faults.harness import FeedServer, PostgresCluster, Proc, RedisServer
from worker.storage import db as storage_db
from worker.storage.migrate import upgrade

# FEEDWASH_FAULTS_LONG=1: longer runs, more sources, more restarts (docs/reliability.md).
LONG = os.environ.get("FEEDWASH_FAULTS_LONG") == "1"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def fault_db(pg_cluster: PostgresCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh database on the private cluster, migrated; this process's settings point at it."""
    name = f"faults_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{pg_cluster.server_url()}/postgres", isolation_level="AUTOCOMMIT",
                          pool_pre_ping=True)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{pg_cluster.server_url()}/{name}"
    upgrade(url)
    configure(monkeypatch, tmp_path, url)
    yield url
    storage_db.get_engine(url).dispose()
    storage_db._engines.pop(url, None)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer().running() as server:
        yield server


@pytest.fixture
def procs(request: pytest.FixtureRequest) -> Iterator[list[Proc]]:
    """Append every started process; all are stopped at the end, logs printed on failure."""
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.stop()
    for proc in started:
        print(f"----- {proc.name} (last 3000 chars) -----\n{proc.log()[-3000:]}")
