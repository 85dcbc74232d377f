"""Feed documents (RSS 0.9x/1.0/2.0, Atom, JSON Feed) as ParsedFeed.

Bytes are decoded first (worker.core.decode: charset evidence, DTD internal subset removed),
then JSON Feed goes to worker.core.jsonfeed and XML, as UTF-8 without entity declarations, to the
lxml fast path (worker.core.xmlfeed: well-formed RSS 2.0 and Atom 1.0 it is sure about) or else to
feedparser, which has no encoding to second-guess and no entity declarations to expand.

feedparser's own sanitizer and URL resolver are turned off: they cost three quarters of its
time and do not remove what this product must remove. worker.core.clean does both, once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import fields, replace
from typing import Any
from urllib.parse import urljoin

import feedparser

from worker.core.dates import from_struct_time
from worker.core.decode import (
    DecodedDocument,
    decode_document,
    has_charref,
    looks_like_json,
    xml_bytes_for_parser,
    xml_bytes_undecoded,
)
from worker.core.jsonfeed import parse_json_feed
from worker.core.schedule import update_period_minutes
from worker.core.types import InputError, ParsedEntry, ParsedFeed
from worker.core.urls import join_url, web_url
from worker.core.xmlfeed import parse_fast

feedparser.RESOLVE_RELATIVE_URIS = 0
feedparser.SANITIZE_HTML = 0


# A numeric character reference to a surrogate or past U+10FFFF (`&#xD800;`) crashed
# feedparser's loose parser (chr()/encode errors) and with it the whole poll. Found by
# tests/test_fuzz.py. Such references become U+FFFD; the rest of the feed is kept.
_CHARREF = re.compile(r"&#([xX][0-9a-fA-F]+|[0-9]+);")


def _valid_charrefs(text: str) -> str:
    if "&#" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        digits = match.group(1)
        code = int(digits[1:], 16) if digits[0] in "xX" else int(digits)
        return match.group(0) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "&#xFFFD;"
    return _CHARREF.sub(replace, text)


def _text_with_valid_charrefs(data: bytes, document: DecodedDocument) -> str:
    """_valid_charrefs(document.text). A UTF-8 text has `&#` exactly where its bytes do, and the
    bytes are searched with memchr: `"&#" in text` scans a Chinese feed's 8 MB of str at ~1 ns a
    character (0.0055 ms per 8 KB item; the bytes: 0.0003)."""
    if document.encoding == "utf-8" and not has_charref(data):
        return document.text
    return _valid_charrefs(document.text)


def parse_feed(data: bytes, url: str, headers: dict[str, str] | None = None, *,
               fast_path: bool = True) -> ParsedFeed:
    """Parse feed bytes fetched from `url`. A readable feed with errors keeps its entries.

    Well-formed RSS 2.0 and Atom 1.0 go through worker.core.xmlfeed (lxml, ~10x faster) when it is
    sure of feedparser's answer; everything else, and `fast_path=False`, through feedparser.
    """
    headers = {name.lower(): value for name, value in (headers or {}).items()}
    if not data or data.isspace():  # not data.strip(), which copies the whole feed
        raise InputError(f"{url}: not a feed (empty document)")
    parser_headers = _parser_headers(headers)
    content_location = parser_headers.get("content-location", "")
    # The fast path first without decoding the feed: a UTF-8 feed's bytes only need checking,
    # which libxml2 does (xml_bytes_undecoded). None: decode, then as before.
    undecoded = xml_bytes_undecoded(data, headers.get("content-type")) if fast_path else None
    if undecoded is not None and (fast := parse_fast(undecoded, content_location)) is not None:
        return _parsed_feed(*fast, url, ())  # decode_document: UTF-8, as declared, no warnings
    document = decode_document(data, headers.get("content-type"))
    if looks_like_json(document.text):
        return parse_json_feed(document.text, url, document.warnings)
    xml = xml_bytes_for_parser(data, document, _text_with_valid_charrefs(data, document))
    # parse_fast of the same bytes declined already
    fast = parse_fast(xml, content_location) if fast_path and xml != undecoded else None
    if fast is not None:
        feed, entries = fast
        return _parsed_feed(feed, entries, url, document.warnings)
    try:
        parsed = feedparser.parse(
            xml,
            response_headers=parser_headers,
            resolve_relative_uris=False,
            sanitize_html=False,
        )
    except (UnicodeError, ValueError, OverflowError) as error:  # feedparser's loose parser, cornered
        raise InputError(f"{url}: not a feed ({type(error).__name__}: {error})") from None
    warnings: tuple[str, ...] = document.warnings
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        reason = f"{type(exc).__name__}: {exc}" if exc is not None else "malformed feed"
        if not parsed.entries and not parsed.get("version"):
            raise InputError(f"{url}: not a feed ({reason})")
        warnings = (*warnings, reason)
    elif not parsed.get("version") and not parsed.entries:
        raise InputError(f"{url}: not a feed (no RSS, Atom or JSON Feed document found)")
    return _parsed_feed(parsed.feed, parsed.entries, url, warnings)


def _parsed_feed(feed: Any, entries: Any, url: str, warnings: tuple[str, ...]) -> ParsedFeed:
    """feedparser's feed and entries (or the fast path's dicts with the same keys) as ParsedFeed."""
    # Relative item links resolve against the site (channel link), else the feed's own URL.
    site = urljoin(url, feed.get("link") or "") if feed.get("link") else url
    return ParsedFeed(
        title=str(feed.get("title") or url).replace("\x00", ""),
        link=feed.get("link"),
        entries=tuple(_without_nul(_entry(e, site)) for e in entries),
        warnings=warnings,
        **polling_hints(feed),
    )


def polling_hints(feed: Any) -> dict[str, Any]:
    """<ttl> and sy:updatePeriod/updateFrequency, for the scheduler; junk values are ignored."""
    ttl = str(feed.get("ttl") or "").strip()
    return {
        "ttl_minutes": int(ttl) if ttl.isdigit() and int(ttl) > 0 else None,
        "update_period_minutes": update_period_minutes(
            feed.get("sy_updateperiod"), feed.get("sy_updatefrequency")),
    }

def _parser_headers(headers: dict[str, str]) -> dict[str, str]:
    """The document is UTF-8 XML now: say so, so that feedparser applies no RFC 3023 defaults
    (text/xml without a charset would mean US-ASCII) to bytes that are already decoded."""
    kept = {k: v for k, v in headers.items() if k in ("content-location", "content-language")}
    return {**kept, "content-type": "application/xml; charset=utf-8"}


def _without_nul(entry: ParsedEntry) -> ParsedEntry:
    """The entry without NUL characters. XML forbids them, but a raw NUL byte or a "&#0;" gets
    through feedparser, and PostgreSQL text refuses them: the poll failed with a database error,
    recording nothing (found by an audit in session 5)."""
    changes: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = getattr(entry, name)
        if isinstance(value, str) and "\x00" in value:
            changes[name] = value.replace("\x00", "")
    if any("\x00" in category for category in entry.categories):
        changes["categories"] = tuple(c.replace("\x00", "") for c in entry.categories)
    return replace(entry, **changes) if changes else entry


_TEXT_FIELDS = tuple(f.name for f in fields(ParsedEntry) if f.name != "categories")


def _entry(entry: Any, site_url: str) -> ParsedEntry:
    link = join_url(site_url, entry["link"]) if entry.get("link") else None
    title = str(entry.get("title") or "").strip()
    # dict.get: FeedParserDict maps a missing updated_parsed to published_parsed, with a warning.
    updated_raw = dict.get(entry, "updated_parsed")
    published = from_struct_time(dict.get(entry, "published_parsed") or updated_raw)
    updated = from_struct_time(updated_raw) or published
    html, base = _body(entry)
    return ParsedEntry(
        entry_key=_entry_key(entry, link, title, published),
        title=title or web_url(link) or "(untitled)",  # not a javascript: link, dropped later
        html=html,
        link=link,
        author=entry.get("author") or None,
        categories=tuple(dict.fromkeys(t["term"] for t in entry.get("tags", []) if t.get("term"))),
        published=published,
        updated=updated,
        lead_image=_lead_image(entry),
        base_url=join_url(site_url, base) if base else (link or site_url),
        canonical_link=_canonical_link(entry, site_url),
    )


def _body(entry: Any) -> tuple[str, str | None]:
    """The fullest body the entry carries: content beats summary."""
    contents = entry.get("content") or []
    best = max(contents, key=lambda c: len(c.get("value", "")), default=None)
    if best is not None and best.get("value"):
        return str(best["value"]), best.get("base")
    detail = entry.get("summary_detail") or {}
    return str(entry.get("summary") or ""), detail.get("base")


def _entry_key(entry: Any, link: str | None, title: str, published: object) -> str:
    """guid, else link, else a hash of title + date (reader and Miniflux do the same)."""
    if entry.get("id"):
        return f"id:{entry['id']}"
    if link:
        return f"link:{link}"
    digest = hashlib.sha256(f"{title}\x00{published}".encode()).hexdigest()[:32]
    return f"title:{digest}"


def _canonical_link(entry: Any, site_url: str) -> str | None:
    """An atom:link rel="canonical" (some feeds add one beside the tracking-laden alternate)."""
    for link in entry.get("links") or []:
        if link.get("rel") == "canonical" and link.get("href"):
            return join_url(site_url, str(link["href"]))
    return None


def _lead_image(entry: Any) -> str | None:
    for thumb in entry.get("media_thumbnail") or []:
        if thumb.get("url"):
            return str(thumb["url"])
    for media in entry.get("media_content") or []:
        if media.get("url") and str(media.get("medium", media.get("type", ""))).startswith("image"):
            return str(media["url"])
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            return str(link.get("href"))
    image = entry.get("image")
    if isinstance(image, dict) and image.get("href"):
        return str(image["href"])
    return None
