"""Alembic's migrations build exactly the schema the models declare (tables, columns, indexes,
partial indexes, foreign keys), checked on the real PostgreSQL, where reflection is complete.
SQLite's reflection does not read back the ON DELETE of a column added by ALTER TABLE, so there
only the indexes are compared."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, create_engine, select

from tests.test_dedup_storage import PARAGRAPHS, T0, _article, _html, _reprint, _store
from worker.core import neardup
from worker.storage import dedup, migrate
from worker.storage.db import make_engine, transaction
from worker.storage.models import ArticleBand, Base


def _differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_object": _built_on(engine.dialect.name)})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _built_on(dialect: str) -> Callable[..., bool]:
    """Alembic's comparison ignores ddl_if: leave out what the models build only on another
    database (ix_article_bands_article and its foreign key are PostgreSQL's only)."""
    def include(item: object, _name: object, _type: object, _reflected: object, _compare_to: object) -> bool:
        condition = getattr(item, "_ddl_if", None)
        return condition is None or condition.dialect in (None, dialect)
    return include


@pytest.mark.postgres
def test_migrations_at_head_match_the_models_on_postgresql(pg_url: str) -> None:
    assert _differences(pg_url) == []


def test_migrations_at_head_have_the_models_indexes_on_sqlite(sqlite_url: str) -> None:
    differences = _differences(sqlite_url)
    assert [d for d in differences if isinstance(d, tuple) and d[0] not in ("remove_fk", "add_fk")] == []
    assert all(isinstance(d, tuple) for d in differences)


def test_a_new_sqlite_database_has_4_kib_pages_and_wal(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA page_size").scalar() == 4096
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_feedwash_sqlite_connections_get_an_8_mib_page_cache(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -8192  # KiB
    finally:
        engine.dispose()


def _bands_table(connection: Connection) -> tuple[str, list[tuple[int, int, int]]]:
    ddl = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'article_bands'")
    rows = connection.exec_driver_sql("SELECT band, hash, article_id FROM article_bands ORDER BY 1, 2, 3")
    return ddl.scalar_one(), [tuple(row) for row in rows]


def test_sqlite_band_rows_live_in_their_key_through_0006_and_0007_both_ways(sqlite_url: str) -> None:
    """0006 copies article_bands into a WITHOUT ROWID table (and back on downgrade); 0007 drops
    its foreign key and article index (and brings them back on downgrade, without the rows of
    articles that are gone): the same rows each way, and at head an article's rows are deleted
    by their key."""
    first = _store("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS)))
    other = _store("http://b.test/feed", _reprint())  # banded too (the comet story is too short)
    engine = create_engine(sqlite_url)
    config = migrate.alembic_config(sqlite_url)
    try:
        with engine.connect() as connection:
            ddl, at_head = _bands_table(connection)
            indexes = connection.exec_driver_sql("PRAGMA index_list(article_bands)").all()
        assert "WITHOUT ROWID" in ddl and "REFERENCES" not in ddl and len(at_head) == 2 * neardup.NUM_BANDS
        assert [row[1] for row in indexes] == ["sqlite_autoindex_article_bands_1"]  # the key only
        command.downgrade(config, "0005_sources_in_flight")
        with engine.connect() as connection:
            ddl, before = _bands_table(connection)
        assert "WITHOUT ROWID" not in ddl and "REFERENCES" in ddl and before == at_head
        command.upgrade(config, "0006_bands_without_rowid")
        with engine.connect() as connection:
            ddl, at_0006 = _bands_table(connection)
            plan = connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN DELETE FROM article_bands WHERE article_id = 1").all()
        assert "WITHOUT ROWID" in ddl and "REFERENCES" in ddl and at_0006 == at_head
        assert any("ix_article_bands_article" in str(step) for step in plan)
        command.upgrade(config, "head")
        with engine.connect() as connection:
            connection.exec_driver_sql("INSERT INTO article_bands VALUES (0, 7, 999)")  # no such article
            connection.commit()
        command.downgrade(config, "0006_bands_without_rowid")
        with engine.connect() as connection:
            ddl, without_orphan = _bands_table(connection)
        assert "REFERENCES" in ddl and without_orphan == at_head
        command.upgrade(config, "head")
        with engine.connect() as connection:
            ddl, after = _bands_table(connection)
            plan = connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN DELETE FROM article_bands"
                " WHERE band = 1 AND hash = 2 AND article_id = 3").all()
        assert "REFERENCES" not in ddl and after == at_head
        assert any("PRIMARY KEY" in str(step) for step in plan), plan
    finally:
        engine.dispose()
    with transaction() as session:
        assert dedup.delete_article(session, first.article_id, T0)
    with transaction() as session:
        left = session.execute(select(ArticleBand.article_id).distinct()).scalars().all()
    assert left == [other.article_id]


def test_the_cli_on_a_database_without_the_schema_says_to_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """Every command but `db upgrade` needs the schema: without it, one line saying what to run
    (it was a 70-line traceback ending in `no such table: sources`)."""
    from tests.conftest import configure
    from worker.cli import app

    configure(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'fresh.db'}")
    (tmp_path / "seeds").mkdir()
    for args in (["seeds", "import", str(tmp_path / "seeds")], ["export"], ["feeds", "list"]):
        with pytest.raises(SystemExit) as exited:
            app(args, prog_name="feedwash")
        assert exited.value.code == 2
        assert capsys.readouterr().err.startswith(
            f"error: sqlite:///{tmp_path / 'fresh.db'} is not at feedwash's newest schema: "
            "run `feedwash db upgrade`")
