"""Alembic's migrations build exactly the schema the models declare (tables, columns, indexes,
partial indexes, foreign keys), checked on the real PostgreSQL, where reflection is complete.
SQLite's reflection does not read back the ON DELETE of a column added by ALTER TABLE, so there
only the indexes are compared."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from worker.storage.models import Base


def _differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_migrations_at_head_match_the_models_on_postgresql(pg_url: str) -> None:
    assert _differences(pg_url) == []


def test_migrations_at_head_have_the_models_indexes_on_sqlite(sqlite_url: str) -> None:
    differences = _differences(sqlite_url)
    assert [d for d in differences if isinstance(d, tuple) and d[0] not in ("remove_fk", "add_fk")] == []
    assert all(isinstance(d, tuple) for d in differences)


def test_a_new_sqlite_database_has_16_kib_pages_and_wal(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA page_size").scalar() == 16384
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()
