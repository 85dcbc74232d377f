"""Tables. Uniqueness that dedup relies on is a database constraint, never a check in Python."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which has no zones) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to storage")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(), dict[str, Any]: JSON(), list[str]: JSON(),
    }


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "feed" or "seed"
    url: Mapped[str] = mapped_column(String(2048), unique=True)  # feed URL, or seed folder path
    title: Mapped[str | None] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), default="active")
    interval_minutes: Mapped[int] = mapped_column(Integer, default=60)
    etag: Mapped[str | None] = mapped_column(String(1024))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    next_poll_at: Mapped[datetime | None]
    next_poll_reason: Mapped[str | None] = mapped_column(String(256))
    lease_until: Mapped[datetime | None]
    last_polled_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    # Polling (issue 3; 0002_polling). Per-source bounds override the settings when set.
    min_interval_minutes: Mapped[int | None] = mapped_column(Integer)
    max_interval_minutes: Mapped[int | None] = mapped_column(Integer)
    extra_headers: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # e.g. an RSSHub key
    categories: Mapped[list[str] | None] = mapped_column(JSON)  # OPML folders / category attr
    redirect_url: Mapped[str | None] = mapped_column(String(2048))  # permanent-redirect candidate
    redirect_streak: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    paused_reason: Mapped[str | None] = mapped_column(String(256))  # paused or dead: why
    failing_since: Mapped[datetime | None]
    entry_rate_per_day: Mapped[float | None] = mapped_column(Float)
    # Full text (issue 8; 0003_fulltext): "never", "auto" (summaries only) or "always";
    # NULL: the deployment's default (FEEDWASH_FULL_TEXT_DEFAULT, "auto").
    full_text: Mapped[str | None] = mapped_column(String(8))

    __table_args__ = (
        Index("ix_sources_due", "status", "next_poll_at"),
        Index("ix_sources_in_flight", "lease_until", postgresql_where=text("lease_until IS NOT NULL"),
              sqlite_where=text("lease_until IS NOT NULL")),
    )


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)  # stable across re-cleaning
    content_hash: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(2048))
    author: Mapped[str | None] = mapped_column(String(512))
    categories: Mapped[list[str]] = mapped_column(default=list)
    lead_image: Mapped[str | None] = mapped_column(String(2048))
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    cleaner_version: Mapped[str] = mapped_column(String(16))
    removed: Mapped[dict[str, Any]] = mapped_column(default=dict)
    language: Mapped[str] = mapped_column(String(16), default="und", server_default="und")
    reading_length: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # see worker.core.pipeline
    raw_html: Mapped[str | None] = mapped_column(Text)  # the body as received: reclean input
    raw_base_url: Mapped[str | None] = mapped_column(String(2048))
    published_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    created_at: Mapped[datetime]
    # Dedup (issue 5). canonical_url is indexed, not unique: a listing page that many entries
    # link to must not fold different articles together (see worker/storage/dedup.py).
    canonical_url: Mapped[str | None] = mapped_column(String(2048), index=True)
    cluster_id: Mapped[int | None] = mapped_column(
        ForeignKey("clusters.id", ondelete="SET NULL"), index=True)
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)  # worker.core.neardup signature
    # Where the stored content came from when it was not the feed entry or seed itself,
    # e.g. "page (rule sina-finance)" or "page (readability)"; NULL: the sighting's own content.
    content_source: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_articles_published", "published_at", "id"),)


class Cluster(Base):
    """Near duplicates of one story. representative_id is kept by code (no FK: no cycle)."""

    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    representative_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ArticleVersion(Base):
    """Every content an article has had; `bumped` says whether readers saw it as an update."""

    __tablename__ = "article_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(80))
    diff_ratio: Mapped[float | None] = mapped_column(Float)  # similarity to the previous version
    bumped: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(32))  # new | update | trivial | capped
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("article_id", "version", name="uq_article_versions"),)


class ArticleBand(Base):
    """LSH band hashes: candidates for near duplicates come from this index, never a scan."""

    __tablename__ = "article_bands"

    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    hash: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(Integer, primary_key=True)

    # SQLite: WITHOUT ROWID, the rows live in the primary key's b-tree (one b-tree fewer per
    # row written; migration 0006), and neither the foreign key nor the article index (0007):
    # together they cost 0.020 of the 0.052 ms per article that writing 32 band rows took.
    # An article's bands are deleted by their keys, computed from its stored sketch
    # (dedup.delete_bands_of), before the article. PostgreSQL keeps both: the index serves
    # that delete and the cascade.
    __table_args__ = (
        ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE")
        .ddl_if(dialect="postgresql"),
        Index("ix_article_bands_article", "article_id").ddl_if(dialect="postgresql"),
        {"sqlite_with_rowid": False},
    )


class Tombstone(Base):
    """What an operator deleted, by every key it could come back under."""

    __tablename__ = "tombstones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # content_hash | entry | canonical_url
    key: Mapped[str] = mapped_column(String(80))  # the hash, or sha256 of the entry / URL
    detail: Mapped[str] = mapped_column(Text)  # human-readable: the entry key or URL
    article_id: Mapped[int] = mapped_column(Integer)  # id it had (the row is gone)
    deleted_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("kind", "key", name="uq_tombstones_key"),)


class Sighting(Base):
    """One source's sighting of an article: the entry identity, kept for every duplicate."""

    __tablename__ = "sightings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    entry_key: Mapped[str] = mapped_column(String(2048))
    url: Mapped[str | None] = mapped_column(String(2048))
    raw_hash: Mapped[str] = mapped_column(String(64))  # of the raw entry: unchanged -> skip cleaning
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("source_id", "entry_key", name="uq_sightings_entry"),)


class SeedFile(Base):
    """What was imported from each seed file, so an unchanged folder costs only a stat()."""

    __tablename__ = "seed_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(2048))
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # "imported" or "error"
    error: Mapped[str | None] = mapped_column(Text)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("source_id", "path", name="uq_seed_files_path"),)


class IngestError(Base):
    """Every bad feed or seed file, recorded with the input it names."""

    __tablename__ = "ingest_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(2048))
    message: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime]


class FetchLog(Base):
    """One row per poll: the operator's history of a source (the newest N are kept) and what
    /metrics reports (outcomes, fetch latency, bytes a 304 saved)."""

    __tablename__ = "fetch_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)  # the whole poll: fetch, parse, store
    fetch_ms: Mapped[int | None] = mapped_column(Integer)  # request to end of body; None: no response
    status_code: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # "ok", "not-modified", "error", "busy"
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    new_entries: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)  # entries already stored elsewhere
    bytes_saved: Mapped[int] = mapped_column(BigInteger, default=0)  # a 304: the last full body's size
    message: Mapped[str | None] = mapped_column(Text)  # the error, or a note such as a move
    next_poll_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(256))

    __table_args__ = (Index("ix_fetch_log_source", "source_id", "id"),)


class RawPayload(Base):
    """A fetched body, compressed and content-addressed, kept `archive_days` for reprocessing."""

    __tablename__ = "raw_payloads"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    compression: Mapped[str] = mapped_column(String(8))  # "br" (brotli); older rows "zlib"
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)  # uncompressed
    headers: Mapped[dict[str, Any]] = mapped_column(JSON)
    fetched_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(8), default="feed", server_default="feed")  # or "page"

    __table_args__ = (
        Index("ix_raw_payloads_source", "source_id", "fetched_at"),
        Index("ix_raw_payloads_fetched", "fetched_at"),
    )


class PageFetch(Base):
    """The full-text fetch of one feed entry's page (issue 8): its state, validators, last error.

    Keyed by the sighting's identity (source, entry_key), which survives the entry's article
    collapsing onto another one; `article_id` follows the article the entry now belongs to.
    """

    __tablename__ = "page_fetches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    entry_key: Mapped[str] = mapped_column(String(2048))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(16))  # "pending", "done" or "error"
    reason: Mapped[str | None] = mapped_column(String(256))  # why the page was wanted
    content_source: Mapped[str | None] = mapped_column(String(64))  # "page (rule x)", ...
    etag: Mapped[str | None] = mapped_column(String(1024))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    payload_sha256: Mapped[str | None] = mapped_column(String(64))  # raw_payloads row of the page
    error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(32))  # FetchError kind, "not-html", ...
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    queued_at: Mapped[datetime]
    fetched_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("source_id", "entry_key", name="uq_page_fetches_entry"),
        Index("ix_page_fetches_article", "article_id"),
        Index("ix_page_fetches_status", "status", "queued_at"),
    )
