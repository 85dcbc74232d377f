"""Frozen records named by pipeline stage: ParsedEntry -> CleanArticle -> FeedItem."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from worker.core.nfkc import NfkcForm


class InputError(ValueError):
    """Bad input (a broken feed or seed file). The message names the offending input."""


@dataclass(frozen=True)
class ParsedEntry:
    """One item of a feed or one seed post, before cleaning."""

    entry_key: str  # identity within its source: guid, else link, else title + date
    title: str
    html: str  # the raw body HTML as the source gave it
    link: str | None = None
    author: str | None = None
    categories: tuple[str, ...] = ()
    published: datetime | None = None  # always timezone-aware when set
    updated: datetime | None = None
    lead_image: str | None = None
    base_url: str | None = None  # for resolving relative URLs in html
    canonical_link: str | None = None  # rel="canonical" where the source names one


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    link: str | None
    entries: tuple[ParsedEntry, ...]
    warnings: tuple[str, ...] = ()  # e.g. feedparser bozo messages of a readable feed
    # Publisher's polling hints (worker.core.schedule honours them): RSS <ttl>, and the RSS 1.0
    # syndication module's sy:updatePeriod / sy:updateFrequency as minutes per update.
    ttl_minutes: int | None = None
    update_period_minutes: float | None = None


@dataclass(frozen=True)
class CleanedHtml:
    html: str
    text: str
    removed: dict[str, int] = field(default_factory=dict)  # rule name -> elements removed
    samples: dict[str, str] = field(default_factory=dict)  # rule name -> start of the first removal
    images: tuple[str, ...] = ()  # image URLs of the cleaned body, in order (lead-image candidates)


@dataclass(frozen=True)
class CleanArticle:
    """A cleaned entry, ready to store: the unit of deduplication."""

    entry: ParsedEntry
    html: str
    text: str
    summary: str
    content_hash: str
    cleaner_version: str
    removed: dict[str, int] = field(default_factory=dict)
    reading_length: int = 0  # CJK characters + Latin words (see worker.core.derive)
    language: str = "und"  # BCP 47 primary tag guessed from the text: "zh", "en" or "und"
    lead_image: str | None = None  # front-matter/feed image unless a placeholder, else the body's first
    provenance: dict[str, Any] = field(default_factory=dict)  # cleaner version + per-rule removals
    # The NFKC form of `text`, computed for the content hash and reused by the near-duplicate
    # sketch when the article is stored (not stored itself; ignored unless it is `text`'s).
    nfkc_form: NfkcForm | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class FeedItem:
    """One item of an output feed, as the renderers see it."""

    id: str
    title: str
    link: str
    html: str
    summary: str
    published: datetime
    updated: datetime
    author: str | None = None
    categories: tuple[str, ...] = ()
    image: str | None = None
    related_links: tuple[str, ...] = ()
    extension: dict[str, Any] = field(default_factory=dict)  # JSON Feed `_feedwash`


@dataclass(frozen=True)
class FeedMeta:
    title: str
    self_url: str  # absolute URL of this feed document
    home_url: str
    id: str
    updated: datetime
    description: str = "Cleaned, deduplicated articles republished by feedwash"
    language: str = "zh-CN"
    archive: bool = False  # an RFC 5005 archive document: complete, it will not change
