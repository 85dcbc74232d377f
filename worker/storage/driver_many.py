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
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from worker.storage.models import UTCDateTime


def execute_many(session: Session, stmt: Any, rows: list[dict[str, Any]]) -> int:
    """session.execute(stmt, rows) for an INSERT of one table without RETURNING, rows of the same
    keys. SQLite and PostgreSQL: the statement SQLAlchemy would run, compiled once for those keys, and the
    driver's executemany of values converted by the columns' own bind processors (the same
    stored values), each distinct timestamp once (a chunk's rows share `now`). SQLAlchemy's own
    executemany cost more than SQLite's work for the small rows of versions and sightings
    (0.009 and 0.021 ms per article on the ingest benchmark; see docs/benchmarks.md).
    Returns the number of rows written, as the driver counts them (SQLite: the sum of each
    row's changes, so a row an ON CONFLICT DO NOTHING left out is not counted)."""
    if not rows:
        return 0
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        sql, params = _for_driver(connection.dialect, stmt, rows)
        with connection.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
            cursor.executemany(sql, params)
            return int(cursor.rowcount)
    if connection.dialect.name != "sqlite":
        return int(session.execute(stmt, rows).rowcount)  # type: ignore[attr-defined]
    return int(connection.exec_driver_sql(*_for_driver(connection.dialect, stmt, rows)).rowcount)


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
    paramstyle (the values read by one itemgetter, only the columns with a bind processor
    converted; with the faster timestamps below an article row went from 26.1 to 20.5 µs),
    dicts for a named one."""
    sql, order, processors = _compiled_for_driver(dialect, stmt, tuple(rows[0]))
    convert = [_remembering(to_db, key) if to_db is not None and key is not None else to_db
               for to_db, key in processors]
    if dialect.positional:
        values_of = itemgetter(*order) if len(order) > 1 else (lambda row: (row[order[0]],))
        converted = [(position, to_db) for position, to_db in enumerate(convert) if to_db is not None]
        params: list[Any] = []
        for row in rows:
            values = list(values_of(row))
            for position, to_db in converted:
                values[position] = to_db(values[position])
            params.append(tuple(values))
        return sql, params
    pairs = list(zip(order, convert, strict=True))
    return sql, [{name: row[name] if to_db is None else to_db(row[name]) for name, to_db in pairs}
                 for row in rows]


Remember = Callable[[Any], Any] | None  # a value -> the key its conversion is remembered by; None: not
Processor = tuple[Callable[[Any], Any] | None, Remember]  # a column's bind processor, and how to remember
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
        found = _FOR_DRIVER[key] = (compiled.string, order, [_processor(c.type, dialect) for c in columns])
    return found


def _processor(type_: Any, dialect: Dialect) -> Processor:
    """The column's bind processor and, for the values a chunk's rows share (timestamps, a
    feed's categories), how to remember its results."""
    if isinstance(type_, UTCDateTime) and dialect.name == "sqlite" and _default_sqlite_format(type_, dialect):
        return _sqlite_utc_text, _same_value
    to_db = type_.dialect_impl(dialect).bind_processor(dialect)
    if isinstance(type_, UTCDateTime | DateTime):
        return to_db, _same_value
    if isinstance(type_, JSON):
        return to_db, _strings_key
    return to_db, None


def _default_sqlite_format(type_: UTCDateTime, dialect: Dialect) -> bool:
    """Does SQLAlchemy store this column's datetimes in SQLite's default text form?"""
    impl = type_.impl_instance.dialect_impl(dialect)
    return bool(getattr(impl, "_storage_format", None) == SQLITE_DATETIME_FORMAT)


SQLITE_DATETIME_FORMAT = ("%(year)04d-%(month)02d-%(day)02d "
                          "%(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d")


def _sqlite_utc_text(value: datetime | None) -> str | None:
    """What UTCDateTime's bind processing gives on SQLite (the UTC time in SQLAlchemy's default
    text form, 'YYYY-MM-DD HH:MM:SS.ffffff'), by datetime.isoformat: 1.7 µs instead of 2.4 with
    SQLAlchemy's %-formatting of a dict (tests/test_driver_many.py checks they agree)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to storage")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _same_value(value: Any) -> Any:
    return value


def _strings_key(value: Any) -> Any:
    """A list of strings by its items (a feed's categories repeat from entry to entry); None
    for anything else, which is never remembered (1, 1.0 and True are equal keys, JSON apart)."""
    if type(value) is list and all(type(item) is str for item in value):
        return tuple(value)
    return None


def _remembering(to_db: Callable[[Any], Any], key_of: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """to_db remembering its results for this call's rows, by key_of(value) (datetimes: 2.4 µs
    each to format; a list's JSON ~1.5)."""
    memo: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        key = key_of(value)
        if key is None:
            return to_db(value)
        try:
            return memo[key]
        except KeyError:
            result = memo[key] = to_db(value)
            return result
    return convert
