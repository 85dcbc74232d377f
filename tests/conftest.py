"""Shared fixtures. Storage tests run on SQLite and on the real PostgreSQL (127.0.0.1:5432);
if PostgreSQL is down they fail, they never skip (`make test` starts it first)."""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text

from worker.settings import get_settings
from worker.storage import db as storage_db
from worker.storage.migrate import upgrade
from worker.storage.models import Base

# `make test` must give the same answer on every run: property tests use a fixed seed there.
# HYPOTHESIS_PROFILE=explore searches fresh examples (keep any failure it finds as an @example).
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = Path(os.environ.get("FEEDWASH_SHARED_DIR") or ROOT.parent / "shared")  # worktrees set it
SEED_FILE = ROOT / "seeds" / "000_c783d7c486dca3b2.txt"
PG_SERVER = os.environ.get("FEEDWASH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("FEEDWASH_TEST_REDIS", "redis://127.0.0.1:6379")


def configure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> None:
    """Point feedwash's settings at this test's database and data folder."""
    monkeypatch.setenv("FEEDWASH_DATABASE_URL", database_url)
    monkeypatch.setenv("FEEDWASH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FEEDWASH_BASE_URL", "http://feedwash.test")
    get_settings.cache_clear()


_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "0.0.0.0", ""}
_real_getaddrinfo = socket.getaddrinfo


def _loopback_only_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    """Tests talk to 127.0.0.1 only: looking up any name but localhost fails at once instead of
    asking the machine's resolver (the network rule, and no waiting on a DNS timeout)."""
    name = host.decode() if isinstance(host, bytes) else str(host or "")
    if name not in _LOOPBACK_NAMES and not _is_ip_literal(name):
        raise socket.gaierror(socket.EAI_NONAME, f"tests resolve loopback names only, not {name!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


def _is_ip_literal(name: str) -> bool:
    """An address needs no resolver (whether it may be reached is the SSRF guard's call)."""
    try:
        ipaddress.ip_address(name.strip("[]").split("%")[0])
    except ValueError:
        try:
            socket.inet_aton(name)  # the numeric spellings getaddrinfo also reads: 127.1, 0x7f.1
        except OSError:
            return False
    return True


@pytest.fixture(autouse=True)
def _no_dns_outside_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_only_getaddrinfo)


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("FEEDWASH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FEEDWASH_DATABASE_URL", f"sqlite:///{tmp_path / 'default.db'}")
    monkeypatch.setenv("FEEDWASH_ALLOW_PRIVATE_NETWORKS", "1")  # test servers are on 127.0.0.1
    # Fixture feeds link to real sites: no page fetches unless a test asks (tests/test_fulltext.py).
    monkeypatch.setenv("FEEDWASH_FULL_TEXT_DEFAULT", "never")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A throwaway database on the real PostgreSQL, migrated to head."""
    name = f"feedwash_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{PG_SERVER}/{name}"
    upgrade(url)
    yield url
    storage_db.get_engine(url).dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_pg(url: str) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with storage_db.get_engine(url).begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> str:
    """Each storage test runs twice: embedded SQLite and the real PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'feedwash.db'}"
        upgrade(url)
    else:
        url = request.getfixturevalue("pg_url")
        _truncate_pg(url)
    configure(monkeypatch, tmp_path, url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'feedwash.db'}"
    upgrade(url)
    configure(monkeypatch, tmp_path, url)
    return url


@pytest.fixture
def seed_bytes() -> bytes:
    return SEED_FILE.read_bytes()
