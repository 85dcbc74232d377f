"""Inserts of many rows through the driver's executemany, skipping SQLAlchemy's per-row work.

SQLAlchemy's executemany processes every parameter of every row in Python and, for a statement
with RETURNING, writes one multi-row statement per page. For the rows a first poll writes (about
one article row, one version, one sighting per item) that cost more than SQLite's own work. Here
the statement is compiled by SQLAlchemy once per set of keys, so the SQL is the one it would run,
and values go through the columns' own bind processors, so the stored values are the same.

PostgreSQL (psycopg): the same, with named parameters; psycopg's executemany sends the rows in
one pipeline. For the articles of a 10-item poll SQLAlchemy's multi-row INSERT ... RETURNING
bound ~220 parameters, past the 50 psycopg caches the conversion of, so its query was re-parsed
on every poll: with the versions and sightings, ~2 ms of a poll's ~15 ms of worker CPU
(benchmarks/polling.py --profile).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from worker.storage.models import UTCDateTime


def execute_many(session: Session, stmt: Any, rows: list[dict[str, Any]]) -> None:
    """session.execute(stmt, rows) for an INSERT of one table without RETURNING, rows of the same
    keys. SQLite and PostgreSQL: the statement SQLAlchemy would run, compiled once for those keys, and the
    driver's executemany of values converted by the columns' own bind processors (the same
    stored values), each distinct timestamp once (a chunk's rows share `now`). SQLAlchemy's own
    executemany cost more than SQLite's work for the small rows of versions and sightings
    (0.009 and 0.021 ms per article on the ingest benchmark; see docs/benchmarks.md)."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        sql, params = _for_driver(connection.dialect, stmt, rows)
        with connection.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
            cursor.executemany(sql, params)
        return
    if connection.dialect.name != "sqlite":
        session.execute(stmt, rows)
        return
    connection.exec_driver_sql(*_for_driver(connection.dialect, stmt, rows))


def insert_many_returning(session: Session, stmt: Any, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """PostgreSQL: session.execute(stmt, rows).all() for an INSERT ... RETURNING of one table
    (rows of the same keys), through psycopg's executemany: the rows its statements returned,
    in order (an ON CONFLICT DO NOTHING row left out returns none). The RETURNING columns must
    need no result processing (integers, strings)."""
    if not rows:
        return []
    connection = session.connection()
    sql, params = _for_driver(connection.dialect, stmt, rows)
    found: list[tuple[Any, ...]] = []
    with connection.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
        cursor.executemany(sql, params, returning=True)
        while True:
            found.extend(cursor.fetchall())
            if not cursor.nextset():
                break
    return found


def _for_driver(dialect: Dialect, stmt: Any, rows: list[dict[str, Any]]) -> tuple[str, list[Any]]:
    """The SQL and the rows' parameters as the driver takes them: tuples for a positional
    paramstyle, dicts for a named one."""
    sql, order, processors = _compiled_for_driver(dialect, stmt, tuple(rows[0]))
    convert = [_once_per_value(to_db) if memo else to_db for to_db, memo in processors]
    pairs = list(zip(order, convert, strict=True))
    if dialect.positional:
        return sql, [tuple(row[name] if to_db is None else to_db(row[name]) for name, to_db in pairs)
                     for row in rows]
    return sql, [{name: row[name] if to_db is None else to_db(row[name]) for name, to_db in pairs}
                 for row in rows]


Processor = tuple[Callable[[Any], Any] | None, bool]  # the bind processor; worth remembering values?
Compiled = tuple[str, tuple[str, ...], list[Processor]]  # SQL, its parameters in order, their processors
_FOR_DRIVER: dict[tuple[str, str, Any, tuple[str, ...]], Compiled] = {}


def _compiled_for_driver(dialect: Dialect, stmt: Any, names: tuple[str, ...]) -> Compiled:
    key = (dialect.name, dialect.paramstyle, stmt, names)
    found = _FOR_DRIVER.get(key)
    if found is None:
        compiled = stmt.compile(dialect=dialect, column_keys=list(names))
        named = tuple(compiled.binds)  # pyformat: the parameters by name
        order = tuple(compiled.positiontup or ()) if dialect.positional else named
        if sorted(order) != sorted(names):  # a column default or an extra parameter: not for this
            raise ValueError(f"{names} are not exactly the parameters of {compiled.string}")
        columns = [stmt.table.c[name] for name in order]
        found = _FOR_DRIVER[key] = (compiled.string, order, [
            (c.type.dialect_impl(dialect).bind_processor(dialect), isinstance(c.type, UTCDateTime | DateTime))
            for c in columns])
    return found


def _once_per_value(to_db: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """to_db remembering its results for this call's rows (datetimes: 2.4 µs each to format)."""
    if to_db is None:
        return None
    memo: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return memo[value]
        except KeyError:
            result = memo[value] = to_db(value)
            return result
    return convert
