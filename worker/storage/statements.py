"""Prebuilt Core statements for the per-article write path (store_article and dedup).

Every article a poll stores used to compose ~10 ORM statements from scratch: `.values(**row)`,
`or_(and_(...))` and ORM compile state cost SQLAlchemy more than SQLite spent running them
(docs/benchmarks.md, ingest profile). Here each statement is built once per dialect, over the
tables rather than the mapped classes, with bound parameters only, so an execution is a cache
hit on an already compiled statement.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Integer,
    LargeBinary,
    Table,
    Text,
    bindparam,
    delete,
    null,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from worker.core import neardup
from worker.storage.driver_many import execute_many, insert_many_returning
from worker.storage.models import Article, ArticleBand, ArticleVersion, Sighting, Tombstone, UTCDateTime
from worker.storage.upsert import insert_for

ARTICLES = cast(Table, Article.__table__)
BANDS = cast(Table, ArticleBand.__table__)
SIGHTINGS = cast(Table, Sighting.__table__)
TOMBSTONES = cast(Table, Tombstone.__table__)


@dataclass(frozen=True)
class Statements:
    """The hot path's statements for one dialect."""

    article_by_hash: Any  # :content_hash -> article id
    insert_article: Any  # ON CONFLICT DO NOTHING RETURNING id
    insert_new_article: Any  # ON CONFLICT DO NOTHING, no RETURNING (SQLite's executemany)
    insert_first_version: Any
    set_minhash: Any  # :article_id, :minhash
    upsert_sighting: Any
    insert_new_sighting: Any  # a sighting the caller has just looked for and not found


_BY_DIALECT: dict[str, Statements] = {}


def statements(session: Session) -> Statements:
    dialect = session.get_bind().dialect.name
    found = _BY_DIALECT.get(dialect)
    if found is None:
        found = _BY_DIALECT[dialect] = _build(session)
    return found


def _build(session: Session) -> Statements:
    sighting = insert_for(session, SIGHTINGS)
    upsert_sighting = sighting.on_conflict_do_update(
        index_elements=["source_id", "entry_key"],
        set_={name: sighting.excluded[name] for name in ("article_id", "url", "raw_hash", "last_seen_at")},
    )
    return Statements(
        article_by_hash=select(ARTICLES.c.id).where(ARTICLES.c.content_hash == bindparam("content_hash")),
        insert_article=insert_for(session, ARTICLES).on_conflict_do_nothing().returning(ARTICLES.c.id),
        insert_new_article=insert_for(session, ARTICLES).on_conflict_do_nothing(),
        insert_first_version=insert_for(session, ArticleVersion.__table__),
        set_minhash=update(ARTICLES).where(ARTICLES.c.id == bindparam("article_id")).values(
            minhash=bindparam("minhash", type_=LargeBinary)),
        upsert_sighting=upsert_sighting,
        insert_new_sighting=_insert_new_sighting(session, upsert_sighting),
    )


def _insert_new_sighting(session: Session, upsert_sighting: Any) -> Any:
    """The sightings of a chunk's plainly new entries (worker/storage/bulk.py), which the same
    transaction has just looked for and not found. On SQLite nobody else can have written one
    since (BEGIN IMMEDIATE holds the write lock from the lookup on), so a plain INSERT stores the
    same rows; were one there after all, it fails loudly instead of storing something else. An
    UPSERT with a DO UPDATE clause costs SQLite, with foreign keys on, 9.3 µs a
    row against 2.1 for a plain insert (1.8 with them off): 0.013 -> 0.004 ms per item on the
    ingest benchmark's first poll (docs/benchmarks.md). PostgreSQL: another worker may have
    stored the entry since the lookup (READ COMMITTED), so the upsert stays."""
    if session.get_bind().dialect.name == "sqlite":
        return insert_for(session, SIGHTINGS)
    return upsert_sighting


# The near-duplicate candidates of one signature: band numbers are literals, the hashes bound
# parameters; the (band, hash, article_id) key answers each branch from the index.
CANDIDATES = text(
    "SELECT a.id, a.cluster_id, a.minhash, a.text FROM articles AS a WHERE a.id IN ("
    " SELECT DISTINCT b.article_id FROM article_bands AS b WHERE "
    + " OR ".join(f"(b.band = {band} AND b.hash = :h{band})" for band in range(neardup.NUM_BANDS))
    + " LIMIT :limit) AND a.id != :article_id"
).columns(id=Integer, cluster_id=Integer, minhash=LargeBinary, text=Text)


# Before storing an entry: is it tombstoned (content, entry or canonical URL), which article
# does this source's entry point at, is this exact content stored, is any article at the
# canonical URL. Four scalar subqueries, each answered by a unique key or an index: one round
# trip instead of four.
EXISTING = text(
    "SELECT"
    " (SELECT 1 FROM tombstones WHERE (kind = 'content_hash' AND key = :content_hash)"
    "  OR (kind = 'entry' AND key = :entry_stone) OR (kind = 'canonical_url' AND key = :canonical_stone)"
    "  LIMIT 1),"
    " (SELECT article_id FROM sightings WHERE source_id = :source_id AND entry_key = :entry_key),"
    " (SELECT id FROM articles WHERE content_hash = :content_hash),"
    " (SELECT id FROM articles WHERE canonical_url = :canonical LIMIT 1)"
).columns(tombstoned=Integer, previous=Integer, by_hash=Integer, at_canonical=Integer)


@dataclass(frozen=True)
class BulkStatements:
    """worker/storage/bulk.py: a chunk of entries at a time (expanding IN lists, executemany)."""

    known_identities: Any  # :stones, :hashes, :source_id + :entry_keys, :urls -> those known
    insert_articles: Any  # executemany, ON CONFLICT DO NOTHING RETURNING (content_hash, id)


_BULK_BY_DIALECT: dict[str, BulkStatements] = {}

# PostgreSQL's known_identities: arrays instead of expanding IN lists, so the statement text
# never changes. A chunk of 10 entries binds ~60 values: past psycopg's 50-parameter limit for
# caching a query's conversion, it was re-parsed on every poll, and SQLAlchemy re-rendered the
# IN lists (~1 ms of worker CPU per 10-item poll together, benchmarks/polling.py --profile).
PG_KNOWN_IDENTITIES = text(
    "SELECT key FROM tombstones WHERE key = ANY(CAST(:stones AS text[]))"
    " UNION ALL SELECT content_hash FROM articles WHERE content_hash = ANY(CAST(:hashes AS text[]))"
    " UNION ALL SELECT entry_key FROM sightings"
    "  WHERE source_id = :source_id AND entry_key = ANY(CAST(:entry_keys AS text[]))"
    " UNION ALL SELECT canonical_url FROM articles WHERE canonical_url = ANY(CAST(:urls AS text[]))"
    " UNION ALL SELECT NULL WHERE EXISTS (SELECT 1 FROM tombstones)"
)


def bulk_statements(session: Session) -> BulkStatements:
    dialect = session.get_bind().dialect.name
    found = _BULK_BY_DIALECT.get(dialect)
    if found is None:
        found = _BULK_BY_DIALECT[dialect] = BulkStatements(
            # One round trip for the four lookups: every value known as a tombstone key, a
            # content hash, an entry key of this source or a canonical URL; and a NULL row
            # when there are tombstones at all (TOMBSTONES_EXIST below).
            known_identities=PG_KNOWN_IDENTITIES if dialect == "postgresql" else union_all(
                select(TOMBSTONES.c.key).where(TOMBSTONES.c.key.in_(bindparam("stones", expanding=True))),
                select(ARTICLES.c.content_hash).where(
                    ARTICLES.c.content_hash.in_(bindparam("hashes", expanding=True))),
                select(SIGHTINGS.c.entry_key).where(
                    SIGHTINGS.c.source_id == bindparam("source_id"),
                    SIGHTINGS.c.entry_key.in_(bindparam("entry_keys", expanding=True))),
                select(ARTICLES.c.canonical_url).where(
                    ARTICLES.c.canonical_url.in_(bindparam("urls", expanding=True))),
                select(null()).where(select(TOMBSTONES.c.id).exists()),
            ),
            insert_articles=insert_for(session, ARTICLES).on_conflict_do_nothing().returning(
                ARTICLES.c.content_hash, ARTICLES.c.id),
        )
    return found


# SQLite's known_identities: each list as one JSON array read by json_each, so the statement
# text never changes and SQLAlchemy renders no IN list. Rendering the expanding lists of a
# chunk's ~400 values was most of the lookup's CPU (cProfile of a first poll: ~45 % of
# _plainly_new in SQLAlchemy's post-compile of the lists, ~13 % in SQLite). json_each reads
# "\u0000" as the end of its string, so a list holding a NUL goes the expanding way.
SQLITE_KNOWN_IDENTITIES = text(
    "SELECT key FROM tombstones WHERE key IN (SELECT value FROM json_each(:stones))"
    " UNION ALL SELECT content_hash FROM articles"
    "  WHERE content_hash IN (SELECT value FROM json_each(:hashes))"
    " UNION ALL SELECT entry_key FROM sightings"
    "  WHERE source_id = :source_id AND entry_key IN (SELECT value FROM json_each(:entry_keys))"
    " UNION ALL SELECT canonical_url FROM articles"
    "  WHERE canonical_url IN (SELECT value FROM json_each(:urls))"
    " UNION ALL SELECT NULL WHERE EXISTS (SELECT 1 FROM tombstones)"
)
_LISTS = ("stones", "hashes", "entry_keys", "urls")


# In known_identities' answer: the tombstones table has rows (no looked-up value is NULL).
TOMBSTONES_EXIST = None


def known_identities(session: Session, params: dict[str, Any]) -> set[str | None]:
    """Which of the values in `params` (lists of strings: stones, hashes, entry_keys, urls; and
    source_id) the database knows as a tombstone key, a content hash, an entry key of the
    source or a canonical URL (bulk_statements' known_identities, one round trip); and
    TOMBSTONES_EXIST if there are any tombstones, seen by the same statement."""
    sql = bulk_statements(session)
    if session.get_bind().dialect.name == "sqlite":
        # ensure_ascii=False: a lone surrogate fails to bind as it did in the expanding list
        arrays = {name: json.dumps(params[name], ensure_ascii=False) for name in _LISTS}
        # JSON writes a NUL as \u0000 (a value's own backslash as \\: then expanding, needlessly)
        if not any("\\u0000" in array for array in arrays.values()):
            return set(session.execute(SQLITE_KNOWN_IDENTITIES, {**params, **arrays}).scalars())
    return set(session.execute(sql.known_identities, params).scalars())


def pg_int_array(values: Iterable[int]) -> str:
    """An integer array as PostgreSQL's text literal ('{1,2,3}'), for a CAST(:x AS bigint[]).
    psycopg dumps a Python list element by element in Python: a poll's six arrays of 320 band
    numbers, hashes and ids cost its worker ~2 ms of CPU per 10-item poll that way, the literal
    ~0.1 (benchmarks/polling.py --profile). Integers only: nothing in them needs quoting."""
    return "{" + ",".join(map(str, map(int, values))) + "}"


# Which of a chunk's (band, hash) pairs are stored: one primary-key probe per pair, with the
# pairs as one parameter so the statement text (and on PostgreSQL the plan psycopg prepares)
# never changes with the chunk's size. An IN list per band, 3,200 parameters for a chunk of
# 100, cost SQLAlchemy more than the probes, and on PostgreSQL kept the soak's workers waiting.
PG_BANDS_IN_STORE = text(
    "SELECT q.band, q.hash"
    " FROM unnest(CAST(:bands AS smallint[]), CAST(:hashes AS bigint[])) AS q(band, hash)"
    " WHERE EXISTS (SELECT 1 FROM article_bands AS b WHERE b.band = q.band AND b.hash = q.hash)"
)
# The hashes in band order, article after article: a position's band is its index modulo the
# band count, so SQLite reads plain numbers (json_extract of [band, hash] pairs took twice as long).
# A row-value IN probes the primary key directly ("USING INDEX ... FOR IN-OPERATOR"); the same
# probe as a correlated EXISTS subquery cost ~20 % more (3,200 pairs: 17.0 -> 13.9 µs an article).
SQLITE_BANDS_IN_STORE = text(
    "SELECT q.key % :width, q.value FROM json_each(:hashes) AS q"
    " WHERE (q.key % :width, q.value) IN (SELECT band, hash FROM article_bands)"
)


# Transaction-scoped advisory locks on band hashes (dedup.lock_bands), in the given order.
PG_LOCK_BANDS = text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k")


# Deleting articles' bands (dedup.delete_bands_of). PostgreSQL: by ix_article_bands_article.
# SQLite has no article index (migration 0007): by key, or, for articles whose bands cannot be
# computed, by a scan of the table.
BANDS_OF_ARTICLES = delete(BANDS).where(BANDS.c.article_id.in_(bindparam("article_ids", expanding=True)))
SKETCHES_OF_ARTICLES = select(ARTICLES.c.id, ARTICLES.c.minhash).where(
    ARTICLES.c.id.in_(bindparam("article_ids", expanding=True)))
SQLITE_DELETE_BAND_ROW = "DELETE FROM article_bands WHERE band = ? AND hash = ? AND article_id = ?"


def insert_band_rows(session: Session, rows: list[tuple[int, int, int]]) -> None:
    """(band, hash, article_id) rows, ON CONFLICT DO NOTHING: 32 per article, so neither
    SQLAlchemy's per-row parameter processing nor one server round of parse/plan/execute per
    row. SQLite: tuples straight to the driver's executemany (in-process, cheap per row).
    PostgreSQL: one INSERT over three unnested arrays (an executemany cost the server ~30 ms
    of CPU per 5-article poll in the soak)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(PG_INSERT_BANDS, {"bands": pg_int_array(r[0] for r in rows),
                                          "hashes": pg_int_array(r[1] for r in rows),
                                          "ids": pg_int_array(r[2] for r in rows)})
        return
    session.connection().exec_driver_sql(
        "INSERT INTO article_bands (band, hash, article_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", rows)


PG_INSERT_BANDS = text(
    "INSERT INTO article_bands (band, hash, article_id)"
    " SELECT * FROM unnest(CAST(:bands AS smallint[]), CAST(:hashes AS bigint[]), CAST(:ids AS integer[]))"
    " ON CONFLICT DO NOTHING"
)


def insert_new_articles(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert article rows (every column but id), ON CONFLICT DO NOTHING; returns content_hash
    -> id of the rows that went in. A row left out (a unique key taken meanwhile) is absent.

    PostgreSQL: psycopg's executemany of INSERT ... RETURNING (driver_many.py). SQLite: the
    driver's executemany (execute_many; SQLAlchemy's multi-row RETURNING statement cost twice
    the engine's work per ~20 KB row, and Python's sqlite3 runs no RETURNING statement through
    executemany). When every row went in, their ids are the next ones after the table's
    largest: SQLite gives a new row the largest rowid plus one (https://sqlite.org/autoinc.html;
    the random choice only happens once the largest possible rowid is taken, which these ids
    stay below), and BEGIN IMMEDIATE keeps other writers out. Otherwise (a row left out) one
    lookup finds them; a looked-up row counts as ours only if its public_id is ours too."""
    if not rows:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        inserted = insert_many_returning(session, bulk_statements(session).insert_articles, rows)
        return {str(h): int(i) for h, i in inserted}
    connection = session.connection()
    largest = connection.exec_driver_sql(SQLITE_LARGEST_ARTICLE_ID).scalar_one() or 0
    if execute_many(session, statements(session).insert_new_article, rows) == len(rows) \
            and largest + len(rows) < SQLITE_MAX_ROWID:
        return {row["content_hash"]: largest + offset for offset, row in enumerate(rows, start=1)}
    ours = {row["content_hash"]: row["public_id"] for row in rows}
    found = connection.execute(SQLITE_INSERTED_IDS, {"hashes": json.dumps(list(ours))})
    return {str(h): int(i) for h, i, public_id in found if ours.get(h) == public_id}


SQLITE_LARGEST_ARTICLE_ID = "SELECT max(id) FROM articles"
SQLITE_MAX_ROWID = 2**63 - 1
SQLITE_INSERTED_IDS = text(
    "SELECT a.content_hash, a.id, a.public_id FROM articles AS a"
    " WHERE a.content_hash IN (SELECT value FROM json_each(:hashes))"
)


def insert_first_versions(session: Session, content_hashes: dict[int, str], now: datetime) -> None:
    """Version 1 ("new", bumped) of each new article (article id -> its content hash, ids
    ascending). SQLite: one INSERT ... SELECT from the article rows just written, in id order,
    so the rows and their ids are the ones the driver's executemany of a row per article wrote
    (2.6 instead of 6.3 µs a row, 100 rows, medians of 40; docs/benchmarks.md).
    PostgreSQL: the driver's executemany."""
    if not content_hashes:
        return
    if session.get_bind().dialect.name == "sqlite":
        session.execute(SQLITE_INSERT_FIRST_VERSIONS, {"ids": json.dumps(list(content_hashes)), "now": now})
        return
    execute_many(session, statements(session).insert_first_version, [
        {"article_id": article_id, "version": 1, "content_hash": content_hash, "diff_ratio": None,
         "bumped": True, "reason": "new", "created_at": now}
        for article_id, content_hash in content_hashes.items()])


SQLITE_INSERT_FIRST_VERSIONS = text(
    "INSERT INTO article_versions (article_id, version, content_hash, diff_ratio, bumped, reason, created_at)"
    " SELECT a.id, 1, a.content_hash, NULL, :bumped, 'new', :now FROM articles AS a"
    " WHERE a.id IN (SELECT value FROM json_each(:ids)) ORDER BY a.id"
).bindparams(bindparam("bumped", True, type_=Boolean), bindparam("now", type_=UTCDateTime()))


def insert_bands_of_new_articles(session: Session, bands_of: dict[int, Sequence[int]]) -> None:
    """The band rows of new articles (article id -> its band hashes in band order). SQLite,
    when the ids are consecutive and each has all its bands (a first poll's articles): one
    INSERT ... SELECT over a JSON array of the hashes, article after article (a position's band
    is its index modulo the band count, its article the first id plus the index divided by it):
    0.049 -> 0.033 ms per article against the driver's executemany of 32 tuples
    (docs/benchmarks.md). Otherwise insert_band_rows."""
    if not bands_of:
        return
    ids = list(bands_of)
    width = neardup.NUM_BANDS
    if (session.get_bind().dialect.name == "sqlite" and ids == list(range(ids[0], ids[0] + len(ids)))
            and all(len(bands) == width for bands in bands_of.values())):
        hashes = json.dumps([value for bands in bands_of.values() for value in bands])
        session.connection().exec_driver_sql(SQLITE_INSERT_BAND_RUNS, (ids[0], hashes))
        return
    insert_band_rows(session, [(band, value, article_id) for article_id, bands in bands_of.items()
                               for band, value in enumerate(bands)])


# "WHERE true": SQLite's parser would otherwise read the ON of ON CONFLICT as a join constraint.
SQLITE_INSERT_BAND_RUNS = (
    "INSERT INTO article_bands (band, hash, article_id)"
    f" SELECT q.key % {neardup.NUM_BANDS}, q.value, ? + q.key / {neardup.NUM_BANDS} FROM json_each(?) AS q"
    " WHERE true ON CONFLICT DO NOTHING"
)
