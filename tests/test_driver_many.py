"""worker/storage/driver_many.py: the values handed to the driver are the ones SQLAlchemy's
own bind processing gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite

from worker.storage.driver_many import _for_driver, _sqlite_utc_text
from worker.storage.models import UTCDateTime
from worker.storage.statements import ARTICLES, SIGHTINGS


def test_the_sqlite_timestamp_text_is_sqlalchemys() -> None:
    dialect = sqlite.dialect()
    reference = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert reference is not None
    rng = random.Random(7)
    zones = [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]
    moments = [datetime(1, 1, 2, tzinfo=UTC), datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
               datetime(9999, 12, 30, tzinfo=UTC), datetime(2026, 3, 1, 8, 0, tzinfo=UTC)]
    moments += [datetime(rng.randint(1000, 9998), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                         rng.randint(0, 59), rng.randint(0, 59), rng.choice([0, rng.randint(0, 999999)]),
                         tzinfo=rng.choice(zones)) for _ in range(20000)]
    assert [_sqlite_utc_text(m) for m in moments] == [reference(m) for m in moments]
    assert _sqlite_utc_text(None) is None
    with pytest.raises(ValueError):
        _sqlite_utc_text(datetime(2026, 3, 1))  # naive, as UTCDateTime refuses it


VALUES = [(["财经", "宏观"], {"a": 1}), (["财经", "宏观"], {"a": True}), ([1], {"b": 2}), ([True], {"b": 2}),
          ([1.0], {}), ([], {})]  # categories and removed: equal keys, different JSON


def test_rows_for_the_driver_are_sqlalchemys_bind_values() -> None:
    """Every column converted as its type's bind processor does, remembered values included
    (a list of strings by its items, never 1 for True or a dict by its keys)."""
    dialect = sqlite.dialect()
    now = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    rows = [{"public_id": f"p{n}", "content_hash": f"h{n}", "title": "t", "link": None, "author": None,
             "categories": categories, "lead_image": None, "html": "<p>x</p>", "text": "x", "summary": "x",
             "cleaner_version": "2", "removed": removed, "language": "zh", "reading_length": n,
             "provenance": None if n % 2 else {"removed": removed}, "raw_html": None, "raw_base_url": None,
             "published_at": now - timedelta(minutes=n), "updated_at": now, "created_at": now,
             "canonical_url": None, "cluster_id": None, "minhash": b"\x00\x01", "content_source": None}
            for n, (categories, removed) in enumerate(VALUES)]
    sql, params = _for_driver(dialect, ARTICLES.insert(), rows)
    compiled = ARTICLES.insert().compile(dialect=dialect, column_keys=list(rows[0]))
    order = compiled.positiontup
    processors = {name: ARTICLES.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order}
    assert sql == compiled.string
    assert params == [tuple(row[name] if processors[name] is None else processors[name](row[name])
                            for name in order) for row in rows]
    one = [{"entry_key": "k"}, {"entry_key": "l"}]  # a single parameter
    assert _for_driver(dialect, SIGHTINGS.insert(), one)[1] == [("k",), ("l",)]
