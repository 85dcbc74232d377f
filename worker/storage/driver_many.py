"""SQLite inserts of many rows through the driver's executemany, skipping SQLAlchemy's per-row work.

SQLAlchemy's executemany processes every parameter of every row in Python and, for a statement
with RETURNING, writes one multi-row statement per page. For the rows a first poll writes (about
one article row, one version, one sighting per item) that cost more than SQLite's own work. Here
the statement is compiled by SQLAlchemy once per set of keys, so the SQL is the one it would run,
and values go through the columns' own bind processors, so the stored values are the same.
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
    keys. SQLite: the statement SQLAlchemy would run, compiled once for those keys, and the
    driver's executemany of values converted by the columns' own bind processors (the same
    stored values), each distinct timestamp once (a chunk's rows share `now`). SQLAlchemy's own
    executemany cost more than SQLite's work for the small rows of versions and sightings
    (0.009 and 0.021 ms per article on the ingest benchmark; see docs/benchmarks.md)."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        session.execute(stmt, rows)
        return
    sql, order, processors = _compiled_for_driver(connection.dialect, stmt, tuple(rows[0]))
    convert = [_once_per_value(to_db) if memo else to_db for to_db, memo in processors]
    connection.exec_driver_sql(sql, [
        tuple(row[name] if to_db is None else to_db(row[name])
              for name, to_db in zip(order, convert, strict=True))
        for row in rows])


Processor = tuple[Callable[[Any], Any] | None, bool]  # the bind processor; worth remembering values?
Compiled = tuple[str, tuple[str, ...], list[Processor]]  # SQL, its parameters in order, their processors
_FOR_DRIVER: dict[tuple[str, str, Any, tuple[str, ...]], Compiled] = {}


def _compiled_for_driver(dialect: Dialect, stmt: Any, names: tuple[str, ...]) -> Compiled:
    key = (dialect.name, dialect.paramstyle, stmt, names)
    found = _FOR_DRIVER.get(key)
    if found is None:
        compiled = stmt.compile(dialect=dialect, column_keys=list(names))
        order = tuple(compiled.positiontup or ())
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
