"""Full-text page fetches (issue 8): queue, targets, outcomes, and the collapse of an article
onto another when its page turns out to be an article already stored.

Every function runs inside the caller's transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, exists, select, update
from sqlalchemy.orm import Session

from worker.core.types import ParsedEntry
from worker.storage import dedup
from worker.storage.models import Article, PageFetch, RawPayload, Sighting, Source
from worker.storage.polling import can_decompress, compress_archived, decompress_archived
from worker.storage.upsert import insert_for


def full_text_mode(session: Session, source_id: int, default: str) -> str:
    """The source's own setting, else the deployment's `default`."""
    mode = session.execute(_FULL_TEXT_MODE, {"source_id": source_id}).scalar_one_or_none()
    return mode or default


_FULL_TEXT_MODE = select(Source.__table__.c.full_text).where(Source.__table__.c.id == bindparam("source_id"))


def set_full_text_mode(session: Session, source_id: int, mode: str) -> bool:
    """The hook for the CLI, the sources file and the admin API; `mode` is already validated
    (worker.core.fulltext.parse_full_text_mode)."""
    result: Any = session.execute(update(Source).where(Source.id == source_id).values(full_text=mode))
    return bool(result.rowcount)


def queue_page_fetch(
    session: Session, source_id: int, entry_key: str, article_id: int, url: str, reason: str,
    now: datetime,
) -> None:
    """Mark this entry's page as wanted (again): the validators and archive of an earlier fetch
    stay, so the next fetch is conditional."""
    session.execute(_queue_statement(session), {
        "source_id": source_id, "entry_key": entry_key, "article_id": article_id, "url": url,
        "status": "pending", "reason": reason, "queued_at": now, "error": None, "error_kind": None,
        "attempts": 0})


_QUEUED_COLUMNS = ("article_id", "url", "status", "reason", "queued_at", "error", "error_kind", "attempts")
_QUEUE_BY_DIALECT: dict[str, Any] = {}


def _queue_statement(session: Session) -> Any:
    """queue_page_fetch's upsert, built once per dialect over the table: composing it with
    .values() per call through the ORM cost ~0.3 ms of CPU per queued page on PostgreSQL
    (benchmarks/polling.py --profile). On conflict it sets what the insert would have."""
    dialect = session.get_bind().dialect.name
    found = _QUEUE_BY_DIALECT.get(dialect)
    if found is None:
        stmt = insert_for(session, PageFetch.__table__)
        found = _QUEUE_BY_DIALECT[dialect] = stmt.on_conflict_do_update(
            index_elements=["source_id", "entry_key"],
            set_={name: stmt.excluded[name] for name in _QUEUED_COLUMNS})
    return found


def queue_sightings_of(session: Session, article_id: int, now: datetime) -> int:
    """Queue the page of every feed sighting of this article (the operator asked for it)."""
    rows = session.execute(
        select(Sighting.source_id, Sighting.entry_key, Sighting.url, Article.link)
        .join(Source, Source.id == Sighting.source_id).join(Article, Article.id == Sighting.article_id)
        .where(Sighting.article_id == article_id, Source.kind == "feed")
    ).all()
    queued = 0
    for source_id, entry_key, sighting_url, link in rows:
        url = sighting_url or link
        if url:
            queue_page_fetch(session, source_id, entry_key, article_id, url, "the operator asked", now)
            queued += 1
    return queued


def forget_page_content(session: Session, article_id: int, content_hash: str) -> None:
    """The feed entry's own content was just stored over the article: it is no longer page content."""
    session.execute(update(Article).where(
        Article.id == article_id, Article.content_hash == content_hash, Article.content_source.is_not(None),
    ).values(content_source=None))


@dataclass(frozen=True)
class PageTarget:
    """One page to fetch, with what storing its article needs, read in a short transaction."""

    id: int
    source_id: int
    source_url: str
    entry_key: str
    url: str
    article_id: int
    raw_hash: str  # of the feed entry: kept on the sighting so the next poll still skips it
    etag: str | None
    last_modified: str | None
    payload_sha256: str | None
    attempts: int
    feed_text: str  # the entry's own text ("" when the article holds page content already)
    entry: ParsedEntry


def page_targets(session: Session, article_id: int, statuses: Sequence[str] | None) -> list[PageTarget]:
    """The page fetches of this article (only those in `statuses`, unless None)."""
    query = (
        select(PageFetch, Sighting.raw_hash, Source.url, Article)
        .join(Sighting, (Sighting.source_id == PageFetch.source_id)
              & (Sighting.entry_key == PageFetch.entry_key))
        .join(Source, Source.id == PageFetch.source_id)
        .join(Article, Article.id == PageFetch.article_id)
        .where(PageFetch.article_id == article_id)
        .order_by(PageFetch.id)
    )
    if statuses is not None:
        query = query.where(PageFetch.status.in_(statuses))
    return [_target(page, raw_hash, source_url, article)
            for page, raw_hash, source_url, article in session.execute(query)]


def _target(page: PageFetch, raw_hash: str, source_url: str, article: Article) -> PageTarget:
    entry = ParsedEntry(
        entry_key=page.entry_key, title=article.title, html="", link=article.link or page.url,
        author=article.author, categories=tuple(article.categories or ()),
        published=article.published_at, lead_image=article.lead_image,
    )
    return PageTarget(
        id=page.id, source_id=page.source_id, source_url=source_url, entry_key=page.entry_key,
        url=page.url, article_id=page.article_id, raw_hash=raw_hash, etag=page.etag,
        last_modified=page.last_modified, payload_sha256=page.payload_sha256, attempts=page.attempts,
        feed_text="" if article.content_source else article.text, entry=entry,
    )


def pending_article_ids(session: Session, queued_before: datetime | None = None) -> list[int]:
    query = select(PageFetch.article_id).where(PageFetch.status == "pending")
    if queued_before is not None:
        query = query.where(PageFetch.queued_at < queued_before)
    return list(dict.fromkeys(session.execute(query.order_by(PageFetch.id)).scalars()))


def record_page_error(
    session: Session, page_id: int, message: str, kind: str, now: datetime, *, final: bool,
) -> None:
    """A failed attempt: the summary stays; `final` ends the retries (status "error")."""
    session.execute(update(PageFetch).where(PageFetch.id == page_id).values(
        status="error" if final else "pending", error=message, error_kind=kind,
        attempts=PageFetch.attempts + 1, fetched_at=now))


def record_page_done(
    session: Session, page_id: int, content_source: str, now: datetime, *, etag: str | None,
    last_modified: str | None, payload_sha256: str | None,
) -> None:
    values: dict[str, Any] = {"status": "done", "content_source": content_source, "error": None,
                              "error_kind": None, "attempts": PageFetch.attempts + 1, "fetched_at": now}
    values.update({k: v for k, v in (("etag", etag), ("last_modified", last_modified),
                                     ("payload_sha256", payload_sha256)) if v})
    session.execute(update(PageFetch).where(PageFetch.id == page_id).values(**values))


def set_content_source(session: Session, article_id: int, content_source: str) -> None:
    session.execute(update(Article).where(Article.id == article_id).values(content_source=content_source))


def collapse_article(session: Session, old_id: int, new_id: int) -> bool:
    """The entry behind `old_id` turned out to be `new_id` (its page is an article already
    stored, e.g. from a seed): page fetches follow it, and `old_id` goes if no sighting is left.
    Returns whether `old_id` was deleted."""
    session.execute(update(PageFetch).where(PageFetch.article_id == old_id).values(article_id=new_id))
    still_seen = session.execute(select(exists().where(Sighting.article_id == old_id))).scalar()
    if still_seen:
        return False
    dedup.delete_bands_of(session, [old_id])
    session.execute(delete(Article).where(Article.id == old_id))
    return True


# ---- the page archive (raw_payloads, kind "page") ------------------------------------------

def archive_page(
    session: Session, source_id: int, url: str, content: bytes, headers: dict[str, str], now: datetime,
) -> str:
    """Like polling.archive_payload, marked as a page so feed reprocessing skips it."""
    sha = hashlib.sha256(content).hexdigest()
    compression, compressed = compress_archived(content)
    stmt = insert_for(session, RawPayload).values(
        sha256=sha, source_id=source_id, url=url, compression=compression, content=compressed,
        size=len(content), headers=dict(headers), fetched_at=now, kind="page",
    )
    session.execute(stmt.on_conflict_do_update(index_elements=["sha256"], set_={"fetched_at": now}))
    return sha


def archived_page(session: Session, sha256: str) -> tuple[bytes, dict[str, str]] | None:
    row = session.get(RawPayload, sha256)
    if row is None or not can_decompress(row.compression):
        return None
    return decompress_archived(row.compression, row.content), {str(k): str(v) for k, v in row.headers.items()}


def page_fetches_of(session: Session, article_id: int) -> Sequence[PageFetch]:
    query = select(PageFetch).where(PageFetch.article_id == article_id).order_by(PageFetch.id)
    return session.execute(query).scalars().all()
