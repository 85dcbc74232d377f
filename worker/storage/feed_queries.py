"""Read queries behind the output feeds, pages and metrics: scopes (everything, a category, a
source), filters, RFC 5005 pages, and the cheap "articles version" the render cache keys on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, and_, exists, func, or_, select, text
from sqlalchemy.orm import Session

from worker.storage.models import Article, Cluster, SeedFile, Sighting, Source


@dataclass(frozen=True)
class Filters:
    """What narrows a feed: a scope (category names or one source) and the view's filters."""

    category_names: tuple[str, ...] | None = None
    source_id: int | None = None
    q: str | None = None  # substring of title or text
    since: datetime | None = None  # published or updated at or after
    fold_clusters: bool = True  # one article per near-duplicate cluster: its representative


_VERSION_SQL = (
    "SELECT (SELECT count(id) FROM articles), (SELECT max(id) FROM articles), "
    "(SELECT max(updated_at) FROM articles), (SELECT count(id) FROM sightings), "
    "(SELECT max(id) FROM sightings), (SELECT max(last_seen_at) FROM sightings), "
    "(SELECT count(id) FROM clusters), (SELECT max(id) FROM article_versions)"
)


def articles_version(engine: Engine) -> tuple[Any, ...]:
    """Changes whenever anything a feed shows changes: an article added, updated or removed, a
    sighting added, moved or re-seen.

    Asked on every feed request, so it is one statement on a raw pooled DBAPI connection: no
    ORM session, and on SQLite no BEGIN IMMEDIATE (the connection is in autocommit; WAL readers
    see the last commit without taking the write lock). About 30 µs against 650 µs through
    `transaction()` (measured; see docs/publishing.md)."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(_VERSION_SQL)
        row = cursor.fetchone()
        cursor.close()
    finally:
        connection.close()  # back to the pool, which rolls back PostgreSQL's implicit transaction
    return tuple(row or ())


def _category_match(session: Session, names: Sequence[str]) -> Any:
    """SQL true when an article's JSON category list holds one of `names` (exact match)."""
    params = {f"cat{i}": n for i, n in enumerate(names)}
    placeholders = ", ".join(f":{k}" for k in params)
    if session.get_bind().dialect.name == "postgresql":
        sql = (f"EXISTS (SELECT 1 FROM json_array_elements_text(articles.categories) AS c(v) "
               f"WHERE c.v IN ({placeholders}))")
    else:
        sql = (f"EXISTS (SELECT 1 FROM json_each(articles.categories) "
               f"WHERE json_each.value IN ({placeholders}))")
    return text(sql).bindparams(**params)


def _filtered(session: Session, query: Select[Any], filters: Filters) -> Select[Any]:
    if filters.category_names is not None:
        query = query.where(_category_match(session, filters.category_names or ("\x00",)))
    if filters.source_id is not None:
        seen = exists().where(and_(Sighting.article_id == Article.id,
                                   Sighting.source_id == filters.source_id))
        query = query.where(seen)
    if filters.q:
        query = query.where(or_(Article.title.icontains(filters.q, autoescape=True),
                                Article.text.icontains(filters.q, autoescape=True)))
    if filters.fold_clusters:
        representatives = select(Cluster.representative_id).where(Cluster.id == Article.cluster_id)
        query = query.where(or_(Article.cluster_id.is_(None), Article.id.in_(representatives)))
    if filters.since is not None:
        query = query.where(or_(Article.published_at >= filters.since, Article.updated_at >= filters.since))
    return query


def newest_articles(session: Session, filters: Filters, limit: int) -> Sequence[Article]:
    """The head of a feed: newest first by publication date."""
    query = _filtered(session, select(Article), filters)
    query = query.order_by(Article.published_at.desc(), Article.id.desc()).limit(limit)
    return session.execute(query).scalars().all()


def count_articles(session: Session, filters: Filters) -> int:
    query = _filtered(session, select(func.count(Article.id)), filters)
    return session.execute(query).scalar_one()


def page_articles(session: Session, filters: Filters, page: int, page_size: int) -> Sequence[Article]:
    """Page `page` (1 = oldest) of fixed size, counted from the oldest article by id: once a
    page is full, later articles (higher ids) can never move into it. Newest first within."""
    query = _filtered(session, select(Article.id), filters).order_by(Article.id)
    ids = query.offset((page - 1) * page_size).limit(page_size).subquery()
    rows = select(Article).where(Article.id.in_(select(ids.c.id))).order_by(Article.id.desc())
    return session.execute(rows).scalars().all()


def category_names(session: Session) -> list[str]:
    """Every distinct category name of stored articles, sorted."""
    if session.get_bind().dialect.name == "postgresql":
        sql = "SELECT DISTINCT json_array_elements_text(categories) FROM articles"
    else:
        sql = "SELECT DISTINCT json_each.value FROM articles, json_each(articles.categories)"
    return sorted(str(v) for v in session.execute(text(sql)).scalars() if v)


@dataclass(frozen=True)
class SourceHealth:
    source: Source
    articles: int  # distinct articles this source sighted
    duplicates: int  # of its sightings, those whose article another source (or entry) had first
    last_success: datetime | None  # last good poll; for a seed folder, its last imported file


def source_health(session: Session) -> list[SourceHealth]:
    """Every source with its article and duplicate counts, for the index page and /metrics."""
    first = (select(Sighting.article_id, func.min(Sighting.id).label("first_id"))
             .group_by(Sighting.article_id).subquery())
    per_source = (
        select(Sighting.source_id, func.count(func.distinct(Sighting.article_id)),
               func.count(Sighting.id), func.count(first.c.first_id))
        .outerjoin(first, first.c.first_id == Sighting.id)
        .group_by(Sighting.source_id)
    )
    counts = {sid: (arts, total - originals) for sid, arts, total, originals in session.execute(per_source)}
    # Seed folders are not polled: their last imported file is their last success.
    last_import = (select(SeedFile.source_id, func.max(SeedFile.updated_at))
                   .where(SeedFile.status == "imported").group_by(SeedFile.source_id))
    seeded: dict[int, datetime] = {sid: at for sid, at in session.execute(last_import)}
    sources = session.execute(select(Source).order_by(Source.id)).scalars().all()
    return [SourceHealth(s, *counts.get(s.id, (0, 0)), s.last_success_at or seeded.get(s.id))
            for s in sources]
