"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) as ParsedFeed. Pure.

feedparser 6.0 reads RSS and Atom only, so JSON Feed has its own small reader here. Item
identity follows feed.py: `id`, else `url`, else a hash of title + date.
"""

from __future__ import annotations

import hashlib
import html
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from worker.core.types import InputError, ParsedEntry, ParsedFeed
from worker.core.urls import web_url

VERSIONS = ("https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1")


def parse_json_feed(text: str, url: str, warnings: tuple[str, ...] = ()) -> ParsedFeed:
    try:
        document = json.loads(text)
        if "\\u0000" in text:  # the only way a NUL gets in: raw control characters are refused
            document = _without_nul(document)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"{url}: not a feed (invalid JSON: {exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise InputError(f"{url}: not a feed (JSON without a JSON Feed `items` list)")
    version = str(document.get("version") or "")
    if version.rstrip("/") not in VERSIONS:
        warnings = (*warnings, f"unknown JSON Feed version {version!r}")
    home = _text(document.get("home_page_url"))
    site = urljoin(url, home) if home else url
    entries = tuple(_entry(item, site) for item in document["items"] if isinstance(item, dict))
    skipped = len(document["items"]) - len(entries)
    if skipped:
        warnings = (*warnings, f"{skipped} JSON Feed items are not objects")
    return ParsedFeed(title=_text(document.get("title")) or url, link=home, entries=entries,
                      warnings=warnings)


def _entry(item: dict[str, Any], site: str) -> ParsedEntry:
    raw_link = _text(item.get("url")) or _text(item.get("external_url"))
    link = urljoin(site, raw_link) if raw_link else None
    title = (_text(item.get("title")) or "").strip()
    published = _date(item.get("date_published"))
    updated = _date(item.get("date_modified")) or published
    image = _text(item.get("image")) or _text(item.get("banner_image"))
    return ParsedEntry(
        entry_key=_entry_key(item, link, title, published),
        title=title or web_url(link) or "(untitled)",  # not a javascript: link, dropped later
        html=_body(item),
        link=link,
        author=_author(item),
        categories=tuple(dict.fromkeys(t for t in item.get("tags") or [] if isinstance(t, str) and t)),
        published=published,
        updated=updated,
        lead_image=urljoin(site, image) if image else None,
        base_url=link or site,
    )


def _body(item: dict[str, Any]) -> str:
    content_html = _text(item.get("content_html"))
    if content_html:
        return content_html
    content_text = _text(item.get("content_text")) or _text(item.get("summary")) or ""
    paragraphs = [p.strip() for p in content_text.split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def _author(item: dict[str, Any]) -> str | None:
    authors = item.get("authors")  # 1.1
    candidates = authors if isinstance(authors, list) else [item.get("author")]  # 1.0
    for author in candidates:
        if isinstance(author, dict) and _text(author.get("name")):
            return _text(author.get("name"))
    return None


def _entry_key(item: dict[str, Any], link: str | None, title: str, published: datetime | None) -> str:
    identifier = item.get("id")
    if isinstance(identifier, str | int) and not isinstance(identifier, bool) and str(identifier):
        return f"id:{identifier}"
    if link:
        return f"link:{link}"
    digest = hashlib.sha256(f"{title}\x00{published}".encode()).hexdigest()[:32]
    return f"title:{digest}"


def _date(value: object) -> datetime | None:
    """RFC 3339, as JSON Feed requires; a date without a zone is read as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _without_nul(value: Any) -> Any:
    """Every string of the document without NUL characters: JSON allows "\\u0000", XML and
    PostgreSQL text do not (a title with one made the poll fail with a database error)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
