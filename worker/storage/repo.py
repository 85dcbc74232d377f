"""Queries: every read and write the edges need, as named functions over a Session.

Writes that race (two workers, two beats, a retried task) go through INSERT ... ON CONFLICT,
so the database, not a check-then-insert in Python, decides who wins.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from worker.core import neardup
from worker.core.canonical import canonical_url
from worker.core.types import CleanArticle
from worker.storage import dedup
from worker.storage.models import Article, IngestError, SeedFile, Sighting, Source
from worker.storage.statements import statements
from worker.storage.upsert import insert_for


def ensure_source(
    session: Session, kind: str, url: str, now: datetime, interval_minutes: int = 60,
    title: str | None = None,
) -> int:
    """The id of the source at `url`, created if missing (concurrent callers get the same id)."""
    return add_source(session, kind, url, now, interval_minutes, title)[0]


def add_source(
    session: Session, kind: str, url: str, now: datetime, interval_minutes: int = 60,
    title: str | None = None,
) -> tuple[int, bool]:
    """ensure_source, and whether this call created the source."""
    stmt = insert_for(session, Source).values(
        kind=kind, url=url, title=title, interval_minutes=interval_minutes, status="active",
        next_poll_at=now, next_poll_reason="new source", created_at=now, error_count=0,
    ).on_conflict_do_nothing(index_elements=["url"]).returning(Source.id)
    new_id = session.execute(stmt).scalar_one_or_none()  # no row: the URL was there already
    if new_id is not None:
        return new_id, True
    return session.execute(select(Source.id).where(Source.url == url)).scalar_one(), False


def list_sources(session: Session, kind: str | None = None) -> Sequence[Source]:
    query = select(Source).order_by(Source.id)
    if kind:
        query = query.where(Source.kind == kind)
    return session.execute(query).scalars().all()


def remove_source(session: Session, source_id: int) -> bool:
    """Delete a source and its sightings; articles seen only there go too."""
    orphan_ids = select(Sighting.article_id).where(Sighting.source_id == source_id)
    shared_ids = select(Sighting.article_id).where(Sighting.source_id != source_id)
    article_ids = session.execute(orphan_ids.except_(shared_ids)).scalars().all()
    session.execute(delete(SeedFile).where(SeedFile.source_id == source_id))
    session.execute(delete(Sighting).where(Sighting.source_id == source_id))
    session.execute(delete(IngestError).where(IngestError.source_id == source_id))
    clusters: list[int] = []
    if article_ids:
        found = session.execute(select(Article.cluster_id).where(Article.id.in_(article_ids)).distinct())
        clusters = [c for c in found.scalars() if c is not None]
        dedup.delete_bands_of(session, article_ids)
        session.execute(delete(Article).where(Article.id.in_(article_ids)))
    dedup.settle_clusters(session, clusters, datetime.now(UTC))  # a representative may be gone
    result: Any = session.execute(delete(Source).where(Source.id == source_id))
    return bool(result.rowcount)


def due_feed_ids(session: Session, now: datetime, limit: int | None, force: bool = False) -> list[int]:
    query = select(Source.id).where(Source.kind == "feed", Source.status.in_(("active", "error")))
    if not force:
        query = query.where(or_(Source.next_poll_at.is_(None), Source.next_poll_at <= now))
    return list(session.execute(query.order_by(Source.next_poll_at, Source.id).limit(limit)).scalars())


def claim_due_feeds(session: Session, now: datetime, limit: int, lease: timedelta) -> list[int]:
    """Take up to `limit` due feeds and push their next poll past `lease`, so a second
    dispatcher (or the next beat tick) does not enqueue them again. PostgreSQL skips rows
    another dispatcher holds; SQLite serialises writers (BEGIN IMMEDIATE) to the same effect."""
    query = (
        select(Source.id)
        .where(Source.kind == "feed", Source.status.in_(("active", "error")))
        .where(or_(Source.next_poll_at.is_(None), Source.next_poll_at <= now))
        .order_by(Source.next_poll_at, Source.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.execute(query).scalars())
    if ids:
        session.execute(
            update(Source).where(Source.id.in_(ids)).values(
                next_poll_at=now + lease, next_poll_reason="queued for polling", lease_until=now + lease
            )
        )
    return ids


def polls_in_flight(session: Session, now: datetime) -> int:
    """Sources claimed by a dispatcher and not polled yet (their lease still runs): what sits
    in the broker's queue or in a worker right now, whatever the broker (ix_sources_in_flight)."""
    query = select(func.count(Source.id)).where(Source.lease_until.is_not(None), Source.lease_until > now)
    return session.execute(query).scalar_one()


def release_claims(session: Session, ids: Sequence[int], now: datetime) -> None:
    """Undo claim_due_feeds for sources whose poll was never enqueued: due again now."""
    session.execute(
        update(Source).where(Source.id.in_(list(ids)), Source.lease_until.is_not(None)).values(
            next_poll_at=now, next_poll_reason="due (enqueue failed, claim released)", lease_until=None
        )
    )


def known_entries(session: Session, source_id: int, keys: Iterable[str]) -> dict[str, str]:
    """entry_key -> raw_hash for the entries of this source already stored."""
    keys = list(keys)
    found: dict[str, str] = {}
    for start in range(0, len(keys), 500):  # stay under bound-parameter limits
        rows = session.execute(
            select(Sighting.entry_key, Sighting.raw_hash).where(
                Sighting.source_id == source_id, Sighting.entry_key.in_(keys[start:start + 500])
            )
        )
        found.update({key: raw for key, raw in rows})
    return found


def touch_sightings(session: Session, source_id: int, keys: Sequence[str], now: datetime) -> None:
    for start in range(0, len(keys), 500):
        session.execute(
            update(Sighting)
            .where(Sighting.source_id == source_id, Sighting.entry_key.in_(keys[start:start + 500]))
            .values(last_seen_at=now)
        )


def public_id_for(source_url: str, entry_key: str) -> str:
    """Stable across re-cleaning and re-import: derived from where the article first came from."""
    return hashlib.sha256(f"{source_url}\x00{entry_key}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Stored:
    article_id: int | None  # None: the entry was deleted by an operator (tombstoned)
    created: bool  # a new article (False: a duplicate of a stored one, an update, or tombstoned)
    outcome: str = "new"  # new | duplicate | updated | tombstoned
    cluster_id: int | None = None  # the near-duplicate cluster a new article joined


def store_article(
    session: Session, source_id: int, source_url: str, article: CleanArticle, raw_hash: str,
    now: datetime,
) -> Stored:
    """Store one cleaned entry; the database's unique keys settle every race.

    Tombstoned content, entry or canonical URL: nothing is stored. New content: insert-or-ignore
    by content hash (an exact duplicate finds the stored one). An entry this source sent before
    with other content, or content at a stored article's canonical URL, is a new version of that
    article (worker/storage/dedup.py decides whether readers see it as updated), unless the new
    content is already stored, in which case the sighting moves there. A new article is
    fingerprinted and joins the cluster of its near duplicates.
    """
    entry = article.entry
    policy = dedup.DedupPolicy.from_settings()
    sql = statements(session)
    canonical = canonical_url(entry)
    existing = dedup.existing_for(session, article.content_hash, source_id, entry.entry_key, canonical)
    if existing.tombstoned:
        return Stored(article_id=None, created=False, outcome="tombstoned")
    outcome, cluster_id, article_id = "duplicate", None, existing.by_hash
    if article_id is None:
        article_id, outcome, cluster_id = _store_content(session, source_url, article, canonical,
                                                         existing, policy, now)
    elif entry.link:
        session.execute(ADOPT_LINK, {"article_id": article_id, "link": entry.link, "canonical": canonical})
    session.execute(sql.upsert_sighting, {
        "article_id": article_id, "source_id": source_id, "entry_key": entry.entry_key,
        "url": entry.link, "raw_hash": raw_hash, "first_seen_at": now, "last_seen_at": now,
    })
    return Stored(article_id=article_id, created=outcome == "new", outcome=outcome,
                  cluster_id=cluster_id)


# An article first seen without a URL (a seed post) takes the first one a later sighting of the
# same content brings: feeds link an item to its original page, and the article's own page on
# feedwash is only the stand-in for a URL nobody gave (issue 2, item 8). One statement, a no-op
# once the article has a link, so concurrent sightings settle it without a read first.
ADOPT_LINK = text(
    "UPDATE articles SET link = :link, canonical_url = coalesce(canonical_url, :canonical)"
    " WHERE id = :article_id AND link IS NULL"
)


def _store_content(
    session: Session, source_url: str, article: CleanArticle, canonical: str | None,
    existing: dedup.Existing, policy: dedup.DedupPolicy, now: datetime,
) -> tuple[int, str, int | None]:
    """Content not stored yet: a new version of the article that this source's entry (or the
    canonical URL) points at, else a new article. (article id, outcome, cluster id)."""
    entry = article.entry
    fingerprint = dedup.fingerprint_for(article, policy)
    previous = existing.previous
    if previous is None and existing.at_canonical is not None:
        previous = dedup.article_by_canonical_url(session, canonical, fingerprint, entry.title)
    if previous is not None:
        _update_article(session, previous, article, canonical, fingerprint, policy, now)
        return previous, "updated", None
    minhash = neardup.pack(fingerprint.sketch)
    article_id = _insert_article(session, public_id_for(source_url, entry.entry_key), article,
                                 canonical, now, minhash)
    if article_id is None:  # lost a race, or the public id is taken by an older article
        article_id = _article_id_by_hash(session, article.content_hash) or _insert_article(
            session, public_id_for(source_url, entry.entry_key + article.content_hash),
            article, canonical, now, minhash)
        if article_id is None:
            raise RuntimeError(f"could not store article {article.content_hash}")
        return article_id, "duplicate", None
    dedup.record_first_version(session, article_id, article.content_hash, now)
    return article_id, "new", dedup.index_article(session, article_id, fingerprint, policy, now, fresh=True)


def _article_id_by_hash(session: Session, content_hash: str) -> int | None:
    found = session.execute(statements(session).article_by_hash, {"content_hash": content_hash})
    return found.scalar_one_or_none()


def article_values(article: CleanArticle, now: datetime) -> dict[str, object]:
    entry = article.entry
    published = _not_future(entry.published, now) or now
    return {
        "content_hash": article.content_hash, "title": entry.title, "link": entry.link,
        "author": entry.author, "categories": list(entry.categories),
        "lead_image": article.lead_image, "html": article.html, "text": article.text,
        "summary": article.summary, "cleaner_version": article.cleaner_version,
        "removed": article.removed, "language": article.language,
        "reading_length": article.reading_length, "provenance": article.provenance,
        "raw_html": entry.html, "raw_base_url": entry.base_url, "published_at": published,
        "updated_at": _not_future(entry.updated, now) or published,
    }


FUTURE_TOLERANCE = timedelta(days=1)  # clock skew and time zones; beyond it a date is a lie


def _not_future(moment: datetime | None, now: datetime) -> datetime | None:
    """A date claimed to be in the future (year 9999) would pin the article to the top of every
    output feed for ever: it is treated as missing, i.e. the time it was first seen."""
    return moment if moment is None or moment <= now + FUTURE_TOLERANCE else None


def _insert_article(
    session: Session, public_id: str, article: CleanArticle, canonical: str | None, now: datetime,
    minhash: bytes | None = None,
) -> int | None:
    values = {"public_id": public_id, "created_at": now, "canonical_url": canonical, "minhash": minhash,
              "cluster_id": None, "content_source": None, **article_values(article, now)}
    return session.execute(statements(session).insert_article, values).scalar_one_or_none()


def _update_article(
    session: Session, article_id: int, article: CleanArticle, canonical: str | None,
    fingerprint: dedup.Fingerprint, policy: dedup.DedupPolicy, now: datetime,
) -> None:
    """A new version in place. Readers see it as updated (`updated` moves) only when the change
    is more than trivial and the article has not been bumped too often today."""
    old_text, old_updated = dedup.old_text_of(session, article_id)
    decision = dedup.decide_update(session, article_id, old_text, article.text, now, policy)
    values = article_values(article, now)
    values["updated_at"] = now if decision.bump else old_updated
    if canonical:
        values["canonical_url"] = canonical
    session.execute(update(Article).where(Article.id == article_id).values(**values))
    dedup.record_version(session, article_id, article.content_hash, decision, now)
    if decision.reason != "trivial":  # a trivial edit leaves the fingerprint where it was
        dedup.index_article(session, article_id, fingerprint, policy, now)


def record_error(
    session: Session, source_id: int | None, ref: str, message: str, now: datetime
) -> None:
    session.add(IngestError(source_id=source_id, ref=ref, message=message, occurred_at=now))


def seed_file_states(session: Session, source_id: int) -> dict[str, tuple[int, int, str]]:
    rows = session.execute(
        select(SeedFile.path, SeedFile.size, SeedFile.mtime_ns, SeedFile.sha256)
        .where(SeedFile.source_id == source_id)
    )
    return {path: (size, mtime, sha) for path, size, mtime, sha in rows}


def save_seed_file(
    session: Session, source_id: int, path: str, size: int, mtime_ns: int, sha256: str,
    now: datetime, article_id: int | None = None, error: str | None = None,
) -> None:
    values = {
        "size": size, "mtime_ns": mtime_ns, "sha256": sha256, "article_id": article_id,
        "status": "error" if error else "imported", "error": error, "updated_at": now,
    }
    stmt = insert_for(session, SeedFile).values(source_id=source_id, path=path, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["source_id", "path"], set_=values))


def latest_articles(session: Session, limit: int) -> Sequence[Article]:
    query = select(Article).order_by(Article.published_at.desc(), Article.id.desc()).limit(limit)
    return session.execute(query).scalars().all()


def sightings_of(session: Session, article_ids: Sequence[int]) -> dict[int, list[tuple[Sighting, Source]]]:
    found: dict[int, list[tuple[Sighting, Source]]] = {i: [] for i in article_ids}
    rows = session.execute(
        select(Sighting, Source).join(Source, Source.id == Sighting.source_id)
        .where(Sighting.article_id.in_(article_ids)).order_by(Sighting.first_seen_at, Sighting.id)
    )
    for sighting, source in rows:
        found[sighting.article_id].append((sighting, source))
    return found


def count_articles(session: Session) -> int:
    return session.execute(select(func.count(Article.id))).scalar_one()
